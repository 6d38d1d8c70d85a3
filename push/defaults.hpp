// push/defaults: the default of each HTTP API option an operator can set (api.*).
//
// ApiOptions takes its defaults from here, and so does app/config's Config, so each default is
// written once. Constants only, on std headers: app/config includes this without Beast. It must
// never hold a limit that is not an option default.
#pragma once

#include <cstdint>
#include <string_view>

namespace lp::push {

inline constexpr std::string_view kDefaultApiListen = "127.0.0.1:8090";
inline constexpr std::uint64_t kDefaultApiMaxBodyBytes = 4 * 1024 * 1024;  // over it: 413
inline constexpr std::uint32_t kDefaultApiMaxUserIds = 10000;              // /v1/push/users
inline constexpr std::uint32_t kDefaultApiMaxConnections = 1024;
inline constexpr std::uint32_t kDefaultApiHeaderTimeoutMs = 5000;
inline constexpr std::uint32_t kDefaultApiIdleTimeoutMs = 30000;

// Room state (room.state_*; push/room_state_service.hpp): bounds per key, value and room.
inline constexpr std::uint32_t kDefaultRoomStateMaxKeyBytes = 64;
inline constexpr std::uint32_t kDefaultRoomStateMaxValueBytes = 4096;
inline constexpr std::uint32_t kDefaultRoomStateMaxKeys = 64;
// A room's values together: room.enter carries them all, and the result must stay well under a
// client's frame limit (server.max_body, 64 KiB by default).
inline constexpr std::uint32_t kDefaultRoomStateMaxRoomBytes = 32 * 1024;

}  // namespace lp::push
