// push/push_service: see push_service.hpp.
#include "push/push_service.hpp"

#include <boost/asio/post.hpp>

#include <future>
#include <unordered_map>

#include "livepush.pb.h"
#include "server/event_loop.hpp"
#include "server/session.hpp"

namespace lp::push {

namespace pb = livepush::v1;
using server::Session;

PushService::PushService(server::Hub& hub, ack::QosDelivery& delivery, server::MsgIdGenerator& ids,
                         std::string node_id, std::function<std::string()> metrics)
    : hub_(hub), delivery_(delivery), ids_(ids), node_id_(std::move(node_id)), metrics_(std::move(metrics)) {}

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
                                           const server::SharedPacket& packet) {
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
        boost::asio::post(loop->io(), [loop, shared, sessions = std::move(sessions)] {
            server::FrameForms forms(*shared);
            std::uint64_t sent = 0;
            for (const auto& w : sessions) {
                auto s = w.lock();
                if (!s || s->closing()) continue;
                s->send_bytes(forms.get(s->wire()));
                ++sent;
            }
            server::inc(loop->stats().direct_deliveries, sent);
        });
    }
    return n;
}

PushOutcome PushService::push(const PushRequest& req) {
    PushOutcome out;
    if (req.qos == 1 && (req.target == Target::Room || req.target == Target::Broadcast)) {
        stats_.rejected.fetch_add(1, std::memory_order_relaxed);
        return {400, "qos 1 is for user pushes only; room and broadcast pushes are qos 0", 400};
    }
    out.msg_id = ids_.next();
    std::uint64_t now = server::wall_ms();
    if (req.qos == 1) {
        ack::StoredMessage m;
        m.msg_id = out.msg_id;
        m.type = req.type;
        m.payload = req.payload;
        m.sent_at_ms = now;
        m.expires_at_ms = delivery_.default_expiry(req.ttl_s);
        std::vector<std::uint64_t> users = req.target == Target::User
                                               ? std::vector<std::uint64_t>{req.user_id}
                                               : req.user_ids;
        auto r = delivery_.send_many(users, m);
        out.sessions = r.sessions;
        out.stored = r.stored;
    } else if (req.target == Target::Room) {
        auto pub = hub_.publish_room(
            req.room_id,
            [&](std::uint64_t seq) {
                auto push = std::make_shared<pb::Push>();
                push->set_msg_id(out.msg_id);
                push->set_type(req.type);
                push->set_room_id(req.room_id);
                push->set_room_seq(seq);
                push->set_payload(req.payload);
                push->set_sent_at_ms(now);
                return server::SharedPacket{codec::Code::Push, 0, std::move(push)};
            },
            req.exclude);
        out.room_seq = pub.seq;
        out.sessions = pub.online;
    } else {
        auto push = std::make_shared<pb::Push>();
        push->set_msg_id(out.msg_id);
        push->set_type(req.type);
        push->set_payload(req.payload);
        push->set_sent_at_ms(now);
        server::SharedPacket packet{codec::Code::Push, 0, std::move(push)};
        if (req.target == Target::Broadcast) {
            out.sessions = hub_.broadcast(std::move(packet), req.exclude);
        } else {
            std::vector<std::uint64_t> users = req.target == Target::User
                                                   ? std::vector<std::uint64_t>{req.user_id}
                                                   : req.user_ids;
            out.sessions = push_users_qos0(users, packet);
        }
    }
    stats_.accepted[req.qos == 1 ? 1 : 0][static_cast<int>(req.target)].fetch_add(1, std::memory_order_relaxed);
    return out;
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
    v.online = !v.sessions.empty();
    if (v.online) v.node = node_id_;
    return v;
}

RoomView PushService::room(std::uint64_t id) {
    auto st = hub_.room_state(id);
    return RoomView{st.online, st.seq, st.epoch};
}

std::uint64_t PushService::kick(std::uint64_t user, const std::string& reason) {
    return hub_.post_to_user(user, [reason](Session& s) { s.kick(reason); });
}

std::string PushService::metrics_text() { return metrics_ ? metrics_() : std::string(); }

bool PushService::ready(std::string& why) { return true; }

}  // namespace lp::push
