// redis/round_trips: how long the Redis client's round trips take, as histogram buckets
// (livepush_redis_round_trip_seconds), so a dashboard can show Redis latency as the node sees it
// and an alert can fire on a slow Redis before commands time out.
//
// One round trip is one batch: from appending its first command to reading its last reply
// (health-check PINGs included, so an idle node still measures its Redis). A batch whose
// connection broke is not a latency and is not recorded (it counts in the errors instead).
// Written by the client's one I/O thread, read by any thread at scrape time: relaxed atomics, a
// scrape may see a count a moment ahead of its sum.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>

namespace lp::redis {

class RoundTrips {
public:
    // Upper bounds in seconds; one more bucket (+Inf) follows the last.
    static constexpr std::array<double, 12> kBounds = {
        0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0};
    struct Snapshot {
        std::array<std::uint64_t, kBounds.size() + 1> counts{};  // per bucket, not cumulative
        double seconds_sum = 0;
        std::uint64_t count = 0;
    };

    void record(std::chrono::steady_clock::duration took) noexcept {
        const double s = std::chrono::duration<double>(took).count();
        const auto i = static_cast<std::size_t>(
            std::lower_bound(kBounds.begin(), kBounds.end(), s) - kBounds.begin());
        counts_[i].fetch_add(1, std::memory_order_relaxed);
        nanos_.fetch_add(static_cast<std::uint64_t>(
                             std::chrono::duration_cast<std::chrono::nanoseconds>(took).count()),
                         std::memory_order_relaxed);
    }

    Snapshot snapshot() const noexcept {
        Snapshot s;
        for (std::size_t i = 0; i < counts_.size(); ++i) {
            s.counts[i] = counts_[i].load(std::memory_order_relaxed);
            s.count += s.counts[i];
        }
        s.seconds_sum = static_cast<double>(nanos_.load(std::memory_order_relaxed)) / 1e9;
        return s;
    }

private:
    std::array<std::atomic<std::uint64_t>, kBounds.size() + 1> counts_{};
    std::atomic<std::uint64_t> nanos_{0};
};

}  // namespace lp::redis
