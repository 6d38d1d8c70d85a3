// router/route_store: see route_store.hpp.
#include "router/route_store.hpp"

#include <charconv>

namespace lp::router {

namespace {

// Binds a platform's route and returns the previous value when it belonged to another live
// node (the caller kicks that session there); false otherwise.
// KEYS[1] route key; ARGV[1] platform, ARGV[2] "node|session", ARGV[3] node key prefix,
// ARGV[4] route TTL ms (a user who never returns leaves no hash behind forever).
const redis::Script kRouteBind(R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
if old and old ~= ARGV[2] then
  local node = string.match(old, '^([^|]*)|')
  if node and redis.call('EXISTS', ARGV[3] .. node) == 1 then return old end
end
return false
)lua");

// Compare-and-delete: removes the platform's route only if it is still ARGV[2].
const redis::Script kRouteUnbind(R"lua(
if redis.call('HGET', KEYS[1], ARGV[1]) == ARGV[2] then
  return redis.call('HDEL', KEYS[1], ARGV[1])
end
return 0
)lua");

// Live routes of every user in KEYS: {i, platform, value, ...} flat, i = 1-based key index.
// Liveness of each node is checked once per call.
const redis::Script kRouteLookup(R"lua(
local out = {}
local alive = {}
for i, key in ipairs(KEYS) do
  local kv = redis.call('HGETALL', key)
  for j = 1, #kv, 2 do
    local node = string.match(kv[j + 1], '^([^|]*)|')
    if node then
      if alive[node] == nil then alive[node] = redis.call('EXISTS', ARGV[1] .. node) == 1 end
      if alive[node] then
        out[#out + 1] = i
        out[#out + 1] = kv[j]
        out[#out + 1] = kv[j + 1]
      end
    end
  end
end
return out
)lua");

// Registered nodes whose liveness key exists: {id, value, ...}; prunes the others from the set.
const redis::Script kLiveNodes(R"lua(
local out = {}
for _, id in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  local v = redis.call('GET', ARGV[1] .. id)
  if v then
    out[#out + 1] = id
    out[#out + 1] = v
    out[#out + 1] = redis.call('GET', ARGV[2] .. id) or ''
  else
    redis.call('SREM', KEYS[1], id)
  end
end
return out
)lua");

// Sum of a room's members on live nodes.
const redis::Script kRoomOnline(R"lua(
local total = 0
local kv = redis.call('HGETALL', KEYS[1])
for j = 1, #kv, 2 do
  if redis.call('EXISTS', ARGV[1] .. kv[j]) == 1 then total = total + tonumber(kv[j + 1]) end
end
return total
)lua");

constexpr const char* kNodePrefix = "lp:node:";
constexpr const char* kNodeWsPrefix = "lp:node_ws:";
constexpr const char* kNodesSet = "lp:nodes";
constexpr const char* kRouteTtlMs = "2592000000";  // 30 days

std::vector<NodeInfo> parse_nodes(const redis::Reply& r) {
    std::vector<NodeInfo> out;
    for (std::size_t i = 0; i + 2 < r.elements.size(); i += 3) {
        NodeInfo n;
        n.id = r.elements[i].str;
        const std::string& v = r.elements[i + 1].str;
        auto bar = v.find('|');
        n.client_addr = v.substr(0, bar);
        if (bar != std::string::npos) n.link_addr = v.substr(bar + 1);
        n.ws_addr = r.elements[i + 2].str;
        out.push_back(std::move(n));
    }
    return out;
}

}  // namespace

std::string encode_route_value(const std::string& node, std::uint64_t session) {
    return node + "|" + std::to_string(session);
}

bool decode_route_value(const std::string& value, Route& out) {
    auto bar = value.rfind('|');
    if (bar == std::string::npos) return false;
    out.node = value.substr(0, bar);
    const char* b = value.data() + bar + 1;
    const char* e = value.data() + value.size();
    auto [p, ec] = std::from_chars(b, e, out.session_id);
    return ec == std::errc() && p == e;
}

std::string RouteStore::route_key(std::uint64_t user) {
    return "lp:route:" + std::to_string(user);
}
std::string RouteStore::node_key(const std::string& node) {
    return kNodePrefix + node;
}
std::string RouteStore::node_ws_key(const std::string& node) {
    return kNodeWsPrefix + node;
}
std::string RouteStore::room_key(std::uint64_t room) {
    return "lp:room:" + std::to_string(room) + ":nodes";
}

RouteStore::RouteStore(redis::Client& redis, std::string node_id,
                       std::chrono::milliseconds node_ttl, std::chrono::milliseconds timeout)
    : redis_(redis), node_id_(std::move(node_id)), node_ttl_(node_ttl), timeout_(timeout) {}

void RouteStore::bind(std::uint64_t user, const std::string& platform, std::uint64_t session,
                      std::function<void(bool, std::optional<Route>)> done) {
    redis_.eval(kRouteBind, {route_key(user)},
                {platform, encode_route_value(node_id_, session), kNodePrefix, kRouteTtlMs},
                [done = std::move(done), platform](const redis::Reply& r) {
                    if (!done) return;
                    if (r.is_error()) return done(false, std::nullopt);
                    if (r.type != redis::Reply::Type::String) return done(true, std::nullopt);
                    Route prev;
                    prev.platform = platform;
                    if (!decode_route_value(r.str, prev)) return done(true, std::nullopt);
                    done(true, std::move(prev));
                });
}

void RouteStore::unbind(std::uint64_t user, const std::string& platform, std::uint64_t session) {
    redis_.eval(kRouteUnbind, {route_key(user)}, {platform, encode_route_value(node_id_, session)});
}

std::optional<std::map<std::uint64_t, std::vector<Route>>> RouteStore::lookup(
    const std::vector<std::uint64_t>& users) {
    std::map<std::uint64_t, std::vector<Route>> out;
    if (users.empty()) return out;
    std::vector<std::string> keys;
    keys.reserve(users.size());
    for (auto u : users) keys.push_back(route_key(u));
    redis::Reply r = redis_.eval_sync(kRouteLookup, std::move(keys), {kNodePrefix}, timeout_);
    if (r.is_error() || r.type != redis::Reply::Type::Array) return std::nullopt;
    for (std::size_t i = 0; i + 2 < r.elements.size(); i += 3) {
        auto index = static_cast<std::size_t>(r.elements[i].integer);
        if (index == 0 || index > users.size()) continue;
        Route route;
        route.platform = r.elements[i + 1].str;
        if (!decode_route_value(r.elements[i + 2].str, route)) continue;
        out[users[index - 1]].push_back(std::move(route));
    }
    return out;
}

void RouteStore::heartbeat(const NodeInfo& self, std::function<void(bool)> done) {
    if (!self.ws_addr.empty())
        redis_.command(
            {"SET", node_ws_key(self.id), self.ws_addr, "PX", std::to_string(node_ttl_.count())});
    redis_.command({"SET", node_key(self.id), self.client_addr + "|" + self.link_addr, "PX",
                    std::to_string(node_ttl_.count())});
    redis_.command({"SADD", kNodesSet, self.id}, [done = std::move(done)](const redis::Reply& r) {
        if (done) done(r.ok());
    });
}

void RouteStore::deregister() {
    redis_.command_sync({"DEL", node_key(node_id_), node_ws_key(node_id_)}, timeout_);
    redis_.command_sync({"SREM", kNodesSet, node_id_}, timeout_);
}

std::optional<std::vector<NodeInfo>> RouteStore::live_nodes() {
    redis::Reply r =
        redis_.eval_sync(kLiveNodes, {kNodesSet}, {kNodePrefix, kNodeWsPrefix}, timeout_);
    if (r.is_error() || r.type != redis::Reply::Type::Array) return std::nullopt;
    return parse_nodes(r);
}

void RouteStore::live_nodes_async(std::function<void(std::optional<std::vector<NodeInfo>>)> done) {
    redis_.eval(kLiveNodes, {kNodesSet}, {kNodePrefix, kNodeWsPrefix},
                [done = std::move(done)](const redis::Reply& r) {
                    if (r.is_error() || r.type != redis::Reply::Type::Array)
                        return done(std::nullopt);
                    done(parse_nodes(r));
                });
}

void RouteStore::set_room_members(std::uint64_t room, std::uint64_t count) {
    if (count == 0)
        redis_.command({"HDEL", room_key(room), node_id_});
    else
        redis_.command({"HSET", room_key(room), node_id_, std::to_string(count)});
}

std::optional<std::uint64_t> RouteStore::room_online(std::uint64_t room) {
    redis::Reply r = redis_.eval_sync(kRoomOnline, {room_key(room)}, {kNodePrefix}, timeout_);
    if (r.is_error() || r.type != redis::Reply::Type::Integer) return std::nullopt;
    return static_cast<std::uint64_t>(r.integer);
}

}  // namespace lp::router
