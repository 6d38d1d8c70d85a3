// router/cluster: see cluster.hpp. Rooms across nodes (homes, subscriptions, recovery) are in
// cluster_rooms.cpp; this file is users, kicks, node liveness and the link dispatch, ~600 lines
// because each link message's handler sits next to the state it changes.
#include "router/cluster.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <stdexcept>

#include "cluster.pb.h"
#include "codec/address.hpp"
#include "livepush.pb.h"
#include "server/event_loop.hpp"
#include "server/push_packet.hpp"
#include "server/session.hpp"

namespace lp::router {

namespace asio = boost::asio;
namespace pbc = livepush::cluster;

namespace {

std::uint64_t mix(std::uint64_t x) {
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdULL;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ULL;
    x ^= x >> 33;
    return x;
}

std::uint64_t hash_str(const std::string& s) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    return h;
}

// Rendezvous hashing: every node computes the same winner from the same node list, and when a
// node leaves only its rooms move.
const NodeInfo* rendezvous(const std::vector<NodeInfo>& nodes, std::uint64_t key) {
    const NodeInfo* best = nullptr;
    std::uint64_t best_score = 0;
    for (const auto& n : nodes) {
        std::uint64_t score = mix(key ^ hash_str(n.id));
        if (!best || score > best_score) {
            best = &n;
            best_score = score;
        }
    }
    return best;
}

// The host other nodes dial this node's links at: the advertised client host (never a
// wildcard; app/ replaces one with the host name).
std::string host_of(const std::string& addr) {
    const auto address = codec::Address::parse(addr);
    if (!address || address->is_wildcard()) return "127.0.0.1";
    return address->is_ipv6() ? "[" + address->host + "]" : address->host;
}

}  // namespace

Cluster::Cluster(ClusterOptions opts, server::Hub& hub, UserHandler on_users)
    : opts_(std::move(opts)), hub_(hub), on_users_(std::move(on_users)) {
    redis::Client::Options ro;
    ro.sentinels = opts_.redis_sentinels;
    ro.master_name = opts_.redis_master_name;
    ro.sentinel_password = opts_.redis_sentinel_password;
    if (ro.sentinels.empty()) {
        std::string why;
        const auto redis_address =
            codec::Address::parse(opts_.redis, codec::PortZero::Refused, &why);
        if (!redis_address) {
            throw std::runtime_error("cluster.redis \"" + opts_.redis +
                                     "\" is not host:port: " + why);
        }
        ro.host = redis_address->numeric_host();
        ro.port = redis_address->port;
    } else {
        // After a failover the sentinels name the new master within seconds: retry at least
        // once a second rather than back off to the default 5 s.
        ro.backoff_max = std::chrono::milliseconds(1000);
    }
    ro.command_timeout = std::chrono::milliseconds(1000);
    ro.max_queue_bytes = opts_.redis_queue_max_bytes;
    ro.username = opts_.redis_user;
    ro.password = opts_.redis_password;
    redis_ = std::make_unique<redis::Client>(ro);
    routes_ = std::make_unique<RouteStore>(*redis_, opts_.node_id, opts_.node_ttl);
    node_numbers_ = std::make_unique<NodeNumberClaim>(*redis_, opts_.node_id, opts_.node_ttl);
    NodeLinksOptions lo;
    lo.listen = opts_.link_listen;
    lo.node_id = opts_.node_id;
    lo.secret = opts_.secret;
    lo.hello_timeout = opts_.link_hello_timeout;
    lo.max_inbound = opts_.link_max_connections;
    lo.max_queue_bytes = opts_.link_queue_max_bytes;
    lo.tls_cert = opts_.link_tls_cert;
    lo.tls_key = opts_.link_tls_key;
    lo.tls_ca = opts_.link_tls_ca;
    // A route can name a node younger than our last node-list refresh: ask Redis for its
    // address rather than hold its frames until the next refresh.
    lo.resolve = [this](const std::string& node) -> std::string {
        auto r = redis_->command_sync({"GET", RouteStore::node_key(node)},
                                      std::chrono::milliseconds(500));
        if (r.type != redis::Reply::Type::String) return {};
        auto bar = r.str.find('|');
        return bar == std::string::npos ? std::string() : r.str.substr(bar + 1);
    };
    links_ = std::make_unique<NodeLinks>(
        lo, [this](const std::string& from, codec::Code code, std::string_view body) {
            on_link(from, code, body);
        });
}

