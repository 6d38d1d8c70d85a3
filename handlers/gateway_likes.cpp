// handlers/gateway_likes: `room.like {room_id, count}` (docs/rooms.md "Likes"). The handler only
// checks and counts: the likes go to router::LikeCounter (router/room_likes), which sums them per
// room and sends the room one `room.likes {total, delta}` per room.likes_interval_ms. So a like
// costs the node one map add on the session's loop, never a message to anyone.
//
// Bounds, each refused with its own code so a client knows what to fix:
// - count 1..room.like_max_count per request (LIKE_COUNT_OUT_OF_RANGE): a client that taps fast
//   sends one request with the taps it gathered, not a request per tap;
// - room.like_rate_per_s requests per session per second, a token bucket with a burst of the
//   same size (LIKE_RATE_LIMITED with retry_after_ms, the wait until the next token): so one
//   client cannot make the node work harder than the client itself does (server.biz_rate_per_s
//   bounds every BIZ type on top);
// - the session must be in the room (NOT_IN_ROOM);
// - guests only with auth.guests_may_like (NOT_ALLOWED before this handler, gateway_guests.cpp).
// Must never block the loop or take a lock shared by the loops.
#include <algorithm>
#include <boost/json.hpp>
#include <cmath>

#include "codec/wall_clock.hpp"
#include "handlers/biz_data.hpp"
#include "handlers/gateway.hpp"
#include "server/event_loop.hpp"

namespace lp::handlers {

namespace pb = livepush::v1;
namespace json = boost::json;
using Refusal = router::LikeCounter::Refusal;

namespace {

// A per-session token bucket of `rate` per second, burst `rate`. 0 when a token was taken,
// else the milliseconds until the next one.
std::uint64_t take_like_token(server::SessionUser& u, std::uint32_t rate) {
    if (rate == 0) return 0;
    const auto now = static_cast<std::uint32_t>(codec::wall_ms());
    const float r = static_cast<float>(rate);
    if (u.like_tokens < 0) {
        u.like_tokens = r;
    } else {
        const std::uint32_t elapsed = now - u.like_refill_ms;  // wraps correctly
        u.like_tokens = std::min(r, u.like_tokens + r * static_cast<float>(elapsed) / 1000.0f);
    }
    u.like_refill_ms = now;
    if (u.like_tokens >= 1.0f) {
        u.like_tokens -= 1.0f;
        return 0;
    }
    return std::max<std::uint64_t>(
        1, static_cast<std::uint64_t>(std::ceil((1.0f - u.like_tokens) * 1000.0f / r)));
}

}  // namespace

BizReply Gateway::room_like(BizCall& c) {
    if (!likes_) return error_reply(pb::UNAVAILABLE, "room.like: likes are not counted here");
    std::uint64_t room = 0;
    if (!read_id(c.data, "room_id", room))
        return error_reply(pb::BAD_BIZ_DATA, "room.like needs room_id");
    std::uint64_t count = 1;
    const std::uint64_t max = live_.like_max_count();
    if (c.data.contains("count") &&
        (!read_u64(c.data, "count", count) || count < 1 || count > max)) {
        likes_->refused(Refusal::Count);
        return error_reply(pb::LIKE_COUNT_OUT_OF_RANGE,
                           "room.like count must be an integer 1.." + std::to_string(max) +
                               " (room.like_max_count): send the likes gathered since the last "
                               "request in one room.like");
    }
    bool member = false;
    for (const auto& r : c.session.rooms) member |= r.room_id == room;
    if (!member) {
        likes_->refused(Refusal::NotInRoom);
        return error_reply(pb::NOT_IN_ROOM, "room.like: not in room " + id_str(room));
    }
    if (const std::uint64_t wait = take_like_token(c.session.user, live_.like_rate_per_s())) {
        likes_->refused(Refusal::Rate);
        BizReply r = error_reply(
            pb::LIKE_RATE_LIMITED,
            "more than room.like_rate_per_s = " + std::to_string(live_.like_rate_per_s()) +
                " room.like per second on this session; gather likes and "
                "send them as one count, retry after retry_after_ms");
        json::object out;
        out["retry_after_ms"] = wait;
        r.data_json = json::serialize(out);
        return r;
    }
    likes_->add(c.session.loop().index(), room, count);
    json::object out;
    out["room_id"] = id_str(room);
    out["count"] = count;
    BizReply r;
    r.data_json = json::serialize(out);
    return r;
}

}  // namespace lp::handlers
