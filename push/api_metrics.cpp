// push/api_metrics: see api_metrics.hpp. The families are written in one fixed order
// (requests, duration, rejected, connections) through codec::PromText, the tree's one writer
// of the text format.
#include "push/api_metrics.hpp"

#include <algorithm>

#include "codec/prometheus_text.hpp"

namespace lp::push {
namespace {

constexpr std::array<std::string_view, static_cast<std::size_t>(ApiMetrics::Rejection::kCount)>
    kRejectionLabels = {"rate",         "unauthorized",  "too_large", "over_connections",
                        "evicted_idle", "header_timeout"};

}  // namespace

void ApiMetrics::record(std::string_view route, unsigned status, Clock::duration took) {
    const double seconds = std::chrono::duration<double>(took).count();
    const auto bucket = std::lower_bound(kBucketBounds.begin(), kBucketBounds.end(), seconds) -
                        kBucketBounds.begin();
    std::lock_guard lock(mutex_);
    ++requests_[{route, status}];
    ++bucket_counts_[static_cast<std::size_t>(bucket)];
    seconds_sum_ += seconds;
    ++count_;
}

std::string ApiMetrics::text() const {
    codec::PromText m;
    {
        std::lock_guard lock(mutex_);
        constexpr std::string_view kRequestsHelp =
            "Internal API requests by route pattern and HTTP status.";
        m.family("livepush_api_requests_total", kRequestsHelp, "counter");
        for (const auto& [key, n] : requests_) {
            m.counter("livepush_api_requests_total", kRequestsHelp, n,
                      codec::PromText::label("route", key.first) + ',' +
                          codec::PromText::label("status", std::to_string(key.second)));
        }
        m.histogram("livepush_api_request_duration_seconds",
                    "Time from a request's header to its answer being ready.", kBucketBounds,
                    bucket_counts_, seconds_sum_, count_);
    }
    for (std::size_t i = 0; i < kRejectionLabels.size(); ++i) {
        m.counter("livepush_api_rejected_total",
                  "API work refused: rate (429), unauthorized (401 on the header), too_large "
                  "(413 on Content-Length), over_connections (new connection refused at "
                  "max_connections), evicted_idle (oldest idle connection closed to admit a new "
                  "one), header_timeout (no full header within header_timeout_ms).",
                  rejected_[i].load(std::memory_order_relaxed),
                  codec::PromText::label("reason", kRejectionLabels[i]));
    }
    m.gauge("livepush_api_connections", "Open API connections.",
            connections_.load(std::memory_order_relaxed));
    return m.take();
}

}  // namespace lp::push
