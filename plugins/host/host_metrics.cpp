// plugins/host/host_metrics: see host_metrics.hpp.
#include "plugins/host/host_metrics.hpp"

#include "codec/prometheus_text.hpp"

namespace lp::plugins {

// These families were published without HELP lines: they stay so (an empty help writes none).
void write_metrics(codec::PromText& m, const JobRunner::Stats& jobs, std::size_t pending) {
    m.counter("livepush_jobs_total", {}, jobs.done, "result=\"done\"");
    m.counter("livepush_jobs_total", {}, jobs.failed, "result=\"failed\"");
    m.counter("livepush_jobs_total", {}, jobs.dead, "result=\"dead\"");
    m.gauge("livepush_jobs_pending", {}, static_cast<std::int64_t>(pending));
    m.gauge("livepush_jobs_lag_ms", {}, jobs.last_lag_ms);
}

void write_metrics(codec::PromText& m, const KeyedWorkers::Stats& biz_workers,
                   std::uint64_t queue_max) {
    m.counter("livepush_plugin_biz_total", "plugin BIZ calls on the plugin workers",
              biz_workers.run, "result=\"run\"");
    m.counter("livepush_plugin_biz_total", "plugin BIZ calls on the plugin workers",
              biz_workers.rejected, "result=\"busy\"");
    m.gauge("livepush_plugin_biz_queued", {}, static_cast<std::int64_t>(biz_workers.queued));
    m.gauge("livepush_plugin_biz_queue_max", {}, static_cast<std::int64_t>(queue_max));
}

}  // namespace lp::plugins
