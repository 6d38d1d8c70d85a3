// plugins/sdk/plugin: the only header a livepush plugin includes (design.md section 7).
//
// A plugin is a business feature (gift effects, PK battles, anchor feed, leaderboards, or your
// own) that the node hosts. It declares what it owns: its name, the BIZ types clients send it,
// its HTTP routes under /v1/{name}/..., the event topics it consumes (Kafka topics in cluster
// mode, the in-process event bus in embedded mode) and the delayed-job topics it handles. In
// return it gets a Context: push to users and rooms, a key-value / hash / sorted-set / set /
// list store (memory in embedded mode, Redis in cluster mode), delayed jobs, its config
// section, a logger and counters. It never sees the server's internals, so the same plugin
// works embedded and in a cluster, built in or loaded from a shared object.
//
// Rules a plugin must follow:
// - Handlers may run on any thread, concurrently: make the plugin thread-safe.
// - Handlers must not block for long: no network calls of their own (use the Context).
// - Event and job handlers must be idempotent: delivery is at least once (a node can die after
//   handling an event and before committing it; a delayed job whose node dies mid-run runs
//   again after its TTR).
// - Everything that crosses this boundary is a std type; JSON travels as UTF-8 text.
// - An exception thrown by a handler is caught and logged by the host and counted against the
//   plugin; the node keeps running (but a plugin that throws has a bug: fix it).
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lp::sdk {

// Bumped when this header changes incompatibly; a shared-object plugin built against another
// version is refused at load. 2: Store::lpush_trim_many. 3: Events::describe and
// Plugin::describe_event (an API answer saying what an event will and will not do).
// 4: Plugin::guest_biz_types (a new virtual: source compatible, a rebuild is enough).
// 5: room hooks (Plugin::room_hooks, on_room_enter, on_room_leave, filter_chat), appended after
// every virtual of version 4, so a plugin built for 4 still loads: the host offers it 4 when it
// refuses 5 and never calls what its build does not have; and RoomState with
// Context::room_state (appended to Context: a version-4 build never reads it).
// Also 5: Pusher::to_room_as (a room push with its message class), appended after version
// 4's virtuals of Pusher (the host implements it; a version-4 build never calls it).
inline constexpr int kApiVersion = 5;
inline constexpr int kOldestApiVersion = 4;  // the oldest build the host still loads

// ---------------------------------------------------------------- pushing

// A room message's class: what a viewer's budget (room.viewer_budget_per_s) may shed. Low
// first, then normal sampled evenly; high and critical never (docs/rooms.md). Pusher::to_room
// gives the type's default (gift.effect and pk.score high, pk.state critical, else normal);
// Pusher::to_room_as names one.
enum class RoomClass : std::uint8_t { Critical = 0, High, Normal, Low };

struct PushOptions {
    int qos = 0;                         // 0 at most once; 1 acked, retried, inbox (users only)
    std::uint32_t ttl_s = 0;             // qos1 lifetime; 0 = the node's default
    bool online_only = false;            // qos1 without the inbox: offline users get nothing
    bool outside_rooms_only = false;     // skip sessions in a room or with scene "room"
                                         // (a "non-consumption scene" only: the feed's rule)
    std::vector<std::uint64_t> exclude;  // room pushes: users that do not get it
};

struct PushResult {
    bool ok = false;
    std::string error;  // when !ok: why (e.g. Redis unavailable for qos1)
    std::uint64_t msg_id = 0;
    std::uint64_t sessions = 0;  // sessions reached now (cluster-wide where known)
    std::uint64_t room_seq = 0;  // room pushes, when known on this node
};

class Pusher {
public:
    virtual ~Pusher() = default;
    virtual PushResult to_user(std::uint64_t user, const std::string& type,
                               const std::string& payload_json, const PushOptions& opts = {}) = 0;
    virtual PushResult to_users(const std::vector<std::uint64_t>& users, const std::string& type,
                                const std::string& payload_json, const PushOptions& opts = {}) = 0;
    virtual PushResult to_room(std::uint64_t room, const std::string& type,
                               const std::string& payload_json, const PushOptions& opts = {}) = 0;
    // Users (of `users`) with at least one session anywhere in the cluster.
    virtual std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) = 0;
    // Version 5: to_room with the message's class. Last in the class, so a version-4 build's
    // calls keep their places; the default (a host or double without classes) ignores `cls`.
    virtual PushResult to_room_as(RoomClass cls, std::uint64_t room, const std::string& type,
                                  const std::string& payload_json, const PushOptions& opts = {}) {
        (void)cls;
        return to_room(room, type, payload_json, opts);
    }
};

