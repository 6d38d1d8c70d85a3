// load-test/clocks: the clock readings livepush-load takes, one function each. Steady
// nanoseconds time the run's own intervals (connects, round trips, send → receive inside this
// process); wall-clock readings are only for comparing with times the server stamped
// (Push.sent_at_ms, a feed item's ts_ms) and for tokens' iat/exp. Never sleeps, never allocates.
#pragma once

#include <chrono>
#include <cstdint>

namespace lp::load {

// steady clock, ns: for intervals measured inside this process.
inline std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::steady_clock::now().time_since_epoch())
        .count();
}

// wall clock, ns since the Unix epoch: to compare with the server's ms stamps.
inline std::int64_t wall_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// wall clock, ms since the Unix epoch: the unit of the events' ts_ms.
inline std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// wall clock, s since the Unix epoch: a token's iat / exp.
inline std::int64_t unix_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

}  // namespace lp::load
