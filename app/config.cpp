// app/config: builds a Config from defaults, a TOML file, the environment and the command line.
//
// Everything an operator can set is one row of kSchema: its key, its flag, where it lives in
// Config, how its value is checked and its help line. The TOML section/key, the environment
// variable (LIVEPUSH_ + key upper-cased, '.' -> '_'), `--set key=value` and --help are derived
// from that row, so a new setting is one new line and can never be reachable one way but not
// another. Values are checked as they are applied, so an error can say where the bad value came
// from. Start-up policy (a secret is required, TLS needs both files, ...) belongs to main().
//
// Why one file of ~800 lines: over half of it is kSchema, the one table of every setting; the
// rest is the few functions that read that table. Split, the table would lose its one place.
#include "app/config.hpp"

#include <toml++/toml.h>

#include <algorithm>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string_view>
#include <type_traits>
#include <variant>

#include "codec/address.hpp"

namespace lp::app {
namespace {

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
    LogLevel,
    Switch,  // a number field holding 0/1: true/false, on/off, 1/0 (TOML: a boolean)
};

// Inclusive bounds of a number (the field's type bounds it too). A row without bounds takes
// any value of its type.
struct Bounds {
    std::uint64_t min = 0;
    std::uint64_t max = UINT64_MAX;
};
constexpr Bounds kPositive{1, UINT64_MAX};  // 0 would mean nothing sensible (no "off")

struct ConfigKey {
    std::string_view key;   // section.name: the TOML location and the --set name
    std::string_view flag;  // fixed by design.md section 2 where listed there, else derived
    FieldRef field;
    ValueCheck check;
    std::string_view help;
    Bounds bounds = {};   // numbers only; checked for every source (file, environment, flags)
    bool secret = false;  // key material: redacted by `config --print` (kSecret)
};
constexpr bool kSecret = true;

using C = Config;
// clang-format off
constexpr ConfigKey kSchema[] = {
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
    {"cluster.redis", "--redis", &field_of<&C::cluster, &C::Cluster::redis>,
     ValueCheck::DialAddress, "Redis host:port; empty = embedded mode, no cluster"},
    {"cluster.redis_user", "--redis-user", &field_of<&C::cluster, &C::Cluster::redis_user>,
     ValueCheck::None, "Redis ACL user for cluster.redis and cluster.plugin_redis; empty = the default user"},
    {"cluster.redis_password", "--redis-password", &field_of<&C::cluster, &C::Cluster::redis_password>,
     ValueCheck::None, "Redis password (AUTH on every connect, before anything else); empty = no AUTH", {}, kSecret},
    {"cluster.plugin_redis", "--plugin-redis", &field_of<&C::cluster, &C::Cluster::plugin_redis>,
     ValueCheck::DialAddress, "Redis host:port for plugin stores and delayed jobs; empty = cluster.redis"},
    {"cluster.node_id", "--node-id", &field_of<&C::cluster, &C::Cluster::node_id>,
     ValueCheck::None, "this node's id in the cluster; empty = the host name"},
    {"cluster.advertise", "--advertise", &field_of<&C::cluster, &C::Cluster::advertise>,
     ValueCheck::ListenAddress, "host:port other nodes reach this node at; empty = first listen address"},
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
};
// clang-format on

constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kPluginPrefix = "plugins.";

const ConfigKey* find_key(std::string_view key) {
    for (const auto& entry : kSchema) {
        if (entry.key == key) return &entry;
    }
    return nullptr;
}

const ConfigKey* find_flag(std::string_view flag) {
    for (const auto& entry : kSchema) {
        if (entry.flag == flag) return &entry;
    }
    return nullptr;
}

bool is_section(std::string_view section) {
    for (const auto& entry : kSchema) {
        if (entry.key.substr(0, entry.key.find('.')) == section) return true;
    }
    return false;
}

std::string env_name(std::string_view key) {
    std::string name = "LIVEPUSH_";
    for (char c : key) {
        name += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    }
    return name;
}

// Edit distance (insert, delete, replace one character), for "did you mean".
std::size_t edit_distance(std::string_view a, std::string_view b) {
    std::vector<std::size_t> row(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
        std::size_t diagonal = row[0];
        row[0] = i;
        for (std::size_t j = 1; j <= b.size(); ++j) {
            const std::size_t above = row[j];
            row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] != b[j - 1])});
            diagonal = above;
        }
    }
    return row[b.size()];
}