// ---------------------------------------------------------------- storage

// Keys are namespaced per plugin by the host ("plugin:{name}:" + key), so plugins cannot step
// on each other. Memory in embedded mode, Redis in cluster mode: every call is atomic on its
// own. A call that fails because the store is unavailable returns nullopt / false.
class Store {
public:
    virtual ~Store() = default;
    // strings
    virtual std::optional<std::string> get(const std::string& key) = 0;
    virtual bool set(const std::string& key, const std::string& value,
                     std::chrono::milliseconds ttl = {}) = 0;
    // Sets only if absent (a lock, an idempotency mark). True if this call set it.
    virtual bool set_if_absent(const std::string& key, const std::string& value,
                               std::chrono::milliseconds ttl = {}) = 0;
    // Atomic compare-and-set: sets `desired` if the current value equals `expected`
    // (nullopt = the key is absent). True if it set. The tool for strict state machines.
    virtual bool compare_and_set(const std::string& key, const std::optional<std::string>& expected,
                                 const std::string& desired,
                                 std::chrono::milliseconds ttl = {}) = 0;
    virtual bool del(const std::string& key) = 0;
    virtual std::optional<std::int64_t> incr_by(const std::string& key, std::int64_t delta) = 0;
    // hashes
    virtual bool hset(const std::string& key, const std::string& field,
                      const std::string& value) = 0;
    virtual std::optional<std::string> hget(const std::string& key, const std::string& field) = 0;
    virtual std::optional<std::map<std::string, std::string>> hgetall(const std::string& key) = 0;
    virtual std::optional<std::int64_t> hincr_by(const std::string& key, const std::string& field,
                                                 std::int64_t delta) = 0;
    virtual bool hdel(const std::string& key, const std::string& field) = 0;
    // sorted sets (scores are doubles: exact for integers up to 2^53)
    virtual bool zadd(const std::string& key, const std::string& member, double score) = 0;
    virtual std::optional<double> zincr_by(const std::string& key, const std::string& member,
                                           double delta) = 0;
    virtual std::optional<double> zscore(const std::string& key, const std::string& member) = 0;
    // Highest first; rank is 0-based. stop = -1 means to the end.
    virtual std::optional<std::vector<std::pair<std::string, double>>> zrevrange(
        const std::string& key, std::int64_t start, std::int64_t stop) = 0;
    virtual std::optional<std::int64_t> zrevrank(const std::string& key,
                                                 const std::string& member) = 0;
    virtual bool zrem(const std::string& key, const std::string& member) = 0;
    // sets
    virtual bool sadd(const std::string& key, const std::vector<std::string>& members) = 0;
    virtual bool srem(const std::string& key, const std::vector<std::string>& members) = 0;
    virtual std::optional<std::int64_t> scard(const std::string& key) = 0;
    // Iterates in batches: start with cursor "0"; returns the next cursor ("0" = done).
    virtual std::optional<std::pair<std::string, std::vector<std::string>>> sscan(
        const std::string& key, const std::string& cursor, std::size_t count) = 0;
    // lists
    virtual bool lpush_trim(const std::string& key, const std::string& value, std::size_t keep) = 0;
    // lpush_trim of one value onto many lists, in one round trip where the store can (a
    // pipeline on Redis, instead of one round trip per key: a feed item reaching 1,000
    // followers). Each key is atomic on its own, the batch is not. Returns how many keys it was
    // applied to; fewer than keys.size() means some failed and the caller cannot tell which, so
    // a retry pushes the value again onto some lists: readers must tolerate a repeated value.
    virtual std::size_t lpush_trim_many(const std::vector<std::string>& keys,
                                        const std::string& value, std::size_t keep) {
        std::size_t applied = 0;
        for (const auto& key : keys) applied += lpush_trim(key, value, keep) ? 1 : 0;
        return applied;
    }
    virtual std::optional<std::vector<std::string>> lrange(const std::string& key,
                                                           std::int64_t start,
                                                           std::int64_t stop) = 0;
    virtual bool expire(const std::string& key, std::chrono::milliseconds ttl) = 0;
};

// ---------------------------------------------------------------- room state (version 5)

// A room's keyed, versioned state (docs/rooms.md "Room state"): the same store, bounds and
// `room.state {key, value, version}` push to the room's members as PUT/DELETE/GET
// /v1/rooms/{id}/state. A room.enter answers with the whole state, so a late joiner draws the
// room (a PK score bar, a pinned notice) without waiting for the next change. Keys are shared
// by every plugin and business service: pick one your plugin owns (the PK plugin: "pk").
// Calls wait for the store (Redis in cluster mode): call from handlers, not from a hot loop.
struct RoomStateResult {
    bool ok = false;
    int code = 0;               // when !ok: 3018 bad key, 3019 too large / too many keys, 404
                                // (remove: no such key), 503 (store unavailable)
    std::string error;          // when !ok: why
    std::uint64_t version = 0;  // when ok: the room-wide version of this change
};

