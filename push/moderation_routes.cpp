// push/moderation_routes: see moderation_routes.hpp.
#include "push/moderation_routes.hpp"

#include <boost/json.hpp>
#include <future>
#include <memory>

#include "livepush.pb.h"
#include "push/http_api.hpp"
#include "push/request_parse.hpp"
#include "router/moderation_request.hpp"

namespace lp::push {
namespace {

namespace json = boost::json;
namespace pb = livepush::v1;
constexpr std::string_view kRooms = "/v1/rooms/";

HttpReply reply(int status, const json::object& o) {
    return {status, json::serialize(o)};
}

HttpReply error(int status, std::string_view message, int code) {
    json::object o;
    o["error"] = message;
    o["code"] = code;
    return reply(status, o);
}

// The {id} of /v1/rooms/{id}/...: nothing when malformed.
std::optional<std::uint64_t> room_of(const std::string& path) {
    std::string_view rest = std::string_view(path).substr(kRooms.size());
    return parse_path_id(rest.substr(0, rest.find('/')));
}

// Waits up to `timeout` for what `start(done)` hands to done (from any thread).
template <class T, class Start>
std::optional<T> wait_for(std::chrono::milliseconds timeout, Start start) {
    auto promise = std::make_shared<std::promise<T>>();
    auto future = promise->get_future();
    start([promise](T v) { promise->set_value(std::move(v)); });
    if (future.wait_for(timeout) != std::future_status::ready) return std::nullopt;
    return future.get();
}

json::array entries(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& v) {
    json::array out;
    for (const auto& [user, until] : v) {
        json::object e;
        e["user_id"] = std::to_string(user);
        e["until_ms"] = until;
        out.push_back(std::move(e));
    }
    return out;
}

HttpReply act(router::RoomModeration& m, router::ModAction action, const HttpRequest& hr,
              std::chrono::milliseconds timeout) {
    router::ModRequest req;
    req.action = action;
    auto room = room_of(hr.path);
    if (!room)
        return error(400, "room id in the path must be a non-zero unsigned 64-bit decimal integer",
                     400);
    req.room = *room;
    json::object body;
    if (!hr.body.empty()) {
        boost::system::error_code ec;
        json::value v = json::parse(hr.body, ec);
        if (ec || !v.is_object()) return error(400, "the body must be a JSON object", 400);
        body = std::move(v.as_object());
    }
    if (std::string why = router::read_mod_request(body, req); !why.empty())
        return error(400, why, pb::BAD_BIZ_DATA);
    req.by.system = true;
    auto v = wait_for<router::ModVerdict>(
        timeout, [&](auto done) { m.act(std::move(req), std::move(done)); });
    if (!v) return error(503, "the moderation store did not answer in time", pb::UNAVAILABLE);
    if (v->code) {
        const int status = v->code == pb::ROOM_LIMIT    ? 409
                           : v->code == pb::UNAVAILABLE ? 503
                           : v->code == pb::NOT_ALLOWED ? 403
                                                        : 400;
        return error(status, v->message, v->code);
    }
    json::object o;
    o["room_id"] = std::to_string(*room);
    o["action"] = router::to_string(action);
    o["until_ms"] = v->until_ms;
    return reply(200, o);
}

HttpReply view(router::RoomModeration& m, const HttpRequest& hr,
               std::chrono::milliseconds timeout) {
    auto room = room_of(hr.path);
    if (!room)
        return error(400, "room id in the path must be a non-zero unsigned 64-bit decimal integer",
                     400);
    auto st = wait_for<std::optional<router::ModState>>(
        timeout, [&](auto done) { m.view(*room, std::move(done)); });
    if (!st || !*st) return error(503, "the moderation store is unavailable", pb::UNAVAILABLE);
    const router::ModState& s = **st;
    json::object o;
    o["room_id"] = std::to_string(*room);
    o["anchor_id"] = std::to_string(s.anchor);
    json::array mods;
    for (auto id : s.moderators) mods.emplace_back(std::to_string(id));
    o["moderators"] = std::move(mods);
    o["muted"] = entries(s.muted);
    o["banned"] = entries(s.banned);
    o["shadow_banned"] = entries(s.shadow);
    o["mute_all"] = s.mute_all;
    o["slow_mode_s"] = s.slow_mode_s;
    return reply(200, o);
}

}  // namespace

void add_moderation_routes(HttpApi& api, router::RoomModeration& moderation,
                           std::chrono::milliseconds timeout) {
    auto* m = &moderation;
    api.add_route("PUT", "/v1/rooms/{id}/meta", [m, timeout](const HttpRequest& r) {
        return act(*m, router::ModAction::Meta, r, timeout);
    });
    for (auto action : {router::ModAction::Mute, router::ModAction::Unmute, router::ModAction::Ban,
                        router::ModAction::Unban, router::ModAction::MuteAll,
                        router::ModAction::SlowMode, router::ModAction::ShadowBan}) {
        api.add_route(
            "POST", "/v1/rooms/{id}/" + std::string(router::to_string(action)),
            [m, action, timeout](const HttpRequest& r) { return act(*m, action, r, timeout); });
    }
    api.add_route("GET", "/v1/rooms/{id}/moderation",
                  [m, timeout](const HttpRequest& r) { return view(*m, r, timeout); });
}

}  // namespace lp::push