Cluster::~Cluster() {
    stop();
}

void Cluster::start() {
    links_->start();
    self_.id = opts_.node_id;
    self_.client_addr = opts_.client_addr;
    self_.ws_addr = opts_.client_ws_addr;
    self_.link_addr = opts_.link_advertise.empty()
                          ? host_of(opts_.client_addr) + ":" + std::to_string(links_->port())
                          : opts_.link_advertise;
    {
        std::lock_guard lock(nodes_mu_);
        nodes_ = {self_};
    }
    redis_->on_state([this](bool up) {
        bool was = redis_up_.exchange(up);
        if (up && !was) {
            spdlog::info("cluster: Redis is up; registering node {} and its routes", opts_.node_id);
            asio::post(links_->io(), [this] { reregister(); });
        } else if (!up && was) {
            stats_.redis_down_events.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("cluster: Redis is down ({}); serving local sessions only",
                         redis_->last_error());
        }
    });
    redis_->start();
    auto& io = links_->io();
    heartbeat_timer_ = std::make_unique<asio::steady_timer>(io);
    nodes_timer_ = std::make_unique<asio::steady_timer>(io);
    resub_timer_ = std::make_unique<asio::steady_timer>(io);
    // The first registration is synchronous so that a node is routable when it says ready. The
    // WebSocket address first: whoever sees the node sees it with its address.
    if (!self_.ws_addr.empty())
        redis_->command_sync({"SET", RouteStore::node_ws_key(self_.id), self_.ws_addr, "PX",
                              std::to_string(opts_.node_ttl.count())},
                             std::chrono::milliseconds(2000));
    auto r = redis_->command_sync(
        {"SET", RouteStore::node_key(self_.id), self_.client_addr + "|" + self_.link_addr, "PX",
         std::to_string(opts_.node_ttl.count())},
        std::chrono::milliseconds(2000));
    if (r.ok()) {
        redis_->command_sync({"SADD", "lp:nodes", self_.id}, std::chrono::milliseconds(2000));
        const auto claimed =
            node_numbers_->claim_sync(opts_.node_number_hint, std::chrono::milliseconds(2000));
        if (claimed.none_free) {
            throw std::runtime_error("cluster: " + claimed.error +
                                     "; a node needs a number of its own for unique message ids");
        }
        if (claimed.number)
            adopt_node_number(*claimed.number);
        else
            spdlog::warn("cluster: node number not claimed yet ({}); will keep trying",
                         claimed.error);
    } else if (redis_->stats().auth_failures > 0) {
        // Wrong credentials do not heal by waiting: refuse to start, saying which settings to fix.
        throw std::runtime_error("cluster.redis " + redis_name() + " refused our credentials (" +
                                 redis_->last_error() +
                                 "); check cluster.redis_user and cluster.redis_password");
    } else {
        spdlog::warn("cluster: Redis {} not reachable at start ({}); will keep trying",
                     redis_name(), r.str);
    }
    if (auto nodes = routes_->live_nodes()) apply_nodes(std::move(*nodes));
    asio::post(io, [this] {
        tick_heartbeat();
        tick_nodes();
        tick_resubscribe();
    });
}

void Cluster::stop() {
    if (!links_) return;
    if (redis_->connected()) {
        if (const int n = node_number_.load(); n >= 0)
            node_numbers_->release_sync(static_cast<std::uint16_t>(n),
                                        std::chrono::milliseconds(500));
        routes_->deregister();
    }
    links_->stop();
    redis_->stop();
}

std::string Cluster::redis_name() const {
    return opts_.redis_sentinels.empty() ? opts_.redis : opts_.redis_master_name + "@sentinels";
}

bool Cluster::redis_up() const noexcept {
    return redis_up_.load(std::memory_order_relaxed);
}

// ---------------------------------------------------------------- timers (cluster thread)

