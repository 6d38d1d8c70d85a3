// router/defaults: the default of each router/ option an operator can set (cluster.*, and the
// likes aggregation's room.likes_*).
//
// ClusterOptions and NodeLinksOptions take their defaults from here, and so does app/config's
// Config, so each default is written once. Constants only, on std headers: app/config includes
// this without Asio or hiredis. It must never hold a limit that is not an option default.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

namespace lp::router {

inline constexpr std::string_view kDefaultLinkListen = "0.0.0.0:7002";
inline constexpr std::chrono::milliseconds kDefaultLinkHelloTimeout{3000};
inline constexpr std::uint32_t kDefaultLinkMaxConnections = 256;              // inbound, any state
inline constexpr std::uint64_t kDefaultLinkQueueMaxBytes = 64 * 1024 * 1024;  // per outbound link
inline constexpr std::chrono::milliseconds kDefaultNodeTtl{5000};
inline constexpr std::chrono::milliseconds kDefaultRoomQueryTimeout{2000};
inline constexpr std::uint64_t kDefaultRedisQueueMaxBytes = std::uint64_t{64} << 20;
// Rooms' moderation (moderation.*): moderators per room, muted / banned / shadow-banned users
// per room (each list), and how often a cluster node reads the change log.
inline constexpr std::uint32_t kDefaultModerationMaxModerators = 100;
inline constexpr std::uint32_t kDefaultModerationMaxEntries = 10000;
inline constexpr std::chrono::milliseconds kDefaultModerationSyncInterval{250};
// room.likes {total, delta} to a room's members at most this often, while likes arrive.
inline constexpr std::chrono::milliseconds kDefaultRoomLikesInterval{1000};
// A room's likes total is forgotten this long after its last like (7 days).
inline constexpr std::chrono::seconds kDefaultRoomLikesTtl{7 * 24 * 3600};

}  // namespace lp::router
