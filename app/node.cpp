// app/node: see node.hpp.
#include "app/node.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <limits>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <stdexcept>

#include "ack/memory_inbox.hpp"
#include "ack/redis_inbox.hpp"
#include "app/module_options.hpp"
#include "cluster.pb.h"
#include "router/cluster.hpp"
#include "plugins/gift/gift_plugin.hpp"
#include "plugins/pk/pk_plugin.hpp"
#include "plugins/feed/feed_plugin.hpp"
#include "plugins/rank/rank_plugin.hpp"
#include "plugins/host/event_bus.hpp"
#include "plugins/host/job_runner.hpp"
#include "plugins/host/kafka_events.hpp"
#include "plugins/host/keyed_workers.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/memory_store.hpp"
#include "plugins/host/plugin_host.hpp"
#include "plugins/host/push_adapter.hpp"
#include "plugins/host/redis_job_queue.hpp"
#include "plugins/host/redis_store.hpp"
#include <boost/json.hpp>
#include "ack/qos_delivery.hpp"
#include "codec/address.hpp"
#include "codec/prometheus_text.hpp"
#include "handlers/gateway.hpp"
#include "push/http_api.hpp"
#include "push/push_service.hpp"
#include "server/server.hpp"

namespace lp::app {

namespace {

// The host of a listen address as the ready line shows it (IPv6 without brackets).
std::string host_of(const std::string& addr) {
    const auto address = codec::Address::parse(addr);
    return address ? address->host : std::string();
}

}  // namespace

// The gateway's delivery hooks: acks, logins and closes go to the qos1 layer; a private
// message goes through the push service so that in cluster mode it finds the user's node. In
// cluster mode (`workers` set) the push waits on Redis (inbox write, route lookup), so it runs
// on a worker keyed by the sender (one sender's messages stay in order), never on a loop.
struct NodeDeliveryHooks final : ack::DeliveryHooks {
    ack::QosDelivery* delivery = nullptr;
    push::PushService* push = nullptr;
    plugins::KeyedWorkers* workers = nullptr;
    void on_login(server::Session& s) override { delivery->on_login(s); }
    std::size_t on_ack(server::Session& s, const livepush::v1::Ack& a) override { return delivery->on_ack(s, a); }
    void on_closed(server::Session& s) override { delivery->on_closed(s); }
    void send_private(ack::PrivateMessage m, std::function<void(ack::PrivateResult)> done) override {
        if (!push) return delivery->send_private(std::move(m), std::move(done));
        if (!workers) return done(send_now(m));
        auto shared_done = std::make_shared<std::function<void(ack::PrivateResult)>>(std::move(done));
        const std::uint64_t key = m.from;
        if (!workers->submit(key, [this, m = std::move(m), shared_done] { (*shared_done)(send_now(m)); })) {
            ack::PrivateResult busy;
            busy.status = ack::PrivateResult::Status::Busy;
            (*shared_done)(std::move(busy));
        }
    }
    ack::PrivateResult send_now(const ack::PrivateMessage& m) {
        push::PushRequest req;
        req.target = push::Target::User;
        req.user_id = m.to;
        req.type = m.type;
        req.payload = m.payload;
        req.qos = 1;
        req.msg_id = m.msg_id;
        req.sender = m.from;
        auto o = push->push(req);
        ack::PrivateResult r;
        r.sessions = o.sessions;
        r.error = o.error;
        if (o.status == 200) r.status = ack::PrivateResult::Status::Accepted;
        else if (o.code == push::kInboxShareFull) r.status = ack::PrivateResult::Status::ShareFull;
        else r.status = ack::PrivateResult::Status::Unavailable;  // 503: nothing stored
        return r;
    }
};

namespace {
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

// Re-checks the inboxes of this node's users when a peer node leaves (QosDelivery::
// resync_local_users), on a thread of its own: the peer may have accepted qos1 messages it
// never routed here. Requests arriving during a run fold into one more run.
class InboxResync {
public:
    explicit InboxResync(ack::QosDelivery& delivery) : delivery_(delivery), thread_([this] { run(); }) {}
    ~InboxResync() { stop(); }
    InboxResync(const InboxResync&) = delete;
    InboxResync& operator=(const InboxResync&) = delete;

    void request() {
        {
            std::lock_guard lock(mu_);
            pending_ = true;
        }
        cv_.notify_one();
    }
    void stop() {
        {
            std::lock_guard lock(mu_);
            stopping_ = true;
        }
        cv_.notify_one();
        if (thread_.joinable()) thread_.join();
    }

private:
    void run() {
        std::unique_lock lock(mu_);
        for (;;) {
            cv_.wait(lock, [&] { return pending_ || stopping_; });
            if (stopping_) return;
            pending_ = false;
            lock.unlock();
            try {
                const auto users = delivery_.resync_local_users();
                spdlog::info("inbox re-check after a node left: {} local users had stored messages", users);
            } catch (const std::exception& e) {
                spdlog::error("inbox re-check failed: {}", e.what());
            }
            lock.lock();
        }
    }

