// router/cluster_routing: see cluster_routing.hpp.
#include "router/cluster_routing.hpp"

#include <map>
#include <set>

#include "cluster.pb.h"
#include "router/cluster.hpp"
#include "server/hub.hpp"

namespace lp::router {

namespace pbc = livepush::cluster;

namespace {
Routing::UsersPushed unavailable(std::string why) {
    Routing::UsersPushed o;
    o.status = Routing::UsersPushed::Status::Unavailable;
    o.why = std::move(why);
    return o;
}
}  // namespace

void ClusterRouting::on_login(server::Session& s) {
    cluster_.on_login(s);
}
void ClusterRouting::on_logout(server::Session& s) {
    cluster_.on_logout(s);
}

bool ClusterRouting::room_is_home(std::uint64_t room) const {
    return cluster_.room_is_home(room);
}

std::uint64_t ClusterRouting::room_online_elsewhere(std::uint64_t room) const {
    return cluster_.room_online_elsewhere(room);
}

void ClusterRouting::fetch_room(std::uint64_t room, std::optional<std::uint64_t> after_seq,
                                std::function<void(HomeRoom)> done) {
    cluster_.fetch_room(room, after_seq, std::move(done));
}

std::uint64_t ClusterRouting::publish_room(RoomMessage m) {
    return cluster_.publish_room(m).seq;
}

ClusterRouting::RoomPublished ClusterRouting::publish_room_wait(RoomMessage m) {
    // Elsewhere than the room's home, waits (this API thread only) for the seq it assigned.
    auto r = cluster_.publish_room_wait(m);
    RoomPublished out{r.seq_known, r.seq, r.online};
    if (!r.seq_known) {
        auto online = cluster_.room_online(m.room);
        out.online = online ? *online : hub_.room_state(m.room).online;
    }
    return out;
}

ClusterRouting::RoomView ClusterRouting::room_view(std::uint64_t room) {
    // The home's seq, epoch and count, whichever node is asked; if the home does not answer in
    // time, this node's own view with Redis's count.
    auto h = cluster_.room_at_home(room);
    RoomView v{h.online, h.seq, h.epoch, {}};
    if (!h.answered)
        if (auto online = cluster_.room_online(room)) v.online = *online;
    v.home = cluster_.home_of(room);
    return v;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> ClusterRouting::home_rooms_online() {
    return cluster_.home_rooms_online();
}

void ClusterRouting::publish_room_unsequenced(const RoomMessage& m) {
    cluster_.publish_unsequenced(m);
}

void ClusterRouting::forward_room_likes(
    const std::vector<std::pair<std::uint64_t, std::uint64_t>>& likes) {
    cluster_.send_room_likes(likes);
}

ClusterRouting::UsersPushed ClusterRouting::push_users(const std::vector<std::uint64_t>& users,
                                                       const UserMessage& m, LocalDelivery& here) {
    UsersPushed out;
    // A qos1 message is durable before we say accepted, then routed (online-only messages are
    // never stored: they go to whoever is online now).
    const bool durable = m.qos == 1 && !m.online_only;
    if (durable && m.sender != 0 && users.size() == 1) {
        // im.send: checked against the sender's share of the inbox.
        switch (here.store_checked(users.front(), m)) {
            case LocalDelivery::Stored::Yes:
                break;
            case LocalDelivery::Stored::ShareFull:
                out.status = UsersPushed::Status::ShareFull;
                return out;
            case LocalDelivery::Stored::Unavailable:
                // Not stored: still delivered if the user is on this node (the answer then says
                // reached, not stored), else refused.
                if (!hub_.user_sessions(users.front()).empty()) {
                    auto r = here.send(users, m);
                    if (r.sessions > 0) {
                        out.sessions = r.sessions;
                        return out;
                    }
                }
                return unavailable(
                    "the durable inbox (Redis) is unavailable: not stored, nothing sent");
        }
    } else if (durable) {
        // One pipelined round trip for all the users, not one each.
        const auto failed = here.store_many(users, m);
        if (failed != 0) {
            return unavailable("the durable inbox (Redis) is unavailable: not stored for " +
                               std::to_string(failed) + " of " + std::to_string(users.size()) +
                               " users, nothing sent; a retry may reach the others twice");
        }
    }
    auto routes = cluster_.route_users(users);
    if (!routes) {
        if (m.qos == 1) return unavailable("Redis is unavailable: cannot route the push");
        // qos0 without Redis: the users on this node can still be reached; others cannot.
        std::vector<std::uint64_t> local;
        for (auto u : users)
            if (!hub_.user_sessions(u).empty()) local.push_back(u);
        if (local.size() != users.size())
            return unavailable("Redis is unavailable: users on other nodes cannot be found");
        UserMessage to_all = m;  // as before: this fallback does not filter by scene
        to_all.outside_rooms_only = false;
        out.sessions = here.send(local, to_all).sessions;
        return out;
    }
    out.sessions = routes->sessions;
    std::uint64_t routed_users = 0;
    for (auto& [node, node_users] : routes->by_node) {
        routed_users += node_users.size();
        if (node == cluster_.node_id()) {
            if (durable)
                here.deliver_stored(node_users, m);
            else
                here.send(node_users, m);
            continue;
        }
        pbc::UserDelivery d;
        for (auto u : node_users) d.add_user_ids(u);
        d.set_qos(static_cast<std::uint32_t>(m.qos));
        d.set_msg_id(m.msg_id);
        d.set_type(m.type.data(), m.type.size());
        d.set_payload(m.payload.data(), m.payload.size());
        d.set_sent_at_ms(m.sent_at_ms);
        d.set_expires_at_ms(m.expires_at_ms);
        d.set_stored(durable);
        d.set_online_only(m.online_only);
        d.set_outside_rooms_only(m.outside_rooms_only);
        cluster_.send_users(node, d);
    }
    if (durable) out.stored = users.size() > routed_users ? users.size() - routed_users : 0;
    return out;
}

std::uint64_t ClusterRouting::broadcast(const server::SharedPacket& packet, const UserMessage& m,
                                        const std::vector<std::uint64_t>& exclude) {
    const std::uint64_t sessions = here_.broadcast(packet, m, exclude);
    pbc::UserDelivery d;
    d.set_broadcast(true);
    d.set_msg_id(m.msg_id);
    d.set_type(m.type.data(), m.type.size());
    d.set_payload(m.payload.data(), m.payload.size());
    d.set_sent_at_ms(m.sent_at_ms);
    for (auto u : exclude) d.add_exclude(u);
    for (const auto& n : cluster_.nodes())
        if (n.id != cluster_.node_id()) cluster_.send_users(n.id, d);
    return sessions;
}

std::uint64_t ClusterRouting::kick(std::uint64_t user, const std::string& reason) {
    std::uint64_t n = here_.kick(user, reason);
    if (auto routes = cluster_.routes_of(user)) {
        for (const auto& r : *routes) {
            if (r.node == cluster_.node_id()) continue;
            cluster_.kick_remote(r, user, reason);
            ++n;
        }
    }
    return n;
}

std::vector<std::uint64_t> ClusterRouting::online(const std::vector<std::uint64_t>& users) {
    // As Redis says; if Redis is down, as this node knows.
    auto routes = cluster_.route_users(users);
    if (!routes) return here_.online(users);
    std::vector<std::uint64_t> out;
    std::set<std::uint64_t> seen;
    for (const auto& [node, node_users] : routes->by_node)
        seen.insert(node_users.begin(), node_users.end());
    for (auto u : users)
        if (seen.count(u)) out.push_back(u);
    return out;
}

std::vector<ClusterRouting::RemoteSession> ClusterRouting::sessions_elsewhere(std::uint64_t user) {
    // The route says where; that node says the rest (transport, scene, rooms), asked over the
    // link. A node that does not answer in time: the route's fields only.
    std::vector<RemoteSession> out;
    auto routes = cluster_.routes_of(user);
    if (!routes) return out;
    std::map<std::string, std::optional<std::vector<Cluster::RemoteSession>>> asked;
    for (const auto& r : *routes) {
        if (r.node == cluster_.node_id()) continue;
        auto [it, fresh] = asked.try_emplace(r.node);
        if (fresh) it->second = cluster_.sessions_on(r.node, user);
        RemoteSession sv;
        sv.session_id = r.session_id;
        sv.platform = r.platform;
        sv.node = r.node;
        if (it->second)
            for (const auto& rs : *it->second)
                if (rs.session_id == r.session_id) {
                    sv.transport = rs.transport;
                    sv.scene = rs.scene;
                    sv.rooms = rs.rooms;
                }
        out.push_back(std::move(sv));
    }
    return out;
}

bool ClusterRouting::ready(std::string& why) const {
    if (cluster_.redis_up()) return true;
    why =
        "Redis is unavailable: serving local sessions only; qos1 and cross-node pushes answer 503";
    return false;
}

}  // namespace lp::router
