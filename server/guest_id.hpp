// server/guest_id: the reserved range of guest user ids (issue 14, "Guest viewers").
//
// With auth.guests on, a LOGIN with an empty token gets a server-assigned id with the top bit
// set: guest id = 2^63 | msg id (server/msg_id.hpp). Real users' ids (token `sub`) must stay
// below 2^63; with guests on, a token whose sub is in the range is refused, so a guest id never
// names a real user and a push to a real user never reaches a guest.
//
// Why the message id: it is already unique across the cluster (41 bits of milliseconds, the
// node's 10-bit number claimed in Redis, 13 bits of sequence) and increasing on each node, so
// two nodes never hand out the same guest id and a restarted node, whose ids start from the
// wall clock, never hands out an id it gave before. A guest id is spent once: its session ends
// with the connection and a reconnecting guest gets a new one. Msg ids stay below 2^63 until
// 2058 (2^40 ms after 2024-01-01), so the top bit is free until then.
// Limits: what weakens msg-id uniqueness weakens this too — a node that lost its number claim
// while cut from Redis (router/node_number.hpp), or a wall clock stepped back across a restart
// by more than the restart took.
#pragma once

#include <cstdint>

namespace lp::server {

inline constexpr std::uint64_t kGuestIdBase = 1ull << 63;

constexpr bool is_guest_id(std::uint64_t user_id) noexcept {
    return user_id >= kGuestIdBase;
}

// The guest id made from a fresh message id.
constexpr std::uint64_t guest_id_from_msg_id(std::uint64_t msg_id) noexcept {
    return kGuestIdBase | (msg_id & (kGuestIdBase - 1));
}

}  // namespace lp::server
