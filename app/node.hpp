// app/node: one livepush node, wired: transports and loops (server/), the strategy table
// (handlers/), qos1 delivery and the inbox (ack/), the push service and its HTTP API (push/).
// This is the only place that knows every module; main() only parses flags and waits for a
// signal.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include "app/config.hpp"

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

private:
    void wire_web_pages();
    struct Parts;
    std::unique_ptr<Parts> p_;
};

}  // namespace lp::app
