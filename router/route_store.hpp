// router/route_store: who is where across the cluster, in Redis.
//
//   lp:node:{id}          "client_addr|link_addr", PX node_ttl: a node is alive while this exists
//   lp:node_ws:{id}       its WebSocket client address (host:port), PX node_ttl, set beside it
//                         when it has one. A key of its own, so that a node of an older version
//                         still reads lp:node:{id} as it always did (rolling upgrades); a node
//                         without it (or an older one) has no WebSocket address: empty ws_addr.
//   lp:nodes              SET of node ids that have registered (pruned when their key is gone)
//   lp:route:{user}       HASH platform -> "node|session": written at login, removed at logout
//                         with compare-and-delete, so a late cleanup never removes a newer login
//   lp:room:{room}:nodes  HASH node -> members of the room on that node (cluster-wide counts)
//
// A route is valid only while its node's liveness key exists, so a node keeps every route of its
// users alive with one SET a second (two with a WebSocket address), whatever its number of users:
// heartbeats cost Redis nothing, and a node killed with SIGKILL takes all its routes with it within
// node_ttl. Every operation is one Lua script or one command: one round trip, pipelined with the
// rest by redis::Client.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "redis/client.hpp"

namespace lp::router {

struct Route {
    std::string node;
    std::uint64_t session_id = 0;
    std::string platform;
};

struct NodeInfo {
    std::string id;
    std::string client_addr;  // host:port TCP clients connect to (reconnect_to)
    std::string link_addr;    // host:port of its node-link listener
    std::string ws_addr;      // host:port WebSocket clients connect to; empty = none (or old node)
};

class RouteStore {
public:
    RouteStore(redis::Client& redis, std::string node_id,
               std::chrono::milliseconds node_ttl = std::chrono::milliseconds(5000),
               std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

    const std::string& node_id() const noexcept { return node_id_; }

    // ---- routes
    // Binds (user, platform) to this node's session. `done(previous)` runs on the Redis thread:
    // previous is the route it replaced when that one was on another live node (to be kicked
    // there), nullopt otherwise; ok=false when Redis did not answer.
    void bind(std::uint64_t user, const std::string& platform, std::uint64_t session,
              std::function<void(bool ok, std::optional<Route> previous)> done = {});
    // Removes the binding only if it is still this node's `session` (async).
    void unbind(std::uint64_t user, const std::string& platform, std::uint64_t session);
    // Live routes of each user (one script call). nullopt when Redis is unavailable.
    std::optional<std::map<std::uint64_t, std::vector<Route>>> lookup(
        const std::vector<std::uint64_t>& users);

    // ---- nodes
    // Refreshes this node's liveness key (async; `done(ok)` on the Redis thread).
    void heartbeat(const NodeInfo& self, std::function<void(bool)> done = {});
    void deregister();
    // Nodes whose liveness key exists. nullopt when Redis is unavailable.
    std::optional<std::vector<NodeInfo>> live_nodes();
    void live_nodes_async(std::function<void(std::optional<std::vector<NodeInfo>>)> done);

    // ---- rooms
    // This node's member count in a room (0 removes the field). Async.
    void set_room_members(std::uint64_t room, std::uint64_t count);
    // Members of the room on live nodes. nullopt when Redis is unavailable.
    std::optional<std::uint64_t> room_online(std::uint64_t room);

    static std::string route_key(std::uint64_t user);
    static std::string node_key(const std::string& node);
    static std::string node_ws_key(const std::string& node);
    static std::string room_key(std::uint64_t room);

private:
    redis::Client& redis_;
    std::string node_id_;
    std::chrono::milliseconds node_ttl_;
    std::chrono::milliseconds timeout_;
};

// "node|session" <-> Route.
std::string encode_route_value(const std::string& node, std::uint64_t session);
bool decode_route_value(const std::string& value, Route& out);

}  // namespace lp::router
