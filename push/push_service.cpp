// push/push_service: see push_service.hpp.
#include "push/push_service.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <future>
#include <string_view>
#include <unordered_map>

#include "cluster.pb.h"
#include "codec/wall_clock.hpp"
#include "livepush.pb.h"
#include "server/event_loop.hpp"
#include "server/guest_id.hpp"
#include "server/push_packet.hpp"
#include "server/session.hpp"

namespace lp::push {

namespace pb = livepush::v1;
namespace pbc = livepush::cluster;
using server::Session;

PushService::PushService(server::Hub& hub, ack::QosDelivery& delivery, server::MsgIdGenerator& ids,
                         std::string node_id, std::function<std::string()> metrics,
                         router::Routing& routing)
    : hub_(hub),
      delivery_(delivery),
      ids_(ids),
      node_id_(std::move(node_id)),
      metrics_(std::move(metrics)),
      routing_(routing) {}

namespace {
PushOutcome share_full(std::uint64_t user) {
    PushOutcome o;
    o.status = 429;
    o.code = kInboxShareFull;
    o.error = "user " + std::to_string(user) +
              "'s inbox holds delivery.inbox_max_per_sender messages from this sender already; not "
              "stored";
    return o;
}

PushOutcome unavailable(std::string what) {
    PushOutcome o;
    o.status = 503;
    o.code = 503;
    o.error = std::move(what);
    return o;
}

server::SharedPacket qos0_packet(std::uint64_t msg_id, std::string_view type,
                                 std::string_view payload, std::uint64_t now) {
    return server::push_packet(
        {.msg_id = msg_id, .type = type, .payload = payload, .sent_at_ms = now});
}

ack::StoredMessage stored_message(const router::UserMessage& m) {
    ack::StoredMessage s;
    s.msg_id = m.msg_id;
    s.type = m.type;
    s.payload = m.payload;
    s.sent_at_ms = m.sent_at_ms;
    s.expires_at_ms = m.expires_at_ms;
    s.online_only = m.online_only;
    s.outside_rooms_only = m.outside_rooms_only;
    s.sender = m.sender;
    return s;
}
}  // namespace

const char* PushService::target_name(Target t) {
    switch (t) {
        case Target::User:
            return "user";
        case Target::Users:
            return "users";
        case Target::Room:
            return "room";
        case Target::Broadcast:
            return "broadcast";
    }
    return "unknown";
}

std::uint64_t PushService::push_users_qos0(const std::vector<std::uint64_t>& users,
                                           const server::SharedPacket& packet,
                                           bool outside_rooms_only) {
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
        boost::asio::post(loop->io(),
                          [loop, shared, outside_rooms_only, sessions = std::move(sessions)] {
                              server::FrameForms forms(*shared);
                              std::uint64_t sent = 0;
                              for (const auto& w : sessions) {
                                  auto s = w.lock();
                                  if (!s || s->closing()) continue;
                                  if (outside_rooms_only && server::in_consumption_scene(*s))
                                      continue;
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
            router::UserMessage m;
            m.msg_id = msg_id;
            m.type = req.type;
            m.payload = req.payload;
            m.sent_at_ms = now;
            out.msg_id = msg_id;
            out.sessions =
                routing_.broadcast(qos0_packet(msg_id, req.type, req.payload, now), m, req.exclude);
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
        stats_.accepted[req.qos == 1 ? 1 : 0][static_cast<int>(req.target)].fetch_add(
            1, std::memory_order_relaxed);
    else if (out.status == 503)
        stats_.unavailable.fetch_add(1, std::memory_order_relaxed);
    return out;
}

PushOutcome PushService::push_room(const PushRequest& req, std::uint64_t msg_id,
                                   std::uint64_t now) {
    PushOutcome out;
    out.msg_id = msg_id;
    auto r = routing_.publish_room_wait(
        {req.room_id, msg_id, req.type, req.payload, now, req.exclude, req.cls});
    out.room_seq = r.seq;
    out.room_seq_known = r.seq_known;
    out.sessions = r.online;
    return out;
}

// Guests' share of a qos1 push goes online-only: delivered and acked like any qos1 message while
// the guest is connected, never written to an inbox (see set_guests_have_no_inbox).
PushOutcome PushService::push_users(const PushRequest& req, const std::vector<std::uint64_t>& users,
                                    std::uint64_t msg_id, std::uint64_t now) {
    if (!guests_no_inbox_ || req.qos != 1 || req.online_only ||
        std::none_of(users.begin(), users.end(), server::is_guest_id))
        return route_users(req, users, msg_id, now);
    std::vector<std::uint64_t> members, guests;
    for (auto u : users) (server::is_guest_id(u) ? guests : members).push_back(u);
    PushRequest online = req;
    online.online_only = true;
    PushOutcome to_guests = route_users(online, guests, msg_id, now);
    if (members.empty()) return to_guests;
    PushOutcome out = route_users(req, members, msg_id, now);
    if (out.status == 200 && to_guests.status == 200) out.sessions += to_guests.sessions;
    return out;
}

PushOutcome PushService::route_users(const PushRequest& req,
                                     const std::vector<std::uint64_t>& users, std::uint64_t msg_id,
                                     std::uint64_t now) {
    PushOutcome out;
    out.msg_id = msg_id;
    router::UserMessage m;
    m.msg_id = msg_id;
    m.type = req.type;
    m.payload = req.payload;
    m.sent_at_ms = now;
    m.expires_at_ms = delivery_.default_expiry(req.ttl_s);
    m.qos = req.qos;
    m.online_only = req.online_only;
    m.outside_rooms_only = req.outside_rooms_only;
    m.sender = req.sender;
    auto r = routing_.push_users(users, m, *this);
    using Status = router::Routing::UsersPushed::Status;
    if (r.status == Status::ShareFull) return share_full(users.front());
    if (r.status == Status::Unavailable) return unavailable(std::move(r.why));
    out.sessions = r.sessions;
    out.stored = r.stored;
    return out;
}

PushService::Sent PushService::send(const std::vector<std::uint64_t>& users,
                                    const router::UserMessage& m) {
    Sent sent;
    if (m.qos == 1) {
        auto r = delivery_.send_many(users, stored_message(m));
        sent.sessions = r.sessions;
        sent.stored = r.stored;
        sent.share_full = r.share_full != 0;
        sent.unavailable = r.unavailable != 0;
    } else {
        sent.sessions = push_users_qos0(
            users, qos0_packet(m.msg_id, m.type, m.payload, m.sent_at_ms), m.outside_rooms_only);
    }
    return sent;
}

void PushService::deliver_stored(const std::vector<std::uint64_t>& users,
                                 const router::UserMessage& m) {
    delivery_.deliver_stored(users, stored_message(m));
}

PushService::Stored PushService::store_checked(std::uint64_t user, const router::UserMessage& m) {
    switch (delivery_.inbox().append_checked(user, stored_message(m))) {
        case ack::AppendResult::Stored:
            return Stored::Yes;
        case ack::AppendResult::ShareFull:
            return Stored::ShareFull;
        case ack::AppendResult::Unavailable:
            break;
    }
    return Stored::Unavailable;
}

std::size_t PushService::store_many(const std::vector<std::uint64_t>& users,
                                    const router::UserMessage& m) {
    return delivery_.inbox().append_many(users, stored_message(m)).size();
}

std::vector<std::uint64_t> PushService::online(const std::vector<std::uint64_t>& users) {
    return routing_.online(users);
}

void PushService::deliver_from_link(const pbc::UserDelivery& d) {
    if (d.broadcast()) {
        hub_.broadcast(qos0_packet(d.msg_id(), d.type(), d.payload(), d.sent_at_ms()),
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
    push_users_qos0(users, qos0_packet(d.msg_id(), d.type(), d.payload(), d.sent_at_ms()),
                    d.outside_rooms_only());
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
    for (auto& r : routing_.sessions_elsewhere(id)) {
        SessionView sv;
        sv.session_id = r.session_id;
        sv.platform = std::move(r.platform);
        sv.transport = std::move(r.transport);
        sv.scene = std::move(r.scene);
        sv.rooms = std::move(r.rooms);
        sv.node = std::move(r.node);
        v.sessions.push_back(std::move(sv));
    }
    v.online = !v.sessions.empty();
    if (v.online) v.node = v.sessions.front().node;
    return v;
}

RoomView PushService::room(std::uint64_t id) {
    auto r = routing_.room_view(id);
    return RoomView{r.online, r.seq, r.epoch, std::move(r.home)};
}

std::uint64_t PushService::kick(std::uint64_t user, const std::string& reason) {
    return routing_.kick(user, reason);
}

std::string PushService::metrics_text() {
    return metrics_ ? metrics_() : std::string();
}

bool PushService::ready(std::string& why) {
    return routing_.ready(why);
}

}  // namespace lp::push