void Cluster::refresh_liveness() {
    routes_->heartbeat(self_);
    // Right behind the liveness SET: the same pipelined round trip. The claim keeps the number
    // held, or takes it back if it lapsed and is free, or takes another if a node took it.
    const int held = node_number_.load();
    const auto wanted = static_cast<std::uint16_t>(held >= 0 ? held : opts_.node_number_hint);
    node_numbers_->claim_async(wanted, [this, held](const NodeNumberClaim::Claimed& c) {
        if (c.number) {
            if (static_cast<int>(*c.number) != held) adopt_node_number(*c.number);
            return;
        }
        if (c.none_free) {
            // Practically unreachable (1,024 live nodes); ids keep the last number meanwhile.
            stats_.node_number_unavailable.fetch_add(1, std::memory_order_relaxed);
            spdlog::error("cluster: {}; node {} keeps node number {} and tries again", c.error,
                          opts_.node_id, held);
        }
    });
}

void Cluster::adopt_node_number(std::uint16_t number) {
    const int was = node_number_.exchange(number);
    if (was >= 0 && was != number) {
        stats_.node_number_changes.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn(
            "cluster: node number {} was taken by another node while this one could not reach "
            "Redis; "
            "message ids now carry {}",
            was, number);
    } else {
        spdlog::info("cluster: node {} holds node number {}", opts_.node_id, number);
    }
    if (opts_.on_node_number) opts_.on_node_number(number);
}

void Cluster::tick_heartbeat() {
    refresh_liveness();
    // Room counts changed since the last tick, coalesced: one HSET per changed room a second,
    // and one RoomSub with the counts per home node.
    flush_room_counts();
    heartbeat_timer_->expires_after(opts_.heartbeat);
    heartbeat_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick_heartbeat();
    });
}

void Cluster::tick_nodes() {
    routes_->live_nodes_async([this](std::optional<std::vector<NodeInfo>> nodes) {
        if (!nodes) return;
        asio::post(links_->io(),
                   [this, n = std::move(*nodes)]() mutable { apply_nodes(std::move(n)); });
    });
    nodes_timer_->expires_after(opts_.heartbeat);
    nodes_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick_nodes();
    });
}

void Cluster::tick_resubscribe() {
    resubscribe_all();
    drop_unjoined_fetches();
    resub_timer_->expires_after(opts_.resubscribe);
    resub_timer_->async_wait([this](const boost::system::error_code& ec) {
        if (!ec) tick_resubscribe();
    });
}

void Cluster::apply_nodes(std::vector<NodeInfo> nodes) {
    if (std::none_of(nodes.begin(), nodes.end(),
                     [&](const NodeInfo& n) { return n.id == self_.id; }))
        nodes.push_back(self_);  // we are alive even if our key lapsed while Redis was away
    std::sort(nodes.begin(), nodes.end(),
              [](const NodeInfo& a, const NodeInfo& b) { return a.id < b.id; });
    std::vector<std::string> gone;
    std::vector<NodeInfo> added;
    bool changed = false;
    {
        std::lock_guard lock(nodes_mu_);
        for (const auto& old : nodes_)
            if (std::none_of(nodes.begin(), nodes.end(),
                             [&](const NodeInfo& n) { return n.id == old.id; }))
                gone.push_back(old.id);
        for (const auto& n : nodes)
            if (n.id != self_.id && std::none_of(nodes_.begin(), nodes_.end(),
                                                 [&](const NodeInfo& o) { return o.id == n.id; }))
                added.push_back(n);
        changed = nodes.size() != nodes_.size() || !gone.empty();
        nodes_ = std::move(nodes);
    }
    // Open the link to every new peer now, not on its first real frame: a room subscription
    // sent later then takes one hop, not a TCP connect and a hello, and the window in which a
    // node's first member misses room messages shrinks to that hop.
    for (const auto& n : added) links_->send(n.id, n.link_addr, codec::Code::LinkPing, {});
    if (!changed) return;
    for (const auto& id : gone) {
        links_->forget(id);
        {
            std::lock_guard lock(home_mu_);
            for (auto& [room, members] : home_members_) members.erase(id);
            // (a room left with no subscriber stays pinned until its next RoomSub or restart:
            // harmless, its entry is small)
        }
        if (peer_gone_) peer_gone_(id);
    }
    // Homes may have moved: tell every home which rooms we have members in.
    resubscribe_all();
}

void Cluster::resubscribe_all() {
    std::map<std::string, std::vector<std::uint64_t>> by_home;
    for (const auto& [room, count] : local_rooms_) by_home[home_of(room)].push_back(room);
    for (auto& [home, rooms] : by_home) {
        if (home == self_.id) continue;
        send_sub(home, std::move(rooms), {});
    }
}

