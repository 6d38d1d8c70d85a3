// app/node: see node.hpp.
#include "app/node.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <limits>
#include <mutex>
#include <stdexcept>

#include "ack/delivery_metrics.hpp"
#include "ack/inbox_resync.hpp"
#include "ack/memory_inbox.hpp"
#include "ack/qos_delivery.hpp"
#include "ack/redis_inbox.hpp"
#include "app/module_options.hpp"
#include "app/plugin_wiring.hpp"
#include "app/web_pages.hpp"
#include "cluster.pb.h"
#include "codec/address.hpp"
#include "codec/prometheus_text.hpp"
#include "codec/wall_clock.hpp"
#include "events/kafka_events.hpp"
#include "events/kafka_metrics.hpp"
#include "handlers/gateway.hpp"
#include "handlers/gateway_metrics.hpp"
#include "livepush.pb.h"
#include "plugins/host/event_bus.hpp"
#include "plugins/host/host_metrics.hpp"
#include "plugins/host/job_runner.hpp"
#include "plugins/host/keyed_workers.hpp"
#include "plugins/host/plugin_host.hpp"
#include "plugins/host/room_state_adapter.hpp"
#include "push/http_api.hpp"
#include "push/moderation_routes.hpp"
#include "push/push_metrics.hpp"
#include "push/push_service.hpp"
#include "push/room_state_service.hpp"
#include "redis/client_metrics.hpp"
#include "router/cluster.hpp"
#include "router/cluster_metrics.hpp"
#include "router/cluster_routing.hpp"
#include "router/like_totals.hpp"
#include "router/local_routing.hpp"
#include "router/memory_moderation_store.hpp"
#include "router/redis_like_totals.hpp"
#include "router/redis_moderation_store.hpp"
#include "router/redis_room_state_store.hpp"
#include "router/room_likes.hpp"
#include "router/room_moderation.hpp"
#include "router/room_online.hpp"
#include "router/room_state_cache.hpp"
#include "server/server.hpp"
#include "server/server_metrics.hpp"

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
    std::size_t on_ack(server::Session& s, const livepush::v1::Ack& a) override {
        return delivery->on_ack(s, a);
    }
    void on_closed(server::Session& s) override { delivery->on_closed(s); }
    void send_private(ack::PrivateMessage m,
                      std::function<void(ack::PrivateResult)> done) override {
        if (!push) return delivery->send_private(std::move(m), std::move(done));
        if (!workers) return done(send_now(m));
        auto shared_done =
            std::make_shared<std::function<void(ack::PrivateResult)>>(std::move(done));
        const std::uint64_t key = m.from;
        if (!workers->submit(
                key, [this, m = std::move(m), shared_done] { (*shared_done)(send_now(m)); })) {
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
        if (o.status == 200)
            r.status = ack::PrivateResult::Status::Accepted;
        else if (o.code == push::kInboxShareFull)
            r.status = ack::PrivateResult::Status::ShareFull;
        else
            r.status = ack::PrivateResult::Status::Unavailable;  // 503: nothing stored
        return r;
    }
};

struct Node::Parts {
    mutable std::mutex config_mu;  // config: replaced by a reload, read by /metrics
    Config config;
    // The web pages (demo, console): before `server`, whose loops call its handler.
    std::unique_ptr<WebPages> web;
    // Reloads (livepush_config_*): by ReloadResult; last applied (unix s); restart-only pending.
    std::atomic<std::uint64_t> reloads[3] = {};
    std::atomic<std::int64_t> last_reload_s{0};
    std::atomic<std::int64_t> restart_pending{0};
    // Likes: before `cluster`, so that Redis replies failed at its stop still find them.
    std::unique_ptr<router::LikeTotals> like_totals;  // Redis with `cluster`, else memory
    std::unique_ptr<router::RoomLikes> room_likes;
    std::unique_ptr<router::Cluster> cluster;
    std::unique_ptr<router::Routing> routing;  // over `cluster` when set, else local
    std::unique_ptr<router::RoomOnline> room_online;
    // Room state (issue 14 item 5): the store (memory or Redis), this node's copy of the rooms
    // it has members in, the service every writer goes through, and the plugins' face of it.
    std::unique_ptr<router::RoomStateStore> state_store;
    std::unique_ptr<router::RoomStateCache> state_cache;
    std::unique_ptr<push::RoomStateService> room_state;
    std::unique_ptr<plugins::RoomStateAdapter> plugin_room_state;
    NodeDeliveryHooks hooks;
    // cluster.redis_wait_replicas > 0: the inbox's own Redis client (WAIT blocks its
    // connection); before `inbox`, which it must outlive.
    std::unique_ptr<redis::Client> inbox_redis;
    std::unique_ptr<ack::InboxStore> inbox;
    std::unique_ptr<ack::QosDelivery> delivery;
    std::unique_ptr<ack::InboxResync> resync;  // cluster mode
    std::unique_ptr<handlers::Gateway> gateway;
    std::unique_ptr<server::Server> server;
    std::unique_ptr<push::PushService> push;
    std::unique_ptr<push::HttpApi> api;
    PluginParts plugins;
    std::unique_ptr<plugins::KeyedWorkers> im_workers;  // cluster: im.send and login inbox loads
    std::unique_ptr<router::ModerationStore> moderation_store;  // Redis in a cluster, else memory
    std::unique_ptr<router::RoomModerationService> moderation;
};

