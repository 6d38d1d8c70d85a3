// app/config: the node's configuration, from defaults, a TOML file (--config), environment
// variables (LIVEPUSH_SECTION_KEY), flags (--tcp-listen ...) and --set section.key=value, in that
// order of precedence (later wins). The key and flag names of design.md section 2 are fixed.
//
// Every key lives in one table (the schema in config.cpp) with its default, flag, and help text,
// so --help, the env names and --set are all derived from that one place. Unknown keys under
// [plugins.*] are kept verbatim for the plugins; other unknown keys are an error.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace lp::app {

struct Config {
    struct Server {
        std::string tcp_listen = "0.0.0.0:7000";
        std::string ws_listen = "0.0.0.0:7001";       // WebSocket path /ws
        std::uint32_t heartbeat_interval_ms = 30000;  // closed after 3 missed
        std::uint32_t login_timeout_ms = 10000;
        std::uint32_t loops = 0;                               // event loops; 0 = one per core
        std::uint32_t max_body = 64 * 1024;                    // frame body limit
        std::uint32_t ws_max_message = 2 * 64 * 1024 + 4096;   // WebSocket message limit (a JSON
                                                               // envelope is larger than its body)
        std::uint64_t send_queue_max_bytes = 4 * 1024 * 1024;  // over it: KICK slow
        std::uint32_t max_connections = 0;                     // 0 = limited only by the fd limit
        std::uint32_t drain_timeout_ms = 5000;                 // SIGTERM: bound on drain+flush
        std::uint32_t max_rooms_per_session = 16;
        std::uint32_t biz_rate_per_s = 50;  // BIZ packets per session per second (0 = off)
        // Client limits that one token or one address cannot walk around (0 = off each).
        std::uint32_t max_sessions_per_user = 8;     // on this node; over it the oldest is kicked
        std::uint32_t max_connections_per_ip = 128;  // over it: closed at accept
        std::uint32_t login_rate_per_ip = 20;  // LOGINs per second per IP, burst of twice that
        std::string trusted_proxies;           // addresses/CIDRs exempt from the per-IP limits
        std::uint32_t ack_rate_per_s = 200;    // ACKs acking nothing in flight, per session
        std::uint32_t max_ack_ids = 256;       // ids in one ACK
        std::uint32_t plugin_workers = 2;      // threads running plugin BIZ calls (0 = on the loop)
        std::uint32_t plugin_queue_max = 10000;  // plugin BIZ calls waiting per worker, at most
        std::string
            ws_allowed_origins;  // comma list of browser Origins allowed to upgrade; empty = any
    } server;
    struct Room {
        std::uint32_t coalesce_ms = 10;    // room messages within this window: one write
        std::uint32_t coalesce_max = 64;   // ...or this many messages
        std::uint32_t history_max = 1000;  // recent messages kept per room for recovery
        std::uint32_t history_ttl_s = 60;  // ...and for how long
    } room;
    struct Delivery {
        std::uint32_t window = 64;                  // qos1 messages in flight per session
        std::uint32_t retry_ms = 2000;              // first retry timeout; doubles per attempt
        std::uint32_t max_attempts = 4;             // sends before a message goes to the inbox
        std::uint32_t inbox_max = 1000;             // messages kept per user
        std::uint32_t inbox_ttl_s = 7 * 24 * 3600;  // default lifetime of a qos1 message
        std::uint32_t inbox_max_per_sender =
            100;                           // im.send messages one sender may hold in one inbox
        std::uint32_t waiting_max = 1000;  // qos1 messages queued behind a session's window
    } delivery;
    struct Im {
        std::uint32_t rate_per_s = 10;  // im.send per sender per second, burst 2x (0 = off)
        std::uint32_t max_payload_bytes = 4096;  // serialized im.send payload
        std::uint32_t workers = 2;               // threads storing/routing im.send off the loops
    } im;
    struct Api {
        std::string listen = "127.0.0.1:8090";
        std::string key;  // empty = no auth, only allowed on a loopback listen address
        std::uint64_t max_body_bytes = 4 * 1024 * 1024;
        std::uint32_t max_requests_per_s = 0;  // 0 = unlimited
        std::uint32_t max_user_ids = 10000;
        std::uint32_t max_connections = 1024;    // at the cap the longest-idle one makes room
        std::uint32_t header_timeout_ms = 5000;  // a request header must be complete within it
        std::uint32_t idle_timeout_ms = 30000;   // keep-alive wait for the next request
        // Threads serving the API; 0 = auto: 4 in a cluster, where a qos1 push waits for its
        // Redis inbox write before it answers and more threads overlap those waits, 1 embedded,
        // where a push never waits and more threads only take CPU from the event loops.
        std::uint32_t threads = 0;
    } api;
    struct Auth {
        std::string jwt_secret;  // HS256; at least 32 bytes; this or jwt_public_key unless --dev
        std::uint32_t leeway_s = 30;
        std::string platforms = "web,ios,android,pc,mini";  // allowed LoginReq.platform values
        std::string jwt_public_key;                         // PEM file of RS256/ES256 public keys
        // Rotation: the previous secret / key file stay valid until jwt_previous_until.
        std::string jwt_secret_previous;
        std::string jwt_public_key_previous;
        std::uint64_t jwt_previous_until = 0;   // unix seconds; 0 = no previous keys
        std::string issuer;                     // required iss; empty = not checked
        std::string audience;                   // required in aud; empty = not checked
        std::uint32_t max_token_ttl_s = 86400;  // longest exp - iat; 0 = no limit
        std::uint32_t guests = 0;  // a switch (true/false, 1/0): an empty token logs in as a guest
        std::uint32_t guest_max_sessions = 100000;  // guests on this node; 0 = unlimited
    } auth;
    struct Cluster {
        std::string redis;           // empty = embedded
        std::string redis_user;      // Redis ACL user (AUTH user pass); empty = "default"
        std::string redis_password;  // sent with AUTH on every connect; empty = no AUTH
        // Plugin stores and delayed jobs on a Redis of their own (a feed's recent lists can
        // outgrow the routes' Redis); empty = `redis`.
        std::string plugin_redis;
        std::string node_id;                       // default: host name
        std::string advertise;                     // default: first listen address
        std::string link_listen = "0.0.0.0:7002";  // node-to-node links (cluster mode only)
        std::string
            link_advertise;  // host:port other nodes dial; default: advertise host + link port
        std::uint32_t node_ttl_ms = 5000;  // a node is dead this long after its last heartbeat
        std::uint32_t room_query_timeout_ms = 2000;         // wait for a room's home node at most
        std::uint64_t redis_queue_max_bytes = 64ull << 20;  // Redis client queue bound in bytes
        // Node links (router/node_links): the handshake's HMAC key, required in cluster mode,
        // >= 32 bytes and unlike every other key; the listener's limits; the queue bound.
        std::string secret;
        std::uint32_t link_hello_timeout_ms = 3000;
        std::uint32_t link_max_connections = 256;
        std::uint64_t link_queue_max_bytes = 64ull * 1024 * 1024;
        std::string link_tls_cert, link_tls_key, link_tls_ca;  // all three or none: mutual TLS
    } cluster;
    struct Kafka {
        std::string brokers;                               // empty = no Kafka
        std::string group = "livepush";                    // one consumer group per cluster
        std::string upstream_topic = "livepush.upstream";  // client packets for business services
        std::string upstream_types = "room.chat";  // BIZ types published upstream (comma list)
        std::uint32_t fetch_wait_max_ms = 100;  // the longest a consumer fetch waits at the broker
        std::string
            settings;  // extra librdkafka properties "name=value,..." (security.protocol, sasl.*)
    } kafka;
    struct Jobs {
        // A claimed job not finished this long after its claim runs again (here or on another
        // node): the delay before the work of a node that died mid-job is picked up.
        std::uint32_t ttr_ms = 30000;
        // An idle node polls for due jobs this often (one claim, one Redis call in a cluster):
        // how late past its deadline a job may start.
        std::uint32_t tick_ms = 100;
        // Runs of one job that may fail before it is buried in the dead letters; 0 = no limit.
        std::uint32_t max_attempts = 10;
    } jobs;
    struct Tls {
        std::string cert;
        std::string key;
    } tls;
    struct Log {
        std::string level = "info";  // trace, debug, info, warn, error
    } log;

