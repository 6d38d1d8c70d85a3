// server/msg_class: the class of a room message (issue 14 item 4), the vocabulary every layer
// shares: critical, high, normal, low. It decides what a viewer's budget sheds when a room is
// busier than a person can read (room_budget.hpp): low first, then normal sampled evenly; high
// and critical never. It rides with the message from the publisher through the room's home, the
// node links and the hub to each loop's fan-out.
//
// Each built-in push type has a default class (class_of_type); a caller may name another (the
// push API's "class", the SDK's Pusher::to_room_as, the gateway for a privileged chat).
// Constants and two tiny functions, std only: app/, push/ and router/ include it freely.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace lp::server {

enum class MsgClass : std::uint8_t { Critical = 0, High = 1, Normal = 2, Low = 3 };
inline constexpr std::size_t kMsgClassCount = 4;

inline constexpr std::string_view to_string(MsgClass c) noexcept {
    switch (c) {
        case MsgClass::Critical:
            return "critical";
        case MsgClass::High:
            return "high";
        case MsgClass::Normal:
            return "normal";
        case MsgClass::Low:
            return "low";
    }
    return "normal";
}

// "critical", "high", "normal", "low" (exactly); anything else: nullopt.
inline constexpr std::optional<MsgClass> msg_class_from(std::string_view name) noexcept {
    if (name == "critical") return MsgClass::Critical;
    if (name == "high") return MsgClass::High;
    if (name == "normal") return MsgClass::Normal;
    if (name == "low") return MsgClass::Low;
    return std::nullopt;
}

// The default class of a push type: system notices and PK state changes (which carry the
// result) are critical; what the room watches for (gift effects, the score bar, room state) is
// high; enter notices and likes are low; everything else, audience chat and unknown types
// (API pushes), is normal. room.chat from the anchor, a moderator or an admin is high: the
// gateway decides that, not the type.
inline constexpr MsgClass class_of_type(std::string_view type) noexcept {
    if (type == "room.notice" || type == "pk.state" || type == "pk.result")
        return MsgClass::Critical;
    if (type == "gift.effect" || type == "pk.score" || type == "room.state") return MsgClass::High;
    if (type == "room.likes" || type == "room.enter" || type == "room.enter_notice")
        return MsgClass::Low;
    return MsgClass::Normal;
}

// On the node links a class travels as 1 + its value; 0 (absent: a node without classes)
// means "by type".
inline constexpr std::uint32_t to_wire(MsgClass c) noexcept {
    return 1u + static_cast<std::uint32_t>(c);
}
inline constexpr MsgClass from_wire(std::uint32_t v, std::string_view type) noexcept {
    return v >= 1 && v <= kMsgClassCount ? static_cast<MsgClass>(v - 1) : class_of_type(type);
}

}  // namespace lp::server