Node::Node(const Config& c) : p_(std::make_unique<Parts>()) {
    p_->config = c;
    p_->last_reload_s = static_cast<std::int64_t>(codec::wall_ms() / 1000);
    p_->web = std::make_unique<WebPages>(c);
    server::ServerOptions so = server_options(c);
    so.loop.http_handler = p_->web->ws_handler();
    const handlers::GatewayOptions go = gateway_options(c);
    const ack::DeliveryOptions dopts = delivery_options(c);

    // The server needs the gateway (its session handler); the delivery and the cluster need
    // the hub the server makes; the gateway needs them: build in that order, then attach.
    p_->gateway = std::make_unique<handlers::Gateway>(go);
    p_->server = std::make_unique<server::Server>(so, *p_->gateway);
    auto& hub = p_->server->hub();
    if (cluster_mode(c)) {
        router::ClusterOptions co =
            cluster_options(c, p_->server->tcp_port(), p_->server->ws_port());
        co.on_node_number = [ids = &p_->gateway->msg_ids()](std::uint16_t n) { ids->set_node(n); };
        p_->gateway->msg_ids().set_node(co.node_number_hint);  // until a claim succeeds
        p_->cluster = std::make_unique<router::Cluster>(
            co, hub,
            [this](const livepush::cluster::UserDelivery& d) { p_->push->deliver_from_link(d); });
        ack::RedisInbox::Options io;
        redis::Client* inbox_redis = &p_->cluster->redis();
        if (c.cluster.redis_wait_replicas > 0) {
            p_->inbox_redis = std::make_unique<redis::Client>(
                inbox_redis_options(c, p_->cluster->redis().options()));
            inbox_redis = p_->inbox_redis.get();
            io.timeout += std::chrono::milliseconds(c.cluster.redis_wait_timeout_ms);
        }
        p_->inbox = std::make_unique<ack::RedisInbox>(*inbox_redis, c.delivery.inbox_max, io,
                                                      c.delivery.inbox_max_per_sender);
        hub.set_observer(p_->cluster.get());
        p_->routing = std::make_unique<router::ClusterRouting>(*p_->cluster, hub);
        p_->state_store = std::make_unique<router::RedisRoomStateStore>(p_->cluster->redis());
        p_->like_totals = std::make_unique<router::RedisLikeTotals>(
            p_->cluster->redis(), std::chrono::seconds(c.room.likes_ttl_s));
    } else {
        p_->like_totals =
            std::make_unique<router::MemoryLikeTotals>(std::chrono::seconds(c.room.likes_ttl_s));
        p_->inbox = std::make_unique<ack::MemoryInbox>(c.delivery.inbox_max,
                                                       c.delivery.inbox_max_per_sender);
        p_->routing = std::make_unique<router::LocalRouting>(hub);
        p_->state_store = std::make_unique<router::MemoryRoomStateStore>();
    }
    p_->state_cache = std::make_unique<router::RoomStateCache>(*p_->state_store);
    hub.set_room_tap(
        [cache = p_->state_cache.get()](std::uint64_t room, const server::SharedPacket& packet) {
            const auto* push = dynamic_cast<const livepush::v1::Push*>(packet.body.get());
            if (push && push->type() == "room.state") cache->observe(room, push->payload());
        });
    p_->delivery = std::make_unique<ack::QosDelivery>(dopts, *p_->inbox, hub);
    if (p_->cluster) {
        // Redis round trips of im.send and of the login inbox load run here, not on the loops.
        p_->im_workers = std::make_unique<plugins::KeyedWorkers>(c.im.workers, 10000);
        p_->hooks.workers = p_->im_workers.get();
        p_->delivery->set_blocking_runner(
            [w = p_->im_workers.get()](std::uint64_t key, std::function<void()> task) {
                return w->submit(key, std::move(task));
            });
        p_->resync = std::make_unique<ack::InboxResync>(*p_->delivery);
        p_->cluster->on_peer_gone([this](const std::string& node) {
            spdlog::warn("node {} left the cluster: re-checking the inboxes of this node's users",
                         node);
            if (p_->resync) p_->resync->request();
        });
    }
    p_->hooks.delivery = p_->delivery.get();
    p_->gateway->attach(hub, p_->hooks, *p_->routing);
    p_->gateway->set_room_state(*p_->state_cache);
    p_->room_state = std::make_unique<push::RoomStateService>(
        room_state_limits(c), *p_->state_store, *p_->routing,
        [ids = &p_->gateway->msg_ids()] { return ids->next(); });
    p_->room_online = std::make_unique<router::RoomOnline>(
        *p_->routing, [ids = &p_->gateway->msg_ids()] { return ids->next(); });
    p_->room_likes = std::make_unique<router::RoomLikes>(
        *p_->routing, *p_->like_totals, hub,
        [ids = &p_->gateway->msg_ids()] { return ids->next(); });
    p_->gateway->attach_likes(*p_->room_likes);
    // The likes total lives in the room's state too (issue 14 item 5), so a late joiner's
    // room.enter has it; one state write per room per likes interval, on the home only.
    p_->room_likes->on_total([state = p_->room_state.get()](std::uint64_t room, std::uint64_t n) {
        state->set_async(room, "likes", std::to_string(n));
    });
    if (p_->cluster) {
        p_->cluster->on_room_likes(
            [likes = p_->room_likes.get()](std::uint64_t room, std::uint64_t n) {
                likes->add_from_node(room, n);
            });
        p_->cluster->likes_total_of(
            [likes = p_->room_likes.get()](std::uint64_t room) { return likes->total(room); });
    }

    p_->push = std::make_unique<push::PushService>(
        p_->server->hub(), *p_->delivery, p_->gateway->msg_ids(), c.cluster.node_id,
        [this] { return metrics_text(); }, *p_->routing);
    p_->hooks.push = p_->push.get();
    p_->push->set_guests_have_no_inbox(c.auth.guests != 0);
    if (!c.api.listen.empty()) {
        p_->api = std::make_unique<push::HttpApi>(api_options(c), *p_->push);
        p_->api->set_room_state(*p_->room_state);
        p_->api->set_access_log(c.log.access != 0);
    }
    // After the API: plugins add their routes to it.
    wire_plugins(p_->plugins, c, *p_->push, p_->cluster.get(), *p_->gateway, p_->api.get());

    // Rooms' moderation: its state in Redis in a cluster (shared, survives restarts), else in
    // memory; audit events on the plugins' bus (the Kafka topic `moderation` with Kafka).
    if (p_->cluster)
        p_->moderation_store = std::make_unique<router::RedisModerationStore>(
            p_->cluster->redis(), c.moderation.max_entries);
    else
        p_->moderation_store =
            std::make_unique<router::MemoryModerationStore>(c.moderation.max_entries);
    p_->moderation = std::make_unique<router::RoomModerationService>(
        moderation_options(c), *p_->moderation_store, hub, *p_->routing,
        [ids = &p_->gateway->msg_ids()] { return ids->next(); },
        [bus = p_->plugins.bus.get()](const std::string& key, const std::string& json) {
            bus->publish("moderation", key, json);
        });
    p_->gateway->set_moderation(*p_->moderation);
    if (p_->api) push::add_moderation_routes(*p_->api, *p_->moderation);
    p_->plugin_room_state = std::make_unique<plugins::RoomStateAdapter>(*p_->room_state);
    p_->plugins.host->set_room_state(p_->plugin_room_state.get());
    if (p_->plugins.room_hook_bridge) hub.set_member_observer(p_->plugins.room_hook_bridge.get());
    wire_web_pages();
}