    ack::QosDelivery& delivery_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool pending_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses
};
}  // namespace

struct Node::Parts {
    Config config;
    std::unique_ptr<router::Cluster> cluster;
    NodeDeliveryHooks hooks;
    std::unique_ptr<ack::InboxStore> inbox;
    std::unique_ptr<ack::QosDelivery> delivery;
    std::unique_ptr<InboxResync> resync;  // cluster mode
    std::unique_ptr<handlers::Gateway> gateway;
    std::unique_ptr<server::Server> server;
    std::unique_ptr<push::PushService> push;
    std::unique_ptr<push::HttpApi> api;
    // plugins
    std::unique_ptr<plugins::PushAdapter> pusher;
    std::unique_ptr<redis::Client> plugin_redis;  // cluster.plugin_redis, when set
    std::shared_ptr<plugins::MemoryStoreData> memory_store;
    std::unique_ptr<plugins::JobQueue> jobs;
    std::unique_ptr<plugins::JobRunner> job_runner;
    std::unique_ptr<plugins::EventBus> bus;
    std::unique_ptr<plugins::KafkaEvents> kafka;
    std::unique_ptr<plugins::PluginHost> host;
    std::unique_ptr<plugins::KeyedWorkers> biz_workers;  // runs plugin BIZ calls; before host dies
    std::unique_ptr<plugins::KeyedWorkers> im_workers;   // cluster: im.send and login inbox loads
};

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

}  // namespace

Node::Node(const Config& c) : p_(std::make_unique<Parts>()) {
    p_->config = c;
    const server::ServerOptions so = server_options(c);
    const handlers::GatewayOptions go = gateway_options(c);
    const ack::DeliveryOptions dopts = delivery_options(c);

    // The server needs the gateway (its session handler); the delivery and the cluster need
    // the hub the server makes; the gateway needs them: build in that order, then attach.
    p_->gateway = std::make_unique<handlers::Gateway>(go);
    p_->server = std::make_unique<server::Server>(so, *p_->gateway);
    auto& hub = p_->server->hub();
    if (!c.cluster.redis.empty()) {
        router::ClusterOptions co = cluster_options(c, p_->server->tcp_port());
        co.on_node_number = [ids = &p_->gateway->msg_ids()](std::uint16_t n) { ids->set_node(n); };
        p_->gateway->msg_ids().set_node(co.node_number_hint);  // until a claim succeeds
        p_->cluster = std::make_unique<router::Cluster>(co, hub, [this](const livepush::cluster::UserDelivery& d) {
            p_->push->deliver_from_link(d);
        });
        p_->inbox = std::make_unique<ack::RedisInbox>(p_->cluster->redis(), c.delivery.inbox_max,
                                                      ack::RedisInbox::Options{}, c.delivery.inbox_max_per_sender);
        hub.set_observer(p_->cluster.get());
        p_->gateway->set_room_publisher([this](std::uint64_t room, std::uint64_t msg_id, const std::string& type,
                                               const std::string& payload, std::uint64_t sent) {
            return p_->cluster->publish_room({room, msg_id, type, payload, sent, {}}).seq;
        });
    } else {
        p_->inbox = std::make_unique<ack::MemoryInbox>(c.delivery.inbox_max, c.delivery.inbox_max_per_sender);
    }
    p_->delivery = std::make_unique<ack::QosDelivery>(dopts, *p_->inbox, hub);
    if (p_->cluster) {
        // Redis round trips of im.send and of the login inbox load run here, not on the loops.
        p_->im_workers = std::make_unique<plugins::KeyedWorkers>(c.im.workers, 10000);
        p_->hooks.workers = p_->im_workers.get();
        p_->delivery->set_blocking_runner([w = p_->im_workers.get()](std::uint64_t key, std::function<void()> task) {
            return w->submit(key, std::move(task));
        });
        p_->resync = std::make_unique<InboxResync>(*p_->delivery);
        p_->cluster->on_peer_gone([this](const std::string& node) {
            spdlog::warn("node {} left the cluster: re-checking the inboxes of this node's users", node);
            if (p_->resync) p_->resync->request();
        });
    }
    p_->hooks.delivery = p_->delivery.get();
    p_->gateway->attach(hub, p_->hooks, p_->cluster.get());

    p_->push = std::make_unique<push::PushService>(p_->server->hub(), *p_->delivery,
                                                   p_->gateway->msg_ids(), c.cluster.node_id,
                                                   [this] { return metrics_text(); }, p_->cluster.get());
    p_->hooks.push = p_->push.get();
    if (!c.api.listen.empty()) {
        p_->api = std::make_unique<push::HttpApi>(api_options(c), *p_->push);
    }
    build_plugins(c);  // after the API: plugins add their routes to it
}

Node::~Node() = default;