// "; did you mean X?" for the nearest of `names` within a third of the name's length (at least
// 2 edits), or "" when none is near.
template <typename Names>
std::string did_you_mean(std::string_view name, const Names& names) {
    std::string best;
    std::size_t best_distance = std::max<std::size_t>(2, name.size() / 3) + 1;
    for (const auto& candidate : names) {
        const std::size_t d = edit_distance(name, candidate);
        if (d < best_distance) {
            best_distance = d;
            best = std::string(candidate);
        }
    }
    return best.empty() ? std::string() : "; did you mean \"" + best + "\"?";
}

std::vector<std::string> schema_keys() {
    std::vector<std::string> out;
    for (const auto& entry : kSchema) out.emplace_back(entry.key);
    return out;
}
std::vector<std::string> schema_flags() {
    std::vector<std::string> out{"--config", "--set", "--dev", "--help"};
    for (const auto& entry : kSchema) out.emplace_back(entry.flag);
    return out;
}
std::vector<std::string> schema_sections() {
    std::vector<std::string> out{"plugins"};
    for (const auto& entry : kSchema) out.emplace_back(entry.key.substr(0, entry.key.find('.')));
    return out;
}

// plugins.NAME.KEY, where KEY may itself be dotted (nested TOML tables); no empty segment.
bool is_plugin_key(std::string_view key) {
    if (!key.starts_with(kPluginPrefix)) return false;
    const std::string_view rest = key.substr(kPluginPrefix.size());
    if (rest.empty() || rest.front() == '.' || rest.back() == '.') return false;
    if (rest.find("..") != std::string_view::npos) return false;
    // The host's own keys: which built-ins run and which shared objects load.
    if (rest == "enabled" || rest == "load") return true;
    return rest.find('.') != std::string_view::npos;
}

std::string in_quotes(std::string_view text) {
    std::string out = "\"";
    out += text;
    out += '"';
    return out;
}

// Digits only: no sign, no spaces, no hex, so "-1" cannot wrap around to a huge limit.
bool parse_unsigned(std::string_view text, std::uint64_t max, std::uint64_t& out,
                    std::string& error) {
    std::uint64_t value = 0;
    const char* end = text.data() + text.size();
    const bool digits_only = !text.empty() && text.find_first_not_of("0123456789") == text.npos;
    if (!digits_only) {
        error = in_quotes(text) + " is not an unsigned integer";
        return false;
    }
    const auto [ptr, ec] = std::from_chars(text.data(), end, value);
    if (ec != std::errc() || ptr != end || value > max) {
        error = in_quotes(text) + " is out of range (at most " + std::to_string(max) + ")";
        return false;
    }
    out = value;
    return true;
}

// A switch's text as the digit its number field holds; empty when it is not a switch value.
std::string_view switch_digit(std::string_view value) {
    if (value == "true" || value == "on" || value == "1") return "1";
    if (value == "false" || value == "off" || value == "0") return "0";
    return {};
}

// Empty string on success, else why `value` is not acceptable (without saying where it came from).
std::string check_value(const ConfigKey& key, std::string_view value) {
    std::string why;
    switch (key.check) {
        case ValueCheck::None:
            return {};
        case ValueCheck::ListenAddress:
        case ValueCheck::DialAddress: {
            const auto port_zero = key.check == ValueCheck::ListenAddress
                                       ? codec::PortZero::Allowed
                                       : codec::PortZero::Refused;
            if (value.empty() || codec::Address::parse(value, port_zero, &why)) return {};
            return in_quotes(value) + " is not host:port: " + why;
        }
        case ValueCheck::DialAddressList:
            if (value.empty() ||
                codec::Address::parse_list(value, codec::PortZero::Refused, &why)) {
                return {};
            }
            return in_quotes(value) + " is not a comma-separated list of host:port: " + why;
        case ValueCheck::LogLevel:
            for (auto level : kLogLevels) {
                if (value == level) return {};
            }
            return in_quotes(value) + " is not one of trace, debug, info, warn, error";
        case ValueCheck::Switch:
            if (!switch_digit(value).empty()) return {};
            return in_quotes(value) + " is not true or false";
    }
    return {};
}