void Cluster::reregister() {
    stats_.reregistrations.fetch_add(1, std::memory_order_relaxed);
    refresh_liveness();
    for (const auto& [room, count] : hub_.rooms_with_members())
        routes_->set_room_members(room, count);
    // Every logged-in session binds its route again, from its own loop.
    for (server::EventLoop* loop : hub_.loops()) {
        asio::post(loop->io(), [this, loop] {
            loop->for_each_session([this](server::Session& s) {
                if (s.logged_in() && !s.closing())
                    routes_->bind(s.user.id, s.user.platform, s.id());
            });
        });
    }
}

// ---------------------------------------------------------------- presence

void Cluster::on_login(server::Session& s) {
    stats_.route_binds.fetch_add(1, std::memory_order_relaxed);
    routes_->bind(s.user.id, s.user.platform, s.id(),
                  [this, user = s.user.id](bool ok, std::optional<Route> previous) {
                      if (!ok) {
                          // Redis is away: reregister() binds it again when Redis is back.
                          stats_.route_bind_failures.fetch_add(1, std::memory_order_relaxed);
                          return;
                      }
                      if (!previous || previous->node == self_.id) return;
                      pbc::KickSession k;
                      k.set_user_id(user);
                      k.set_platform(previous->platform);
                      k.set_session_id(previous->session_id);
                      k.set_reason("replaced");
                      stats_.remote_kicks_sent.fetch_add(1, std::memory_order_relaxed);
                      links_->send(previous->node, link_addr_of(previous->node),
                                   codec::Code::LinkKick, k.SerializeAsString());
                  });
}

void Cluster::on_logout(server::Session& s) {
    routes_->unbind(s.user.id, s.user.platform, s.id());
}

// ---------------------------------------------------------------- rooms

void Cluster::on_room_members(std::uint64_t room, std::uint64_t members_here) {
    asio::post(links_->io(), [this, room, members_here] {
        bool had = local_rooms_.count(room) != 0;
        dirty_counts_[room] = members_here;
        if (members_here > 0) {
            local_rooms_[room] = members_here;
            if (!had) {
                std::string home = home_of(room);
                if (home != self_.id) send_sub(home, {room}, {});
            }
        } else if (had) {
            local_rooms_.erase(room);
            std::string home = home_of(room);
            // A room.enter still on its way here subscribed this node: keep it subscribed;
            // drop_unjoined_fetches unsubscribes later if no member joins.
            if (home != self_.id && !fetched_.count(room)) send_sub(home, {}, {room});
        }
    });
}

void Cluster::send_sub(const std::string& home, std::vector<std::uint64_t> sub,
                       std::vector<std::uint64_t> unsub) {
    pbc::RoomSub m;
    for (auto r : sub) {
        m.add_subscribe(r);
        auto it = local_rooms_.find(r);
        if (it == local_rooms_.end()) continue;
        auto* c = m.add_counts();
        c->set_room_id(r);
        c->set_members(it->second);
    }
    for (auto r : unsub) m.add_unsubscribe(r);
    links_->send(home, link_addr_of(home), codec::Code::LinkRoomSub, m.SerializeAsString());
}

std::string Cluster::home_of(std::uint64_t room) const {
    std::lock_guard lock(nodes_mu_);
    const NodeInfo* n = rendezvous(nodes_, mix(room));
    return n ? n->id : self_.id;
}

pbc::RoomPublish Cluster::to_link(const RoomPublish& p) {
    pbc::RoomPublish m;
    m.set_room_id(p.room);
    m.set_msg_id(p.msg_id);
    m.set_type(p.type);
    m.set_payload(p.payload);
    m.set_sent_at_ms(p.sent_at_ms);
    for (auto u : p.exclude) m.add_exclude(u);
    const server::RoomMeta meta = p.meta();
    m.set_msg_class(server::to_wire(meta.cls));
    m.set_sender(meta.sender);
    return m;
}

Cluster::RoomPublished Cluster::publish_room(const RoomPublish& p) {
    std::string home = home_of(p.room);
    if (home == self_.id) return publish_as_home(p);
    const pbc::RoomPublish m = to_link(p);
    stats_.room_publishes_forwarded.fetch_add(1, std::memory_order_relaxed);
    links_->send(home, link_addr_of(home), codec::Code::LinkRoomPublish, m.SerializeAsString());
    return {};
}

