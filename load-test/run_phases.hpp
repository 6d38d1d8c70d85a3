// load-test/run_phases: what livepush-load's conductor and scenarios share to steer a run from
// the main thread: the shard list, bounded waits, and progress summed over the shards.
//
// The main thread only polls (relaxed atomics the shards publish) and sleeps in short steps;
// every wait here is bounded by a deadline its caller passes. Never touches a connection: that
// is the shards' (load_shard.hpp).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "load-test/load_shard.hpp"

namespace lp::load {

using Clock = std::chrono::steady_clock;
using Shards = std::vector<std::unique_ptr<LoadShard>>;

// S seconds (fractions included) as a duration the clocks add to.
inline std::chrono::milliseconds seconds_ms(double s) {
    return std::chrono::milliseconds(static_cast<long>(s * 1000));
}

// Sleeps in short steps until `until`, or until done() holds; bounded by `until`.
template <class Done>
void wait_until(Clock::time_point until, const Done& done) {
    while (Clock::now() < until && !done()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

inline void sleep_until(Clock::time_point until) {
    wait_until(until, [] { return false; });
}

inline double seconds_between(std::int64_t from_ns, std::int64_t to_ns) {
    return to_ns > from_ns ? double(to_ns - from_ns) / 1e9 : 0.0;
}

// Sessions over all shards, readable while they run.
struct Totals {
    std::uint32_t logged_in = 0, failed = 0, dropped = 0;
};

inline Totals totals(const Shards& shards) {
    Totals t;
    for (const auto& s : shards) {
        t.logged_in += s->logged_in();
        t.failed += s->failed();
        t.dropped += s->dropped();
    }
    return t;
}

// Sessions logged in and not dropped since.
inline std::uint32_t sessions_up(const Shards& shards) {
    std::uint32_t n = 0;
    for (const auto& s : shards) n += s->logged_in() - std::min(s->logged_in(), s->dropped());
    return n;
}

inline std::uint64_t pushes_received(const Shards& shards) {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += s->pushes_received();
    return n;
}

inline std::uint64_t unique_ids_received(const Shards& shards) {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += s->unique_ids_received();
    return n;
}

// When a count that only grows last moved: for the waits that end after some time without
// progress.
class ProgressClock {
public:
    ProgressClock(std::uint64_t count, Clock::time_point at) : count_(count), moved_at_(at) {}

    // Notes the count at `now`; true when it moved since the last note.
    bool note(std::uint64_t count, Clock::time_point now) {
        if (count == count_) return false;
        count_ = count;
        moved_at_ = now;
        return true;
    }
    // How long the count has stood still, at `now`.
    Clock::duration still_for(Clock::time_point now) const { return now - moved_at_; }

private:
    std::uint64_t count_;
    Clock::time_point moved_at_;
};

// Every shard has taken its stop_measuring() (bounded by `until`).
inline void wait_measuring_stopped(const Shards& shards, Clock::time_point until) {
    wait_until(until, [&] {
        for (const auto& s : shards) {
            if (!s->measuring_stopped()) return false;
        }
        return true;
    });
}

}  // namespace lp::load