void Node::build_plugins(const Config& c) {
    p_->pusher = std::make_unique<plugins::PushAdapter>(*p_->push);
    plugins::PluginHost::StoreFactory stores;
    if (p_->cluster) {
        redis::Client* redis = &p_->cluster->redis();
        if (!c.cluster.plugin_redis.empty() && c.cluster.plugin_redis != c.cluster.redis) {
            p_->plugin_redis = std::make_unique<redis::Client>(plugin_redis_options(c));
            p_->plugin_redis->start();
            // Plugins start right after this (rank schedules its settlement): give the first
            // connection a moment, as the routes' Redis gets in Cluster::start.
            for (int i = 0; i < 300 && !p_->plugin_redis->connected(); ++i)
                std::this_thread::sleep_for(std::chrono::milliseconds(10));
            if (!p_->plugin_redis->connected() && p_->plugin_redis->stats().auth_failures > 0)
                throw std::runtime_error("cluster.plugin_redis " + c.cluster.plugin_redis + " refused our credentials (" +
                                         p_->plugin_redis->last_error() + "); check cluster.redis_user and cluster.redis_password");
            if (!p_->plugin_redis->connected())
                spdlog::warn("plugin Redis {} not reachable yet: {}", c.cluster.plugin_redis, p_->plugin_redis->last_error());
            redis = p_->plugin_redis.get();
        }
        stores = [redis](const std::string& prefix) -> std::unique_ptr<sdk::Store> {
            return std::make_unique<plugins::RedisStore>(*redis, "lp:" + prefix);
        };
        p_->jobs = std::make_unique<plugins::RedisJobQueue>(*redis);
    } else {
        p_->memory_store = std::make_shared<plugins::MemoryStoreData>();
        stores = [this](const std::string& prefix) -> std::unique_ptr<sdk::Store> {
            return std::make_unique<plugins::MemoryStore>(p_->memory_store, prefix);
        };
        p_->jobs = std::make_unique<plugins::MemoryJobQueue>();
    }
    p_->bus = std::make_unique<plugins::EventBus>();
    plugins::HostOptions ho;
    ho.node_id = c.cluster.node_id;
    ho.cluster = p_->cluster != nullptr;
    ho.enabled = plugins::split_list(setting(c, "plugins.enabled", "gift,pk,feed,rank"));
    ho.load = plugins::split_list(setting(c, "plugins.load", ""));
    ho.config = plugin_sections(c);
    p_->host = std::make_unique<plugins::PluginHost>(ho, *p_->pusher, stores, *p_->jobs, *p_->bus);
    p_->host->add_builtin("gift", plugins::make_gift_plugin);
    p_->host->add_builtin("pk", plugins::make_pk_plugin);
    p_->host->add_builtin("feed", plugins::make_feed_plugin);
    p_->host->add_builtin("rank", plugins::make_rank_plugin);
    p_->host->load();
    auto& host = *p_->host;

    // BIZ types and HTTP routes of the plugins. A plugin's BIZ handler may wait on its store (a
    // Redis round trip per call in a cluster): it runs on the plugin workers, one user's calls
    // in order, and its answer goes back to the session's loop. plugin_workers = 0 runs it on
    // the loop itself (only sensible with the memory store).
    auto to_reply = [](sdk::Reply r) {
        handlers::BizReply out;
        out.code = r.code;
        out.message = std::move(r.message);
        out.data_json = std::move(r.data_json);
        return out;
    };
    if (c.server.plugin_workers > 0 && !host.biz_types().empty()) {
        p_->biz_workers = std::make_unique<plugins::KeyedWorkers>(c.server.plugin_workers,
                                                                  c.server.plugin_queue_max);
    }
    for (const auto& type : host.biz_types()) {
        if (!p_->biz_workers) {
            p_->gateway->register_biz(type, [&host, type, to_reply](handlers::BizCall& call) {
                return to_reply(host.biz({call.session.user.id, std::string(server::to_string(call.session.user.role)),
                                          type, call.req.data()}));
            });
            continue;
        }
        p_->gateway->register_biz_async(type, [&host, workers = p_->biz_workers.get(), to_reply](handlers::AsyncBizCall call) {
            const auto user = call.user_id;
            auto shared = std::make_shared<handlers::AsyncBizCall>(std::move(call));
            const bool queued = workers->submit(user, [&host, shared, to_reply] {
                shared->done(to_reply(host.biz({shared->user_id, std::string(server::to_string(shared->role)),
                                                shared->type, shared->data_json})));
            });
            if (!queued) {
                handlers::BizReply busy;
                busy.code = livepush::v1::BUSY;
                busy.message = "the node's plugin workers are overloaded; retry later";
                shared->done(std::move(busy));
            }
        });
    }
    if (p_->api) {
        for (const auto& route : host.routes()) {
            p_->api->add_route(route.method, route.path, [&host, plugin = route.plugin](const push::HttpRequest& hr) {
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

    // Events: Kafka when configured (consumed once per cluster by the group), else in-process.
    if (!c.kafka.brokers.empty()) {
        plugins::KafkaOptions ko;
        ko.brokers = c.kafka.brokers;
        ko.group = c.kafka.group;
        ko.client_id = c.cluster.node_id;
        ko.fetch_wait_max = std::chrono::milliseconds(c.kafka.fetch_wait_max_ms);
        ko.rdkafka_config = parse_kafka_settings(c.kafka.settings);
        ko.topics = host.event_topics();
        ko.log = [](int level, std::string_view line) {
            if (level <= 3) spdlog::error("kafka: {}", line);
            else if (level <= 4) spdlog::warn("kafka: {}", line);
            else spdlog::debug("kafka: {}", line);
        };
        p_->kafka = std::make_unique<plugins::KafkaEvents>(
            ko, [&host](const std::string& t, const std::string& k, const std::string& v) { return host.event(t, k, v, false); },
            [&host](const std::string& t, const std::string& id) { return host.first_time(t, id); },
            [&host](const std::string& t, const std::string& id) { host.forget(t, id); });
        p_->bus->attach([&host](const std::string& t, const std::string& k, const std::string& v) { host.event(t, k, v); },
                        [this](const std::string& t, const std::string& k, const std::string& v) {
                            return p_->kafka->produce(t, k, v);
                        });
        // Client packets for business services (room.chat, plugin types marked upstream).
        std::string topic = c.kafka.upstream_topic;
        p_->gateway->set_upstream(plugins::split_list(c.kafka.upstream_types),
                                  [this, topic, node = c.cluster.node_id](const server::Session& s, const std::string& type,
                                                                          const std::string& data) {
                                      boost::system::error_code ec;
                                      auto parsed = boost::json::parse(data, ec);
                                      std::string key = std::to_string(s.user.id);
                                      if (!ec && parsed.is_object()) {
                                          if (auto* room = parsed.get_object().if_contains("room_id"))
                                              key = room->is_string() ? std::string(room->get_string()) : boost::json::serialize(*room);
                                      }
                                      boost::json::object v;
                                      v["type"] = type;
                                      v["user_id"] = std::to_string(s.user.id);
                                      v["node"] = node;
                                      v["ts_ms"] = server::wall_ms();
                                      v["data"] = ec ? boost::json::value(data) : parsed;
                                      p_->kafka->produce(topic, key, boost::json::serialize(v));
                                  });
    } else {
        p_->bus->attach([&host](const std::string& t, const std::string& k, const std::string& v) { host.event(t, k, v); });
    }

    // Delayed jobs: due ones run on this node's runner; the queue makes each run once.
    // Each idle tick is one claim (one Redis call in cluster mode) per node: the default
    // 100 ms keeps deadlines within the 200 ms the PK rules ask for at 10 calls a second.
    const plugins::JobRunner::Options jo = job_runner_options(c);
    p_->job_runner = std::make_unique<plugins::JobRunner>(
        *p_->jobs,
        [&host](const plugins::DueJob& j) {
            if (!host.job(j.topic, j.id, j.body)) throw std::runtime_error("plugin job handler failed");
        },
        jo,
        [max = jo.max_attempts, ttr = jo.ttr](const plugins::DueJob& j, std::string_view what) {
            if (max != 0 && j.attempts >= max) {
                spdlog::error("job {}/{} failed its last attempt ({} of {}): {}; buried in the dead letters",
                              j.topic, j.id, j.attempts, max, what);
            } else {
                spdlog::warn("job {}/{} failed (attempt {}): {}; it runs again in {} ms", j.topic, j.id,
                             j.attempts, what, ttr.count());
            }
        });
}

void Node::start() {
    if (p_->cluster) p_->cluster->start();
    p_->host->start();
    p_->bus->start();
    if (p_->kafka) p_->kafka->start();
    p_->job_runner->start();
    p_->server->start();
    if (p_->api) p_->api->start();
}

std::string Node::ready_line() const {
    const Config& c = p_->config;
    std::string ready = "livepushd ready node=" + c.cluster.node_id;
    if (p_->server->tcp_port())
        ready += " tcp=" + host_of(c.server.tcp_listen) + ":" + std::to_string(p_->server->tcp_port());
    if (p_->server->ws_port())
        ready += " ws=" + host_of(c.server.ws_listen) + ":" + std::to_string(p_->server->ws_port());
    if (p_->api) ready += " api=" + host_of(c.api.listen) + ":" + std::to_string(p_->api->port());
    if (!c.tls.cert.empty()) ready += " tls=on";
    if (p_->cluster) ready += " link=" + host_of(c.cluster.link_listen) + ":" + std::to_string(p_->cluster->link_port());
    if (p_->cluster) ready += " cluster=" + c.cluster.redis;
    return ready;
}

void Node::shutdown() {
    if (p_->api) p_->api->set_draining(true);
    // Plugins first: no new jobs, events or pushes from them while sessions drain.
    p_->job_runner->stop();
    if (p_->resync) p_->resync->stop();
    if (p_->kafka) p_->kafka->stop();
    p_->bus->stop();
    if (p_->biz_workers) p_->biz_workers->stop();  // answers what is queued (the loops still run)
    if (p_->im_workers) p_->im_workers->stop();
    p_->host->stop();
    spdlog::info("draining {} sessions", p_->server->totals().sessions_total());
    auto reconnect_to = [this](const server::Session& s) {
        return p_->cluster ? p_->cluster->other_node_for(s.user.id) : std::string();
    };
    std::size_t left = p_->server->drain(reconnect_to, std::chrono::milliseconds(p_->config.server.drain_timeout_ms));
    if (left) spdlog::warn("drain timeout: closing {} sessions that did not leave", left);
    if (p_->api) p_->api->stop();
    p_->server->stop();
    if (p_->cluster) p_->cluster->stop();
}

void Node::housekeeping() {
    p_->server->hub().sweep_rooms();
    p_->server->ip_limits().sweep(server::wall_ms());
    p_->inbox->sweep(server::wall_ms());
}

std::string Node::metrics_text() const {
    codec::PromText m;
    const auto t = p_->server->totals();
    const char* transports[] = {"tcp", "ws"};
    for (int k = 0; k < 2; ++k)
        for (int tls = 0; tls < 2; ++tls)
            m.gauge("livepush_sessions", "open sessions by transport", t.sessions[k][tls],
                    std::string("transport=\"") + transports[k] + "\",tls=\"" + (tls ? "true" : "false") + "\"");
    m.gauge("livepush_sessions_logged_in", "logged-in sessions", t.logged_in);
    m.gauge("livepush_online_users", "users with at least one session on this node",
            static_cast<std::int64_t>(p_->server->hub().online_users()));
    m.counter("livepush_connections_accepted_total", "connections accepted", t.accepted);
    m.counter("livepush_connections_rejected_total", "connections refused", t.rejected_limit, "reason=\"max_connections\"");
    m.counter("livepush_connections_rejected_total", "connections refused", t.rejected_per_ip, "reason=\"max_connections_per_ip\"");
    m.counter("livepush_accept_errors_total", "accept() failures (e.g. out of descriptors)", t.accept_errors);
    for (int r = 0; r < static_cast<int>(server::CloseReason::kCount); ++r)
        m.counter("livepush_sessions_closed_total", "sessions closed by reason", t.closed[r],
                  std::string("reason=\"") + server::to_string(static_cast<server::CloseReason>(r)) + "\"");

    const auto& g = p_->gateway->stats();
    m.counter("livepush_logins_total", "logins by result", g.login_ok.load(), "result=\"ok\"");
    const char* fail_reasons[] = {"none", "malformed", "bad_algorithm", "bad_signature", "expired", "not_yet_valid", "no_subject",
                                  "bad_issuer", "bad_audience", "too_long_lived"};
    for (int i = 1; i < static_cast<int>(std::size(fail_reasons)); ++i)
        m.counter("livepush_logins_total", "logins by result", g.login_failed[i].load(),
                  std::string("result=\"failed\",reason=\"") + fail_reasons[i] + "\"");
    m.counter("livepush_logins_total", "logins by result", g.login_failed[handlers::GatewayStats::kLoginBadBody].load(),
              "result=\"failed\",reason=\"bad_body\"");
    m.counter("livepush_kicks_total", "sessions kicked", g.kicked_replaced.load(), "reason=\"replaced\"");
    m.counter("livepush_kicks_total", "sessions kicked", g.kicked_too_many_sessions.load(), "reason=\"too_many_sessions\"");
    m.counter("livepush_kicks_total", "sessions kicked", t.slow_kicks, "reason=\"slow\"");
    m.counter("livepush_slow_consumer_kicks_total", "sessions kicked for a send queue over its limit", t.slow_kicks);
    m.counter("livepush_heartbeats_total", "heartbeats answered", g.heartbeats.load());
    m.counter("livepush_biz_total", "BIZ packets by result", g.biz[0].load(), "result=\"ok\"");
    m.counter("livepush_biz_total", "BIZ packets by result", g.biz[1].load(), "result=\"error\"");
    m.counter("livepush_biz_rate_limited_total", "BIZ packets refused by the per-session rate limit", g.biz_rate_limited.load());
    m.counter("livepush_room_chat_total", "room.chat messages published", g.room_chat.load());
    {
        const auto& ipl = p_->server->ip_limits();
        auto hit = [&](const char* limit, std::uint64_t v) {
            m.counter("livepush_limit_hits_total", "client limits hit (the client was refused, kicked or closed)",
                      v, std::string("limit=\"") + limit + "\"");
        };
        hit("max_sessions_per_user", g.kicked_too_many_sessions.load());
        hit("platform", g.bad_platform.load());
        hit("max_connections_per_ip", ipl.stats().connections_refused.load());
        hit("login_rate_per_ip", ipl.stats().logins_refused.load());
        hit("ack_rate_per_s", g.ack_rate_limited.load());
        hit("max_ack_ids", g.ack_too_many_ids.load());
        m.gauge("livepush_ip_limit_entries", "addresses the per-IP limits track now",
                static_cast<std::int64_t>(ipl.tracked()));
    }
    m.counter("livepush_room_recovery_total", "room.enter/resume with last_seq", g.recovery[0].load(), "result=\"recovered\"");
    m.counter("livepush_room_recovery_total", "room.enter/resume with last_seq", g.recovery[1].load(), "result=\"gap\"");
    m.counter("livepush_room_recovered_messages_total", "messages replayed by room recovery", g.recovered_messages.load());

    m.counter("livepush_frames_in_total", "packets received", t.frames_in);
    m.counter("livepush_frames_out_total", "packets queued to sessions (one per batch or reply chunk)", t.frames_out);
    m.counter("livepush_bytes_in_total", "bytes received", t.bytes_in);
    m.counter("livepush_bytes_out_total", "bytes written", t.bytes_out);
    m.counter("livepush_write_syscalls_total", "gather writes", t.writes);
    m.gauge("livepush_send_queue_bytes", "bytes queued to sessions and not yet written", t.send_queue_bytes);
    m.counter("livepush_protocol_errors_total", "connections closed for a protocol error", t.protocol_errors);

    const auto& ps = p_->push->stats();
    const char* qos[] = {"0", "1"};
    for (int q = 0; q < 2; ++q)
        for (int k = 0; k < 4; ++k)
            m.counter("livepush_pushes_total", "pushes accepted by qos and target", ps.accepted[q][k].load(),
                      std::string("qos=\"") + qos[q] + "\",target=\"" + push::PushService::target_name(static_cast<push::Target>(k)) + "\"");
    m.counter("livepush_pushes_rejected_total", "pushes refused by the service", ps.rejected.load());
    std::uint64_t room_deliveries = 0, room_batches = 0, direct = 0, origin_refused = 0;
    for (auto* loop : p_->server->loops()) {
        origin_refused += server::get(loop->stats().ws_origin_refused);
        room_deliveries += server::get(loop->stats().room_deliveries);
        room_batches += server::get(loop->stats().room_batches);
        direct += server::get(loop->stats().direct_deliveries);
    }
    m.counter("livepush_ws_upgrades_refused_total", "WebSocket upgrades refused", origin_refused, "reason=\"origin\"");
    m.counter("livepush_deliveries_total", "messages queued to sessions", room_deliveries, "kind=\"room\"");
    m.counter("livepush_deliveries_total", "messages queued to sessions", direct, "kind=\"direct\"");
    m.counter("livepush_room_batches_total", "coalesced room batches flushed", room_batches);
    m.gauge("livepush_rooms", "rooms with members or recent history", static_cast<std::int64_t>(p_->server->hub().room_count()));
    m.gauge("livepush_room_members", "room memberships", static_cast<std::int64_t>(p_->server->hub().room_members()));

    const auto& d = p_->delivery->stats();
    m.counter("livepush_qos1_sent_total", "qos1 messages sent (first attempt)", d.sent.load());
    m.counter("livepush_qos1_retries_total", "qos1 resends", d.retries.load());
    m.counter("livepush_acks_total", "acked in-flight messages", d.acked.load());
    m.counter("livepush_acks_late_total", "acks for messages retried out of the window to the inbox", d.late_acks.load());
    m.counter("livepush_acks_unknown_total", "acked ids the session did not hold (ignored, no store work)", d.unknown_acks.load());
    m.counter("livepush_qos1_to_inbox_total", "qos1 messages put in the inbox", d.offline.load(), "reason=\"offline\"");
    m.counter("livepush_qos1_to_inbox_total", "qos1 messages put in the inbox", d.disconnected.load(), "reason=\"disconnected\"");
    m.counter("livepush_qos1_to_inbox_total", "qos1 messages put in the inbox", d.exhausted.load(), "reason=\"max_attempts\"");
    m.counter("livepush_qos1_expired_total", "qos1 messages dropped at their TTL", d.expired.load());
    m.counter("livepush_qos1_replayed_total", "inbox messages replayed at login", d.replayed.load());
    m.counter("livepush_qos1_resynced_total", "inbox messages queued to online sessions after a node left", d.resynced.load());
    m.gauge("livepush_qos1_inflight", "qos1 messages in flight", d.inflight.load());
    m.gauge("livepush_qos1_waiting", "qos1 messages waiting behind full windows", d.waiting.load());
    m.counter("livepush_qos1_waiting_overflow_total", "qos1 messages over delivery.waiting_max, left to the inbox", d.waiting_overflow.load());
    m.counter("livepush_qos1_replays_async_total", "login inbox loads run off the event loop", d.replays_async.load());
    const char* im_reasons[] = {"rate", "payload", "inbox_share", "unavailable", "busy"};
    for (int i = 0; i < 5; ++i)
        m.counter("livepush_im_refused_total", "im.send refused by reason", g.im_refused[i].load(),
                  std::string("reason=\"") + im_reasons[i] + "\"");
    const auto ic = p_->inbox->counters();
    m.gauge("livepush_inbox_messages", "messages in inboxes", static_cast<std::int64_t>(ic.size));
    m.gauge("livepush_inbox_users", "users with a non-empty inbox", static_cast<std::int64_t>(ic.users));
    m.counter("livepush_inbox_dropped_total", "inbox messages dropped", ic.dropped_cap, "reason=\"cap\"");
    m.counter("livepush_inbox_dropped_total", "inbox messages dropped", ic.expired, "reason=\"expired\"");
    m.counter("livepush_inbox_removed_total", "inbox messages removed by acks", ic.removed);
    m.counter("livepush_inbox_share_full_total", "im.send refused: the sender's share of the inbox was full", ic.share_full);
    if (const auto* redis_inbox = dynamic_cast<const ack::RedisInbox*>(p_->inbox.get())) {
        const auto rs = redis_inbox->stats();
        const char* help = "inbox operations Redis did not complete (accepted messages are never among them: append failures are refused with 503)";
        m.counter("livepush_inbox_redis_failures_total", help, rs.append_failures, "op=\"append\"");
        m.counter("livepush_inbox_redis_failures_total", help, rs.load_failures, "op=\"load\"");
        m.counter("livepush_inbox_redis_failures_total", help, rs.size_failures, "op=\"size\"");
        m.counter("livepush_inbox_redis_failures_total", help, rs.remove_failures, "op=\"remove\"");
        m.counter("livepush_inbox_redis_failures_total", help, rs.sweep_failures, "op=\"sweep\"");
        m.counter("livepush_inbox_corrupt_total", "stored inbox messages that did not parse (skipped)", rs.corrupt);
        m.counter("livepush_inbox_sweep_passes_total", "full SCAN passes over the inboxes", rs.sweep_passes);
    }

    if (auto* cl = p_->cluster.get()) {
        const auto& cs = cl->stats();
        m.gauge("livepush_cluster_redis_up", "1 while Redis answers", cl->redis_up() ? 1 : 0);
        m.gauge("livepush_cluster_nodes", "live nodes this node knows of", static_cast<std::int64_t>(cl->nodes().size()));
        auto rs = cl->redis().stats();
        m.counter("livepush_redis_commands_total", "commands sent to Redis", rs.commands);
        m.counter("livepush_redis_errors_total", "Redis commands that failed", rs.errors);
        m.counter("livepush_redis_reconnects_total", "Redis reconnects", rs.reconnects);
        const char* auth_help = "Redis connects refused for credentials (cluster.redis_user / redis_password)";
        m.counter("livepush_redis_auth_failures_total", auth_help, rs.auth_failures, "redis=\"cluster\"");
        if (p_->plugin_redis)
            m.counter("livepush_redis_auth_failures_total", auth_help, p_->plugin_redis->stats().auth_failures, "redis=\"plugin\"");
        m.counter("livepush_redis_batches_total", "pipelined round trips to Redis", rs.batches);
        m.gauge("livepush_redis_queue_bytes", "argument bytes of commands waiting for Redis", static_cast<std::int64_t>(rs.queue_bytes));
        m.counter("livepush_redis_rejected_total", "commands refused at once: over cluster.redis_queue_max_bytes", rs.rejected_bytes, "reason=\"queue_bytes\"");
        m.counter("livepush_cluster_route_binds_total", "logins bound in Redis", cs.route_binds.load());
        m.counter("livepush_cluster_route_bind_failures_total", "route binds that failed (Redis down)", cs.route_bind_failures.load());
        m.counter("livepush_cluster_kicks_total", "kicks across nodes", cs.remote_kicks_sent.load(), "direction=\"sent\"");
        m.counter("livepush_cluster_kicks_total", "kicks across nodes", cs.remote_kicks_received.load(), "direction=\"received\"");
        m.counter("livepush_cluster_user_deliveries_total", "user pushes over node links", cs.user_deliveries_sent.load(), "direction=\"sent\"");
        m.counter("livepush_cluster_user_deliveries_total", "user pushes over node links", cs.user_deliveries_received.load(), "direction=\"received\"");
        m.counter("livepush_cluster_room_publishes_forwarded_total", "room messages sent to their home node", cs.room_publishes_forwarded.load());
        m.counter("livepush_cluster_room_deliveries_total", "room messages between nodes", cs.room_deliveries_sent.load(), "direction=\"sent\"");
        m.counter("livepush_cluster_room_deliveries_total", "room messages between nodes", cs.room_deliveries_received.load(), "direction=\"received\"");
        m.counter("livepush_cluster_room_queries_total", "questions to another node over the link (room state and room_seq from its home, presence)", cs.room_queries_sent.load(), "outcome=\"sent\"");
        m.counter("livepush_cluster_room_queries_total", "questions to another node over the link (room state and room_seq from its home, presence)", cs.room_query_timeouts.load(), "outcome=\"timeout\"");
        m.counter("livepush_cluster_room_history_replayed_total", "room messages a home node sent to another for recovery", cs.room_history_sent.load());
        m.counter("livepush_cluster_room_nodes_skipped_total", "live nodes a room message was not sent to (no members there)", cs.room_nodes_skipped.load());
        m.counter("livepush_cluster_redis_down_total", "times Redis became unavailable", cs.redis_down_events.load());
        m.counter("livepush_cluster_reregistrations_total", "route re-registrations after Redis came back", cs.reregistrations.load());
        m.gauge("livepush_node_number", "node number in this node's message ids, claimed in Redis (-1: not yet)", cl->node_number());
        m.counter("livepush_node_number_changes_total", "node number lost while Redis was away and another taken", cs.node_number_changes.load());
        m.counter("livepush_node_number_unavailable_total", "claim refreshes that found every node number held", cs.node_number_unavailable.load());
        const auto& ls = cl->link_stats();
        m.counter("livepush_link_frames_sent_total", "frames sent over node links", ls.frames_sent.load());
        m.counter("livepush_link_frames_received_total", "frames received over node links", ls.frames_received.load());
        m.counter("livepush_link_dropped_total", "frames dropped: link queue full", ls.dropped_queue_full.load());
        m.gauge("livepush_link_outbound", "connected outbound links", ls.outbound_links.load());
        m.gauge("livepush_link_inbound", "inbound link connections, proven or not", ls.inbound_links.load());
        constexpr router::LinkReject kReasons[] = {router::LinkReject::BadFrame, router::LinkReject::BadProof,
                                                   router::LinkReject::WrongPeer, router::LinkReject::Deadline,
                                                   router::LinkReject::OverCap, router::LinkReject::Tls};
        for (auto r : kReasons)
            m.counter("livepush_link_rejected_total", "inbound link connections closed by the listener's checks",
                      ls.rejected[static_cast<std::size_t>(r)].load(), "reason=\"" + std::string(to_string(r)) + "\"");
        for (auto r : kReasons)
            m.counter("livepush_link_handshake_failures_total", "outbound link handshakes that failed (then retried)",
                      ls.handshake_failures[static_cast<std::size_t>(r)].load(),
                      "reason=\"" + std::string(to_string(r)) + "\"");
    }
    m.counter("livepush_pushes_unavailable_total", "pushes answered 503 (Redis needed and down)", ps.unavailable.load());

    const Config& c = p_->config;
    auto limit = [&](const char* name, std::uint64_t v) {
        m.gauge("livepush_limit", "configured limits", static_cast<std::int64_t>(v), std::string("name=\"") + name + "\"");
    };
    limit("max_body", c.server.max_body);
    limit("ws_max_message", c.server.ws_max_message);
    limit("send_queue_max_bytes", c.server.send_queue_max_bytes);
    limit("max_connections", c.server.max_connections);
    limit("max_rooms_per_session", c.server.max_rooms_per_session);
    limit("biz_rate_per_s", c.server.biz_rate_per_s);
    limit("max_sessions_per_user", c.server.max_sessions_per_user);
    limit("max_connections_per_ip", c.server.max_connections_per_ip);
    limit("login_rate_per_ip", c.server.login_rate_per_ip);
    limit("ack_rate_per_s", c.server.ack_rate_per_s);
    limit("max_ack_ids", c.server.max_ack_ids);
    limit("delivery_window", c.delivery.window);
    limit("inbox_max", c.delivery.inbox_max);
    limit("inbox_max_per_sender", c.delivery.inbox_max_per_sender);
    limit("waiting_max", c.delivery.waiting_max);
    limit("im_rate_per_s", c.im.rate_per_s);
    limit("im_max_payload_bytes", c.im.max_payload_bytes);
    limit("api_max_body_bytes", c.api.max_body_bytes);
    limit("api_max_requests_per_s", c.api.max_requests_per_s);
    limit("link_max_connections", c.cluster.link_max_connections);
    limit("link_hello_timeout_ms", c.cluster.link_hello_timeout_ms);
    limit("link_queue_max_bytes", c.cluster.link_queue_max_bytes);
    limit("api_max_connections", c.api.max_connections);
    limit("api_header_timeout_ms", c.api.header_timeout_ms);
    limit("api_idle_timeout_ms", c.api.idle_timeout_ms);
    std::string text = m.take();
    text += p_->host->metrics_text();
    auto js = p_->job_runner->stats();
    text += "# TYPE livepush_jobs_total counter\n";
    text += "livepush_jobs_total{result=\"done\"} " + std::to_string(js.done) + "\n";
    text += "livepush_jobs_total{result=\"failed\"} " + std::to_string(js.failed) + "\n";
    text += "livepush_jobs_total{result=\"dead\"} " + std::to_string(js.dead) + "\n";
    text += "# TYPE livepush_jobs_pending gauge\nlivepush_jobs_pending " + std::to_string(p_->jobs->pending()) + "\n";
    if (p_->plugin_redis) {
        text += "# HELP livepush_plugin_redis_up 1 while the plugin stores' own Redis is connected\n"
                "# TYPE livepush_plugin_redis_up gauge\nlivepush_plugin_redis_up " +
                std::string(p_->plugin_redis->connected() ? "1" : "0") + "\n";
    }
    if (p_->biz_workers) {
        const auto ws = p_->biz_workers->stats();
        text += "# HELP livepush_plugin_biz_total plugin BIZ calls on the plugin workers\n# TYPE livepush_plugin_biz_total counter\n";
        text += "livepush_plugin_biz_total{result=\"run\"} " + std::to_string(ws.run) + "\n";
        text += "livepush_plugin_biz_total{result=\"busy\"} " + std::to_string(ws.rejected) + "\n";
        text += "# TYPE livepush_plugin_biz_queued gauge\nlivepush_plugin_biz_queued " + std::to_string(ws.queued) + "\n";
        text += "# TYPE livepush_plugin_biz_queue_max gauge\nlivepush_plugin_biz_queue_max " +
                std::to_string(p_->config.server.plugin_queue_max) + "\n";
    }
    text += "# TYPE livepush_jobs_lag_ms gauge\nlivepush_jobs_lag_ms " + std::to_string(js.last_lag_ms) + "\n";
    if (p_->kafka) {
        const auto& ks = p_->kafka->stats();
        text += "# TYPE livepush_kafka_events_total counter\n";
        text += "livepush_kafka_events_total{result=\"handled\"} " + std::to_string(ks.handled.load()) + "\n";
        text += "livepush_kafka_events_total{result=\"failed\"} " + std::to_string(ks.handler_failures.load()) + "\n";
        text += "livepush_kafka_events_total{result=\"duplicate\"} " + std::to_string(ks.duplicates.load()) + "\n";
        text += "livepush_kafka_events_total{result=\"invalid\"} " + std::to_string(ks.invalid_json.load()) + "\n";
        text += "# TYPE livepush_kafka_produced_total counter\nlivepush_kafka_produced_total " + std::to_string(ks.produced.load()) + "\n";
        text += "# TYPE livepush_kafka_produce_failures_total counter\nlivepush_kafka_produce_failures_total " + std::to_string(ks.produce_failures.load()) + "\n";
        text += "# TYPE livepush_kafka_broker_down_total counter\nlivepush_kafka_broker_down_total " + std::to_string(ks.broker_down_events.load()) + "\n";
        text += "# TYPE livepush_kafka_brokers_up gauge\nlivepush_kafka_brokers_up " + std::to_string(ks.brokers_up.load()) + "\n";
        text += "# HELP livepush_kafka_assigned_partitions partitions this node consumes now\n"
                "# TYPE livepush_kafka_assigned_partitions gauge\nlivepush_kafka_assigned_partitions " +
                std::to_string(ks.assigned_partitions.load()) + "\n";
        text += "# HELP livepush_kafka_offset_resets_total consumer positions out of range: events lost to retention were skipped\n"
                "# TYPE livepush_kafka_offset_resets_total counter\nlivepush_kafka_offset_resets_total " +
                std::to_string(ks.offset_resets.load()) + "\n";
    }
    return text;  // the HTTP API appends its own request metrics
}

}  // namespace lp::app
