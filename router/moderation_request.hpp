// router/moderation_request: a moderation request's JSON (the BIZ data of room.mute & co. and
// the body of POST /v1/rooms/{id}/mute & co.) read into a ModRequest, one reader for both, so
// a client and a business service get the same rules and the same messages.
// Ids as a number or a decimal string, as everywhere (design.md section 3).
#pragma once

#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <string>

#include "router/moderation.hpp"

namespace lp::router {

inline constexpr std::uint64_t kMaxModDurationS = 10ull * 365 * 24 * 3600;  // ten years
inline constexpr std::uint32_t kMaxSlowModeS = 24 * 3600;

namespace detail {
inline bool mod_u64(const boost::json::object& o, const char* key, std::uint64_t& out) {
    const auto* v = o.if_contains(key);
    if (!v) return false;
    if (v->is_uint64()) {
        out = v->get_uint64();
        return true;
    }
    if (v->is_int64() && v->get_int64() >= 0) {
        out = static_cast<std::uint64_t>(v->get_int64());
        return true;
    }
    if (v->is_string()) {
        const auto& s = v->get_string();
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        return ec == std::errc{} && p == s.data() + s.size() && !s.empty();
    }
    return false;
}
}  // namespace detail

// Fills req from `o` for req.action (req.room may already be set from a path: then a room_id
// in `o` is ignored). Returns "" or what is wrong, naming the field.
inline std::string read_mod_request(const boost::json::object& o, ModRequest& req) {
    const std::string what = "room." + std::string(to_string(req.action));
    if (req.room == 0 && (!detail::mod_u64(o, "room_id", req.room) || req.room == 0))
        return what + " needs room_id (a non-zero id)";
    if (targets_user(req.action) && (!detail::mod_u64(o, "user_id", req.user) || req.user == 0))
        return what + " needs user_id (a non-zero id)";
    if (req.action == ModAction::Mute || req.action == ModAction::Ban ||
        req.action == ModAction::ShadowBan) {
        if (o.contains("duration_s") && (!detail::mod_u64(o, "duration_s", req.duration_s) ||
                                         req.duration_s > kMaxModDurationS))
            return what + " duration_s must be 0 (until lifted) to " +
                   std::to_string(kMaxModDurationS) + " seconds";
    }
    if (req.action == ModAction::MuteAll) {
        const auto* on = o.if_contains("on");
        if (!on || !on->is_bool()) return what + " needs on (true or false)";
        req.on = on->get_bool();
    }
    if (req.action == ModAction::SlowMode) {
        std::uint64_t s = 0;
        if (!detail::mod_u64(o, "interval_s", s) || s > kMaxSlowModeS)
            return what + " needs interval_s (0 = off, up to " + std::to_string(kMaxSlowModeS) +
                   ")";
        req.interval_s = static_cast<std::uint32_t>(s);
    }
    if (req.action == ModAction::Meta) {
        if (o.contains("anchor_id") && !detail::mod_u64(o, "anchor_id", req.anchor))
            return "meta anchor_id must be a user id";
        if (const auto* m = o.if_contains("moderators")) {
            if (!m->is_array()) return "meta moderators must be an array of user ids";
            for (const auto& v : m->get_array()) {
                boost::json::object one;
                one["id"] = v;
                std::uint64_t id = 0;
                if (!detail::mod_u64(one, "id", id) || id == 0)
                    return "meta moderators must be an array of non-zero user ids";
                req.moderators.push_back(id);
            }
        }
    }
    return {};
}

}  // namespace lp::router
