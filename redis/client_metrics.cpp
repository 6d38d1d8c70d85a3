// redis/client_metrics: see client_metrics.hpp.
#include "redis/client_metrics.hpp"

#include <cstdint>

#include "codec/prometheus_text.hpp"

namespace lp::redis {

void write_metrics(codec::PromText& m, const Client::Stats& cluster, const Client* plugin) {
    m.counter("livepush_redis_commands_total", "commands sent to Redis", cluster.commands);
    m.counter("livepush_redis_errors_total", "Redis commands that failed", cluster.errors);
    m.counter("livepush_redis_reconnects_total", "Redis reconnects", cluster.reconnects);
    const char* auth_help =
        "Redis connects refused for credentials (cluster.redis_user / redis_password)";
    m.counter("livepush_redis_auth_failures_total", auth_help, cluster.auth_failures,
              "redis=\"cluster\"");
    if (plugin)
        m.counter("livepush_redis_auth_failures_total", auth_help, plugin->stats().auth_failures,
                  "redis=\"plugin\"");
    m.counter("livepush_redis_batches_total", "pipelined round trips to Redis", cluster.batches);
    const auto& rt = cluster.round_trips;
    m.histogram("livepush_redis_round_trip_seconds",
                "Redis round trips (one pipelined batch, health-check PINGs included), from the "
                "first command written to the last reply read",
                RoundTrips::kBounds, rt.counts, rt.seconds_sum, rt.count);
    m.gauge("livepush_redis_queue_bytes", "argument bytes of commands waiting for Redis",
            static_cast<std::int64_t>(cluster.queue_bytes));
    m.counter("livepush_redis_rejected_total",
              "commands refused at once: over cluster.redis_queue_max_bytes",
              cluster.rejected_bytes, "reason=\"queue_bytes\"");
    if (plugin)
        m.gauge("livepush_plugin_redis_up", "1 while the plugin stores' own Redis is connected",
                plugin->connected() ? 1 : 0);
}

}  // namespace lp::redis
