// handlers/gateway_guests: guest viewers (auth.guests). A LOGIN with an empty token gets a
// session with a server-assigned id from the guest range (server/guest_id.hpp: 2^63 | a fresh
// msg id, unique across the cluster) and Role::Guest. Guests watch: they may enter and leave
// rooms, receive room pushes and recover missed ones, set their scene, and send the plugin BIZ
// types a plugin opened to them; everything else is NOT_ALLOWED.
//
// What a guest costs is bounded like any connection's (server.max_connections_per_ip and
// server.login_rate_per_ip come first, in on_login, before the token is even looked at) plus a
// cap of its own: at most auth.guest_max_sessions guests on this node, so anonymous viewers
// can never crowd out the users who logged in.
#include <string>

#include "handlers/gateway.hpp"
#include "server/guest_id.hpp"

namespace lp::handlers {

namespace pb = livepush::v1;
using server::Inbound;
using server::Session;

void Gateway::login_guest(Session& s, const Inbound& in, const pb::LoginReq& req) {
    std::string refusal;
    std::string platform = login_platform(req.platform(), auth::Claims{}, refusal);
    if (platform.empty()) {
        stats_.bad_platform.fetch_add(1, std::memory_order_relaxed);
        stats_.guest_refused[2].fetch_add(1, std::memory_order_relaxed);
        return refuse_login(s, in, pb::BAD_PLATFORM, std::move(refusal));
    }
    const std::uint32_t cap = live_.guest_max_sessions();
    // Taken before the check so that two loops cannot both pass at cap - 1; given back when
    // refused, and by on_closed when the session ends.
    const std::int64_t before = stats_.guest_sessions.fetch_add(1, std::memory_order_relaxed);
    if (cap != 0 && before >= static_cast<std::int64_t>(cap)) {
        stats_.guest_sessions.fetch_sub(1, std::memory_order_relaxed);
        stats_.guest_refused[1].fetch_add(1, std::memory_order_relaxed);
        return refuse_login(s, in, pb::GUEST_LIMIT,
                            "this node holds auth.guest_max_sessions = " + std::to_string(cap) +
                                " guests already; log in with a token, or retry later");
    }
    stats_.guest_logins.fetch_add(1, std::memory_order_relaxed);
    complete_login(s, in, req, server::guest_id_from_msg_id(msg_ids_.next()), server::Role::Guest,
                   std::move(platform));
}

void Gateway::set_guest_access(const std::string& type, GuestAccess guests) {
    if (guests == GuestAccess::Open)
        guest_open_.insert(type);
    else
        guest_open_.erase(type);
}

std::string Gateway::guest_refusal(const Session& s, const std::string& type) const {
    if (s.user.role != server::Role::Guest || guest_open_.count(type)) return {};
    if (type == "room.chat") return "guests may not chat (room.chat): log in with a token to chat";
    if (type == "room.like")
        return "guests may not like (room.like) on this node: log in with a token "
               "(auth.guests_may_like = true opens it to guests)";
    if (type == "im.send")
        return "guests may not send private messages (im.send): log in with a token";
    return "guests may not send " + type.substr(0, 64) +
           ": log in with a token (a plugin opens a type to guests with guest_biz_types())";
}

}  // namespace lp::handlers
