// app/config_schema: the schema, the one table of every setting (kSchema), for app/config.cpp
// (loading, --help) alone. Each row: the key (section.name: TOML location, --set name, and the
// environment variable LIVEPUSH_SECTION_NAME), the flag, the Config field, the check of its form,
// its help line, its bounds and whether it is secret. A new setting is one new row here; its
// default is its Config member initializer (app/config.hpp). Other code sees the rows through
// config_schema() (app/config.hpp), never this header.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "app/config.hpp"

namespace lp::app::schema {

// A reference to one Config field, given as two pointers-to-member (section, then field).
template <auto Section, auto Member>
auto& field_of(Config& config) {
    return (config.*Section).*Member;
}

using StringField = std::string& (*)(Config&);
using U32Field = std::uint32_t& (*)(Config&);
using U64Field = std::uint64_t& (*)(Config&);
using FieldRef = std::variant<StringField, U32Field, U64Field>;

// What a value must look like beyond its type.
enum class ValueCheck : std::uint8_t {
    None,
    ListenAddress,    // host:port or [v6]:port (codec/address), port 0 = any; empty = unset / off
    DialAddress,      // the same, port 1..65535 (it is dialled); empty = unset
    DialAddressList,  // host:port[,host:port...], ports 1..65535; empty = unset
    // ListenAddress, or a ws:// or wss:// URL with a host (a public address behind a proxy)
    AddressOrWsUrl,
    LogLevel,
    LogFormat,  // text or json
    Switch,     // a number field holding 0/1: true/false, on/off, 1/0 (TOML: a boolean)
};

// Inclusive bounds of a number (the field's type bounds it too). A row without bounds takes
// any value of its type.
struct Bounds {
    std::uint64_t min = 0;
    std::uint64_t max = UINT64_MAX;
};
inline constexpr Bounds kPositive{1, UINT64_MAX};  // 0 would mean nothing sensible (no "off")

struct ConfigKey {
    std::string_view key;   // section.name: the TOML location and the --set name
    std::string_view flag;  // fixed by design.md section 2 where listed there, else derived
    FieldRef field;
    ValueCheck check;
    std::string_view help;
    Bounds bounds = {};   // numbers only; checked for every source (file, environment, flags)
    bool secret = false;  // key material: redacted by `config --print` (kSecret)
};
inline constexpr bool kSecret = true;

using C = Config;
// clang-format off
inline constexpr ConfigKey kSchema[] = {
    {"server.tcp_listen", "--tcp-listen", &field_of<&C::server, &C::Server::tcp_listen>,
     ValueCheck::ListenAddress, "TCP listen address for clients; empty = no TCP listener"},
    {"server.ws_listen", "--ws-listen", &field_of<&C::server, &C::Server::ws_listen>,
     ValueCheck::ListenAddress, "WebSocket listen address (path /ws); empty = no WebSocket listener"},
    {"server.heartbeat_interval_ms", "--heartbeat-interval-ms",
     &field_of<&C::server, &C::Server::heartbeat_interval_ms>, ValueCheck::None,
     "heartbeat interval clients must keep; a session is closed after 3 missed", kPositive},
    {"server.login_timeout_ms", "--login-timeout-ms",
     &field_of<&C::server, &C::Server::login_timeout_ms>, ValueCheck::None,
     "time a new connection has to log in before it is closed"},
    {"server.loops", "--loops", &field_of<&C::server, &C::Server::loops>, ValueCheck::None,
     "event loops (threads); 0 = one per core"},
    {"server.max_body", "--max-body", &field_of<&C::server, &C::Server::max_body>,
     ValueCheck::None, "largest frame body accepted, in bytes", kPositive},
    {"server.ws_max_message", "--ws-max-message",
     &field_of<&C::server, &C::Server::ws_max_message>, ValueCheck::None,
     "largest WebSocket message accepted, in bytes"},
    {"server.send_queue_max_bytes", "--send-queue-max-bytes",
     &field_of<&C::server, &C::Server::send_queue_max_bytes>, ValueCheck::None,
     "per-session send queue limit in bytes; a session over it is kicked as a slow consumer"},
    {"server.max_connections", "--max-connections",
     &field_of<&C::server, &C::Server::max_connections>, ValueCheck::None,
     "connection limit; 0 = limited only by the file descriptor limit"},
    {"server.drain_timeout_ms", "--drain-timeout-ms",
     &field_of<&C::server, &C::Server::drain_timeout_ms>, ValueCheck::None,
     "on SIGTERM, the bound on draining sessions and flushing before exit"},
    {"server.max_rooms_per_session", "--max-rooms-per-session",
     &field_of<&C::server, &C::Server::max_rooms_per_session>, ValueCheck::None,
     "rooms one session may be in at the same time"},
    {"server.biz_rate_per_s", "--biz-rate-per-s",
     &field_of<&C::server, &C::Server::biz_rate_per_s>, ValueCheck::None,
     "BIZ packets a session may send per second; 0 = unlimited"},
    {"server.max_sessions_per_user", "--max-sessions-per-user",
     &field_of<&C::server, &C::Server::max_sessions_per_user>, ValueCheck::None,
     "sessions one user may hold on this node; a login beyond kicks the user's oldest session; 0 = unlimited"},
    {"server.max_connections_per_ip", "--max-connections-per-ip",
     &field_of<&C::server, &C::Server::max_connections_per_ip>, ValueCheck::None,
     "client connections from one IP address; more are closed at accept; 0 = unlimited"},
    {"server.login_rate_per_ip", "--login-rate-per-ip",
     &field_of<&C::server, &C::Server::login_rate_per_ip>, ValueCheck::None,
     "LOGINs per second from one IP address (burst: twice that); over it: LOGIN_RATE_LIMITED; 0 = unlimited"},
    {"server.trusted_proxies", "--trusted-proxies", &field_of<&C::server, &C::Server::trusted_proxies>,
     ValueCheck::None, "comma list of addresses or CIDRs (load balancers) exempt from the per-IP limits"},
    {"server.ack_rate_per_s", "--ack-rate-per-s", &field_of<&C::server, &C::Server::ack_rate_per_s>,
     ValueCheck::None, "ACKs per session per second that ack nothing in flight; over it: ERROR and close; 0 = unlimited"},
    {"server.max_ack_ids", "--max-ack-ids", &field_of<&C::server, &C::Server::max_ack_ids>,
     ValueCheck::None, "msg ids one ACK may list; more: ERROR and close"},
    {"server.plugin_workers", "--plugin-workers", &field_of<&C::server, &C::Server::plugin_workers>,
     ValueCheck::None, "threads that run plugins' BIZ handlers off the event loops; 0 = on the loop"},
    {"server.plugin_queue_max", "--plugin-queue-max", &field_of<&C::server, &C::Server::plugin_queue_max>,
     ValueCheck::None, "plugin BIZ calls waiting per worker at most; beyond, the client gets BUSY", kPositive},
    {"server.ws_allowed_origins", "--ws-allowed-origins", &field_of<&C::server, &C::Server::ws_allowed_origins>,
     ValueCheck::None, "Origins a browser may open WebSocket sessions from, comma-separated (https://app.example.com); others get 403; empty = any; no Origin (not a browser) = allowed"},
    {"server.demo", "--demo", &field_of<&C::server, &C::Server::demo>, ValueCheck::Switch,
     "serve the live-room demo page at /demo/ on the WebSocket listener (default on with --dev; its token and gift routes exist only with --dev)"},
    {"server.web_root", "--web-root", &field_of<&C::server, &C::Server::web_root>, ValueCheck::None,
     "directory of the built web pages (demo/, console/), read into memory at start; empty = <dir of livepushd>/../share/livepush/web, else the source tree's sdk/js/web/dist"},
    {"server.web_max_bytes", "--web-max-bytes", &field_of<&C::server, &C::Server::web_max_bytes>, ValueCheck::None,
     "the web pages together at most this many bytes (held in memory); over it the node refuses to start", Bounds{1024, 1073741824}},
    {"room.coalesce_ms", "--room-coalesce-ms", &field_of<&C::room, &C::Room::coalesce_ms>,
     ValueCheck::None, "room messages reaching a loop within this window go out in one write; 0 = per loop turn"},
    {"room.coalesce_max", "--room-coalesce-max", &field_of<&C::room, &C::Room::coalesce_max>,
     ValueCheck::None, "...or as soon as this many are waiting", kPositive},
    {"room.history_max", "--room-history-max", &field_of<&C::room, &C::Room::history_max>,
     ValueCheck::None, "recent messages kept per room for recovery (room.enter last_seq)"},
    {"room.history_ttl_s", "--room-history-ttl-s", &field_of<&C::room, &C::Room::history_ttl_s>,
     ValueCheck::None, "how long a room keeps a message for recovery, in seconds"},
    {"room.online_interval_ms", "--room-online-interval-ms", &field_of<&C::room, &C::Room::online_interval_ms>,
     ValueCheck::None, "room.online {count} to a room's members at most this often, when the count (on every node) changed; 0 = off", Bounds{0, 3600000}},
    {"room.viewer_budget_per_s", "--room-viewer-budget-per-s", &field_of<&C::room, &C::Room::viewer_budget_per_s>,
     ValueCheck::None, "room messages one viewer gets per second at most; over it low ones are shed, then normal ones sampled evenly (high, critical and the sender's own never); 0 = off", Bounds{0, 100000}},
    {"room.chat_rate_per_s", "--room-chat-rate-per-s", &field_of<&C::room, &C::Room::chat_rate_per_s>,
     ValueCheck::None, "audience room.chat per room per second on this node (burst the same); over it the sender gets ROOM_RATE_LIMITED (3015) with retry_after_ms; 0 = unlimited", Bounds{0, 1000000}},
    {"moderation.max_moderators", "--moderation-max-moderators", &field_of<&C::moderation, &C::Moderation::max_moderators>,
     ValueCheck::None, "moderators a room may list (PUT /v1/rooms/{id}/meta); more: 400", Bounds{0, 10000}},
    {"moderation.max_entries", "--moderation-max-entries", &field_of<&C::moderation, &C::Moderation::max_entries>,
     ValueCheck::None, "muted, banned and shadow-banned users a room may hold, each; a new one beyond: ROOM_LIMIT / 409", Bounds{1, 1000000}},
    {"moderation.sync_interval_ms", "--moderation-sync-interval-ms", &field_of<&C::moderation, &C::Moderation::sync_interval_ms>,
     ValueCheck::None, "cluster: how often a node reads the moderation change log to reload the rooms it caches (a change takes effect on every node within about this long)", Bounds{10, 1000}},
    {"room.state_max_key_bytes", "--room-state-max-key-bytes", &field_of<&C::room, &C::Room::state_max_key_bytes>,
     ValueCheck::None, "room state: a key is 1..this many characters of A-Z a-z 0-9 _ - . : ; longer: 400, code 3018", Bounds{1, 256}},
    {"room.state_max_value_bytes", "--room-state-max-value-bytes", &field_of<&C::room, &C::Room::state_max_value_bytes>,
     ValueCheck::None, "room state: a value (JSON) of at most this many bytes; larger: 413, code 3019", Bounds{2, 65536}},
    {"room.state_max_keys", "--room-state-max-keys", &field_of<&C::room, &C::Room::state_max_keys>,
     ValueCheck::None, "room state: keys per room at most; a new key beyond: 409, code 3019", Bounds{1, 1024}},
    {"room.state_max_room_bytes", "--room-state-max-room-bytes", &field_of<&C::room, &C::Room::state_max_room_bytes>,
     ValueCheck::None, "room state: a room's values together at most this many bytes (room.enter carries them all: keep it well under server.max_body); beyond: 409, code 3019", Bounds{2, 16777216}},
    {"room.likes_interval_ms", "--room-likes-interval-ms", &field_of<&C::room, &C::Room::likes_interval_ms>,
     ValueCheck::None, "room.likes {total, delta} to a room's members at most this often (one push for the whole room, every node's likes summed), none in an interval without likes", Bounds{10, 60000}},
    {"room.likes_ttl_s", "--room-likes-ttl-s", &field_of<&C::room, &C::Room::likes_ttl_s>,
     ValueCheck::None, "a room's likes total is forgotten this long after its last like (Redis key lifetime in a cluster)", kPositive},
    {"room.like_max_count", "--room-like-max-count", &field_of<&C::room, &C::Room::like_max_count>,
     ValueCheck::None, "likes one room.like may carry (count 1..this); more: LIKE_COUNT_OUT_OF_RANGE", Bounds{1, 1000000}},
    {"room.like_rate_per_s", "--room-like-rate-per-s", &field_of<&C::room, &C::Room::like_rate_per_s>,
     ValueCheck::None, "room.like requests per session per second (burst the same); over it: LIKE_RATE_LIMITED with retry_after_ms; 0 = unlimited"},
    {"delivery.window", "--delivery-window", &field_of<&C::delivery, &C::Delivery::window>,
     ValueCheck::None, "qos1 messages in flight per session; more wait in order"},
    {"delivery.retry_ms", "--delivery-retry-ms", &field_of<&C::delivery, &C::Delivery::retry_ms>,
     ValueCheck::None, "qos1 resend timeout after the first send; doubles after each resend"},
    {"delivery.max_attempts", "--delivery-max-attempts",
     &field_of<&C::delivery, &C::Delivery::max_attempts>, ValueCheck::None,
     "qos1 sends before an unacked message goes to the user's inbox"},
    {"delivery.inbox_max", "--inbox-max", &field_of<&C::delivery, &C::Delivery::inbox_max>,
     ValueCheck::None, "messages kept in one user's inbox; the oldest is dropped beyond"},
    {"delivery.inbox_ttl_s", "--inbox-ttl-s", &field_of<&C::delivery, &C::Delivery::inbox_ttl_s>,
     ValueCheck::None, "default lifetime of a qos1 message (a push's ttl_s overrides it)"},
    {"delivery.inbox_max_per_sender", "--inbox-max-per-sender",
     &field_of<&C::delivery, &C::Delivery::inbox_max_per_sender>, ValueCheck::None,
     "im.send messages from one sender held in one user's inbox; beyond, im.send is refused (INBOX_SHARE_FULL); 0 = no share"},
    {"delivery.waiting_max", "--delivery-waiting-max", &field_of<&C::delivery, &C::Delivery::waiting_max>,
     ValueCheck::None, "qos1 messages queued behind one session's window; beyond, they wait in the inbox; 0 = unbounded"},
    {"im.rate_per_s", "--im-rate-per-s", &field_of<&C::im, &C::Im::rate_per_s>, ValueCheck::None,
     "im.send messages one sender may send per second (burst twice that); 0 = unlimited"},
    {"im.max_payload_bytes", "--im-max-payload-bytes", &field_of<&C::im, &C::Im::max_payload_bytes>,
     ValueCheck::None, "largest im.send payload (as JSON text), in bytes"},
    {"im.workers", "--im-workers", &field_of<&C::im, &C::Im::workers>, ValueCheck::None,
     "threads that store and route im.send off the event loops (cluster mode)", kPositive},
    {"api.listen", "--api-listen", &field_of<&C::api, &C::Api::listen>, ValueCheck::ListenAddress,
     "internal HTTP push API listen address; empty = no API"},
    {"api.key", "--api-key", &field_of<&C::api, &C::Api::key>, ValueCheck::None,
     "bearer key for the HTTP API; empty = no auth, allowed only on a loopback address", {}, kSecret},
    {"api.max_body_bytes", "--api-max-body-bytes", &field_of<&C::api, &C::Api::max_body_bytes>,
     ValueCheck::None, "largest API request body; larger is answered 413"},
    {"api.max_requests_per_s", "--api-max-requests-per-s",
     &field_of<&C::api, &C::Api::max_requests_per_s>, ValueCheck::None,
     "API requests per second over all connections; over it: 429; 0 = unlimited"},
    {"api.max_user_ids", "--api-max-user-ids", &field_of<&C::api, &C::Api::max_user_ids>,
     ValueCheck::None, "user ids one POST /v1/push/users may name"},
    {"api.max_connections", "--api-max-connections", &field_of<&C::api, &C::Api::max_connections>,
     ValueCheck::None, "API connections at most; at the cap the longest-idle one is closed for a new one", kPositive},
    {"api.header_timeout_ms", "--api-header-timeout-ms", &field_of<&C::api, &C::Api::header_timeout_ms>,
     ValueCheck::None, "an API request header not complete this long after the connection (or its first byte) is closed", kPositive},
    {"api.idle_timeout_ms", "--api-idle-timeout-ms", &field_of<&C::api, &C::Api::idle_timeout_ms>,
     ValueCheck::None, "a kept-alive API connection waits this long for its next request (and a body for its next bytes)", kPositive},
    {"api.threads", "--api-threads", &field_of<&C::api, &C::Api::threads>, ValueCheck::None,
     "threads serving the HTTP API; 0 = 4 with Redis (qos1 pushes wait for it), 1 embedded"},
    {"api.console", "--api-console", &field_of<&C::api, &C::Api::console>, ValueCheck::Switch,
     "serve the operator console's static pages at /console/ on the API listener (no key for the pages; every data call needs api.key)"},
    {"auth.jwt_secret", "--jwt-secret", &field_of<&C::auth, &C::Auth::jwt_secret>,
     ValueCheck::None, "HS256 secret client tokens are signed with, at least 32 bytes; this or auth.jwt_public_key is required unless --dev", {}, kSecret},
    {"auth.jwt_public_key", "--jwt-public-key", &field_of<&C::auth, &C::Auth::jwt_public_key>,
     ValueCheck::None, "PEM file of public keys (RSA >= 2048 bits: RS256, P-256: ES256) tokens may be signed with; with it, HS256 only if auth.jwt_secret is set too"},
    {"auth.jwt_secret_previous", "--jwt-secret-previous", &field_of<&C::auth, &C::Auth::jwt_secret_previous>,
     ValueCheck::None, "key rotation: the previous HS256 secret, still accepted until auth.jwt_previous_until", {}, kSecret},
    {"auth.jwt_public_key_previous", "--jwt-public-key-previous", &field_of<&C::auth, &C::Auth::jwt_public_key_previous>,
     ValueCheck::None, "key rotation: the previous PEM public key file, still accepted until auth.jwt_previous_until"},
    {"auth.jwt_previous_until", "--jwt-previous-until", &field_of<&C::auth, &C::Auth::jwt_previous_until>,
     ValueCheck::None, "key rotation: unix time (seconds) until which the previous secret/key is accepted; 0 = none", Bounds{0, INT64_MAX}},
    {"auth.key_overlap_s", "--key-overlap-s", &field_of<&C::auth, &C::Auth::key_overlap_s>,
     ValueCheck::None, "key rotation by reload: tokens signed with the keys a SIGHUP replaced stay valid this long after it, in seconds; 0 = refused at once", Bounds{0, 30 * 86400}},
    {"auth.issuer", "--jwt-issuer", &field_of<&C::auth, &C::Auth::issuer>, ValueCheck::None,
     "tokens must carry this iss; empty = iss not checked"},
    {"auth.audience", "--jwt-audience", &field_of<&C::auth, &C::Auth::audience>, ValueCheck::None,
     "tokens must name this in aud (a string or an array); empty = aud not checked"},
    {"auth.max_token_ttl_s", "--max-token-ttl-s", &field_of<&C::auth, &C::Auth::max_token_ttl_s>,
     ValueCheck::None, "longest token lifetime accepted (exp - iat, or exp - now without iat); 0 = no limit"},
    {"auth.leeway_s", "--jwt-leeway-s", &field_of<&C::auth, &C::Auth::leeway_s>,
     ValueCheck::None, "clock skew allowed when checking token exp and nbf, in seconds"},
    {"auth.platforms", "--platforms", &field_of<&C::auth, &C::Auth::platforms>, ValueCheck::None,
     "comma list of LoginReq.platform values accepted; a token's platform claim pins it"},
    {"auth.guests", "--guests", &field_of<&C::auth, &C::Auth::guests>, ValueCheck::Switch,
     "true: a LOGIN with an empty token is a guest (an id >= 2^63, role guest: rooms and receiving only; tokens with such a sub are refused); false: refused"},
    {"auth.guest_max_sessions", "--guest-max-sessions", &field_of<&C::auth, &C::Auth::guest_max_sessions>,
     ValueCheck::None, "guest sessions on this node; a guest login beyond is refused with GUEST_LIMIT; 0 = unlimited"},
    {"auth.guests_may_like", "--guests-may-like", &field_of<&C::auth, &C::Auth::guests_may_like>, ValueCheck::Switch,
     "true: guests may send room.like; false: NOT_ALLOWED"},
    {"auth.expire_sessions", "--expire-sessions", &field_of<&C::auth, &C::Auth::expire_sessions>, ValueCheck::Switch,
     "true: a session is sent KICK token_expired and closed when its token's exp (+ auth.leeway_s) passes; false: a session outlives its token"},
    {"cluster.redis", "--redis", &field_of<&C::cluster, &C::Cluster::redis>,
     ValueCheck::DialAddress, "Redis host:port; empty = embedded mode, no cluster"},
    {"cluster.redis_user", "--redis-user", &field_of<&C::cluster, &C::Cluster::redis_user>,
     ValueCheck::None, "Redis ACL user for cluster.redis and cluster.plugin_redis; empty = the default user"},
    {"cluster.redis_password", "--redis-password", &field_of<&C::cluster, &C::Cluster::redis_password>,
     ValueCheck::None, "Redis password (AUTH on every connect, before anything else); empty = no AUTH", {}, kSecret},
    {"cluster.plugin_redis", "--plugin-redis", &field_of<&C::cluster, &C::Cluster::plugin_redis>,
     ValueCheck::DialAddress, "Redis host:port for plugin stores and delayed jobs; empty = cluster.redis"},
    {"cluster.redis_sentinels", "--redis-sentinels", &field_of<&C::cluster, &C::Cluster::redis_sentinels>,
     ValueCheck::DialAddressList, "Redis Sentinel host:port[,host:port...]: the master of cluster.redis_master_name is found (and followed across failovers) through them; instead of cluster.redis; empty = off"},
    {"cluster.redis_master_name", "--redis-master-name", &field_of<&C::cluster, &C::Cluster::redis_master_name>,
     ValueCheck::None, "the master's name in the sentinels' configuration (sentinel monitor NAME ...)"},
    {"cluster.redis_sentinel_password", "--redis-sentinel-password", &field_of<&C::cluster, &C::Cluster::redis_sentinel_password>,
     ValueCheck::None, "password the sentinels require (their requirepass), for both sentinel sets; empty = no AUTH; the data nodes take cluster.redis_password", {}, kSecret},
    {"cluster.plugin_redis_sentinels", "--plugin-redis-sentinels", &field_of<&C::cluster, &C::Cluster::plugin_redis_sentinels>,
     ValueCheck::DialAddressList, "Redis Sentinel host:port[,...] for the plugin stores' own Redis, instead of cluster.plugin_redis; empty = off"},
    {"cluster.plugin_redis_master_name", "--plugin-redis-master-name", &field_of<&C::cluster, &C::Cluster::plugin_redis_master_name>,
     ValueCheck::None, "the plugin Redis master's name in cluster.plugin_redis_sentinels"},
    {"cluster.redis_wait_replicas", "--redis-wait-replicas", &field_of<&C::cluster, &C::Cluster::redis_wait_replicas>,
     ValueCheck::None, "a qos1 inbox write is answered stored only after WAIT saw it on this many replicas (else 503); needs at least this + 1 replicas; 0 = off", Bounds{0, 16}},
    {"cluster.redis_wait_timeout_ms", "--redis-wait-timeout-ms", &field_of<&C::cluster, &C::Cluster::redis_wait_timeout_ms>,
     ValueCheck::None, "how long a qos1 inbox write waits for the replicas' WAIT before it is answered 503", Bounds{1, 60000}},
    {"cluster.node_id", "--node-id", &field_of<&C::cluster, &C::Cluster::node_id>,
     ValueCheck::None, "this node's id in the cluster; empty = the host name"},
    {"cluster.advertise", "--advertise", &field_of<&C::cluster, &C::Cluster::advertise>,
     ValueCheck::ListenAddress, "host:port other nodes reach this node at; empty = first listen address"},
    {"cluster.advertise_ws", "--advertise-ws", &field_of<&C::cluster, &C::Cluster::advertise_ws>,
     ValueCheck::AddressOrWsUrl, "host:port WebSocket clients reach this node at (a draining node sends its WebSocket sessions to ws[s]://this/ws, in the session's scheme), or a ws:// or wss:// URL sent as given (e.g. behind a TLS proxy); empty = server.ws_listen"},
    {"cluster.link_listen", "--link-listen", &field_of<&C::cluster, &C::Cluster::link_listen>,
     ValueCheck::ListenAddress, "node-to-node link listen address (cluster mode)"},
    {"cluster.link_advertise", "--link-advertise",
     &field_of<&C::cluster, &C::Cluster::link_advertise>, ValueCheck::DialAddress,
     "host:port other nodes reach this node's links at; empty = advertise host + link port"},
    {"cluster.node_ttl_ms", "--node-ttl-ms", &field_of<&C::cluster, &C::Cluster::node_ttl_ms>,
     ValueCheck::None, "a node's routes die this long after its last liveness refresh"},
    {"cluster.room_query_timeout_ms", "--room-query-timeout-ms",
     &field_of<&C::cluster, &C::Cluster::room_query_timeout_ms>, ValueCheck::None,
     "how long a node waits for a room's home node (room.enter, push room_seq, GET /v1/rooms) before answering without it"},
    {"cluster.redis_queue_max_bytes", "--redis-queue-max-bytes",
     &field_of<&C::cluster, &C::Cluster::redis_queue_max_bytes>, ValueCheck::None,
     "bytes of commands waiting for Redis at most; beyond, a command fails at once; 0 = unbounded"},
    {"cluster.secret", "--cluster-secret", &field_of<&C::cluster, &C::Cluster::secret>, ValueCheck::None,
     "key node links prove membership with; required with cluster.redis, >= 32 bytes, unlike jwt_secret and api.key", {}, kSecret},
    {"cluster.link_hello_timeout_ms", "--link-hello-timeout-ms",
     &field_of<&C::cluster, &C::Cluster::link_hello_timeout_ms>, ValueCheck::None,
     "a node link not through its handshake this long after connect is closed"},
    {"cluster.link_max_connections", "--link-max-connections",
     &field_of<&C::cluster, &C::Cluster::link_max_connections>, ValueCheck::None,
     "inbound node-link connections at most (any state); more are closed at once"},
    {"cluster.link_queue_max_bytes", "--link-queue-max-bytes",
     &field_of<&C::cluster, &C::Cluster::link_queue_max_bytes>, ValueCheck::None,
     "bytes queued per outbound node link; frames over it are dropped and counted"},
    {"cluster.link_tls_cert", "--link-tls-cert", &field_of<&C::cluster, &C::Cluster::link_tls_cert>, ValueCheck::None,
     "PEM certificate chain this node presents on node links; with link_tls_key and link_tls_ca = links are mutual TLS"},
    {"cluster.link_tls_key", "--link-tls-key", &field_of<&C::cluster, &C::Cluster::link_tls_key>, ValueCheck::None,
     "PEM private key for cluster.link_tls_cert"},
    {"cluster.link_tls_ca", "--link-tls-ca", &field_of<&C::cluster, &C::Cluster::link_tls_ca>, ValueCheck::None,
     "PEM CA file: node-link peers (both directions) must present a certificate it signed"},
    {"kafka.brokers", "--kafka", &field_of<&C::kafka, &C::Kafka::brokers>,
     ValueCheck::DialAddressList, "Kafka brokers, host:port[,host:port...]; empty = no Kafka"},
    {"kafka.group", "--kafka-group", &field_of<&C::kafka, &C::Kafka::group>, ValueCheck::None,
     "consumer group of the cluster: each event is handled once per group"},
    {"kafka.upstream_topic", "--kafka-upstream-topic", &field_of<&C::kafka, &C::Kafka::upstream_topic>,
     ValueCheck::None, "topic client packets are published to for business services (keyed by room)"},
    {"kafka.upstream_types", "--kafka-upstream-types", &field_of<&C::kafka, &C::Kafka::upstream_types>,
     ValueCheck::None, "BIZ types published upstream, comma-separated (room.chat, plugin types)"},
    {"kafka.fetch_wait_max_ms", "--kafka-fetch-wait-max-ms", &field_of<&C::kafka, &C::Kafka::fetch_wait_max_ms>,
     ValueCheck::None, "the longest a consumer fetch waits at a broker for events (latency of an idle topic's next event)"},
    {"kafka.settings", "--kafka-settings", &field_of<&C::kafka, &C::Kafka::settings>, ValueCheck::None,
     "extra librdkafka properties for producer and consumer, name=value,... (security.protocol, sasl.*); override ours (may hold sasl.password: redacted when printed)", {}, kSecret},
    {"plugins.filter_timeout_ms", "--filter-timeout-ms", &field_of<&C::hooks, &C::Hooks::filter_timeout_ms>,
     ValueCheck::None, "the plugins' filter_chat must judge a room.chat within this; past it plugins.filter_fail_open decides", Bounds{1, 10000}},
    {"plugins.filter_fail_open", "--filter-fail-open", &field_of<&C::hooks, &C::Hooks::filter_fail_open>,
     ValueCheck::Switch, "true: a room.chat the filters did not judge in time (or failed on) is published; false: refused with CHAT_FILTER_TIMEOUT (3017)"},
    {"jobs.ttr_ms", "--jobs-ttr-ms", &field_of<&C::jobs, &C::Jobs::ttr_ms>, ValueCheck::None,
     "delayed jobs: a claimed job not done this long after its claim runs again (a dead node's)", kPositive},
    {"jobs.tick_ms", "--jobs-tick-ms", &field_of<&C::jobs, &C::Jobs::tick_ms>, ValueCheck::None,
     "delayed jobs: how often an idle node looks for due jobs (lateness bound; one claim each)", kPositive},
    {"jobs.max_attempts", "--jobs-max-attempts", &field_of<&C::jobs, &C::Jobs::max_attempts>, ValueCheck::None,
     "delayed jobs: failed runs before a job is buried in the dead letters; 0 = retry forever"},
    {"tls.cert", "--tls-cert", &field_of<&C::tls, &C::Tls::cert>, ValueCheck::None,
     "PEM certificate chain file; set = TLS on both TCP and WebSocket"},
    {"tls.key", "--tls-key", &field_of<&C::tls, &C::Tls::key>, ValueCheck::None,
     "PEM private key file for tls.cert"},
    {"log.level", "--log-level", &field_of<&C::log, &C::Log::level>, ValueCheck::LogLevel,
     "trace, debug, info, warn or error"},
    {"log.format", "--log-format", &field_of<&C::log, &C::Log::format>, ValueCheck::LogFormat,
     "text, or json: one JSON object a line {ts, level, logger, node, msg}"},
    {"log.access", "--log-access", &field_of<&C::log, &C::Log::access>, ValueCheck::Switch,
     "true: one log line (logger \"access\") per HTTP API request: method, path without the query, status, bytes, duration_ms, remote, request_id; never the key"},
};

// The keys a reload (SIGHUP) applies to the running node; every other key takes a restart, and a
// reload that finds one changed refuses it with a log line naming it (and applies the rest).
// Read by the reload (app/reload), check-config's notes, `config --example` and the table in
// docs/operations.md (tests/docs checks it against this list).
inline constexpr std::string_view kLiveKeys[] = {
    // Per-session and per-user rates and caps (handlers/gateway: read per packet).
    "server.max_rooms_per_session", "server.biz_rate_per_s", "server.max_sessions_per_user",
    "server.ack_rate_per_s", "server.max_ack_ids", "im.rate_per_s", "im.max_payload_bytes",
    "room.chat_rate_per_s", "room.like_max_count", "room.like_rate_per_s",
    "auth.guest_max_sessions",
    // Each event loop's copy (server/event_loop: posted to the loop's own thread).
    "server.send_queue_max_bytes", "room.viewer_budget_per_s",
    // The HTTP API.
    "api.max_requests_per_s",
    // Moderation defaults.
    "moderation.max_moderators",
    // Token rules and keys, swapped as one (key rotation: auth.key_overlap_s).
    "auth.jwt_secret", "auth.jwt_public_key", "auth.jwt_secret_previous",
    "auth.jwt_public_key_previous", "auth.jwt_previous_until", "auth.key_overlap_s",
    "auth.issuer", "auth.audience", "auth.max_token_ttl_s", "auth.leeway_s",
    // Logs.
    "log.level", "log.format", "log.access",
};

consteval bool live_keys_are_schema_keys() {
    for (auto live : kLiveKeys) {
        bool found = false;
        for (const auto& row : kSchema) found = found || row.key == live;
        if (!found) return false;
    }
    return true;
}
static_assert(live_keys_are_schema_keys(), "kLiveKeys names a key that is not in kSchema");

constexpr bool is_live(std::string_view key) {
    for (auto live : kLiveKeys)
        if (live == key) return true;
    return false;
}
// clang-format on

}  // namespace lp::app::schema
