// plugins/sdk/wall_clock: wall-clock milliseconds since the Unix epoch, the unit of every time a
// plugin stores or sends (ts_ms, phase_ends_at_ms, created_ms). A plugin that wants tests to
// control time takes a clock function and uses this one as the default.
//
// The server's own layers use codec/wall_clock.hpp, which plugins cannot include (they see only
// plugins/sdk/); the SDK cannot include codec/ either. Both read std::chrono::system_clock the
// same way, so a time written by a plugin and one written by the server compare as they should.
//
// What it is not: a monotonic clock. Intervals that must not jump with the wall clock use
// std::chrono::steady_clock.
#pragma once

#include <chrono>
#include <cstdint>

namespace lp::sdk {

inline std::int64_t wall_ms() noexcept {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace lp::sdk