Cluster::RoomPublished Cluster::publish_as_home(const RoomPublish& p) {
    auto build = [&](std::uint64_t seq) {
        return server::push_packet({.msg_id = p.msg_id,
                                    .type = p.type,
                                    .payload = p.payload,
                                    .sent_at_ms = p.sent_at_ms,
                                    .room_id = p.room,
                                    .room_seq = seq});
    };
    // Runs under the room's lock: the frames reach each link's queue in room_seq order.
    auto forward = [&](const server::RoomPacketPtr& packet) {
        forward_to_member_nodes(p, packet->seq, packet->epoch);
    };
    auto pub = hub_.publish_room(p.room, build, p.exclude, /*create=*/true, forward, p.meta());
    return {true, pub.seq};
}

void Cluster::forward_to_member_nodes(const RoomPublish& p, std::uint64_t seq,
                                      std::uint64_t epoch) {
    std::vector<std::string> targets;
    {
        std::lock_guard lock(home_mu_);
        auto it = home_members_.find(p.room);
        if (it != home_members_.end())
            for (const auto& [node, count] : it->second) targets.push_back(node);
    }
    std::size_t live = nodes().size();
    std::size_t others = live > 0 ? live - 1 : 0;
    if (others > targets.size())
        stats_.room_nodes_skipped.fetch_add(others - targets.size(), std::memory_order_relaxed);
    if (targets.empty()) return;
    pbc::RoomDelivery d;
    d.set_room_id(p.room);
    d.set_room_seq(seq);
    d.set_epoch(epoch);
    d.set_msg_id(p.msg_id);
    d.set_type(p.type);
    d.set_payload(p.payload);
    d.set_sent_at_ms(p.sent_at_ms);
    for (auto u : p.exclude) d.add_exclude(u);
    const server::RoomMeta meta = p.meta();
    d.set_msg_class(server::to_wire(meta.cls));
    d.set_sender(meta.sender);
    std::string body = d.SerializeAsString();
    for (const auto& node : targets) {
        stats_.room_deliveries_sent.fetch_add(1, std::memory_order_relaxed);
        links_->send(node, link_addr_of(node), codec::Code::LinkRoomDeliver, body);
    }
}

std::optional<std::uint64_t> Cluster::room_online(std::uint64_t room) {
    return routes_->room_online(room);
}

// ---------------------------------------------------------------- users

std::optional<Cluster::UserRoutes> Cluster::route_users(const std::vector<std::uint64_t>& users) {
    auto found = routes_->lookup(users);
    if (!found) return std::nullopt;
    UserRoutes out;
    for (auto& [user, routes] : *found) {
        std::set<std::string> nodes;
        for (auto& r : routes) {
            nodes.insert(r.node);
            ++out.sessions;
        }
        for (const auto& n : nodes) out.by_node[n].push_back(user);
    }
    return out;
}

std::optional<std::vector<Route>> Cluster::routes_of(std::uint64_t user) {
    auto found = routes_->lookup({user});
    if (!found) return std::nullopt;
    auto it = found->find(user);
    return it == found->end() ? std::vector<Route>{} : it->second;
}

void Cluster::send_users(const std::string& node, const pbc::UserDelivery& d) {
    stats_.user_deliveries_sent.fetch_add(1, std::memory_order_relaxed);
    links_->send(node, link_addr_of(node), codec::Code::LinkUsers, d.SerializeAsString());
}

void Cluster::kick_remote(const Route& route, std::uint64_t user, const std::string& reason) {
    pbc::KickSession k;
    k.set_user_id(user);
    k.set_platform(route.platform);
    k.set_session_id(route.session_id);
    k.set_reason(reason);
    stats_.remote_kicks_sent.fetch_add(1, std::memory_order_relaxed);
    links_->send(route.node, link_addr_of(route.node), codec::Code::LinkKick,
                 k.SerializeAsString());
}

// ---------------------------------------------------------------- nodes

std::vector<NodeInfo> Cluster::nodes() const {
    std::lock_guard lock(nodes_mu_);
    return nodes_;
}

std::string Cluster::link_addr_of(const std::string& node) const {
    std::lock_guard lock(nodes_mu_);
    for (const auto& n : nodes_)
        if (n.id == node) return n.link_addr;
    return {};
}

