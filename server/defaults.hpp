// server/defaults: the default of each server/ option an operator can set (server.*, room.*).
//
// LoopOptions and HubOptions take their defaults from here, and so does app/config's Config,
// so each default is written once. Constants only, on std and codec/ headers: app/config
// includes this without Asio. It must never hold a limit that is not an option default.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "codec/frame.hpp"

namespace lp::server {

inline constexpr std::string_view kDefaultTcpListen = "0.0.0.0:7000";
inline constexpr std::string_view kDefaultWsListen = "0.0.0.0:7001";          // WebSocket path /ws
inline constexpr std::chrono::milliseconds kDefaultHeartbeatInterval{30000};  // 3 missed: closed
inline constexpr std::chrono::milliseconds kDefaultLoginTimeout{10000};
inline constexpr std::uint32_t kDefaultMaxBody = codec::kDefaultMaxBody;
// A WebSocket message carries a frame, or its JSON envelope, which is larger than the body it
// holds: twice the body limit and room for the envelope's fields.
inline constexpr std::uint32_t kDefaultWsMaxMessage = 2 * kDefaultMaxBody + 4096;
inline constexpr std::uint64_t kDefaultSendQueueMaxBytes = 4 * 1024 * 1024;  // over it: KICK slow
inline constexpr std::chrono::milliseconds kDefaultRoomCoalesce{10};
inline constexpr std::uint32_t kDefaultRoomCoalesceMax = 64;
inline constexpr std::uint32_t kDefaultRoomHistoryMax = 1000;
inline constexpr std::chrono::seconds kDefaultRoomHistoryTtl{60};
// room.online {count} to a room's members at most this often, when the count changed; 0 = off.
inline constexpr std::chrono::milliseconds kDefaultRoomOnlineInterval{5000};
// Room messages a viewer gets per second at most; beyond it low ones are shed, then normal
// ones sampled (server/room_budget.hpp). 0 = off.
inline constexpr std::uint32_t kDefaultViewerBudgetPerS = 40;

}  // namespace lp::server