// Parses a number for `key`: its field's type bounds it, then the row's bounds.
bool parse_number(const ConfigKey& key, std::string_view value, std::uint64_t& number,
                  std::string& problem) {
    const std::uint64_t type_max =
        std::holds_alternative<U32Field>(key.field) ? UINT32_MAX : UINT64_MAX;
    if (!parse_unsigned(value, type_max, number, problem)) return false;
    if (number < key.bounds.min) {
        problem = in_quotes(value) + " is below the minimum " + std::to_string(key.bounds.min);
        return false;
    }
    if (number > key.bounds.max) {
        problem = in_quotes(value) + " is over the maximum " + std::to_string(key.bounds.max);
        return false;
    }
    return true;
}

// Sets one schema key from its text form. `source` names where the text came from (a flag, an
// environment variable, the file) so the operator knows what to fix.
std::string apply_value(Config& config, const ConfigKey& key, std::string_view value,
                        std::string_view source) {
    std::string problem = check_value(key, value);
    if (problem.empty() && key.check == ValueCheck::Switch) value = switch_digit(value);
    if (problem.empty()) {
        std::uint64_t number = 0;
        if (auto* text = std::get_if<StringField>(&key.field)) {
            (*text)(config) = std::string(value);
        } else if (parse_number(key, value, number, problem)) {
            if (auto* u32 = std::get_if<U32Field>(&key.field)) {
                (*u32)(config) = static_cast<std::uint32_t>(number);
            } else if (auto* u64 = std::get_if<U64Field>(&key.field)) {
                (*u64)(config) = number;
            }
        }
    }
    if (problem.empty()) {
        config.explicitly_set.insert(std::string(key.key));
        config.sources[std::string(key.key)] = std::string(source);
        return {};
    }
    return std::string(key.key) + ": " + problem + " (from " + std::string(source) + ")";
}

// One key=value from the command line (a flag or --set), applied in command-line order.
struct Override {
    std::string key;
    std::string value;
    std::string source;
};

std::string apply_override(Config& config, const Override& setting) {
    if (const ConfigKey* key = find_key(setting.key)) {
        return apply_value(config, *key, setting.value, setting.source);
    }
    if (is_plugin_key(setting.key)) {
        config.plugin_settings[setting.key] = setting.value;
        return {};
    }
    return "unknown key " + in_quotes(setting.key) + " (from " + setting.source +
           "); plugin keys are plugins.NAME.KEY" + did_you_mean(setting.key, schema_keys());
}

struct CommandLine {
    std::optional<std::string> config_path;
    bool dev = false;
    bool help = false;
    std::vector<Override> overrides;
};

std::string parse_command_line(int argc, const char* const* argv, CommandLine& out) {
    for (int i = 0; i < argc && argv[i] != nullptr; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "-h" || arg == "--help") {
            out.help = true;
            return {};
        }
        if (!arg.starts_with("--") || arg.size() == 2) {
            if (arg.starts_with("-")) return "unknown flag " + in_quotes(arg);
            return "unexpected argument " + in_quotes(arg);
        }
        const std::size_t eq = arg.find('=');
        const std::string_view name = arg.substr(0, eq);
        std::optional<std::string_view> inline_value;
        if (eq != std::string_view::npos) inline_value = arg.substr(eq + 1);

        // Only known flags take a value, so an unknown flag is reported instead of silently
        // swallowing the argument after it.
        const ConfigKey* key = find_flag(name);
        const bool takes_value = key != nullptr || name == "--config" || name == "--set";
        if (name == "--dev") {
            if (inline_value) return "--dev takes no value";
            out.dev = true;
            continue;
        }
        if (!takes_value) {
            return "unknown flag " + in_quotes(name) + did_you_mean(name, schema_flags());
        }

        std::string value;
        if (inline_value) {
            value = std::string(*inline_value);
        } else if (i + 1 < argc && argv[i + 1] != nullptr &&
                   !std::string_view(argv[i + 1]).starts_with("--")) {
            value = argv[++i];
        } else {
            // A value that starts with "--" is far more often a forgotten value than a real one.
            return std::string(name) + " needs a value (write " + std::string(name) +
                   "=VALUE for a value that starts with --)";
        }

        if (key != nullptr) {
            out.overrides.push_back({std::string(key->key), std::move(value), std::string(name)});
        } else if (name == "--config") {
            if (out.config_path) return "--config given more than once";
            out.config_path = std::move(value);
        } else {  // --set
            const std::size_t set_eq = value.find('=');
            if (set_eq == std::string::npos || set_eq == 0) {
                return "--set needs section.key=value, got " + in_quotes(value);
            }
            out.overrides.push_back({value.substr(0, set_eq), value.substr(set_eq + 1), "--set"});
        }
    }
    return {};
}

