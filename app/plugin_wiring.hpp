// app/plugin_wiring: the plugins of one node, wired. It builds, in this order: the push adapter
// the plugins push through; their stores and the delayed-job queue (memory when embedded; Redis
// in a cluster, on cluster.plugin_redis when that is set); the plugin host with the built-in
// plugins and the ones plugins.load names; the BIZ types, run on KeyedWorkers (one user's calls
// in order) or on the loop; the plugins' HTTP routes on the API; the event source (Kafka, with
// the host's dedupe and forget hooks and the gateway's upstream publisher, when kafka.brokers is
// set, else the in-process bus); and the delayed-job runner.
// It must never start or stop anything (Node does, in an order interleaved with the rest of the
// node), never hold a plugin's logic (that is plugins/<name>/) or the host's (plugins/host/), and
// never be included outside app/: it is where the embedded and cluster modes are told apart.
#pragma once

#include <memory>

#include "app/config.hpp"
#include "app/room_hook_bridge.hpp"
#include "events/kafka_events.hpp"
#include "plugins/host/event_bus.hpp"
#include "plugins/host/job_queue.hpp"
#include "plugins/host/job_runner.hpp"
#include "plugins/host/keyed_workers.hpp"
#include "plugins/host/memory_store.hpp"
#include "plugins/host/plugin_host.hpp"
#include "plugins/host/push_adapter.hpp"
#include "plugins/host/room_hook_runner.hpp"
#include "redis/client.hpp"

namespace lp::handlers {
class Gateway;
}
namespace lp::push {
class HttpApi;
class PushService;
}  // namespace lp::push
namespace lp::router {
class Cluster;
}

namespace lp::app {

// The plugin side of a node. Declared in the order it is built, so that it is destroyed in the
// reverse one: the BIZ workers before the host they call, the host before its stores and jobs.
struct PluginParts {
    std::unique_ptr<plugins::PushAdapter> pusher;
    std::unique_ptr<redis::Client> plugin_redis;  // cluster.plugin_redis, when set
    std::shared_ptr<plugins::MemoryStoreData> memory_store;
    std::unique_ptr<plugins::JobQueue> jobs;
    std::unique_ptr<plugins::JobRunner> job_runner;
    std::unique_ptr<plugins::EventBus> bus;
    std::unique_ptr<events::KafkaEvents> kafka;  // kafka.brokers set
    std::unique_ptr<plugins::PluginHost> host;
    std::unique_ptr<plugins::KeyedWorkers> biz_workers;  // runs plugin BIZ calls; before host dies
    // Only when some plugin declares room hooks (SDK 5); the bridge is the hub's member
    // observer and the gateway's chat filter.
    std::unique_ptr<plugins::RoomHookRunner> room_hooks;
    std::unique_ptr<RoomHookBridge> room_hook_bridge;
};

// Builds `parts` in place. `cluster` is null on an embedded node; `api` is null when api.listen
// is empty (the plugins' routes are then not served). Throws (std::runtime_error, with a message
// naming the setting) when the plugin Redis refuses our credentials, a plugin cannot be loaded
// or the Kafka settings are wrong.
void wire_plugins(PluginParts& parts, const Config& c, push::PushService& push,
                  router::Cluster* cluster, handlers::Gateway& gateway, push::HttpApi* api);

}  // namespace lp::app
