// app/module_options: see module_options.hpp.
#include "app/module_options.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <functional>
#include <map>
#include <stdexcept>

#include "codec/address.hpp"
#include "plugins/host/plugin_host.hpp"

namespace lp::app {

namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// What clients are told to reconnect to: cluster.advertise (TCP) or cluster.advertise_ws
// (WebSocket), with the port the listener really bound when the configured one is 0, and a host
// name instead of a wildcard address.
std::string advertised_address(const std::string& advertise, std::uint16_t bound_port) {
    codec::Address address = codec::Address::parse(advertise).value_or(codec::Address{});
    if (address.host.empty() || address.is_wildcard()) {
        char name[256] = {};
        address.host = gethostname(name, sizeof name - 1) == 0 && name[0] ? name : "127.0.0.1";
    }
    if (address.port == 0) address.port = bound_port;
    return address.to_string();
}

// kafka.settings: "name=value,name=value" → librdkafka properties. Throws naming the bad item.
std::map<std::string, std::string> parse_kafka_settings(const std::string& text) {
    std::map<std::string, std::string> out;
    for (const auto& item : plugins::split_list(text)) {
        const auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            throw std::runtime_error("kafka.settings: \"" + item + "\" is not name=value");
        out[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return out;
}

}  // namespace

std::string jwt_policy_from(const Config& c, auth::JwtPolicy& out) {
    const auto& a = c.auth;
    out.keys.secret = a.jwt_secret;
    if (!a.jwt_public_key.empty()) {
        if (auto err = auth::load_public_keys_file(a.jwt_public_key, out.keys.public_keys);
            !err.empty())
            return "auth.jwt_public_key: " + err;
    }
    // The schema bounds auth.jwt_previous_until to what an int64 holds.
    out.previous_until = static_cast<std::int64_t>(a.jwt_previous_until);
    out.previous.secret = a.jwt_secret_previous;
    if (!a.jwt_public_key_previous.empty()) {
        if (auto err =
                auth::load_public_keys_file(a.jwt_public_key_previous, out.previous.public_keys);
            !err.empty())
            return "auth.jwt_public_key_previous: " + err;
    }
    if (!out.previous.empty() && out.previous_until == 0)
        return "auth.jwt_secret_previous / auth.jwt_public_key_previous need "
               "auth.jwt_previous_until (unix seconds)";
    out.issuer = a.issuer;
    out.audience = a.audience;
    out.max_ttl_s = a.max_token_ttl_s;
    out.leeway_s = a.leeway_s;
    return {};
}

server::ServerOptions server_options(const Config& c) {
    server::ServerOptions so;
    so.tcp_listen = c.server.tcp_listen;
    so.ws_listen = c.server.ws_listen;
    so.loops = c.server.loops;
    so.max_connections = c.server.max_connections;
    so.tls_cert = c.tls.cert;
    so.tls_key = c.tls.key;
    so.loop.heartbeat_interval = milliseconds(c.server.heartbeat_interval_ms);
    so.loop.login_timeout = milliseconds(c.server.login_timeout_ms);
    so.loop.max_body = c.server.max_body;
    so.loop.ws_max_message = c.server.ws_max_message;
    so.loop.ws_allowed_origins = plugins::split_list(c.server.ws_allowed_origins);
    so.loop.send_queue_max_bytes = c.server.send_queue_max_bytes;
    so.loop.finest_timer = milliseconds(c.delivery.retry_ms);
    so.loop.room_coalesce = milliseconds(c.room.coalesce_ms);
    so.loop.room_coalesce_max = c.room.coalesce_max;
    so.loop.viewer_budget_per_s = c.room.viewer_budget_per_s;
    so.hub.room_history_max = c.room.history_max;
    so.hub.room_history_ttl = seconds(c.room.history_ttl_s);
    so.ip.max_connections_per_ip = c.server.max_connections_per_ip;
    so.ip.login_rate_per_ip = c.server.login_rate_per_ip;
    so.ip.trusted_proxies = c.server.trusted_proxies;
    return so;
}

std::chrono::milliseconds room_online_interval(const Config& c) {
    return std::chrono::milliseconds(c.room.online_interval_ms);
}

push::RoomStateLimits room_state_limits(const Config& c) {
    return {c.room.state_max_key_bytes, c.room.state_max_value_bytes, c.room.state_max_keys,
            c.room.state_max_room_bytes};
}

std::chrono::milliseconds room_likes_interval(const Config& c) {
    return std::chrono::milliseconds(c.room.likes_interval_ms);
}

handlers::GatewayOptions gateway_options(const Config& c) {
    handlers::GatewayOptions go;
    go.node_id = c.cluster.node_id;
    go.heartbeat_interval = milliseconds(c.server.heartbeat_interval_ms);
    if (auto err = jwt_policy_from(c, go.jwt); !err.empty()) throw std::runtime_error(err);
    go.max_rooms_per_session = c.server.max_rooms_per_session;
    go.biz_rate_per_s = c.server.biz_rate_per_s;
    go.max_sessions_per_user = c.server.max_sessions_per_user;
    go.ack_rate_per_s = c.server.ack_rate_per_s;
    go.max_ack_ids = c.server.max_ack_ids;
    go.platforms = c.auth.platforms;
    go.guests = c.auth.guests != 0;
    go.guest_max_sessions = c.auth.guest_max_sessions;
    go.im_rate_per_s = c.im.rate_per_s;
    go.like_max_count = c.room.like_max_count;
    go.like_rate_per_s = c.room.like_rate_per_s;
    go.guests_may_like = c.auth.guests_may_like != 0;
    go.expire_sessions = c.auth.expire_sessions != 0;
    go.im_max_payload_bytes = c.im.max_payload_bytes;
    go.room_chat_rate_per_s = c.room.chat_rate_per_s;
    return go;
}

ack::DeliveryOptions delivery_options(const Config& c) {
    ack::DeliveryOptions dopts;
    dopts.window = c.delivery.window;
    dopts.retry = milliseconds(c.delivery.retry_ms);
    dopts.max_attempts = c.delivery.max_attempts;
    dopts.inbox_ttl = seconds(c.delivery.inbox_ttl_s);
    dopts.waiting_max = c.delivery.waiting_max;
    return dopts;
}

router::ModerationOptions moderation_options(const Config& c) {
    router::ModerationOptions o;
    o.max_moderators = c.moderation.max_moderators;
    o.max_entries = c.moderation.max_entries;
    o.sync_interval = std::chrono::milliseconds(c.moderation.sync_interval_ms);
    return o;
}

namespace {

// cluster.X_sentinels as (host, port) pairs, after the checks the loader cannot make alone:
// not both a Redis address and sentinels, a master name with them. Throws naming the keys.
std::vector<std::pair<std::string, std::uint16_t>> sentinel_list(const std::string& direct,
                                                                 const std::string& sentinels,
                                                                 const std::string& master_name,
                                                                 const std::string& key) {
    std::vector<std::pair<std::string, std::uint16_t>> out;
    if (sentinels.empty()) return out;
    const std::string skey = key + "_sentinels";
    if (!direct.empty())
        throw std::invalid_argument(key + " and " + skey +
                                    " are both set: name the Redis directly or through its "
                                    "sentinels, not both");
    if (master_name.empty())
        throw std::invalid_argument(key + "_master_name must not be empty with " + skey);
    std::size_t at = 0;
    while (at <= sentinels.size()) {
        const std::size_t comma = std::min(sentinels.find(',', at), sentinels.size());
        const std::string one = sentinels.substr(at, comma - at);
        at = comma + 1;
        if (one.empty()) continue;
        std::string why;
        const auto address = codec::Address::parse(one, codec::PortZero::Refused, &why);
        if (!address)
            throw std::invalid_argument(skey + ": \"" + one + "\" is not host:port: " + why);
        out.emplace_back(address->numeric_host(), address->port);
    }
    return out;
}

}  // namespace

redis::Client::Options inbox_redis_options(const Config& c, redis::Client::Options cluster) {
    cluster.wait_replicas = c.cluster.redis_wait_replicas;
    cluster.wait_timeout = milliseconds(c.cluster.redis_wait_timeout_ms);
    return cluster;
}

router::ClusterOptions cluster_options(const Config& c, std::uint16_t bound_tcp_port,
                                       std::uint16_t bound_ws_port) {
    router::ClusterOptions co;
    co.node_id = c.cluster.node_id;
    co.redis = c.cluster.redis;
    co.redis_sentinels = sentinel_list(c.cluster.redis, c.cluster.redis_sentinels,
                                       c.cluster.redis_master_name, "cluster.redis");
    co.redis_master_name = c.cluster.redis_master_name;
    co.redis_sentinel_password = c.cluster.redis_sentinel_password;
    co.redis_user = c.cluster.redis_user;
    co.redis_password = c.cluster.redis_password;
    co.client_addr = advertised_address(c.cluster.advertise, bound_tcp_port);
    // No WebSocket listener: nothing to send WebSocket sessions to (they keep their own URL).
    // A ws:// or wss:// URL is sent as given (the check at load made sure it is one).
    if (!c.server.ws_listen.empty())
        co.client_ws_addr = c.cluster.advertise_ws.find("://") != std::string::npos
                                ? c.cluster.advertise_ws
                                : advertised_address(c.cluster.advertise_ws, bound_ws_port);
    co.link_listen = c.cluster.link_listen;
    co.link_advertise = c.cluster.link_advertise;
    co.secret = c.cluster.secret;  // every node of a cluster shares it; nothing else uses it
    co.link_hello_timeout = milliseconds(c.cluster.link_hello_timeout_ms);
    co.link_max_connections = c.cluster.link_max_connections;
    co.link_queue_max_bytes = c.cluster.link_queue_max_bytes;
    co.link_tls_cert = c.cluster.link_tls_cert;
    co.link_tls_key = c.cluster.link_tls_key;
    co.link_tls_ca = c.cluster.link_tls_ca;
    co.node_ttl = milliseconds(c.cluster.node_ttl_ms);
    co.room_query_timeout = milliseconds(c.cluster.room_query_timeout_ms);
    co.redis_queue_max_bytes = static_cast<std::size_t>(c.cluster.redis_queue_max_bytes);
    // Message ids must differ across nodes: the node claims a free node number in Redis,
    // starting from a hash of its id (a restarted node usually gets its old one back).
    co.node_number_hint =
        static_cast<std::uint16_t>(std::hash<std::string>{}(c.cluster.node_id) & 0x3FF);
    return co;
}

redis::Client::Options plugin_redis_options(const Config& c) {
    redis::Client::Options ro;
    ro.sentinels = sentinel_list(c.cluster.plugin_redis, c.cluster.plugin_redis_sentinels,
                                 c.cluster.plugin_redis_master_name, "cluster.plugin_redis");
    ro.master_name = c.cluster.plugin_redis_master_name;
    ro.sentinel_password = c.cluster.redis_sentinel_password;
    if (ro.sentinels.empty()) {
        // cluster.plugin_redis was checked as a dialled host:port when it was loaded.
        const auto address =
            codec::Address::parse(c.cluster.plugin_redis, codec::PortZero::Refused).value();
        ro.host = address.numeric_host();
        ro.port = address.port;
    } else {
        ro.backoff_max = milliseconds(1000);  // follow a failover within a second or so
    }
    ro.command_timeout = milliseconds(1000);
    ro.username = c.cluster.redis_user;
    ro.password = c.cluster.redis_password;
    return ro;
}

push::ApiOptions api_options(const Config& c) {
    push::ApiOptions ao;
    ao.listen = c.api.listen;
    ao.key = c.api.key;
    ao.max_body_bytes = c.api.max_body_bytes;
    ao.max_requests_per_s = c.api.max_requests_per_s;
    ao.max_user_ids = c.api.max_user_ids;
    ao.max_connections = c.api.max_connections;
    ao.header_timeout_ms = c.api.header_timeout_ms;
    ao.idle_timeout_ms = c.api.idle_timeout_ms;
    ao.threads = c.api.threads != 0 ? c.api.threads : (cluster_mode(c) ? 4 : 1);
    return ao;
}

plugins::JobRunner::Options job_runner_options(const Config& c) {
    plugins::JobRunner::Options jo;
    jo.tick = milliseconds(c.jobs.tick_ms);
    jo.ttr = milliseconds(c.jobs.ttr_ms);
    jo.max_attempts = c.jobs.max_attempts;
    return jo;
}

events::KafkaOptions kafka_options(const Config& c, std::vector<std::string> topics) {
    events::KafkaOptions ko;
    ko.brokers = c.kafka.brokers;
    ko.group = c.kafka.group;
    ko.client_id = c.cluster.node_id;
    ko.fetch_wait_max = std::chrono::milliseconds(c.kafka.fetch_wait_max_ms);
    ko.rdkafka_config = parse_kafka_settings(c.kafka.settings);
    ko.topics = std::move(topics);
    ko.log = [](int level, std::string_view line) {
        if (level <= 3)
            spdlog::error("kafka: {}", line);
        else if (level <= 4)
            spdlog::warn("kafka: {}", line);
        else
            spdlog::debug("kafka: {}", line);
    };
    return ko;
}

}  // namespace lp::app
