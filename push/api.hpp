// push/api: what the internal HTTP API (http_api.hpp) asks of the node, as plain types.
//
// The HTTP layer parses and validates requests and turns them into these; PushBackend (the
// push service, wired in app/) does the work. Keeping the boundary here lets the HTTP server be
// tested on its own and lets plugins add routes without seeing the server's internals.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "server/msg_class.hpp"

namespace lp::push {

enum class Target : std::uint8_t { User, Users, Room, Broadcast };

struct PushRequest {
    Target target = Target::User;
    std::uint64_t user_id = 0;            // Target::User
    std::vector<std::uint64_t> user_ids;  // Target::Users (1..10,000, duplicates removed)
    std::uint64_t room_id = 0;            // Target::Room
    std::string type;                     // push type, 1..64 bytes
    std::string payload;                  // bytes: UTF-8 JSON text, or decoded base64
    int qos = 0;                          // 0 or 1 (qos1 only for User/Users)
    std::uint32_t ttl_s = 0;              // qos1: inbox lifetime; 0 = the configured default
    std::vector<std::uint64_t> exclude;   // user ids, sorted ascending, unique
    // Room pushes: "class" (alias "priority"); unset = the type's default (server/msg_class).
    std::optional<server::MsgClass> cls;
    std::uint64_t msg_id = 0;  // 0 = the service assigns one (internal callers
                               // such as im.send pass the id they already returned)
    // Plugin options (plugins/sdk PushOptions); the HTTP API does not set them.
    bool online_only = false;         // qos1 without the inbox: offline users get nothing
    bool outside_rooms_only = false;  // only sessions in a non-consumption scene
    // im.send: the sending user (the HTTP API never sets it). The push is refused with
    // kInboxShareFull when the target's inbox holds the sender's share already.
    std::uint64_t sender = 0;
};

// PushOutcome::code (status 429) when a sender's share of the target's inbox is full
// (livepush.v1.INBOX_SHARE_FULL).
inline constexpr int kInboxShareFull = 3009;

struct PushOutcome {
    int status = 200;   // HTTP status: 200 accepted; 4xx/5xx with error/code below
    std::string error;  // message when status != 200
    int code = 0;       // machine-readable error code when status != 200
    std::uint64_t msg_id = 0;
    std::uint64_t sessions = 0;  // sessions the push reached (was queued to) now
    std::uint64_t stored = 0;    // qos1: users whose inbox got it (offline)
    std::uint64_t room_seq = 0;  // room pushes
    // false: the room's home node did not answer in time (cluster.room_query_timeout_ms); the
    // message was handed to it all the same, and the API answers "room_seq": null.
    bool room_seq_known = true;
};

struct SessionView {
    std::uint64_t session_id = 0;
    std::string platform;
    std::string transport;  // "tcp", "ws", "tcp+tls", "ws+tls"
    std::string scene;
    std::vector<std::uint64_t> rooms;
    std::string node;
};

struct UserView {
    bool online = false;
    std::string node;  // node of the first session (empty when offline)
    std::vector<SessionView> sessions;
    std::uint64_t inbox = 0;  // messages waiting in the inbox
};

struct RoomView {
    std::uint64_t online = 0;
    std::uint64_t room_seq = 0;
    std::uint64_t epoch = 0;
    std::string home;  // cluster mode: the node that assigns the room's seq; empty otherwise
};

class PushBackend {
public:
    virtual ~PushBackend() = default;
    // Thread-safe; called on the API thread.
    virtual PushOutcome push(const PushRequest& req) = 0;
    virtual UserView user(std::uint64_t id) = 0;
    virtual RoomView room(std::uint64_t id) = 0;
    // Kicks every session of the user with reason; returns how many.
    virtual std::uint64_t kick(std::uint64_t user, const std::string& reason) = 0;
    // Prometheus text exposition of the node's metrics (the API appends its own).
    virtual std::string metrics_text() = 0;
    // /readyz: true when ready; otherwise `why` says what is degraded.
    virtual bool ready(std::string& why) = 0;
};

// Plugin routes (/v1/{plugin}/...).
struct HttpRequest {
    std::string method;                        // "GET", "POST", ...
    std::string path;                          // without the query string
    std::map<std::string, std::string> query;  // decoded
    std::string body;
};
struct HttpReply {
    int status = 200;
    std::string body;  // JSON text
};
using RouteHandler = std::function<HttpReply(const HttpRequest&)>;

}  // namespace lp::push
