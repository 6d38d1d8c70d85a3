// redis/client_metrics: see client_metrics.hpp.
#include "redis/client_metrics.hpp"

#include <cstdint>

#include "codec/prometheus_text.hpp"

namespace lp::redis {

void write_metrics(codec::PromText& m, const Client::Stats& cluster, const Client* plugin,
                   const Client* inbox) {
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

    // Sentinel: the cluster's client, and the plugin stores' own when it has one.
    const Client::Stats plugin_stats = plugin ? plugin->stats() : Client::Stats{};
    const char* failover_help =
        "Redis master changes followed through the sentinels (failovers), after the first connect";
    m.counter("livepush_redis_failovers_total", failover_help, cluster.master_changes,
              "redis=\"cluster\"");
    if (plugin)
        m.counter("livepush_redis_failovers_total", failover_help, plugin_stats.master_changes,
                  "redis=\"plugin\"");
    m.family("livepush_redis_master",
             "the Redis master in use (sentinel mode), as its address label; value 1", "gauge");
    if (!cluster.master.empty())
        m.gauge("livepush_redis_master", "", 1,
                "redis=\"cluster\"," + codec::PromText::label("addr", cluster.master));
    if (plugin && !plugin_stats.master.empty())
        m.gauge("livepush_redis_master", "", 1,
                "redis=\"plugin\"," + codec::PromText::label("addr", plugin_stats.master));
    const char* replicas_help =
        "replicas of the Redis master (sentinel mode): the sentinels' healthy count at connect, "
        "then the master's ROLE, once a second; -1 unknown or no sentinels; WAIT N needs N + 1";
    m.gauge("livepush_redis_replicas", replicas_help, cluster.replicas, "redis=\"cluster\"");
    if (plugin)
        m.gauge("livepush_redis_replicas", replicas_help, plugin_stats.replicas,
                "redis=\"plugin\"");
    m.counter("livepush_redis_sentinel_failures_total", "master look-ups that no sentinel answered",
              cluster.sentinel_failures);

    // WAIT: the inbox's own client (all zero without cluster.redis_wait_replicas).
    const Client::Stats w = inbox ? inbox->stats() : Client::Stats{};
    m.counter("livepush_redis_wait_failures_total",
              "qos1 inbox writes answered 503 because WAIT saw them on fewer than "
              "cluster.redis_wait_replicas replicas in time",
              w.wait_failures);
    m.histogram("livepush_redis_wait_seconds",
                "time WAIT took after the inbox writes of a round trip (replication latency)",
                Client::kWaitBuckets, w.wait_buckets, w.wait_seconds_sum, w.waits);
}

}  // namespace lp::redis