// The console's pages and data route, and the collaborators of the --dev demo routes.
void Node::wire_web_pages() {
    const auto routes = p_->plugins.host->routes();
    const bool has_gift = std::any_of(routes.begin(), routes.end(), [](const auto& r) {
        return r.plugin == "gift" && r.path == "/v1/gift/events";
    });
    p_->web->attach(has_gift ? p_->plugins.host.get() : nullptr, p_->moderation.get());
    if (!p_->api) return;
    if (auto site = p_->web->console_site()) p_->api->set_console(std::move(site));
    p_->api->add_route("GET", "/v1/console/overview", [this](const push::HttpRequest& req) {
        ConsoleFacts f;
        f.node_id = p_->config.cluster.node_id;
        f.mode = p_->cluster ? "cluster" : "embedded";
        if (p_->cluster) {
            for (const auto& n : p_->cluster->nodes()) f.nodes.emplace_back(n.id, n.client_addr);
        } else {
            f.nodes.emplace_back(p_->config.cluster.node_id,
                                 host_of(p_->config.server.tcp_listen) + ":" +
                                     std::to_string(p_->server->tcp_port()));
        }
        const auto t = p_->server->totals();
        for (int k = 0; k < 2; ++k)
            for (int tls = 0; tls < 2; ++tls) f.sessions[k][tls] = t.sessions[k][tls];
        f.logged_in = t.logged_in;
        f.online_users = p_->server->hub().online_users();
        f.rooms = p_->server->hub().rooms_with_members();
        return console_overview(f, req);
    });
}