    bool dev = false;
    // Schema keys given a value by the file, the environment, a flag or --set (not defaults).
    std::set<std::string> explicitly_set;
    // plugins.<name>.<key> = value (as text), for the plugins to read.
    std::map<std::string, std::string> plugin_settings;
};

struct ConfigResult {
    Config config;
    bool show_help = false;
    std::string help_text;  // filled when show_help
    std::string error;      // non-empty: print it and exit 2
};

// Parses argv (without the program name and without a leading sub-command) and the environment
// `envp` (NAME=VALUE strings, nullptr-terminated, may be nullptr).
ConfigResult load_config(int argc, const char* const* argv, const char* const* envp);

// "host:port" → host and port; accepts "[::1]:7000". False on a malformed address.
bool split_host_port(const std::string& addr, std::string& host, std::uint16_t& port);

// True for host:port on localhost, 127.0.0.0/8 or ::1.
bool is_loopback_address(const std::string& addr);

// --dev publishes its secret and API key, so they must never face a network: every listener
// whose address the operator did not set listens on 127.0.0.1 instead of every interface, and
// one set explicitly to a non-loopback address is refused. Without --dev it does nothing.
// Returns the error to print (exit 2), or empty.
std::string apply_dev_listen_policy(Config& config);

}  // namespace lp::app