// TOML array or inline table as JSON, so that plugins get list values in a notation they can
// parse with the JSON library they already use. Dates and times become strings.
boost::json::value to_json(const toml::node& node) {
    if (const auto* text = node.as_string()) return boost::json::string(text->get());
    if (const auto* integer = node.as_integer()) return integer->get();
    if (const auto* real = node.as_floating_point()) return real->get();
    if (const auto* flag = node.as_boolean()) return flag->get();
    if (const auto* array = node.as_array()) {
        boost::json::array out;
        for (const auto& item : *array) out.push_back(to_json(item));
        return out;
    }
    if (const auto* table = node.as_table()) {
        boost::json::object out;
        for (const auto& [name, item] : *table) out[name.str()] = to_json(item);
        return out;
    }
    std::ostringstream os;
    node.visit([&os](const auto& value) { os << value; });
    return boost::json::string(os.str());
}

// Plugin values are kept as text for the plugin to parse: strings verbatim, numbers, booleans
// and dates in TOML notation, arrays as JSON.
std::string plugin_value_text(const toml::node& node) {
    if (const auto* text = node.as_string()) return text->get();
    if (node.is_array()) return boost::json::serialize(to_json(node));
    std::ostringstream os;
    node.visit([&os](const auto& value) { os << value; });
    return os.str();
}

void flatten_plugin_table(const toml::table& table, const std::string& prefix,
                          std::map<std::string, std::string>& out) {
    for (const auto& [name, node] : table) {
        std::string key = prefix + "." + std::string(name.str());
        if (const auto* nested = node.as_table()) {
            flatten_plugin_table(*nested, key, out);
        } else {
            out[key] = plugin_value_text(node);
        }
    }
}

// "path:line" of a node, as toml++ recorded it (the path alone when it has no position).
std::string where(const std::string& path, const toml::node& node) {
    const auto line = node.source().begin.line;
    return line == 0 ? path : path + ":" + std::to_string(line);
}

// Every problem of the file is collected (check-config lists them all; a start prints the first).
void apply_file_section(Config& config, std::string_view section, const toml::table& table,
                        const std::string& path, std::vector<std::string>& problems) {
    for (const auto& [name, node] : table) {
        const std::string key = std::string(section) + "." + std::string(name.str());
        const std::string at = where(path, node);
        const ConfigKey* entry = find_key(key);
        if (entry == nullptr) {
            problems.push_back(at + ": unknown key " + in_quotes(key) +
                               did_you_mean(key, schema_keys()));
            continue;
        }
        std::string error;
        if (std::holds_alternative<StringField>(entry->field)) {
            const auto* text = node.as_string();
            error = text == nullptr ? key + ": expected a string (from " + at + ")"
                                    : apply_value(config, *entry, text->get(), at);
        } else if (entry->check == ValueCheck::Switch) {
            const auto* flag = node.as_boolean();
            error = flag == nullptr
                        ? key + ": expected true or false (from " + at + ")"
                        : apply_value(config, *entry, flag->get() ? "true" : "false", at);
        } else {
            const auto* integer = node.as_integer();
            error = integer == nullptr
                        ? key + ": expected an integer (from " + at + ")"
                        : apply_value(config, *entry, std::to_string(integer->get()), at);
        }
        if (!error.empty()) problems.push_back(std::move(error));
    }
}

