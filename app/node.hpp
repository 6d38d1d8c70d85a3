// app/node: one livepush node, wired: transports and loops (server/), the strategy table
// (handlers/), qos1 delivery and the inbox (ack/), the push service and its HTTP API (push/).
// This is the only place that knows every module; main() only parses flags and waits for a
// signal.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "app/config.hpp"
#include "app/reload.hpp"
#include "push/api.hpp"

namespace lp::app {

class Node {
public:
    // Throws std::runtime_error (with a message naming the setting) when something cannot be
    // bound or loaded.
    explicit Node(const Config& config);
    ~Node();
    void start();
    // The line printed on stdout once listening: "livepushd ready node=... tcp=... ws=... api=...".
    std::string ready_line() const;
    // SIGTERM: stop accepting, KICK draining, flush, stop. Bounded by server.drain_timeout_ms.
    void shutdown();
    // Periodic housekeeping (rooms without members, expired inbox messages); once a second.
    void housekeeping();
    // room.online to rooms whose count changed; every room_online_interval() (0: never).
    void room_online_sweep();
    std::chrono::milliseconds room_online_interval() const;
    // room.likes: this node's likes to their rooms' homes, and the homes' pushes; every
    // room_likes_interval().
    void room_likes_flush();
    std::chrono::milliseconds room_likes_interval() const;
    std::string metrics_text() const;

    // A reload (SIGHUP): applies `next` (plan_reload's: the running configuration with the live
    // keys changed) without touching a session: the gateway's limits and token rules, each
    // event loop's copy of its limits, the API's rate and access log, moderation defaults.
    // Token keys the reload replaced stay valid for auth.key_overlap_s (auth/jwt: retired).
    // Returns an error and applies nothing when next's token keys cannot be loaded.
    std::string apply_reload(const Config& next);
    // Counts a reload for the metrics; `restart_pending`: restart-only keys the sources now set
    // differently from the running node.
    void note_reload(ReloadResult result, std::size_t restart_pending);
    // An HTTP API route of main's (POST /v1/admin/reload), behind the API key like every route
    // but /healthz. Before start(); nothing without an API.
    void add_api_route(const std::string& method, const std::string& path, push::RouteHandler h);
    // The configuration in force (a copy: a reload may replace it).
    Config config() const;

private:
    void wire_web_pages();
    struct Parts;
    std::unique_ptr<Parts> p_;
};

}  // namespace lp::app
