// load-test/plugin_run_phase: what a PluginRun measures besides the shards' results, shared by
// the plugin scenario files (plugin_runs.cpp, gift_run.cpp, pk_run.cpp, feed_run.cpp) and by
// nothing else. Data and constants only.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include "load-test/plugin_runs.hpp"

namespace lp::load {

inline constexpr auto kPollStep = std::chrono::milliseconds(10);
inline constexpr auto kSettle = std::chrono::milliseconds(300);  // pushes unchanged this long: done

struct PluginRun::Phase {
    bool ran = false;
    std::string error;  // a set-up call that failed
    // the event source (gift, pk)
    const char* source = "";
    std::uint64_t sent = 0;      // produced / requests sent
    std::uint64_t accepted = 0;  // acknowledged by a broker / answered 2xx
    std::uint64_t failed = 0;
    std::uint64_t queue_full_waits = 0;
    std::int64_t first_send_ns = 0;
    std::int64_t last_send_ns = 0;
    std::string source_error;
    double client_cpu_pct = -1, server_cpu_pct = -1;
    double wait_s = 0;  // after the last event: until every event was seen (or progress stopped)
    bool complete = false;
    long long handled_before = -1, handled_after = -1;  // livepush_kafka_events_total{handled}
    // pk
    std::string pk_id;
    long long api_score = -1;  // anchor A's score from GET /v1/pk/{id} at the end
    std::int64_t points_per_event = 0;
    // feed
    double load_s = 0;
    std::uint64_t followers = 0;  // the anchor's followers after loading
    std::int64_t publish_ns = 0, answered_ns = 0;
    std::uint64_t item_id = 0;
    std::uint32_t online_sessions = 0;  // logged in when publishing
    bool task_done = false;
    long long created_ms = -1, finished_ms = -1, batches_done = -1, followers_done = -1,
              task_online = -1, task_total = -1;
    double task_wait_s = 0;
    // feed --feed-receive-only
    std::uint32_t connections = 0, login_failed = 0;  // at the ready line
    double waited_s = 0;                              // ready line → end of the wait
    const char* wait_end = "";                        // all / drained / limit
};

}  // namespace lp::load