class RoomState {
public:
    virtual ~RoomState() = default;
    // Sets `key` to a JSON value (not null) and pushes room.state to the room's members.
    virtual RoomStateResult set(std::uint64_t room, const std::string& key,
                                const std::string& value_json) = 0;
    // Removes `key` and pushes room.state with value null.
    virtual RoomStateResult remove(std::uint64_t room, const std::string& key) = 0;
    // {key: {"value": ..., "version": N}} as JSON text; nothing when the store is unavailable.
    virtual std::optional<std::string> get(std::uint64_t room) = 0;
};

// ---------------------------------------------------------------- delayed jobs

// The platform's delayed queue, cluster-safe: a job runs once across the cluster when due
// (on_job of the plugin that owns its topic); if the node running it dies before it finishes,
// it runs again after its TTR. Scheduling an id that exists replaces it. Handlers must be
// idempotent. A handler that throws is retried after the TTR, up to the node's
// jobs.max_attempts runs; then the job is given up and kept in the node's dead letters.
class Jobs {
public:
    virtual ~Jobs() = default;
    virtual bool schedule(const std::string& topic, const std::string& id,
                          std::chrono::milliseconds delay, const std::string& body) = 0;
    virtual bool cancel(const std::string& topic, const std::string& id) = 0;
};

// ---------------------------------------------------------------- events, logs, metrics

class Events {
public:
    virtual ~Events() = default;
    // Publishes an event (JSON) to `topic`: to Kafka when the node has brokers configured,
    // otherwise to the in-process bus (every local plugin that consumes the topic gets it).
    virtual bool publish(const std::string& topic, const std::string& key,
                         const std::string& value_json) = 0;
    // What the other plugins consuming `topic` say they will do with this event, as a JSON
    // object {plugin: its describe_event answer}, only those with something to say; "{}" when
    // none. For an API that takes an event to answer what will and will not be counted.
    virtual std::string describe(const std::string& topic, const std::string& value_json) {
        return "{}";
    }
};

class Log {
public:
    virtual ~Log() = default;
    virtual void info(std::string_view message) = 0;
    virtual void warn(std::string_view message) = 0;
    virtual void error(std::string_view message) = 0;
};

class Metrics {
public:
    virtual ~Metrics() = default;
    // Adds to a counter exported as livepush_plugin_{plugin}_{name}_total.
    virtual void count(const std::string& name, std::uint64_t n = 1) = 0;
};

struct Context {
    std::string node_id;
    bool cluster = false;  // true: several nodes share the store; false: embedded
    Pusher* push = nullptr;
    Store* store = nullptr;
    Jobs* jobs = nullptr;
    Events* events = nullptr;
    Log* log = nullptr;
    Metrics* metrics = nullptr;
    // The plugin's config section ([plugins.{name}] keys, --set plugins.{name}.key=value).
    std::map<std::string, std::string> config;
    // Version 5, after every member of version 4 so a version-4 build keeps its layout; null on
    // a host without room state.
    RoomState* room_state = nullptr;
    std::string config_value(const std::string& key, const std::string& fallback) const {
        auto it = config.find(key);
        return it == config.end() ? fallback : it->second;
    }
    std::int64_t config_int(const std::string& key, std::int64_t fallback) const {
        auto it = config.find(key);
        if (it == config.end()) return fallback;
        try {
            return std::stoll(it->second);
        } catch (...) {
            return fallback;
        }
    }
};

// ---------------------------------------------------------------- what a plugin handles

struct BizRequest {
    std::uint64_t user_id = 0;
    std::string role;       // from the token: viewer, anchor, admin; "guest" for a guest
                            // (no token, auth.guests; only in guest_biz_types())
    std::string type;       // the BIZ type (one the plugin declared)
    std::string data_json;  // BizReq.data
};

struct Reply {
    int code = 0;           // BIZ: Result.code (0 ok); HTTP: the status (200 ok)
    std::string message;    // BIZ: Result.message; HTTP: error text for non-2xx
    std::string data_json;  // BIZ: Result.data; HTTP: the body (JSON)
};

struct HttpRequest {
    std::string method;  // "GET", "POST", ...
    std::string path;    // full path, e.g. /v1/pk/123/accept
    std::map<std::string, std::string> query;
    std::string body;
};