NodeInfo Cluster::other_node_for(std::uint64_t user) const {
    std::lock_guard lock(nodes_mu_);
    std::vector<NodeInfo> others;
    for (const auto& n : nodes_)
        if (n.id != self_.id) others.push_back(n);
    const NodeInfo* n = rendezvous(others, mix(user));
    return n ? *n : NodeInfo{};
}

// ---------------------------------------------------------------- links (cluster thread)

void Cluster::on_link(const std::string& from, codec::Code code, std::string_view body) {
    auto size = static_cast<int>(body.size());
    switch (code) {
        case codec::Code::LinkUsers: {
            pbc::UserDelivery d;
            if (!d.ParseFromArray(body.data(), size)) return;
            stats_.user_deliveries_received.fetch_add(1, std::memory_order_relaxed);
            if (on_users_) on_users_(d);
            return;
        }
        case codec::Code::LinkRoomPublish: {
            pbc::RoomPublish m;
            if (!m.ParseFromArray(body.data(), size)) return;
            RoomPublish p{m.room_id(), m.msg_id(),     m.type(),
                          m.payload(), m.sent_at_ms(), {m.exclude().begin(), m.exclude().end()}};
            p.cls = server::from_wire(m.msg_class(), p.type);
            p.sender = m.sender();
            // Sent here because the sender thinks we are home; if the node lists disagree for a
            // moment, publishing here still delivers it rather than bouncing it around.
            auto pub = publish_as_home(p);
            if (m.corr_id() != 0) {
                auto st = hub_.room_state(p.room);
                pbc::RoomReply r;
                r.set_corr_id(m.corr_id());
                r.set_room_id(p.room);
                r.set_room_seq(pub.seq);
                r.set_epoch(st.epoch);
                r.set_online_elsewhere(st.online + online_elsewhere_locked(p.room, from));
                links_->send(from, link_addr_of(from), codec::Code::LinkRoomReply,
                             r.SerializeAsString());
            }
            return;
        }
        case codec::Code::LinkRoomDeliver: {
            pbc::RoomDelivery d;
            if (!d.ParseFromArray(body.data(), size)) return;
            stats_.room_deliveries_received.fetch_add(1, std::memory_order_relaxed);
            hub_.deliver_remote(d.room_id(), d.room_seq(), d.epoch(),
                                server::push_packet({.msg_id = d.msg_id(),
                                                     .type = d.type(),
                                                     .payload = d.payload(),
                                                     .sent_at_ms = d.sent_at_ms(),
                                                     .room_id = d.room_id(),
                                                     .room_seq = d.room_seq()}),
                                {d.exclude().begin(), d.exclude().end()},
                                {server::from_wire(d.msg_class(), d.type()), d.sender()});
            return;
        }
        case codec::Code::LinkRoomSub: {
            pbc::RoomSub m;
            if (!m.ParseFromArray(body.data(), size)) return;
            on_room_sub(from, m);
            return;
        }
        case codec::Code::LinkRoomQuery: {
            pbc::RoomQuery q;
            if (!q.ParseFromArray(body.data(), size)) return;
            on_room_query(from, q);
            return;
        }
        case codec::Code::LinkRoomReply: {
            pbc::RoomReply r;
            if (!r.ParseFromArray(body.data(), size)) return;
            on_room_reply(r);
            return;
        }
        case codec::Code::LinkUserQuery: {
            pbc::UserQuery q;
            if (!q.ParseFromArray(body.data(), size)) return;
            on_user_query(from, q);
            return;
        }
        case codec::Code::LinkUserReply: {
            pbc::UserReply r;
            if (!r.ParseFromArray(body.data(), size)) return;
            answered(r.corr_id(), r);
            return;
        }
        case codec::Code::LinkRoomLikes: {
            pbc::RoomLikes m;
            if (!m.ParseFromArray(body.data(), size)) return;
            if (room_likes_)
                for (const auto& d : m.deltas()) room_likes_(d.room_id(), d.likes());
            return;
        }
        case codec::Code::LinkKick: {
            pbc::KickSession k;
            if (!k.ParseFromArray(body.data(), size)) return;
            stats_.remote_kicks_received.fetch_add(1, std::memory_order_relaxed);
            hub_.post_to_user(k.user_id(), [k](server::Session& s) {
                if (s.id() == k.session_id()) s.kick(k.reason());
            });
            return;
        }
        default:
            return;
    }
}

}  // namespace lp::router