void apply_file_root(Config& config, const toml::table& root, const std::string& path,
                     std::vector<std::string>& problems);

void apply_file(Config& config, const std::string& path, std::vector<std::string>& problems) {
    std::error_code ec;
    if (std::filesystem::is_directory(path, ec)) {
        problems.push_back("--config " + in_quotes(path) + ": is a directory, not a TOML file");
        return;
    }
    std::ifstream file(path, std::ios::binary);
    if (!file) {
        problems.push_back("--config " + in_quotes(path) +
                           ": cannot open: " + std::strerror(errno));
        return;
    }
    std::string text;
    try {
        text.assign(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
    } catch (const std::ios_base::failure& e) {
        problems.push_back("--config " + in_quotes(path) + ": cannot read: " + e.what());
        return;
    }
    if (file.bad()) {
        problems.push_back("--config " + in_quotes(path) + ": cannot read");
        return;
    }

    toml::table root;
    try {
        root = toml::parse(text, path);
    } catch (const toml::parse_error& e) {
        const auto& at = e.source().begin;
        problems.push_back(path + ":" + std::to_string(at.line) + ":" + std::to_string(at.column) +
                           ": " + std::string(e.description()));
        return;
    }

    const std::size_t first = problems.size();
    apply_file_root(config, root, path, problems);
    // toml++ hands tables out in key order; the operator reads the file in line order.
    auto line_of = [&path](const std::string& problem) {
        const std::size_t at = problem.find(path + ":");
        return at == std::string::npos
                   ? 0UL
                   : std::strtoul(problem.c_str() + at + path.size() + 1, nullptr, 10);
    };
    std::stable_sort(
        problems.begin() + static_cast<std::ptrdiff_t>(first), problems.end(),
        [&](const std::string& a, const std::string& b) { return line_of(a) < line_of(b); });
}

void apply_file_root(Config& config, const toml::table& root, const std::string& path,
                     std::vector<std::string>& problems) {
    for (const auto& [name, node] : root) {
        const std::string section(name.str());
        const auto* table = node.as_table();
        if (section == "plugins" && table != nullptr) {
            for (const auto& [plugin, settings] : *table) {
                const std::string prefix = "plugins." + std::string(plugin.str());
                if (plugin.str() == "enabled" || plugin.str() == "load") {
                    // A list of names/paths: an array of strings, or one comma-separated string.
                    std::string text;
                    bool ok = true;
                    if (const auto* arr = settings.as_array()) {
                        text = "[";
                        for (const auto& item : *arr) {
                            const auto* s = item.as_string();
                            if (s == nullptr) {
                                ok = false;
                                break;
                            }
                            text += (text.size() > 1 ? ",\"" : "\"") + s->get() + "\"";
                        }
                        text += "]";
                    } else if (const auto* s = settings.as_string()) {
                        text = s->get();
                    } else {
                        ok = false;
                    }
                    if (!ok) {
                        problems.push_back(where(path, settings) + ": " + prefix +
                                           " must be an array of strings");
                        continue;
                    }
                    config.plugin_settings[prefix] = text;
                    config.sources[prefix] = where(path, settings);
                    continue;
                }
                if (find_key(prefix) != nullptr) {  // the host's own keys (filter_timeout_ms)
                    toml::table one;
                    one.insert(plugin.str(), settings);
                    apply_file_section(config, "plugins", one, path, problems);
                    continue;
                }
                const auto* plugin_table = settings.as_table();
                if (plugin_table == nullptr) {
                    problems.push_back(where(path, settings) + ": " + prefix +
                                       " must be a table ([" + prefix + "])" +
                                       did_you_mean(prefix, schema_keys()));
                    continue;
                }
                flatten_plugin_table(*plugin_table, prefix, config.plugin_settings);
            }
        } else if (table != nullptr && is_section(section)) {
            apply_file_section(config, section, *table, path, problems);
        } else if (table != nullptr) {
            problems.push_back(where(path, node) + ": unknown section [" + section + "]" +
                               did_you_mean(section, schema_sections()));
        } else {
            problems.push_back(where(path, node) + ": unknown key " + in_quotes(section) +
                               " (keys belong in a [section])" +
                               did_you_mean(section, schema_keys()));
        }
    }
}

void apply_environment(Config& config, const char* const* envp, std::vector<std::string>& problems,
                       std::vector<std::string>& warnings) {
    if (envp == nullptr) return;
    for (const auto& key : kSchema) {
        const std::string name = env_name(key.key);
        for (const char* const* entry = envp; *entry != nullptr; ++entry) {
            const std::string_view assignment = *entry;
            if (assignment.size() > name.size() && assignment.starts_with(name) &&
                assignment[name.size()] == '=') {
                // First match, as getenv() would pick.
                auto error = apply_value(config, key, assignment.substr(name.size() + 1), name);
                if (!error.empty()) problems.push_back(std::move(error));
                break;
            }
        }
    }
    // A LIVEPUSH_ variable that names no key is ignored by a start (tests and plugins use the
    // prefix too), but is most likely a typo: a warning, not a problem.
    std::vector<std::string> names;
    for (const auto& key : kSchema) names.push_back(env_name(key.key));
    for (const char* const* entry = envp; *entry != nullptr; ++entry) {
        const std::string_view assignment = *entry;
        const std::string_view name = assignment.substr(0, assignment.find('='));
        if (!name.starts_with("LIVEPUSH_")) continue;
        if (std::find(names.begin(), names.end(), name) != names.end()) continue;
        const std::string near = did_you_mean(name, names);
        if (!near.empty()) warnings.push_back(std::string(name) + ": names no key" + near);
    }
}

// The accessors hand out mutable references (they are the setters too), hence Config&.
std::string value_text(Config& config, const ConfigKey& key) {
    return std::visit(
        [&](auto field) -> std::string {
            const auto& value = field(config);
            if constexpr (std::is_same_v<std::decay_t<decltype(value)>, std::string>) {
                return in_quotes(value);
            } else {
                if (key.check == ValueCheck::Switch) return value ? "true" : "false";
                return std::to_string(value);
            }
        },
        key.field);
}

std::string_view placeholder(const ConfigKey& key) {
    switch (key.check) {
        case ValueCheck::ListenAddress:
        case ValueCheck::DialAddress:
            return "HOST:PORT";
        case ValueCheck::DialAddressList:
            return "HOST:PORT,...";
        case ValueCheck::LogLevel:
            return "LEVEL";
        case ValueCheck::Switch:
            return "true|false";
        case ValueCheck::None:
            break;
    }
    return std::holds_alternative<StringField>(key.field) ? "TEXT" : "N";
}

// ", at least 1" / ", at most N": the row's bounds where they are narrower than its type's.
std::string bounds_text(const ConfigKey& key) {
    const Bounds none;
    std::string out;
    if (key.bounds.min != none.min) out += ", at least " + std::to_string(key.bounds.min);
    if (key.bounds.max != none.max) out += ", at most " + std::to_string(key.bounds.max);
    return out;
}

std::string help_text() {
    Config defaults;
    std::string out =
        "Usage: livepushd [options]\n"
        "\n"
        "Every key below can be set in the TOML file (--config; [section] then key = value), by\n"
        "its environment variable, by its flag, or with --set section.key=value. Later wins:\n"
        "defaults < file < environment < flags and --set, in command-line order.\n"
        "\n"
        "Options:\n"
        "  --config FILE\n"
        "      TOML configuration file; [plugins.NAME] tables are passed to plugin NAME\n"
        "  --set KEY=VALUE\n"
        "      set any key below, or a plugin key plugins.NAME.KEY; repeatable\n"
        "  --dev\n"
        "      development mode: without a jwt_secret, start with a printed development secret\n"
        "      and API key; listeners not set explicitly listen on 127.0.0.1, and an explicit\n"
        "      non-loopback listen address is refused (the dev secret is published)\n"
        "  -h, --help\n"
        "      print this help\n"
        "\n"
        "Keys:\n";
    for (const auto& key : kSchema) {
        out += "  ";
        out += key.flag;
        out += ' ';
        out += placeholder(key);
        out += "\n      ";
        out += key.key;
        out += ", env ";
        out += env_name(key.key);
        out += ", default ";
        out += value_text(defaults, key);
        out += bounds_text(key);
        out += "\n      ";
        out += key.help;
        out += '\n';
    }
    return out;
}

}  // namespace

