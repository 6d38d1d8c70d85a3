// push/api_metrics: the internal HTTP API's own metrics (design.md section 5): requests by
// (route pattern, status), one latency histogram, the work it refused and its open connections.
//
// What it owns: the counters, and their Prometheus families written through codec::PromText.
// Both halves of the API count here: the routes (requests, rate, key, declared body size) and
// the connections (header deadline, connection cap, idle eviction, body over the limit, open
// connections). What it must never do: take a raw path as a label (only route patterns, so the
// label set stays bounded), or block a request for long: one short lock per request.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>

namespace lp::push {

class ApiMetrics {
public:
    using Clock = std::chrono::steady_clock;

    // Why the API turned work away; the label of livepush_api_rejected_total.
    enum class Rejection : std::uint8_t {
        Rate,             // request over max_requests_per_s: 429
        Unauthorized,     // missing or bad key, judged on the header: 401, body never read
        TooLarge,         // Content-Length (or a chunked body) over max_body_bytes: 413
        OverConnections,  // at max_connections with no idle connection to close: refused
        EvictedIdle,      // an idle connection closed to admit a new one at max_connections
        HeaderTimeout,    // no complete header within header_timeout_ms: closed
        kCount
    };

    // `route` must outlive the metrics: a literal or a plugin route's stored pattern.
    void record(std::string_view route, unsigned status, Clock::duration took);
    void count_rejected(Rejection r) {
        rejected_[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    }
    void connection_opened() { connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() { connections_.fetch_sub(1, std::memory_order_relaxed); }

    // Prometheus text exposition of the families above.
    std::string text() const;

private:
    static constexpr std::array<double, 12> kBucketBounds = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0};

    mutable std::mutex mutex_;
    std::map<std::pair<std::string_view, unsigned>, std::uint64_t> requests_;
    std::array<std::uint64_t, kBucketBounds.size() + 1> bucket_counts_{};  // last: over 1 s
    double seconds_sum_ = 0;
    std::uint64_t count_ = 0;
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Rejection::kCount)> rejected_{};
    std::atomic<std::int64_t> connections_{0};
};

}  // namespace lp::push
