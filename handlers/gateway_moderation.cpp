// handlers/gateway_moderation: what the gateway does about rooms' moderation (docs/rooms.md
// "Moderation"): the BIZ types room.mute, room.unmute, room.ban, room.unban, room.mute_all,
// room.slow_mode and room.shadow_ban (answered later: the store may be Redis), the ban check of
// room.enter and of a resumed room, and the mute / slow-mode / shadow-ban check of room.chat.
// The rules and the state are router::RoomModeration's; this file only maps them to packets.
// Never blocks a loop: a room not in the node's moderation cache is loaded first, and the
// packet is answered from the loop once it is.
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "codec/wall_clock.hpp"
#include "handlers/biz_data.hpp"
#include "handlers/gateway.hpp"
#include "router/moderation_request.hpp"
#include "server/event_loop.hpp"

namespace lp::handlers {

namespace pb = livepush::v1;
namespace json = boost::json;
using server::Session;

namespace {

// A refusal as a BIZ_RESULT: the code, the message and, in data, the numbers a client shows
// (until_ms, remaining_ms, retry_after_ms).
BizReply verdict_reply(const router::ModVerdict& v, std::uint64_t room) {
    BizReply r;
    r.code = v.code;
    r.message = v.message;
    json::object d;
    d["room_id"] = id_str(room);
    if (v.code == 0 || v.code == pb::ROOM_MUTED || v.code == pb::ROOM_BANNED)
        d["until_ms"] = v.until_ms;
    if (v.remaining_ms) d["remaining_ms"] = v.remaining_ms;
    if (v.code == pb::SLOW_MODE) d["retry_after_ms"] = v.retry_after_ms;
    r.data_json = json::serialize(d);
    return r;
}

constexpr router::ModAction kBizActions[] = {
    router::ModAction::Mute,     router::ModAction::Unmute,  router::ModAction::Ban,
    router::ModAction::Unban,    router::ModAction::MuteAll, router::ModAction::SlowMode,
    router::ModAction::ShadowBan};

}  // namespace

void Gateway::set_moderation(router::RoomModeration& m) {
    moderation_ = &m;
    // Guests may not moderate: the types stay closed to them (NOT_ALLOWED).
    for (auto action : kBizActions) {
        register_biz_async(
            "room." + std::string(router::to_string(action)),
            [this, action](AsyncBizCall call) { moderate(action, std::move(call)); });
    }
}

void Gateway::moderate(router::ModAction action, AsyncBizCall call) {
    router::ModRequest req;
    req.action = action;
    json::object data;
    if (!call.data_json.empty()) data = json::parse(call.data_json).as_object();  // checked
    if (std::string why = router::read_mod_request(data, req); !why.empty())
        return call.done(error_reply(pb::BAD_BIZ_DATA, std::move(why)));
    req.by = {call.user_id, call.role, false};
    const std::uint64_t room = req.room;
    moderation_->act(std::move(req), [done = std::move(call.done), room](router::ModVerdict v) {
        done(verdict_reply(v, room));
    });
}

std::optional<BizReply> Gateway::moderate_enter(BizCall& c, std::uint64_t room) {
    if (!moderation_ || c.admitted) return std::nullopt;
    if (auto v = moderation_->check_enter(room, c.session.user.id))
        return v->code == 0 ? std::nullopt : std::optional<BizReply>(verdict_reply(*v, room));
    // Not cached here yet (this node's first member): load, then enter from the loop.
    BizReply r;
    r.defer = [this, &s = c.session, room, seq = c.in.header.seq, req = c.req,
               data = c.data](std::function<void(BizReply)> done) {
        admitted(s, room,
                 [this, room, seq, req, data, done](Session& s, const router::ModVerdict* banned) {
                     if (banned) {
                         BizReply refusal = verdict_reply(*banned, room);
                         finish_biz(s, seq, "room.enter", refusal, req.data(), nullptr);
                         return;
                     }
                     server::Inbound in{};
                     in.header.seq = seq;
                     BizCall call{s, in, req, data, true};
                     BizReply reply = room_enter(call);
                     if (reply.defer) return reply.defer(done);
                     // On the loop, in this task: nothing of the room reaches the session
                     // before its BIZ_RESULT and replay.
                     finish_biz(s, seq, "room.enter", reply, req.data(), nullptr);
                 });
    };
    return r;
}

void Gateway::admitted(Session& s, std::uint64_t room,
                       std::function<void(Session&, const router::ModVerdict*)> then) {
    auto verdict = [this, room](Session& s) {
        return moderation_ ? moderation_->check_enter(room, s.user.id) : router::ModVerdict{};
    };
    if (auto v = verdict(s)) return then(s, v->code ? &*v : nullptr);
    std::weak_ptr<Session> weak = s.shared_from_this();
    auto& io = s.loop().io();
    moderation_->load(room, [weak, &io, verdict, then = std::move(then)] {
        boost::asio::post(io, [weak, verdict, then] {
            auto sp = weak.lock();
            if (!sp || sp->closing()) return;
            // Still not cached (dropped meanwhile): let in, as with the store down.
            auto v = verdict(*sp);
            then(*sp, v && v->code ? &*v : nullptr);
        });
    });
}

std::optional<BizReply> Gateway::moderate_chat(BizCall& c, std::uint64_t room, bool& shadow,
                                               bool& staff) {
    if (!moderation_) return std::nullopt;
    router::ModVerdict v = moderation_->check_chat(room, c.session.user.id, c.session.user.role);
    if (v.code) return verdict_reply(v, room);
    shadow = v.shadow;
    staff = v.staff;
    return std::nullopt;
}

std::uint64_t Gateway::echo_to_sender(Session& s, std::uint64_t room, std::uint64_t msg_id,
                                      const std::string& payload, std::uint64_t sent_at_ms) {
    pb::Push push;
    push.set_msg_id(msg_id);
    push.set_type("room.chat");
    push.set_room_id(room);
    push.set_payload(payload);
    push.set_sent_at_ms(sent_at_ms);
    s.send(codec::Code::Push, 0, push);
    return 0;
}

}  // namespace lp::handlers