struct Route {
    std::string method;  // "GET" or "POST"
    std::string path;    // under /v1/{plugin}/; ending in '/' = a prefix
};

// ---------------------------------------------------------------- room hooks (version 5)

// Which room hooks a plugin wants called; the host calls only these (and calls nothing of a
// plugin that declares none, so a chat stays synchronous unless some plugin filters it).
struct RoomHooks {
    bool enter_leave = false;  // on_room_enter and on_room_leave
    bool filter_chat = false;  // filter_chat, before every room.chat is published
};

// A session entered or left a room. Leaving covers room.leave, a disconnect, a kick and a ban.
// Called after the fact, on a plugin worker (never the loop), one user's visits in order.
struct RoomVisit {
    std::uint64_t user_id = 0;
    std::uint64_t room_id = 0;
    std::string role;  // viewer, anchor, admin, guest (guest ids change with each connection)
};

// A room.chat about to be published.
struct ChatToFilter {
    std::uint64_t user_id = 0;
    std::string role;
    std::uint64_t room_id = 0;
    std::string text;          // UTF-8, at most server.max_chat_bytes
    std::string profile_json;  // the sender's profile claims (JSON object), empty for none
};

struct ChatVerdict {
    enum class Action { Allow, Deny, Rewrite };
    Action action = Action::Allow;
    std::string reason;  // Deny: told to the sender (CHAT_REJECTED, 3016)
    std::string text;    // Rewrite: what is published instead (non-empty UTF-8)
    static ChatVerdict allow() { return {}; }
    static ChatVerdict deny(std::string why) { return {Action::Deny, std::move(why), {}}; }
    static ChatVerdict rewrite(std::string to) { return {Action::Rewrite, {}, std::move(to)}; }
};

class Plugin {
public:
    virtual ~Plugin() = default;
    virtual std::string name() const = 0;
    virtual std::vector<std::string> biz_types() const { return {}; }
    // The BIZ types (of biz_types()) that guests, sessions without a token (auth.guests), may
    // send too. None by default: every other type answers a guest NOT_ALLOWED (3011) before the
    // plugin sees it. A guest's user_id is in the guest range (>= 2^63) and changes with each
    // connection, so never key anything durable on it.
    virtual std::vector<std::string> guest_biz_types() const { return {}; }
    virtual std::vector<Route> routes() const { return {}; }
    virtual std::vector<std::string> event_topics() const { return {}; }
    virtual std::vector<std::string> job_topics() const { return {}; }

    // The context outlives the plugin's stop(). Throwing from start() disables the plugin.
    virtual void start(Context& ctx) = 0;
    virtual void stop() {}

    virtual Reply on_biz(const BizRequest& req) { return {3001, "not handled", {}}; }
    virtual Reply on_http(const HttpRequest& req) { return {404, "not found", {}}; }
    virtual void on_event(const std::string& topic, const std::string& key,
                          const std::string& value_json) {}
    virtual void on_job(const std::string& topic, const std::string& id, const std::string& body) {}
    // What on_event would do with this event, judged now (a JSON object, e.g. whether it would
    // be counted and why not), or empty when there is nothing to say. Must not change state.
    virtual std::string describe_event(const std::string& topic, const std::string& value_json) {
        return {};
    }

    // ---- version 5: keep these after every version-4 virtual (a version-4 build's table ends
    // above), and add later ones after them.
    virtual RoomHooks room_hooks() const { return {}; }
    virtual void on_room_enter(const RoomVisit& visit) {}
    virtual void on_room_leave(const RoomVisit& visit) {}
    // Before a room.chat is published, on a plugin worker, bounded by plugins.filter_timeout_ms
    // (past it the chat passes or is refused by plugins.filter_fail_open; the late answer is
    // dropped). Several filtering plugins run in load order: a rewrite is what the next one
    // sees, the first deny ends it. Keep it fast: no store round trip per chat if you can help it.
    virtual ChatVerdict filter_chat(const ChatToFilter& chat) { return ChatVerdict::allow(); }
};

}  // namespace lp::sdk

// A shared-object plugin exports this (extern "C"). The host passes its kApiVersion; return
// nullptr if you were built for another (the host then offers the older versions it still
// loads, down to kOldestApiVersion, and treats the plugin as built for the one it accepts). The
// host deletes the plugin with `delete`, so build the plugin with the same compiler and C++ runtime
// as the node.
extern "C" __attribute__((visibility("default"))) lp::sdk::Plugin* livepush_plugin_create(
    int api_version);