std::vector<ConfigKeyInfo> config_schema() {
    std::vector<ConfigKeyInfo> out;
    for (const auto& key : kSchema) {
        ConfigKeyInfo info;
        info.key = key.key;
        info.flag = key.flag;
        info.env = env_name(key.key);
        info.help = key.help;
        info.limits = bounds_text(key);
        info.kind = std::holds_alternative<StringField>(key.field) ? ConfigKeyInfo::Kind::Text
                    : key.check == ValueCheck::Switch              ? ConfigKeyInfo::Kind::Switch
                                                                   : ConfigKeyInfo::Kind::Number;
        info.secret = key.secret;
        out.push_back(std::move(info));
    }
    return out;
}

std::string config_value_toml(const Config& config, std::string_view name) {
    const ConfigKey* key = find_key(name);
    if (key == nullptr) return {};
    // The accessors are also the setters, hence non-const; nothing is written here.
    auto& readable = const_cast<Config&>(config);  // NOLINT(cppcoreguidelines-pro-type-const-cast)
    if (const auto* text = std::get_if<StringField>(&key->field)) {
        std::string out = "\"";
        for (const char c : (*text)(readable)) {
            const auto u = static_cast<unsigned char>(c);
            if (c == '"' || c == '\\') {
                out += '\\';
                out += c;
            } else if (u < 0x20 || u == 0x7f) {
                static constexpr char kHex[] = "0123456789abcdef";
                out += "\\u00";
                out += kHex[u >> 4];
                out += kHex[u & 0xf];
            } else {
                out += c;
            }
        }
        return out + "\"";
    }
    return value_text(readable, *key);
}

