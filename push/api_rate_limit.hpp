// push/api_rate_limit: the internal HTTP API's request rate limit (api.max_requests_per_s).
//
// What it owns: one global token bucket, `per_second` tokens a second, bursts of up to one
// second's worth. The routes take a token per rate-limited request (not /healthz, /readyz or
// /metrics) and answer 429 when there is none. What it must never do: limit when per_second is
// 0 (no limit configured), or hold its lock beyond the arithmetic.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace lp::push {

class RequestRateLimit {
public:
    using Clock = std::chrono::steady_clock;

    explicit RequestRateLimit(std::uint32_t per_second)
        : per_second_(per_second), tokens_(per_second), refilled_(Clock::now()) {}

    bool try_take() {
        if (per_second_.load(std::memory_order_relaxed) == 0) return true;
        std::lock_guard lock(mutex_);
        const std::uint32_t per_second = per_second_.load(std::memory_order_relaxed);
        if (per_second == 0) return true;  // a reload turned it off meanwhile
        const Clock::time_point now = Clock::now();
        const double elapsed = std::chrono::duration<double>(now - refilled_).count();
        refilled_ = now;
        tokens_ = std::min<double>(per_second, tokens_ + elapsed * per_second);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }
    std::uint32_t per_second() const { return per_second_.load(std::memory_order_relaxed); }
    // A configuration reload: the next request is judged at the new rate.
    void set_per_second(std::uint32_t per_second) {
        std::lock_guard lock(mutex_);
        per_second_.store(per_second, std::memory_order_relaxed);
        tokens_ = std::min<double>(tokens_, per_second);
    }

private:
    std::atomic<std::uint32_t> per_second_;
    std::mutex mutex_;
    double tokens_;
    Clock::time_point refilled_;
};

}  // namespace lp::push
