// app/config: the node's configuration, from defaults, a TOML file (--config), environment
// variables (LIVEPUSH_SECTION_KEY), flags (--tcp-listen ...) and --set section.key=value, in that
// order of precedence (later wins). The key and flag names of design.md section 2 are fixed.
//
// Every key lives in one table (the schema, app/config_schema.hpp) with its flag, its checks
// (bounds of a number, the form of an address) and help text, so --help, the env names, --set and
// the checks of every source are all derived from that one place. Its default is the member
// initializer below, which for a module's option is that module's named constant (its Options
// struct uses the same one), so each default is written once. Unknown keys under [plugins.*] are
// kept verbatim for the plugins; other unknown keys are an error.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "ack/defaults.hpp"
#include "auth/jwt.hpp"
#include "events/defaults.hpp"
#include "handlers/defaults.hpp"
#include "plugins/host/defaults.hpp"
#include "push/defaults.hpp"
#include "router/defaults.hpp"
#include "server/defaults.hpp"

namespace lp::app {

// A module's default duration as the whole milliseconds / seconds its config key holds.
constexpr std::uint32_t as_ms(std::chrono::milliseconds d) {
    return static_cast<std::uint32_t>(d.count());
}
constexpr std::uint32_t as_s(std::chrono::seconds d) {
    return static_cast<std::uint32_t>(d.count());
}

struct Config {
    struct Server {
        std::string tcp_listen{server::kDefaultTcpListen};
        std::string ws_listen{server::kDefaultWsListen};  // WebSocket path /ws
        // Closed after 3 missed.
        std::uint32_t heartbeat_interval_ms = as_ms(server::kDefaultHeartbeatInterval);
        std::uint32_t login_timeout_ms = as_ms(server::kDefaultLoginTimeout);
        std::uint32_t loops = 0;                           // event loops; 0 = one per core
        std::uint32_t max_body = server::kDefaultMaxBody;  // frame body limit
        // WebSocket message limit (a JSON envelope is larger than its body).
        std::uint32_t ws_max_message = server::kDefaultWsMaxMessage;
        std::uint64_t send_queue_max_bytes = server::kDefaultSendQueueMaxBytes;  // over: KICK slow
        std::uint32_t max_connections = 0;      // 0 = limited only by the fd limit
        std::uint32_t drain_timeout_ms = 5000;  // SIGTERM: bound on drain+flush
        std::uint32_t max_rooms_per_session = handlers::kDefaultMaxRoomsPerSession;
        // BIZ packets per session per second (0 = off).
        std::uint32_t biz_rate_per_s = handlers::kDefaultBizRatePerS;
        // Client limits that one token or one address cannot walk around (0 = off each).
        // On this node; over it the oldest is kicked.
        std::uint32_t max_sessions_per_user = handlers::kDefaultMaxSessionsPerUser;
        std::uint32_t max_connections_per_ip = 128;  // over it: closed at accept
        std::uint32_t login_rate_per_ip = 20;  // LOGINs per second per IP, burst of twice that
        std::string trusted_proxies;           // addresses/CIDRs exempt from the per-IP limits
        std::uint32_t ack_rate_per_s = handlers::kDefaultAckRatePerS;  // per session
        std::uint32_t max_ack_ids = handlers::kDefaultMaxAckIds;       // ids in one ACK
        std::uint32_t plugin_workers = 2;  // threads running plugin BIZ calls (0 = on the loop)
        std::uint32_t plugin_queue_max = 10000;  // plugin BIZ calls waiting per worker, at most
        std::string
            ws_allowed_origins;  // comma list of browser Origins allowed to upgrade; empty = any
        // The web pages (demo, console; docs/console.md): served from memory, read at start.
        std::uint32_t demo = 0;  // a switch: /demo/ on the WebSocket listener (on with --dev)
        std::string web_root;    // empty = <exe>/../share/livepush/web, then the source tree's
        std::uint64_t web_max_bytes = 8 * 1024 * 1024;  // over it: refuse to start
    } server;
    struct Room {
        // Room messages within this window: one write, or this many messages.
        std::uint32_t coalesce_ms = as_ms(server::kDefaultRoomCoalesce);
        std::uint32_t coalesce_max = server::kDefaultRoomCoalesceMax;
        // Recent messages kept per room for recovery, and for how long.
        std::uint32_t history_max = server::kDefaultRoomHistoryMax;
        std::uint32_t history_ttl_s = as_s(server::kDefaultRoomHistoryTtl);
        // room.online {count} to members at most this often, when it changed; 0 = off.
        std::uint32_t online_interval_ms = as_ms(server::kDefaultRoomOnlineInterval);
        // Room messages per viewer per second (0 = off); audience chat per room per node.
        std::uint32_t viewer_budget_per_s = server::kDefaultViewerBudgetPerS;
        std::uint32_t chat_rate_per_s = handlers::kDefaultRoomChatRatePerS;
        // Room state bounds (issue 14 item 5): key length, value bytes, keys per room.
        std::uint32_t state_max_key_bytes = push::kDefaultRoomStateMaxKeyBytes;
        std::uint32_t state_max_value_bytes = push::kDefaultRoomStateMaxValueBytes;
        std::uint32_t state_max_keys = push::kDefaultRoomStateMaxKeys;
        std::uint32_t state_max_room_bytes = push::kDefaultRoomStateMaxRoomBytes;
        // Likes (router/room_likes, handlers/gateway_likes): room.likes at most this often; a
        // total forgotten this long after its last like; per room.like request and session.
        std::uint32_t likes_interval_ms = as_ms(router::kDefaultRoomLikesInterval);
        std::uint32_t likes_ttl_s = as_s(router::kDefaultRoomLikesTtl);
        std::uint32_t like_max_count = handlers::kDefaultLikeMaxCount;
        std::uint32_t like_rate_per_s = handlers::kDefaultLikeRatePerS;
    } room;
    struct Moderation {  // rooms' moderation (docs/rooms.md "Moderation")
        // per room (PUT /v1/rooms/{id}/meta)
        std::uint32_t max_moderators = router::kDefaultModerationMaxModerators;
        // muted, banned, shadow-banned users per room, each
        std::uint32_t max_entries = router::kDefaultModerationMaxEntries;
        // cluster: other nodes' changes polled this often
        std::uint32_t sync_interval_ms = as_ms(router::kDefaultModerationSyncInterval);
    } moderation;
    struct Delivery {
        std::uint32_t window = ack::kDefaultWindow;          // qos1 messages in flight per session
        std::uint32_t retry_ms = as_ms(ack::kDefaultRetry);  // first retry; doubles per attempt
        std::uint32_t max_attempts = ack::kDefaultMaxAttempts;    // sends before the inbox
        std::uint32_t inbox_max = ack::kDefaultInboxMax;          // messages kept per user
        std::uint32_t inbox_ttl_s = as_s(ack::kDefaultInboxTtl);  // a qos1 message's lifetime
        std::uint32_t inbox_max_per_sender =
            100;  // im.send messages one sender may hold in one inbox
        // qos1 messages queued behind a session's window.
        std::uint32_t waiting_max = ack::kDefaultWaitingMax;
    } delivery;
    struct Im {
        // im.send per sender per second, burst 2x (0 = off); its serialized payload.
        std::uint32_t rate_per_s = handlers::kDefaultImRatePerS;
        std::uint32_t max_payload_bytes = handlers::kDefaultImMaxPayloadBytes;
        std::uint32_t workers = 2;  // threads storing/routing im.send off the loops
    } im;
    struct Api {
        std::string listen{push::kDefaultApiListen};
        std::string key;  // empty = no auth, only allowed on a loopback listen address
        std::uint64_t max_body_bytes = push::kDefaultApiMaxBodyBytes;
        std::uint32_t max_requests_per_s = 0;  // 0 = unlimited
        std::uint32_t max_user_ids = push::kDefaultApiMaxUserIds;
        // At the cap the longest-idle one makes room.
        std::uint32_t max_connections = push::kDefaultApiMaxConnections;
        // A request header must be complete within it; keep-alive wait for the next request.
        std::uint32_t header_timeout_ms = push::kDefaultApiHeaderTimeoutMs;
        std::uint32_t idle_timeout_ms = push::kDefaultApiIdleTimeoutMs;
        // Threads serving the API; 0 = auto: 4 in a cluster, where a qos1 push waits for its
        // Redis inbox write before it answers and more threads overlap those waits, 1 embedded,
        // where a push never waits and more threads only take CPU from the event loops.
        std::uint32_t threads = 0;
        std::uint32_t console = 1;  // a switch: the operator console at /console/
    } api;
    struct Auth {
        std::string jwt_secret;  // HS256; at least 32 bytes; this or jwt_public_key unless --dev
        std::uint32_t leeway_s = auth::kDefaultLeewayS;
        std::string platforms{handlers::kDefaultPlatforms};  // allowed LoginReq.platform values
        std::string jwt_public_key;                          // PEM file of RS256/ES256 public keys
        // Rotation: the previous secret / key file stay valid until jwt_previous_until.
        std::string jwt_secret_previous;
        std::string jwt_public_key_previous;
        std::uint64_t jwt_previous_until = 0;  // unix seconds; 0 = no previous keys
        // Rotation by reload: keys a SIGHUP replaced stay valid this long after it (0 = not).
        std::uint32_t key_overlap_s = 3600;
        std::string issuer;                     // required iss; empty = not checked
        std::string audience;                   // required in aud; empty = not checked
        std::uint32_t max_token_ttl_s = 86400;  // longest exp - iat; 0 = no limit
        std::uint32_t guests = 0;  // a switch (true/false, 1/0): an empty token logs in as a guest
        std::uint32_t guest_max_sessions = handlers::kDefaultGuestMaxSessions;  // 0 = unlimited
        std::uint32_t guests_may_like = 0;  // a switch: guests may send room.like
        // A switch: a session whose token expires (exp + leeway_s) is kicked (token_expired).
        std::uint32_t expire_sessions = 1;
    } auth;
    struct Cluster {
        std::string redis;           // empty = embedded
        std::string redis_user;      // Redis ACL user (AUTH user pass); empty = "default"
        std::string redis_password;  // sent with AUTH on every connect; empty = no AUTH
        // Plugin stores and delayed jobs on a Redis of their own (a feed's recent lists can
        // outgrow the routes' Redis); empty = `redis`.
        std::string plugin_redis;
        // Redis Sentinel (issue 16): the master of redis_master_name found through these
        // sentinels (host:port,...) instead of cluster.redis; the same for the plugin Redis.
        std::string redis_sentinels;
        std::string redis_master_name = "mymaster";
        std::string redis_sentinel_password;  // AUTH to the sentinels; empty = none
        std::string plugin_redis_sentinels;
        std::string plugin_redis_master_name = "mymaster";
        // A durable inbox write (qos1) is stored only once WAIT saw it on this many replicas
        // (0 = no WAIT), waiting at most redis_wait_timeout_ms.
        std::uint32_t redis_wait_replicas = 0;
        std::uint32_t redis_wait_timeout_ms = 1000;
        std::string node_id;       // default: host name
        std::string advertise;     // default: first listen address
        std::string advertise_ws;  // WebSocket host:port; default: server.ws_listen
        std::string link_listen{router::kDefaultLinkListen};  // node links (cluster mode only)
        std::string
            link_advertise;  // host:port other nodes dial; default: advertise host + link port
        // A node is dead this long after its last heartbeat.
        std::uint32_t node_ttl_ms = as_ms(router::kDefaultNodeTtl);
        // Wait for a room's home node at most.
        std::uint32_t room_query_timeout_ms = as_ms(router::kDefaultRoomQueryTimeout);
        // Redis client queue bound in bytes.
        std::uint64_t redis_queue_max_bytes = router::kDefaultRedisQueueMaxBytes;
        // Node links (router/node_links): the handshake's HMAC key, required in cluster mode,
        // >= 32 bytes and unlike every other key; the listener's limits; the queue bound.
        std::string secret;
        std::uint32_t link_hello_timeout_ms = as_ms(router::kDefaultLinkHelloTimeout);
        std::uint32_t link_max_connections = router::kDefaultLinkMaxConnections;
        std::uint64_t link_queue_max_bytes = router::kDefaultLinkQueueMaxBytes;
        std::string link_tls_cert, link_tls_key, link_tls_ca;  // all three or none: mutual TLS
    } cluster;
    struct Kafka {
        std::string brokers;                               // empty = no Kafka
        std::string group{events::kDefaultKafkaGroup};     // one consumer group per cluster
        std::string upstream_topic = "livepush.upstream";  // client packets for business services
        std::string upstream_types = "room.chat";  // BIZ types published upstream (comma list)
        // The longest a consumer fetch waits at the broker.
        std::uint32_t fetch_wait_max_ms = as_ms(events::kDefaultFetchWaitMax);
        std::string
            settings;  // extra librdkafka properties "name=value,..." (security.protocol, sasl.*)
    } kafka;
    struct Jobs {
        // A claimed job not finished this long after its claim runs again (here or on another
        // node): the delay before the work of a node that died mid-job is picked up.
        std::uint32_t ttr_ms = as_ms(plugins::kDefaultJobTtr);
        // An idle node polls for due jobs this often (one claim, one Redis call in a cluster):
        // how late past its deadline a job may start.
        std::uint32_t tick_ms = as_ms(plugins::kDefaultJobTick);
        // Runs of one job that may fail before it is buried in the dead letters; 0 = no limit.
        std::uint32_t max_attempts = plugins::kDefaultJobMaxAttempts;
    } jobs;
    // The plugins' room hooks (SDK 5): the bound on filter_chat and what passes without a verdict.
    struct Hooks {
        std::uint32_t filter_timeout_ms = as_ms(plugins::kDefaultFilterTimeout);
        std::uint32_t filter_fail_open = 1;  // a switch: 1 publishes an unjudged chat, 0 refuses
    } hooks;
    struct Tls {
        std::string cert;
        std::string key;
    } tls;
    struct Log {
        std::string level = "info";   // trace, debug, info, warn, error
        std::string format = "text";  // text, or json: one JSON object a line
        std::uint32_t access = 0;     // a switch: one line per HTTP API request (logger "access")
    } log;

