// app/plugin_wiring: see plugin_wiring.hpp.
#include "app/plugin_wiring.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <map>
#include <stdexcept>
#include <string>
#include <thread>

#include "app/module_options.hpp"
#include "codec/wall_clock.hpp"
#include "events/upstream_publisher.hpp"
#include "handlers/gateway.hpp"
#include "plugins/feed/feed_plugin.hpp"
#include "plugins/gift/gift_plugin.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/redis_job_queue.hpp"
#include "plugins/host/redis_store.hpp"
#include "plugins/pk/pk_plugin.hpp"
#include "plugins/rank/rank_plugin.hpp"
#include "plugins/welcome/welcome_plugin.hpp"
#include "plugins/wordfilter/wordfilter_plugin.hpp"
#include "push/http_api.hpp"
#include "push/push_service.hpp"
#include "router/cluster.hpp"

namespace lp::app {

namespace {

// plugins.NAME.key = value  ->  NAME -> {key: value}
std::map<std::string, std::map<std::string, std::string>> plugin_sections(const Config& c) {
    std::map<std::string, std::map<std::string, std::string>> out;
    for (const auto& [key, value] : c.plugin_settings) {
        std::string rest = key.substr(std::string("plugins.").size());
        auto dot = rest.find('.');
        if (dot == std::string::npos) continue;  // plugins.enabled, plugins.load
        out[rest.substr(0, dot)][rest.substr(dot + 1)] = value;
    }
    return out;
}

std::string setting(const Config& c, const std::string& key, const std::string& fallback) {
    auto it = c.plugin_settings.find(key);
    return it == c.plugin_settings.end() ? fallback : it->second;
}

// cluster.plugin_redis: a Redis of the plugins' own, with the cluster's credentials.
std::unique_ptr<redis::Client> connect_plugin_redis(const Config& c) {
    auto client = std::make_unique<redis::Client>(plugin_redis_options(c));
    const std::string name = c.cluster.plugin_redis_sentinels.empty()
                                 ? c.cluster.plugin_redis
                                 : "master " + c.cluster.plugin_redis_master_name +
                                       " (via cluster.plugin_redis_sentinels)";
    client->start();
    // Plugins start right after this (rank schedules its settlement): give the first
    // connection a moment, as the routes' Redis gets in Cluster::start.
    for (int i = 0; i < 300 && !client->connected(); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    if (!client->connected() && client->stats().auth_failures > 0)
        throw std::runtime_error("cluster.plugin_redis " + name + " refused our credentials (" +
                                 client->last_error() +
                                 "); check cluster.redis_user and cluster.redis_password");
    if (!client->connected())
        spdlog::warn("plugin Redis {} not reachable yet: {}", name, client->last_error());
    return client;
}

// The plugins' stores and the delayed-job queue: Redis in a cluster (cluster.plugin_redis when
// it names another Redis than the routes'), else memory.
plugins::PluginHost::StoreFactory wire_stores(PluginParts& p, const Config& c,
                                              router::Cluster* cluster) {
    if (cluster) {
        redis::Client* redis = &cluster->redis();
        if (!c.cluster.plugin_redis_sentinels.empty() ||
            (!c.cluster.plugin_redis.empty() && c.cluster.plugin_redis != c.cluster.redis)) {
            p.plugin_redis = connect_plugin_redis(c);
            redis = p.plugin_redis.get();
        }
        auto jobs = std::make_unique<plugins::RedisJobQueue>(*redis);
        // Jobs scheduled by nodes before the {jobs} hash tag (lp:jobs:...) move once.
        if (const auto moved = jobs->adopt_legacy(); moved > 0)
            spdlog::info("delayed jobs: {} moved from the lp:jobs: keys to lp:{{jobs}}:", moved);
        else if (moved < 0)
            spdlog::warn(
                "delayed jobs: could not check for lp:jobs: keys to move (Redis did not "
                "answer); the next start tries again");
        p.jobs = std::move(jobs);
        return [redis](const std::string& prefix) -> std::unique_ptr<sdk::Store> {
            return std::make_unique<plugins::RedisStore>(*redis, "lp:" + prefix);
        };
    }
    p.memory_store = std::make_shared<plugins::MemoryStoreData>();
    p.jobs = std::make_unique<plugins::MemoryJobQueue>();
    return [data = p.memory_store](const std::string& prefix) -> std::unique_ptr<sdk::Store> {
        return std::make_unique<plugins::MemoryStore>(data, prefix);
    };
}

// The host, with the built-in plugins plugins.enabled names and the libraries plugins.load names.
void load_host(PluginParts& p, const Config& c, bool cluster_mode,
               plugins::PluginHost::StoreFactory stores) {
    p.bus = std::make_unique<plugins::EventBus>();
    plugins::HostOptions ho;
    ho.node_id = c.cluster.node_id;
    ho.cluster = cluster_mode;
    ho.enabled = plugins::split_list(setting(c, "plugins.enabled", "gift,pk,feed,rank"));
    ho.load = plugins::split_list(setting(c, "plugins.load", ""));
    ho.config = plugin_sections(c);
    p.host =
        std::make_unique<plugins::PluginHost>(ho, *p.pusher, std::move(stores), *p.jobs, *p.bus);
    p.host->add_builtin("gift", plugins::make_gift_plugin);
    p.host->add_builtin("pk", plugins::make_pk_plugin);
    p.host->add_builtin("feed", plugins::make_feed_plugin);
    p.host->add_builtin("rank", plugins::make_rank_plugin);
    p.host->add_builtin("wordfilter", plugins::make_wordfilter_plugin);
    p.host->add_builtin("welcome", plugins::make_welcome_plugin);
    p.host->load();
}

handlers::BizReply to_biz_reply(sdk::Reply r) {
    handlers::BizReply out;
    out.code = r.code;
    out.message = std::move(r.message);
    out.data_json = std::move(r.data_json);
    return out;
}

// BIZ types of the plugins. A plugin's BIZ handler may wait on its store (a Redis round trip per
// call in a cluster): it runs on the plugin workers, one user's calls in order, and its answer
// goes back to the session's loop. plugin_workers = 0 runs it on the loop itself (only sensible
// with the memory store).
void wire_biz_types(PluginParts& p, const Config& c, handlers::Gateway& gateway) {
    auto& host = *p.host;
    if (c.server.plugin_workers > 0 && !host.biz_types().empty()) {
        p.biz_workers = std::make_unique<plugins::KeyedWorkers>(c.server.plugin_workers,
                                                                c.server.plugin_queue_max);
    }
    for (const auto& type : host.biz_types()) {
        const auto guests =
            host.open_to_guests(type) ? handlers::GuestAccess::Open : handlers::GuestAccess::Closed;
        if (!p.biz_workers) {
            gateway.register_biz(
                type,
                [&host, type](handlers::BizCall& call) {
                    return to_biz_reply(
                        host.biz({call.session.user.id,
                                  std::string(server::to_string(call.session.user.role)), type,
                                  call.req.data()}));
                },
                guests);
            continue;
        }
        gateway.register_biz_async(
            type,
            [&host, workers = p.biz_workers.get()](handlers::AsyncBizCall call) {
                const auto user = call.user_id;
                auto shared = std::make_shared<handlers::AsyncBizCall>(std::move(call));
                const bool queued = workers->submit(user, [&host, shared] {
                    shared->done(to_biz_reply(
                        host.biz({shared->user_id, std::string(server::to_string(shared->role)),
                                  shared->type, shared->data_json})));
                });
                if (!queued) {
                    handlers::BizReply busy;
                    busy.code = livepush::v1::BUSY;
                    busy.message = "the node's plugin workers are overloaded; retry later";
                    shared->done(std::move(busy));
                }
            },
            guests);
    }
}

// The plugins' HTTP routes, served by the node's API.
void wire_routes(plugins::PluginHost& host, push::HttpApi& api) {
    for (const auto& route : host.routes()) {
        api.add_route(route.method, route.path,
                      [&host, plugin = route.plugin](const push::HttpRequest& hr) {
                          sdk::HttpRequest req{hr.method, hr.path, hr.query, hr.body};
                          auto r = host.http(plugin, req);
                          push::HttpReply out;
                          out.status = r.code == 0 ? 200 : r.code;
                          if (!r.data_json.empty()) {
                              out.body = std::move(r.data_json);
                          } else {
                              boost::json::object err;
                              err["error"] = r.message.empty() ? "failed" : r.message;
                              err["code"] = out.status;
                              out.body = boost::json::serialize(err);
                          }
                          return out;
                      });
    }
}

// Room hooks (SDK 5): only when a plugin declares some. The node makes the bridge the hub's
// member observer; the gateway asks it about each room.chat while a plugin filters chat.
void wire_room_hooks(PluginParts& p, const Config& c, handlers::Gateway& gateway) {
    if (!p.host->wants_room_visits() && !p.host->filters_chat()) return;
    plugins::RoomHookOptions o;
    o.filter_timeout = std::chrono::milliseconds(c.hooks.filter_timeout_ms);
    o.fail_open = c.hooks.filter_fail_open != 0;
    o.threads = c.server.plugin_workers;
    o.queue_max = c.server.plugin_queue_max;
    p.room_hooks = std::make_unique<plugins::RoomHookRunner>(*p.host, o);
    p.room_hook_bridge = std::make_unique<RoomHookBridge>(*p.room_hooks);
    gateway.set_chat_filter(p.room_hook_bridge.get());
}

// Events: Kafka when configured (consumed once per cluster by the group; the host's first_time
// drops an event id already seen, and forget undoes that for an event admitted here but never
// handled), else in-process. The gateway's upstream packets go out on the same Kafka client.
void wire_event_source(PluginParts& p, const Config& c, handlers::Gateway& gateway) {
    auto& host = *p.host;
    if (c.kafka.brokers.empty()) {
        p.bus->attach([&host](const std::string& t, const std::string& k, const std::string& v) {
            host.event(t, k, v);
        });
        return;
    }
    p.kafka = std::make_unique<events::KafkaEvents>(
        kafka_options(c, host.event_topics()),
        [&host](const std::string& t, const std::string& k, const std::string& v) {
            return host.event(t, k, v, false);
        },
        [&host](const std::string& t, const std::string& id) { return host.first_time(t, id); },
        [&host](const std::string& t, const std::string& id) { host.forget(t, id); });
    p.bus->attach(
        [&host](const std::string& t, const std::string& k, const std::string& v) {
            host.event(t, k, v);
        },
        [kafka = p.kafka.get()](const std::string& t, const std::string& k, const std::string& v) {
            return kafka->produce(t, k, v);
        });
    // Client packets for business services (room.chat, plugin types marked upstream).
    gateway.set_upstream(
        plugins::split_list(c.kafka.upstream_types),
        [up = events::UpstreamPublisher(p.kafka->producer(), c.kafka.upstream_topic,
                                        c.cluster.node_id)](
            const server::Session& s, const std::string& type, const std::string& data) {
            up.publish(s.user.id, type, data, codec::wall_ms());
        });
}

// Delayed jobs: due ones run on this node's runner; the queue makes each run once. Each idle
// tick is one claim (one Redis call in cluster mode) per node: the default 100 ms keeps
// deadlines within the 200 ms the PK rules ask for at 10 calls a second.
void wire_job_runner(PluginParts& p, const Config& c) {
    auto& host = *p.host;
    const plugins::JobRunner::Options jo = job_runner_options(c);
    p.job_runner = std::make_unique<plugins::JobRunner>(
        *p.jobs,
        [&host](const plugins::DueJob& j) {
            if (!host.job(j.topic, j.id, j.body))
                throw std::runtime_error("plugin job handler failed");
        },
        jo,
        [max = jo.max_attempts, ttr = jo.ttr](const plugins::DueJob& j, std::string_view what) {
            if (max != 0 && j.attempts >= max) {
                spdlog::error(
                    "job {}/{} failed its last attempt ({} of {}): {}; buried in the dead letters",
                    j.topic, j.id, j.attempts, max, what);
            } else {
                spdlog::warn("job {}/{} failed (attempt {}): {}; it runs again in {} ms", j.topic,
                             j.id, j.attempts, what, ttr.count());
            }
        });
}

}  // namespace

void wire_plugins(PluginParts& parts, const Config& c, push::PushService& push,
                  router::Cluster* cluster, handlers::Gateway& gateway, push::HttpApi* api) {
    parts.pusher = std::make_unique<plugins::PushAdapter>(push);
    auto stores = wire_stores(parts, c, cluster);
    load_host(parts, c, cluster != nullptr, std::move(stores));
    wire_biz_types(parts, c, gateway);
    wire_room_hooks(parts, c, gateway);
    if (api) wire_routes(*parts.host, *api);
    wire_event_source(parts, c, gateway);
    wire_job_runner(parts, c);
}

}  // namespace lp::app