Node::~Node() {
    if (p_ && p_->web) p_->web->stop();  // its gift worker calls into the plugins
}

void Node::start() {
    if (p_->inbox_redis) p_->inbox_redis->start();
    if (p_->cluster) p_->cluster->start();
    p_->plugins.host->start();
    p_->plugins.bus->start();
    if (p_->plugins.kafka) p_->plugins.kafka->start();
    p_->plugins.job_runner->start();
    p_->moderation->start();
    p_->server->start();
    if (p_->api) p_->api->start();
}

std::string Node::ready_line() const {
    const Config& c = p_->config;
    std::string ready = "livepushd ready node=" + c.cluster.node_id;
    if (p_->server->tcp_port())
        ready +=
            " tcp=" + host_of(c.server.tcp_listen) + ":" + std::to_string(p_->server->tcp_port());
    if (p_->server->ws_port())
        ready += " ws=" + host_of(c.server.ws_listen) + ":" + std::to_string(p_->server->ws_port());
    if (p_->api) ready += " api=" + host_of(c.api.listen) + ":" + std::to_string(p_->api->port());
    if (!c.tls.cert.empty()) ready += " tls=on";
    if (p_->cluster)
        ready += " link=" + host_of(c.cluster.link_listen) + ":" +
                 std::to_string(p_->cluster->link_port());
    if (p_->cluster) ready += " cluster=" + p_->cluster->redis_name();
    return ready;
}

void Node::shutdown() {
    if (p_->api) p_->api->set_draining(true);
    p_->web->stop();
    // Plugins first: no new jobs, events or pushes from them while sessions drain.
    p_->plugins.job_runner->stop();
    if (p_->resync) p_->resync->stop();
    if (p_->plugins.kafka) p_->plugins.kafka->stop();
    p_->plugins.bus->stop();
    if (p_->plugins.biz_workers)
        p_->plugins.biz_workers->stop();  // answers what is queued (the loops still run)
    if (p_->im_workers) p_->im_workers->stop();
    if (p_->plugins.room_hooks) p_->plugins.room_hooks->stop();
    p_->plugins.host->stop();
    spdlog::info("draining {} sessions", p_->server->totals().sessions_total());
    // Each session is sent where it can go: a TCP session to the other node's host:port, a
    // WebSocket session to its WebSocket URL, in the scheme the session itself came over.
    auto reconnect_to = [this](const server::Session& s) -> std::string {
        if (!p_->cluster) return {};
        const auto n = p_->cluster->other_node_for(s.user.id);
        if (s.transport() != server::TransportKind::Ws) return n.client_addr;
        if (n.ws_addr.empty()) return {};  // no WebSocket listener there (or an older node)
        if (n.ws_addr.find("://") != std::string::npos) return n.ws_addr;  // a URL: as given
        return (s.tls() ? "wss://" : "ws://") + n.ws_addr + "/ws";
    };
    std::size_t left = p_->server->drain(
        reconnect_to, std::chrono::milliseconds(p_->config.server.drain_timeout_ms));
    if (left) spdlog::warn("drain timeout: closing {} sessions that did not leave", left);
    if (p_->api) p_->api->stop();
    p_->server->stop();
    p_->moderation->stop();  // before the store's Redis: its late answers are ignored
    if (p_->cluster) p_->cluster->stop();
    if (p_->inbox_redis) p_->inbox_redis->stop();
}