    bool dev = false;
    // Schema keys given a value by the file, the environment, a flag or --set (not defaults).
    std::set<std::string> explicitly_set;
    // Where each of those got its value: "FILE:LINE", an environment variable's name, a flag or
    // "--set" (the last source that set it). Plugin list keys from the file too.
    std::map<std::string, std::string> sources;
    // plugins.<name>.<key> = value (as text), for the plugins to read.
    std::map<std::string, std::string> plugin_settings;
};

// Cluster mode: Redis named directly (cluster.redis) or through sentinels
// (cluster.redis_sentinels). The one place that says which.
inline bool cluster_mode(const Config& c) {
    return !c.cluster.redis.empty() || !c.cluster.redis_sentinels.empty();
}

struct ConfigResult {
    Config config;
    bool show_help = false;
    std::string help_text;  // filled when show_help
    std::string error;      // non-empty: print it and exit 2 (the first of `problems`, or usage)
    // Every bad value, unknown key and unreadable file, each naming its key and source (so
    // check-config can list them all). Empty when `error` is a usage error or there is none.
    std::vector<std::string> problems;
    // LIVEPUSH_ variables that name no key but are near one (ignored by a start).
    std::vector<std::string> warnings;
};

// Parses argv (without the program name and without a leading sub-command) and the environment
// `envp` (NAME=VALUE strings, nullptr-terminated, may be nullptr).
ConfigResult load_config(int argc, const char* const* argv, const char* const* envp);

// One row of the schema, for the config tools (app/config_tools: check-config, config --print,
// config --example), which must not keep a list of keys of their own.
struct ConfigKeyInfo {
    enum class Kind : std::uint8_t { Text, Number, Switch };
    std::string key;   // section.name
    std::string flag;  // --name
    std::string env;   // LIVEPUSH_SECTION_NAME
    std::string help;
    std::string limits;  // ", at least 1, at most 10" where narrower than the type; else ""
    Kind kind = Kind::Text;
    bool secret = false;  // key material, redacted when printed
    bool live = false;    // a reload (SIGHUP) applies it; else it takes a restart
};
std::vector<ConfigKeyInfo> config_schema();

// Copies schema key `key` from `from` to `to` (a reload applying one live key). False when there
// is no such key.
bool copy_config_value(Config& to, const Config& from, std::string_view key);

// The value of schema key `key` in `config` as a TOML value: "text" (escaped), 12 or true.
std::string config_value_toml(const Config& config, std::string_view key);

// --dev publishes its secret and API key, so they must never face a network: every listener
// whose address the operator did not set listens on 127.0.0.1 instead of every interface, and
// one set explicitly to a non-loopback address is refused. Without --dev it does nothing.
// Returns the error to print (exit 2), or empty.
std::string apply_dev_listen_policy(Config& config);

}  // namespace lp::app
