// router/moderation: a room's moderation as handlers/ and push/ see it (docs/rooms.md
// "Moderation"). Who may moderate a room (its anchor and moderators, set by business services;
// any admin session; the API as "system"), and what they did: timed mutes, bans and shadow bans,
// mute-all and slow mode. One implementation (RoomModerationService, room_moderation.hpp) over
// a ModerationStore with two implementations (memory, Redis); app/ picks the store, no code
// above asks which.
//
// The split that keeps event loops free: check_chat and check_enter answer from this node's
// cache of the room, never waiting; load() and act() are asynchronous (a Redis round trip in
// a cluster) and call back on any thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/session.hpp"

namespace lp::router {

enum class ModAction : std::uint8_t {
    Mute,
    Unmute,
    Ban,
    Unban,
    MuteAll,
    SlowMode,
    ShadowBan,
    Meta,  // anchor and moderators (PUT /v1/rooms/{id}/meta only)
};
inline constexpr std::size_t kModActions = 8;

inline std::string_view to_string(ModAction a) noexcept {
    constexpr std::string_view names[kModActions] = {"mute",     "unmute",    "ban",        "unban",
                                                     "mute_all", "slow_mode", "shadow_ban", "meta"};
    return names[static_cast<std::size_t>(a)];
}
// "mute" or "room.mute" (the BIZ type); nothing for other names.
inline std::optional<ModAction> mod_action_from(std::string_view name) noexcept {
    if (name.starts_with("room.")) name.remove_prefix(5);
    for (std::size_t i = 0; i < kModActions; ++i)
        if (to_string(static_cast<ModAction>(i)) == name) return static_cast<ModAction>(i);
    return std::nullopt;
}
// Actions that name a target user.
inline bool targets_user(ModAction a) noexcept {
    return a == ModAction::Mute || a == ModAction::Unmute || a == ModAction::Ban ||
           a == ModAction::Unban || a == ModAction::ShadowBan;
}

// A room's moderation state. until_ms 0 = until lifted.
struct ModState {
    std::uint64_t anchor = 0;
    std::vector<std::uint64_t> moderators;                                       // sorted
    std::vector<std::pair<std::uint64_t, std::uint64_t>> muted, banned, shadow;  // user, until_ms
    bool mute_all = false;
    std::uint32_t slow_mode_s = 0;
};

// Who acts. The API acts as "system" (any room, any target).
struct ModActor {
    std::uint64_t user = 0;
    server::Role role = server::Role::Viewer;
    bool system = false;
};

struct ModRequest {
    std::uint64_t room = 0;
    ModAction action = ModAction::Mute;
    std::uint64_t user = 0;                 // the target (targets_user)
    std::uint64_t duration_s = 0;           // Mute, Ban, ShadowBan; 0 = until lifted
    bool on = false;                        // MuteAll
    std::uint32_t interval_s = 0;           // SlowMode; 0 = off
    std::uint64_t anchor = 0;               // Meta
    std::vector<std::uint64_t> moderators;  // Meta
    ModActor by;
};

// A refusal (code != 0: a livepush.v1.ErrorCode) or a success.
struct ModVerdict {
    std::int32_t code = 0;
    std::string message;
    std::uint64_t until_ms = 0;        // ROOM_MUTED, ROOM_BANNED: 0 = until lifted
    std::uint64_t remaining_ms = 0;    // ROOM_MUTED, ROOM_BANNED with an end
    std::uint64_t retry_after_ms = 0;  // SLOW_MODE
    bool shadow = false;               // check_chat ok: only the sender may see the message
    bool staff = false;  // check_chat ok: the room's anchor, a moderator or an admin (class high)
};

class RoomModeration {
public:
    virtual ~RoomModeration() = default;
    // room.chat from `user` (after the membership check): from the cache, never waits; a room
    // not cached yet is let through (and loaded). Records the chat for slow mode when allowed.
    virtual ModVerdict check_chat(std::uint64_t room, std::uint64_t user, server::Role role) = 0;
    // room.enter: ROOM_BANNED or ok from the cache; nothing when the room is not cached here
    // (load() it, then ask again).
    virtual std::optional<ModVerdict> check_enter(std::uint64_t room, std::uint64_t user) = 0;
    // Loads the room into this node's cache; `done` runs on any thread (at once when cached).
    virtual void load(std::uint64_t room, std::function<void()> done) = 0;
    // Checks who acts, applies, tells the room (room.notice) and the audit log; `done` gets the
    // refusal or the success (until_ms set for timed actions), on any thread.
    virtual void act(ModRequest req, std::function<void(ModVerdict)> done) = 0;
    // The room's current state (expired entries left out); nothing when the store is down.
    virtual void view(std::uint64_t room, std::function<void(std::optional<ModState>)> done) = 0;
};

}  // namespace lp::router
