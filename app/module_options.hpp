// app/module_options: Config -> each module's Options struct, in one place.
//
// Every value an operator sets reaches its module through one of these functions, so a key's
// path is: its schema row (app/config_schema.hpp: flag, env, bounds), its Config field (default =
// the module's named constant), and one line here. Values were checked against their bounds when
// they were loaded, so nothing here clamps or re-checks a single value: it only converts units
// and types, and fills what derives from several keys (api.threads = 0, the advertised address).
// It never builds a module object, starts a thread or touches the network; app/node does that.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "ack/qos_delivery.hpp"
#include "app/config.hpp"
#include "auth/jwt.hpp"
#include "events/kafka_context.hpp"
#include "handlers/gateway.hpp"
#include "plugins/host/job_runner.hpp"
#include "push/http_api.hpp"
#include "push/room_state_service.hpp"
#include "redis/client.hpp"
#include "router/cluster.hpp"
#include "router/room_moderation.hpp"
#include "server/server.hpp"

namespace lp::app {

// The token rules of `c`: secrets, public keys read from their PEM files, rotation, iss/aud and
// the lifetime bound. Returns an error naming the key or file to fix, or empty.
std::string jwt_policy_from(const Config& c, auth::JwtPolicy& out);

server::ServerOptions server_options(const Config& c);
// Throws std::runtime_error naming the key when the token rules cannot be loaded.
handlers::GatewayOptions gateway_options(const Config& c);
// room.online_interval_ms: how often the room.online sweep runs; 0 = off.
std::chrono::milliseconds room_online_interval(const Config& c);
// room.state_*: the room state bounds.
push::RoomStateLimits room_state_limits(const Config& c);
std::chrono::milliseconds room_likes_interval(const Config& c);
ack::DeliveryOptions delivery_options(const Config& c);
// Cluster mode. `bound_tcp_port` and `bound_ws_port` are the client ports really bound (for
// cluster.advertise and cluster.advertise_ws with port 0). The node-number hooks are the
// caller's (they point into the gateway).
router::ClusterOptions cluster_options(const Config& c, std::uint16_t bound_tcp_port,
                                       std::uint16_t bound_ws_port = 0);
router::ModerationOptions moderation_options(const Config& c);
// cluster.plugin_redis, with the credentials of cluster.redis.
redis::Client::Options plugin_redis_options(const Config& c);
// The durable inbox's own Redis client (cluster.redis_wait_replicas > 0): the cluster client's
// options with WAIT on, so WAIT's waits never hold up routes and room subscriptions.
redis::Client::Options inbox_redis_options(const Config& c, redis::Client::Options cluster);
push::ApiOptions api_options(const Config& c);
plugins::JobRunner::Options job_runner_options(const Config& c);
// Consuming `topics` (the plugins' event types). Throws std::runtime_error naming the item of
// kafka.settings that is not name=value.
events::KafkaOptions kafka_options(const Config& c, std::vector<std::string> topics);

}  // namespace lp::app
