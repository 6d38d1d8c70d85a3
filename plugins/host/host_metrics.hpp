// plugins/host/host_metrics: the Prometheus families of the plugin host's machinery — delayed
// jobs (run, failed, buried, pending, lag) and the plugin workers that run BIZ calls (run,
// refused busy, queued, queue bound). The plugins' own families are PluginHost::write_metrics.
//
// It owns the names, HELP texts and labels of those families; it reads the runners' stats and
// must never count anything itself.
#pragma once

#include <cstddef>
#include <cstdint>

#include "plugins/host/job_runner.hpp"
#include "plugins/host/keyed_workers.hpp"

namespace lp::codec {
class PromText;
}

namespace lp::plugins {

// `pending`: JobQueue::pending() (scheduled and reserved jobs).
void write_metrics(codec::PromText& m, const JobRunner::Stats& jobs, std::size_t pending);
// `queue_max`: the configured bound (server.plugin_queue_max), as published.
void write_metrics(codec::PromText& m, const KeyedWorkers::Stats& biz_workers,
                   std::uint64_t queue_max);

}  // namespace lp::plugins