std::string apply_dev_listen_policy(Config& config) {
    if (!config.dev) return {};
    struct Listener {
        std::string_view key;
        std::string& address;
    };
    const Listener listeners[] = {
        {"server.tcp_listen", config.server.tcp_listen},
        {"server.ws_listen", config.server.ws_listen},
        {"api.listen", config.api.listen},
        {"cluster.link_listen", config.cluster.link_listen},
    };
    for (const Listener& l : listeners) {
        if (l.address.empty()) continue;  // off
        const auto address = codec::Address::parse(l.address);
        if (address && address->is_loopback()) continue;  // safe
        if (config.explicitly_set.count(std::string(l.key)) != 0) {
            return std::string(l.key) + " = " + l.address +
                   " is not a loopback address, and --dev publishes its secret and API key: "
                   "with --dev listen on 127.0.0.1 only, or run without --dev with your own "
                   "auth.jwt_secret and api.key";
        }
        if (address) l.address = codec::Address{"127.0.0.1", address->port}.to_string();
    }
    return {};
}

ConfigResult load_config(int argc, const char* const* argv, const char* const* envp) {
    ConfigResult result;
    CommandLine command_line;
    if (auto error = parse_command_line(argc, argv, command_line); !error.empty()) {
        result.error = std::move(error);
        return result;
    }
    if (command_line.help) {
        result.show_help = true;
        result.help_text = help_text();
        return result;
    }

    // Every source is applied and every problem collected; a start prints the first.
    Config& config = result.config;
    config.dev = command_line.dev;
    if (command_line.config_path) apply_file(config, *command_line.config_path, result.problems);
    apply_environment(config, envp, result.problems, result.warnings);
    for (const auto& setting : command_line.overrides) {
        if (auto error = apply_override(config, setting); !error.empty()) {
            result.problems.push_back(std::move(error));
        }
    }
    if (!result.problems.empty()) result.error = result.problems.front();
    return result;
}

}  // namespace lp::app
