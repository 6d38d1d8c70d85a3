// push/push_service: see push_service.hpp.
#include "push/push_service.hpp"

#include <boost/asio/post.hpp>

#include <future>
#include <map>
#include <set>
#include <unordered_map>

#include "cluster.pb.h"
#include "codec/wall_clock.hpp"
#include "livepush.pb.h"
#include "server/event_loop.hpp"
#include "server/push_packet.hpp"
#include "server/session.hpp"

namespace lp::push {

namespace pb = livepush::v1;
namespace pbc = livepush::cluster;
using server::Session;

PushService::PushService(server::Hub& hub, ack::QosDelivery& delivery, server::MsgIdGenerator& ids,
                         std::string node_id, std::function<std::string()> metrics,
                         router::Cluster* cluster)
    : hub_(hub),
      delivery_(delivery),
      ids_(ids),
      node_id_(std::move(node_id)),
      metrics_(std::move(metrics)),
      cluster_(cluster) {}

namespace {
PushOutcome share_full(std::uint64_t user) {
    PushOutcome o;
    o.status = 429;
    o.code = kInboxShareFull;
    o.error = "user " + std::to_string(user) +
              "'s inbox holds delivery.inbox_max_per_sender messages from this sender already; not stored";
    return o;
}

PushOutcome unavailable(std::string what) {
    PushOutcome o;
    o.status = 503;
    o.code = 503;
    o.error = std::move(what);
    return o;
}

server::SharedPacket qos0_packet(std::uint64_t msg_id, const std::string& type, const std::string& payload,
                                 std::uint64_t now) {
    return server::push_packet(
        {.msg_id = msg_id, .type = type, .payload = payload, .sent_at_ms = now});
}
}  // namespace

const char* PushService::target_name(Target t) {
    switch (t) {
        case Target::User: return "user";
        case Target::Users: return "users";
        case Target::Room: return "room";
        case Target::Broadcast: return "broadcast";
    }
    return "unknown";
}

std::uint64_t PushService::push_users_qos0(const std::vector<std::uint64_t>& users,
                                           const server::SharedPacket& packet, bool outside_rooms_only) {
    auto shared = std::make_shared<const server::SharedPacket>(packet);
    std::unordered_map<unsigned, std::vector<std::weak_ptr<Session>>> by_loop;
    std::uint64_t n = 0;
    for (std::uint64_t u : users) {
        for (auto& us : hub_.user_sessions(u)) {
            by_loop[us.loop].push_back(us.session);
            ++n;
        }
    }
    for (auto& [index, sessions] : by_loop) {
        server::EventLoop* loop = hub_.loops()[index];
        boost::asio::post(loop->io(), [loop, shared, outside_rooms_only, sessions = std::move(sessions)] {
            server::FrameForms forms(*shared);
            std::uint64_t sent = 0;
            for (const auto& w : sessions) {
                auto s = w.lock();
                if (!s || s->closing()) continue;
                if (outside_rooms_only && server::in_consumption_scene(*s)) continue;
                s->send_bytes(forms.get(s->wire()));
                ++sent;
            }
            server::inc(loop->stats().direct_deliveries, sent);
        });
    }
    return n;
}

PushOutcome PushService::push(const PushRequest& req) {
    if (req.qos == 1 && (req.target == Target::Room || req.target == Target::Broadcast)) {
        stats_.rejected.fetch_add(1, std::memory_order_relaxed);
        return {400, "qos 1 is for user pushes only; room and broadcast pushes are qos 0", 400};
    }
    std::uint64_t msg_id = req.msg_id ? req.msg_id : ids_.next();
    std::uint64_t now = codec::wall_ms();
    PushOutcome out;
    switch (req.target) {
        case Target::Room:
            out = push_room(req, msg_id, now);
            break;
        case Target::Broadcast: {
            auto packet = qos0_packet(msg_id, req.type, req.payload, now);
            out.msg_id = msg_id;
            out.sessions = broadcast_local(packet, req.exclude);
            if (cluster_) {
                pbc::UserDelivery d;
                d.set_broadcast(true);
                d.set_msg_id(msg_id);
                d.set_type(req.type);
                d.set_payload(req.payload);
                d.set_sent_at_ms(now);
                for (auto u : req.exclude) d.add_exclude(u);
                for (const auto& n : cluster_->nodes())
                    if (n.id != cluster_->node_id()) cluster_->send_users(n.id, d);
            }
            break;
        }
        case Target::User:
            out = push_users(req, {req.user_id}, msg_id, now);
            break;
        case Target::Users:
            out = push_users(req, req.user_ids, msg_id, now);
            break;
    }
    if (out.status == 200)
        stats_.accepted[req.qos == 1 ? 1 : 0][static_cast<int>(req.target)].fetch_add(1, std::memory_order_relaxed);
    else if (out.status == 503)
        stats_.unavailable.fetch_add(1, std::memory_order_relaxed);
    return out;
}

std::uint64_t PushService::broadcast_local(const server::SharedPacket& packet, std::vector<std::uint64_t> exclude) {
    return hub_.broadcast(packet, std::move(exclude));
}

PushOutcome PushService::push_room(const PushRequest& req, std::uint64_t msg_id, std::uint64_t now) {
    PushOutcome out;
    out.msg_id = msg_id;
    if (cluster_) {
        // Elsewhere than the room's home, waits (this API thread only) for the seq it assigned.
        auto r = cluster_->publish_room_wait({req.room_id, msg_id, req.type, req.payload, now, req.exclude});
        out.room_seq = r.seq;
        out.room_seq_known = r.seq_known;
        if (r.seq_known) {
            out.sessions = r.online;
        } else {
            auto online = cluster_->room_online(req.room_id);
            out.sessions = online ? *online : hub_.room_state(req.room_id).online;
        }
        return out;
    }
    auto pub = hub_.publish_room(
        req.room_id,
        [&](std::uint64_t seq) {
            return server::push_packet({.msg_id = msg_id,
                                        .type = req.type,
                                        .payload = req.payload,
                                        .sent_at_ms = now,
                                        .room_id = req.room_id,
                                        .room_seq = seq});
        },
        req.exclude);
    out.room_seq = pub.seq;
    out.sessions = pub.online;
    return out;
}

PushOutcome PushService::push_users(const PushRequest& req, const std::vector<std::uint64_t>& users,
                                    std::uint64_t msg_id, std::uint64_t now) {
    PushOutcome out;
    out.msg_id = msg_id;
    ack::StoredMessage m;
    m.msg_id = msg_id;
    m.type = req.type;
    m.payload = req.payload;
    m.sent_at_ms = now;
    m.expires_at_ms = delivery_.default_expiry(req.ttl_s);
    m.online_only = req.online_only;
    m.outside_rooms_only = req.outside_rooms_only;
    m.sender = req.sender;
    if (!cluster_) {
        if (req.qos == 1) {
            auto r = delivery_.send_many(users, m);
            if (r.sessions == 0 && r.share_full) return share_full(users.front());
            if (r.sessions == 0 && r.unavailable) return unavailable("the inbox is unavailable: not stored");
            out.sessions = r.sessions;
            out.stored = req.online_only ? 0 : r.stored;
        } else {
            out.sessions = push_users_qos0(users, qos0_packet(msg_id, req.type, req.payload, now), req.outside_rooms_only);
        }
        return out;
    }
    // Cluster: a qos1 message is durable before we say accepted, then routed (online-only
    // messages are never stored: they go to whoever is online now).
    const bool durable = req.qos == 1 && !req.online_only;
    if (durable && req.sender != 0 && users.size() == 1) {
        // im.send: checked against the sender's share of the inbox.
        switch (delivery_.inbox().append_checked(users.front(), m)) {
            case ack::AppendResult::Stored:
                break;
            case ack::AppendResult::ShareFull:
                return share_full(users.front());
            case ack::AppendResult::Unavailable:
                // Not stored: still delivered if the user is on this node (the answer then says
                // reached, not stored), else refused.
                if (!hub_.user_sessions(users.front()).empty()) {
                    ack::StoredMessage local = m;
                    auto r = delivery_.send_many(users, local);
                    if (r.sessions > 0) {
                        out.sessions = r.sessions;
                        return out;
                    }
                }
                return unavailable("the durable inbox (Redis) is unavailable: not stored, nothing sent");
        }
    } else if (durable) {
        // One pipelined round trip for all the users, not one each.
        const auto failed = delivery_.inbox().append_many(users, m);
        if (!failed.empty()) {
            return unavailable(
                "the durable inbox (Redis) is unavailable: not stored for " + std::to_string(failed.size()) + " of " +
                std::to_string(users.size()) + " users, nothing sent; a retry may reach the others twice");
        }
    }
    auto routes = cluster_->route_users(users);
    if (!routes) {
        if (req.qos == 1) return unavailable("Redis is unavailable: cannot route the push");
        // qos0 without Redis: the users on this node can still be reached; others cannot.
        std::vector<std::uint64_t> local;
        for (auto u : users)
            if (!hub_.user_sessions(u).empty()) local.push_back(u);
        if (local.size() != users.size())
            return unavailable("Redis is unavailable: users on other nodes cannot be found");
        out.sessions = push_users_qos0(local, qos0_packet(msg_id, req.type, req.payload, now));
        return out;
    }
    out.sessions = routes->sessions;
    std::uint64_t routed_users = 0;
    for (auto& [node, node_users] : routes->by_node) {
        routed_users += node_users.size();
        if (node == cluster_->node_id()) {
            if (durable)
                delivery_.deliver_stored(node_users, m);
            else if (req.qos == 1)
                delivery_.send_many(node_users, m);
            else
                push_users_qos0(node_users, qos0_packet(msg_id, req.type, req.payload, now), req.outside_rooms_only);
            continue;
        }
        pbc::UserDelivery d;
        for (auto u : node_users) d.add_user_ids(u);
        d.set_qos(static_cast<std::uint32_t>(req.qos));
        d.set_msg_id(msg_id);
        d.set_type(req.type);
        d.set_payload(req.payload);
        d.set_sent_at_ms(now);
        d.set_expires_at_ms(m.expires_at_ms);
        d.set_stored(durable);
        d.set_online_only(req.online_only);
        d.set_outside_rooms_only(req.outside_rooms_only);
        cluster_->send_users(node, d);
    }
    if (durable) out.stored = users.size() > routed_users ? users.size() - routed_users : 0;
    return out;
}

std::vector<std::uint64_t> PushService::online(const std::vector<std::uint64_t>& users) {
    std::vector<std::uint64_t> out;
    if (cluster_) {
        if (auto routes = cluster_->route_users(users)) {
            std::set<std::uint64_t> seen;
            for (const auto& [node, node_users] : routes->by_node) seen.insert(node_users.begin(), node_users.end());
            for (auto u : users)
                if (seen.count(u)) out.push_back(u);
            return out;
        }
    }
    for (auto u : users)
        if (!hub_.user_sessions(u).empty()) out.push_back(u);
    return out;
}

void PushService::deliver_from_link(const pbc::UserDelivery& d) {
    if (d.broadcast()) {
        broadcast_local(qos0_packet(d.msg_id(), d.type(), d.payload(), d.sent_at_ms()),
                        {d.exclude().begin(), d.exclude().end()});
        return;
    }
    std::vector<std::uint64_t> users(d.user_ids().begin(), d.user_ids().end());
    if (d.qos() == 1) {
        ack::StoredMessage m;
        m.msg_id = d.msg_id();
        m.type = d.type();
        m.payload = d.payload();
        m.sent_at_ms = d.sent_at_ms();
        m.expires_at_ms = d.expires_at_ms();
        m.online_only = d.online_only();
        m.outside_rooms_only = d.outside_rooms_only();
        if (d.stored())
            delivery_.deliver_stored(users, m);
        else
            delivery_.send_many(users, m);
        return;
    }
    push_users_qos0(users, qos0_packet(d.msg_id(), d.type(), d.payload(), d.sent_at_ms()), d.outside_rooms_only());
}

UserView PushService::user(std::uint64_t id) {
    UserView v;
    auto sessions = hub_.user_sessions(id);
    v.inbox = delivery_.inbox().size(id);
    for (auto& us : sessions) {
        // A session's rooms and scene belong to its loop: ask it, with a bound on the wait.
        auto promise = std::make_shared<std::promise<SessionView>>();
        auto future = promise->get_future();
        boost::asio::post(hub_.loops()[us.loop]->io(), [promise, w = us.session, node = node_id_] {
            SessionView sv;
            if (auto s = w.lock(); s && !s->closing()) {
                sv.session_id = s->id();
                sv.platform = s->user.platform;
                sv.transport = s->transport() == server::TransportKind::Tcp ? "tcp" : "ws";
                if (s->tls()) sv.transport += "+tls";
                sv.scene = s->user.scene;
                for (const auto& r : s->rooms) sv.rooms.push_back(r.room_id);
                sv.node = node;
            }
            promise->set_value(std::move(sv));
        });
        if (future.wait_for(std::chrono::seconds(1)) != std::future_status::ready) continue;
        SessionView sv = future.get();
        if (sv.session_id) v.sessions.push_back(std::move(sv));
    }
    if (cluster_) {
        // Sessions on other nodes: what the route says (their rooms live on their node).
        // Sessions on other nodes: the route says where; that node says the rest (transport,
        // scene, rooms), asked over the link. A node that does not answer in time: the route's
        // fields only.
        if (auto routes = cluster_->routes_of(id)) {
            std::map<std::string, std::optional<std::vector<router::Cluster::RemoteSession>>> asked;
            for (const auto& r : *routes) {
                if (r.node == node_id_) continue;
                auto [it, fresh] = asked.try_emplace(r.node);
                if (fresh) it->second = cluster_->sessions_on(r.node, id);
                SessionView sv;
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
                v.sessions.push_back(std::move(sv));
            }
        }
    }
    v.online = !v.sessions.empty();
    if (v.online) v.node = v.sessions.front().node;
    return v;
}

RoomView PushService::room(std::uint64_t id) {
    auto st = hub_.room_state(id);
    RoomView v{st.online, st.seq, st.epoch, {}};
    if (cluster_) {
        // The home's seq, epoch and count, whichever node is asked; if the home does not
        // answer in time, this node's own view with Redis's count.
        auto h = cluster_->room_at_home(id);
        v = RoomView{h.online, h.seq, h.epoch, {}};
        if (!h.answered)
            if (auto online = cluster_->room_online(id)) v.online = *online;
        v.home = cluster_->home_of(id);
    }
    return v;
}

std::uint64_t PushService::kick(std::uint64_t user, const std::string& reason) {
    std::uint64_t n = hub_.post_to_user(user, [reason](Session& s) { s.kick(reason); });
    if (cluster_) {
        if (auto routes = cluster_->routes_of(user)) {
            for (const auto& r : *routes) {
                if (r.node == node_id_) continue;
                cluster_->kick_remote(r, user, reason);
                ++n;
            }
        }
    }
    return n;
}

std::string PushService::metrics_text() { return metrics_ ? metrics_() : std::string(); }

bool PushService::ready(std::string& why) {
    if (cluster_ && !cluster_->redis_up()) {
        why = "Redis is unavailable: serving local sessions only; qos1 and cross-node pushes answer 503";
        return false;
    }
    return true;
}

}  // namespace lp::push
