// handlers/defaults: the default of each handlers/ option an operator can set (the client
// limits under server.*, auth.platforms, im.*, room.like_*).
//
// GatewayOptions takes its defaults from here, and so does app/config's Config, so each default
// is written once. Constants only, on std headers: app/config includes this without protobuf or
// Asio. It must never hold a limit that is not an option default.
#pragma once

#include <cstdint>
#include <string_view>

namespace lp::handlers {

inline constexpr std::uint32_t kDefaultMaxRoomsPerSession = 16;
inline constexpr std::uint32_t kDefaultBizRatePerS = 50;        // per session; 0 = unlimited
inline constexpr std::uint32_t kDefaultMaxSessionsPerUser = 8;  // on one node; 0 = unlimited
inline constexpr std::uint32_t kDefaultAckRatePerS = 200;       // ACKs acking nothing in flight
inline constexpr std::uint32_t kDefaultMaxAckIds = 256;         // ids in one ACK
inline constexpr std::string_view kDefaultPlatforms = "web,ios,android,pc,mini";
inline constexpr std::uint32_t kDefaultImRatePerS = 10;           // im.send per sender, burst 2x
inline constexpr std::uint32_t kDefaultImMaxPayloadBytes = 4096;  // im.send payload as JSON text
// Audience room.chat per room per node per second (burst of the same size); over it:
// ROOM_RATE_LIMITED (3015).
inline constexpr std::uint32_t kDefaultRoomChatRatePerS = 100;  // 0 = unlimited
inline constexpr std::uint32_t kDefaultLikeMaxCount = 100;      // room.like count per request
inline constexpr std::uint32_t kDefaultLikeRatePerS = 10;       // room.like requests per session
inline constexpr std::uint32_t kDefaultGuestMaxSessions =
    100000;  // guests on one node; 0 = unlimited

}  // namespace lp::handlers
