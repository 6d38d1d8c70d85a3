// ack/defaults: the default of each ack/ option an operator can set (delivery.*).
//
// DeliveryOptions and MemoryInbox take their defaults from here, and so does app/config's
// Config, so each default is written once. Constants only, on std headers: app/config includes
// this without Asio. It must never hold a limit that is not an option default.
#pragma once

#include <chrono>
#include <cstdint>

namespace lp::ack {

inline constexpr std::uint32_t kDefaultWindow = 64;              // qos1 in flight per session
inline constexpr std::chrono::milliseconds kDefaultRetry{2000};  // doubles per attempt
inline constexpr std::uint32_t kDefaultMaxAttempts = 4;          // sends before the inbox
inline constexpr std::chrono::seconds kDefaultInboxTtl{7 * 24 * 3600};  // a qos1 message's life
inline constexpr std::uint32_t kDefaultWaitingMax = 1000;  // queued behind a session's window
inline constexpr std::uint32_t kDefaultInboxMax = 1000;    // messages kept per user

}  // namespace lp::ack