void Node::housekeeping() {
    p_->server->hub().sweep_rooms();
    p_->server->ip_limits().sweep(codec::wall_ms());
    p_->inbox->sweep(codec::wall_ms());
    // Copies of rooms' state this node no longer has members in (idle 10 s: an enter on its way
    // keeps its room's copy).
    p_->state_cache->sweep(
        [&hub = p_->server->hub()](std::uint64_t room) { return hub.room_state(room).online > 0; },
        std::chrono::seconds(10));
}

namespace {

// The configured limits, published so that dashboards can draw them next to what they bound.
void write_configured_limits(codec::PromText& m, const Config& c) {
    auto limit = [&](const char* name, std::uint64_t v) {
        m.gauge("livepush_limit", "configured limits", static_cast<std::int64_t>(v),
                std::string("name=\"") + name + "\"");
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
    limit("guest_max_sessions", c.auth.guest_max_sessions);
    limit("moderation_max_moderators", c.moderation.max_moderators);
    limit("moderation_max_entries", c.moderation.max_entries);
    limit("room_like_max_count", c.room.like_max_count);
    limit("room_like_rate_per_s", c.room.like_rate_per_s);
    limit("delivery_window", c.delivery.window);
    limit("inbox_max", c.delivery.inbox_max);
    limit("inbox_max_per_sender", c.delivery.inbox_max_per_sender);
    limit("waiting_max", c.delivery.waiting_max);
    limit("im_rate_per_s", c.im.rate_per_s);
    limit("room_viewer_budget_per_s", c.room.viewer_budget_per_s);
    limit("room_chat_rate_per_s", c.room.chat_rate_per_s);
    limit("im_max_payload_bytes", c.im.max_payload_bytes);
    limit("api_max_body_bytes", c.api.max_body_bytes);
    limit("api_max_requests_per_s", c.api.max_requests_per_s);
    limit("link_max_connections", c.cluster.link_max_connections);
    limit("link_hello_timeout_ms", c.cluster.link_hello_timeout_ms);
    limit("link_queue_max_bytes", c.cluster.link_queue_max_bytes);
    limit("api_max_connections", c.api.max_connections);
    limit("api_header_timeout_ms", c.api.header_timeout_ms);
    limit("api_idle_timeout_ms", c.api.idle_timeout_ms);
    limit("room_state_max_key_bytes", c.room.state_max_key_bytes);
    limit("room_state_max_value_bytes", c.room.state_max_value_bytes);
    limit("room_state_max_keys", c.room.state_max_keys);
    limit("room_state_max_room_bytes", c.room.state_max_room_bytes);
}

}  // namespace

// Every module writes its own families (each family whole, in one place); the HTTP API appends
// its request families to this text.
void Node::room_online_sweep() {
    p_->room_online->sweep();
}

std::chrono::milliseconds Node::room_online_interval() const {
    return app::room_online_interval(config());
}

void Node::room_likes_flush() {
    p_->room_likes->flush();
}

std::chrono::milliseconds Node::room_likes_interval() const {
    return app::room_likes_interval(config());
}

void Node::add_api_route(const std::string& method, const std::string& path, push::RouteHandler h) {
    if (p_->api) p_->api->add_route(method, path, std::move(h));
}

Config Node::config() const {
    std::lock_guard lock(p_->config_mu);
    return p_->config;
}

std::string Node::apply_reload(const Config& next) {
    // Everything that can fail first (the key files are read here), then the swaps, which
    // cannot: a reload is applied whole or not at all.
    handlers::GatewayOptions go;
    try {
        go = gateway_options(next);
    } catch (const std::exception& e) {
        return e.what();
    }
    const auto now_s = static_cast<std::int64_t>(codec::wall_ms() / 1000);
    const auto running = p_->gateway->jwt();
    const auth::JwtPolicy& was = running->policy();
    // Keys a reload retired earlier stay until their own end; the keys in force until now join
    // them for auth.key_overlap_s when this reload may have changed them (the secret, or a key
    // file, which may have new contents under the same name). At most kMaxRetired sets.
    constexpr std::size_t kMaxRetired = 8;
    for (const auto& r : was.retired)
        if (r.until > now_s) go.jwt.retired.push_back(r);
    const Config old = config();
    const bool keys_may_change = old.auth.jwt_secret != next.auth.jwt_secret ||
                                 old.auth.jwt_public_key != next.auth.jwt_public_key ||
                                 !next.auth.jwt_public_key.empty();
    if (keys_may_change && next.auth.key_overlap_s > 0 && !was.keys.empty())
        go.jwt.retired.push_back({was.keys, now_s + next.auth.key_overlap_s});
    if (go.jwt.retired.size() > kMaxRetired)
        go.jwt.retired.erase(go.jwt.retired.begin(),
                             go.jwt.retired.end() - static_cast<std::ptrdiff_t>(kMaxRetired));

    p_->gateway->set_live_limits(go);
    p_->gateway->set_jwt(std::move(go.jwt));
    for (auto* loop : p_->server->loops())
        loop->set_live_limits(next.server.send_queue_max_bytes, next.room.viewer_budget_per_s);
    if (p_->api) {
        p_->api->set_max_requests_per_s(next.api.max_requests_per_s);
        p_->api->set_access_log(next.log.access != 0);
    }
    p_->moderation->set_max_moderators(next.moderation.max_moderators);
    std::lock_guard lock(p_->config_mu);
    p_->config = next;
    return {};
}

void Node::note_reload(ReloadResult result, std::size_t restart_pending) {
    p_->reloads[static_cast<int>(result)].fetch_add(1);
    if (result != ReloadResult::Invalid) {
        p_->last_reload_s = static_cast<std::int64_t>(codec::wall_ms() / 1000);
        p_->restart_pending = static_cast<std::int64_t>(restart_pending);
    }
}

std::string Node::metrics_text() const {
    codec::PromText m;
    auto& server = *p_->server;
    server::write_metrics(m, server);
    handlers::write_metrics(m, p_->gateway->stats(), server.totals(), server.ip_limits().stats());
    push::write_metrics(m, p_->push->stats());
    ack::write_metrics(m, p_->delivery->stats());
    p_->inbox->write_metrics(m);
    if (auto* cluster = p_->cluster.get()) {
        router::write_metrics(m, *cluster);
        redis::write_metrics(m, cluster->redis().stats(), p_->plugins.plugin_redis.get(),
                             p_->inbox_redis.get());
    }
    p_->room_state->write_metrics(m);
    m.gauge("livepush_room_state_cached_rooms",
            "rooms whose state this node keeps a copy of (rooms with members here)",
            static_cast<std::int64_t>(p_->state_cache->rooms()));
    m.counter("livepush_room_state_loads_total",
              "reads of a room's state from the store by this node's copy (first enter here)",
              p_->state_cache->loads());
    m.counter("livepush_room_online_pushes_total",
              "room.online pushes published by this node (one per room whose count changed)",
              p_->room_online->pushes());
    p_->moderation->write_metrics(m);
    router::write_metrics(m, p_->room_likes->stats());
    std::uint32_t plugin_queue_max = 0;
    {
        std::lock_guard lock(p_->config_mu);
        write_configured_limits(m, p_->config);
        plugin_queue_max = p_->config.server.plugin_queue_max;
    }
    const char* results[] = {"ok", "invalid", "partial"};
    for (int i = 0; i < 3; ++i)
        m.counter("livepush_config_reloads_total",
                  "configuration reloads (SIGHUP) by result: ok = every change applied, invalid = "
                  "the new configuration failed its checks (nothing applied), partial = live keys "
                  "applied, restart-only keys refused",
                  p_->reloads[i].load(), std::string("result=\"") + results[i] + "\"");
    m.gauge("livepush_config_last_reload_timestamp_seconds",
            "unix time of the start or of the last reload that applied (ok or partial)",
            p_->last_reload_s.load());
    m.gauge("livepush_config_restart_pending_keys",
            "restart-only keys the last reload found changed and refused: they take effect at "
            "the next restart",
            p_->restart_pending.load());
    p_->plugins.host->write_metrics(m);
    plugins::write_metrics(m, p_->plugins.job_runner->stats(), p_->plugins.jobs->pending());
    if (p_->plugins.biz_workers)
        plugins::write_metrics(m, p_->plugins.biz_workers->stats(), plugin_queue_max);
    if (p_->plugins.kafka) events::write_metrics(m, p_->plugins.kafka->stats());
    if (p_->plugins.room_hooks) p_->plugins.room_hooks->write_metrics(m);
    return m.take();
}

}  // namespace lp::app
