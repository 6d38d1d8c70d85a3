// handlers/gateway_rooms: the gateway's room BIZ types (room.enter with recovery, room.leave,
// room.chat, which carries its sender's profile); see gateway.hpp. A room's seq, epoch, history
// and count are its home node's: router::Routing says whether this node is the home and asks
// the home when it is not. These handlers must never block the loop they run on (asking the
// home is a callback).
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include "codec/wall_clock.hpp"
#include "handlers/biz_data.hpp"
#include "handlers/gateway.hpp"
#include "server/event_loop.hpp"
#include "server/room_fanout.hpp"

namespace lp::handlers {

namespace pb = livepush::v1;
namespace json = boost::json;
using server::Session;

BizReply Gateway::room_enter(BizCall& c) {
    std::uint64_t room = 0;
    if (!read_id(c.data, "room_id", room))
        return error_reply(pb::BAD_BIZ_DATA, "room.enter needs room_id");
    if (auto gate = moderate_enter(c, room)) return std::move(*gate);  // ROOM_BANNED
    bool member = false;
    for (const auto& r : c.session.rooms) member |= r.room_id == room;
    if (!member && c.session.rooms.size() >= live_.max_rooms_per_session())
        return error_reply(pb::ROOM_LIMIT, "a session may be in at most " +
                                               std::to_string(live_.max_rooms_per_session()) +
                                               " rooms");
    std::optional<std::uint64_t> last_seq, epoch;
    std::uint64_t v = 0;
    if (c.data.contains("last_seq")) {
        if (!read_u64(c.data, "last_seq", v))
            return error_reply(pb::BAD_BIZ_DATA, "room.enter last_seq must be an unsigned integer");
        last_seq = v;
    }
    if (c.data.contains("epoch")) {
        if (!read_u64(c.data, "epoch", v))
            return error_reply(pb::BAD_BIZ_DATA, "room.enter epoch must be an unsigned integer");
        epoch = v;
    }
    BizReply r;
    if (!routing_->room_is_home(room)) {
        // The room's seq, epoch, history and count are its home node's: ask it first (which
        // subscribes this node to the room), then the room's state when this node has no copy
        // of it, then join and answer on this loop, in one task, so no live message of the room
        // reaches the session before its BIZ_RESULT and replay. `done` is not used: finish_biz
        // runs right here instead of in a later task.
        r.defer = [this, &s = c.session, room, last_seq, epoch, seq = c.in.header.seq,
                   data = c.req.data()](std::function<void(BizReply)>) {
            enter_room_via_home(
                s, room, last_seq,
                [this, room, last_seq, epoch, seq, data](Session& s, const router::HomeRoom* home) {
                    std::optional<router::HomeRoom> answered;
                    if (home) answered = *home;
                    load_room_state(s, room, [=, this](Session& s) {
                        finish_enter(s, room, last_seq, epoch, seq, data,
                                     answered ? &*answered : nullptr);
                    });
                });
        };
        return r;
    }
    if (!room_state_ready(room)) {
        // The home, without a copy of the room's state: load it first (never on this loop).
        r.defer = [this, &s = c.session, room, last_seq, epoch, seq = c.in.header.seq,
                   data = c.req.data()](std::function<void(BizReply)>) {
            load_room_state(s, room, [=, this](Session& s) {
                finish_enter(s, room, last_seq, epoch, seq, data, nullptr);
            });
        };
        return r;
    }
    json::object out;
    r.after = enter_room(c.session, room, last_seq, epoch, out);
    r.data_json = json::serialize(out);
    return r;
}

void Gateway::finish_enter(Session& s, std::uint64_t room, std::optional<std::uint64_t> last_seq,
                           std::optional<std::uint64_t> epoch, std::uint32_t seq,
                           const std::string& data, const router::HomeRoom* home) {
    json::object out;
    BizReply reply;
    bool member = false;
    for (const auto& r : s.rooms) member |= r.room_id == room;
    if (!member && s.rooms.size() >= live_.max_rooms_per_session()) {
        reply = error_reply(pb::ROOM_LIMIT, "a session may be in at most " +
                                                std::to_string(live_.max_rooms_per_session()) +
                                                " rooms");
    } else {
        reply.after = enter_room(s, room, last_seq, epoch, out, home);
        reply.data_json = json::serialize(out);
    }
    finish_biz(s, seq, "room.enter", reply, data, nullptr);
}

void Gateway::enter_room_via_home(Session& s, std::uint64_t room,
                                  std::optional<std::uint64_t> last_seq,
                                  std::function<void(Session&, const router::HomeRoom*)> then) {
    std::weak_ptr<Session> weak = s.shared_from_this();
    auto& io = s.loop().io();
    routing_->fetch_room(room, last_seq,
                         [weak, &io, then = std::move(then)](router::HomeRoom home) mutable {
                             boost::asio::post(io, [weak, home, then = std::move(then)] {
                                 // The home did not answer in time: this node's own view (recovery
                                 // may then fail).
                                 if (auto sp = weak.lock(); sp && !sp->closing())
                                     then(*sp, home.answered ? &home : nullptr);
                             });
                         });
}

std::function<void()> Gateway::enter_room(Session& s, std::uint64_t room,
                                          std::optional<std::uint64_t> last_seq,
                                          std::optional<std::uint64_t> epoch, json::object& out,
                                          const router::HomeRoom* home) {
    server::Hub::RoomState home_state{0, home ? home->seq : 0, home ? home->epoch : 0};
    auto join = hub_->join_room(s, room, last_seq, epoch, home ? &home_state : nullptr);
    // Members on other nodes: as the home answered, or (on the home) as the others reported.
    std::uint64_t elsewhere = home ? home->online_elsewhere : routing_->room_online_elsewhere(room);
    out["room_id"] = id_str(room);
    out["online"] = join.state.online + elsewhere;
    out["room_seq"] = std::to_string(join.state.seq);  // 64-bit values as decimal strings,
    out["epoch"] = std::to_string(join.state.epoch);   // as in PUSH (docs/protocol.md)
    // After the join: a change this copy lacks reaches the session after this answer.
    if (state_cache_)
        if (auto state = state_cache_->snapshot(room)) out["state"] = std::move(*state);
    // The likes total (router/room_likes), until room state carries it (issue 14 item 5).
    out["likes_total"] = home ? home->likes_total : (likes_ ? likes_->total(room) : 0);
    if (!join.recovery_asked) return {};
    out["recovered"] = join.recovered;
    out["replayed"] = join.replay.size();
    stats_.recovery[join.recovered ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
    if (join.replay.empty()) return {};
    stats_.recovered_messages.fetch_add(join.replay.size(), std::memory_order_relaxed);
    return [&s, replay = std::move(join.replay)] { server::replay_to(s, replay); };
}

BizReply Gateway::room_leave(BizCall& c) {
    std::uint64_t room = 0;
    if (!read_id(c.data, "room_id", room))
        return error_reply(pb::BAD_BIZ_DATA, "room.leave needs room_id");
    if (!hub_->leave_room(c.session, room))
        return error_reply(pb::NOT_IN_ROOM, "not in room " + id_str(room));
    json::object out;
    out["room_id"] = id_str(room);
    out["online"] = hub_->room_state(room).online;
    BizReply r;
    r.data_json = json::serialize(out);
    return r;
}

BizReply Gateway::room_chat(BizCall& c) {
    std::uint64_t room = 0;
    if (!read_id(c.data, "room_id", room))
        return error_reply(pb::BAD_BIZ_DATA, "room.chat needs room_id");
    const json::value* text = c.data.if_contains("text");
    if (!text || !text->is_string() || text->get_string().empty())
        return error_reply(pb::BAD_BIZ_DATA, "room.chat needs a non-empty text");
    if (text->get_string().size() > opts_.max_chat_bytes)
        return error_reply(pb::BAD_BIZ_DATA, "room.chat text is longer than " +
                                                 std::to_string(opts_.max_chat_bytes) + " bytes");
    bool member = false;
    for (const auto& r : c.session.rooms) member |= r.room_id == room;
    if (!member) return error_reply(pb::NOT_IN_ROOM, "room.chat: not in room " + id_str(room));
    bool shadow = false;  // moderation: a shadow-banned sender alone sees the message
    bool staff = false;   // the room's anchor, a moderator or an admin
    if (auto refusal = moderate_chat(c, room, shadow, staff)) return std::move(*refusal);
    // Staff chat is high (never shed by a viewer budget) and not counted in the room's chat
    // rate; audience chat over room.chat_rate_per_s on this node is refused, never dropped.
    staff |= c.session.user.role == server::Role::Admin;
    if (!staff) {
        if (auto wait = room_chat_rate_.take_or_wait(room, codec::wall_ms())) {
            stats_.room_chat_rate_limited.fetch_add(1, std::memory_order_relaxed);
            BizReply r = error_reply(pb::ROOM_RATE_LIMITED,
                                     "room " + id_str(room) + " is over room.chat_rate_per_s = " +
                                         std::to_string(live_.room_chat_rate_per_s()) +
                                         " chats per second on this node; retry after " +
                                         std::to_string(wait) + " ms");
            r.data_json = "{\"retry_after_ms\":" + std::to_string(wait) + "}";
            return r;
        }
    }

    // Plugins judge it first (room hooks, SDK 5): answered later, off the loop.
    if (chat_filter_ && chat_filter_->active())
        return filter_then_publish(c, room, std::string(text->get_string()), shadow, staff);
    return publish_chat(c.session, room, text->get_string(), shadow, staff);
}

BizReply Gateway::publish_chat(Session& s, std::uint64_t room, std::string_view text, bool shadow,
                               bool staff) {
    json::object payload;
    payload["from"] = id_str(s.user.id);
    payload["text"] = text;
    std::string payload_json = json::serialize(payload);
    // The sender's profile, checked and encoded once at login, goes in as the bytes it is; the
    // payload is then shared by every receiver (and node) as it always was.
    if (const auto& profile = s.user.profile) {
        payload_json.pop_back();  // the object's closing '}'
        payload_json.append(",\"profile\":").append(*profile).push_back('}');
    }
    std::uint64_t msg_id = msg_ids_.next();
    std::uint64_t sent = codec::wall_ms();
    // Through the room's home: the seq is known here only when this node is the home.
    const auto cls = staff ? server::MsgClass::High : server::MsgClass::Normal;
    std::uint64_t seq =
        shadow
            ? echo_to_sender(s, room, msg_id, payload_json, sent)
            : routing_->publish_room(
                  {room, msg_id, "room.chat", std::move(payload_json), sent, {}, cls, s.user.id});
    stats_.room_chat.fetch_add(1, std::memory_order_relaxed);
    json::object out;
    out["room_id"] = id_str(room);
    if (seq)
        out["room_seq"] = std::to_string(seq);  // unknown here when another node is the room's home
    BizReply r;
    r.msg_id = msg_id;
    r.data_json = json::serialize(out);
    return r;
}

}  // namespace lp::handlers
