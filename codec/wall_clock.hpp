// codec/wall_clock: wall-clock time in milliseconds since the Unix epoch, the one unit of every
// time the server writes down or sends: Push.sent_at_ms, Result.server_time_ms, inbox expiry,
// room history ages, message ids' clock part, token times (as wall_ms() / 1000).
//
// It lives in codec/ because codec/ is below every folder that needs it (design.md section 1).
// Plugins see only the SDK and keep their own clock (or the one their host injects).
//
// What it is not: a monotonic clock. The wall clock can step; timers and timeouts that must not
// jump with it use std::chrono::steady_clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace lp::codec {

inline std::uint64_t wall_ms() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

}  // namespace lp::codec
