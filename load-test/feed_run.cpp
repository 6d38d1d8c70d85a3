// load-test/feed_run: the feed scenario of PluginRun (plugin_runs.hpp): followers loaded
// through the API, one publish, the time to every online session's feed.item and the fan-out
// task's own record; and the receive-only mode that adds receivers to another process's publish.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <string>
#include <string_view>
#include <thread>

#include "load-test/api_publisher.hpp"
#include "load-test/clocks.hpp"
#include "load-test/plugin_run_phase.hpp"
#include "load-test/plugin_runs.hpp"
#include "load-test/process_stats.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

constexpr std::uint64_t kMaxFollowersPerCall = 100000;  // the feed plugin's bulk limit
constexpr auto kTaskPollStep = std::chrono::milliseconds(100);

// feed: receive wall clock - the item's ts_ms over the sessions whose first feed.item was
// `item_id` (the plugin's publish time; ms resolution, so values read up to 1 ms high).
LatencyHistogram feed_ts_latency(const Shards& shards, std::uint64_t item_id) {
    LatencyHistogram h;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] == 0 || p.item_ids[c] != item_id || p.item_ts_ms[c] < 0) continue;
            const std::int64_t d = p.item_first_wall_ns[c] - p.item_ts_ms[c] * 1000000;
            h.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d)));
        }
    }
    return h;
}

// One session's feed.item pushes (copies > 0): one more session reached, and when it had the
// item more than once, one more session with duplicates and copies - 1 more duplicates.
void count_copies(std::uint32_t copies, std::uint64_t& received, std::uint64_t& twice,
                  std::uint64_t& extra) {
    ++received;
    if (copies > 1) {
        ++twice;
        extra += copies - 1u;
    }
}

}  // namespace

bool PluginRun::load_followers() {
    Phase& ph = *phase_;
    const auto start = Clock::now();
    std::string body;
    body.reserve(kMaxFollowersPerCall * 12 + 64);
    // Bounded by --followers, 100,000 per call.
    for (std::uint64_t at = 0; at < opts_.followers; at += kMaxFollowersPerCall) {
        const std::uint64_t end = std::min(opts_.followers, at + kMaxFollowersPerCall);
        body = "{\"anchor_id\":" + num(opts_.feed_anchor) + ",\"user_ids\":[";
        for (std::uint64_t i = at; i < end; ++i) {
            if (i != at) body += ',';
            body += std::to_string(opts_.follower_base + i);
        }
        body += "]}";
        HttpAnswer a = http_call(opts_.api_host, opts_.api_port, opts_.api_key, "POST",
                                 "/v1/feed/followers", std::move(body));
        if (a.status != 200) {
            ph.error = "POST /v1/feed/followers: " + failure_text(a);
            std::printf("feed: %s\n", ph.error.c_str());
            return false;
        }
        ph.followers = json_uint_after(a.body, "\"followers\"").value_or(0);
    }
    ph.load_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("feed: anchor %llu has %llu followers (loaded %llu ids in %.2f s)\n",
                static_cast<unsigned long long>(opts_.feed_anchor),
                static_cast<unsigned long long>(ph.followers),
                static_cast<unsigned long long>(opts_.followers), ph.load_s);
    std::fflush(stdout);
    return true;
}

void PluginRun::run_feed(const Shards& shards) {
    Phase& ph = *phase_;
    ph.online_sessions = sessions_up(shards);
    const CpuWindow cpu(opts_.server_pid);
    for (auto& s : shards) s->start_measuring();
    const auto start = Clock::now();
    ph.publish_ns = steady_ns();
    HttpAnswer pub =
        http_call(opts_.api_host, opts_.api_port, opts_.api_key, "POST", "/v1/feed/publish",
                  "{\"anchor_id\":" + num(opts_.feed_anchor) +
                      ",\"item\":{\"kind\":\"live\",\"title\":\"livepush-load\"}}");
    ph.answered_ns = steady_ns();
    if (pub.status != 200) {
        ph.error = "POST /v1/feed/publish: " + failure_text(pub);
        std::printf("feed: %s\n", ph.error.c_str());
        for (auto& s : shards) s->stop_measuring();
        return;
    }
    ph.ran = true;
    ph.item_id = json_uint_after(pub.body, "\"item_id\"").value_or(0);
    std::printf(
        "feed: published item %llu to %llu followers (answered in %.2f ms); %u sessions "
        "online\n",
        static_cast<unsigned long long>(ph.item_id),
        static_cast<unsigned long long>(json_uint_after(pub.body, "\"followers\"").value_or(0)),
        double(ph.answered_ns - ph.publish_ns) / 1e6, ph.online_sessions);
    std::fflush(stdout);

    // Until the task is done and every online session has its push (or pushes stopped coming
    // for --drain-s after the task ended); bounded by --task-wait-s.
    const std::string task_path = "/v1/feed/tasks/" + num(ph.item_id);
    const auto limit = start + seconds_ms(opts_.task_wait_s);
    const auto drain = seconds_ms(opts_.drain_s);
    auto next_poll = start;
    auto next_report = start + std::chrono::seconds(1);
    ProgressClock progress(0, Clock::now());
    std::string task;
    // Bounded by `limit`.
    while (Clock::now() < limit) {
        std::this_thread::sleep_for(kPollStep);
        const auto now = Clock::now();
        const std::uint64_t pushes = pushes_received(shards);
        progress.note(pushes, now);
        if (!ph.task_done && now >= next_poll) {
            HttpAnswer t =
                http_call(opts_.api_host, opts_.api_port, opts_.api_key, "GET", task_path, {});
            if (t.status == 200) {
                task = t.body;
                ph.task_done = task.find("\"done\":true") != std::string::npos;
                if (ph.task_done) {
                    ph.task_wait_s = std::chrono::duration<double>(Clock::now() - start).count();
                }
            }
            next_poll = now + kTaskPollStep;
        }
        if (now >= next_report) {
            std::printf("  t=%.0fs feed.item pushes %llu of %u sessions; task %s\n",
                        std::chrono::duration<double>(now - start).count(),
                        static_cast<unsigned long long>(pushes), ph.online_sessions, task.c_str());
            std::fflush(stdout);
            next_report += std::chrono::seconds(1);
        }
        if (ph.task_done && pushes >= ph.online_sessions && progress.still_for(now) >= kSettle) {
            break;
        }
        if (ph.task_done && progress.still_for(now) >= drain) break;
    }
    for (auto& s : shards) s->stop_measuring();
    const double window_s = std::chrono::duration<double>(Clock::now() - start).count();
    cpu.finish(window_s, ph.client_cpu_pct, ph.server_cpu_pct);
    ph.complete = ph.task_done;
    auto field = [&](const char* key) {
        auto v = json_uint_after(task, key);
        return v ? static_cast<long long>(*v) : -1LL;
    };
    ph.created_ms = field("\"created_ms\"");
    ph.finished_ms = field("\"finished_ms\"");
    ph.batches_done = field("\"batches_done\"");
    ph.followers_done = field("\"followers_done\"");
    ph.task_online = field("\"online\"");
    ph.task_total = field("\"total\"");
}

std::string PluginRun::report_feed(const Shards& shards, bool& clean) {
    const Phase& ph = *phase_;
    LatencyHistogram latency;
    std::uint64_t received = 0, twice = 0, extra = 0, wrong_item = 0, unreadable = 0, other = 0;
    std::int64_t last_ns = 0;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        unreadable += p.unmatched;
        other += p.other_types;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] == 0) continue;
            count_copies(p.items[c], received, twice, extra);
            if (p.item_ids[c] != ph.item_id) ++wrong_item;
            const std::int64_t t = p.item_first_ns[c];
            last_ns = std::max(last_ns, t);
            latency.record(
                static_cast<std::uint64_t>(std::max<std::int64_t>(0, t - ph.publish_ns)));
        }
    }
    const std::uint64_t missing = ph.online_sessions > received ? ph.online_sessions - received : 0;
    if (missing || twice || wrong_item || unreadable || !ph.task_done) clean = false;
    const double to_last_s = last_ns > ph.publish_ns ? double(last_ns - ph.publish_ns) / 1e9 : 0;
    const long long fanout_ms =
        ph.finished_ms > 0 && ph.created_ms > 0 ? ph.finished_ms - ph.created_ms : -1;

    std::printf(
        "feed: item %llu: %llu of %u online sessions got feed.item, missing %llu, "
        "duplicates %llu (%llu sessions), another item %llu, unreadable %llu\n",
        static_cast<unsigned long long>(ph.item_id), static_cast<unsigned long long>(received),
        ph.online_sessions, static_cast<unsigned long long>(missing),
        static_cast<unsigned long long>(extra), static_cast<unsigned long long>(twice),
        static_cast<unsigned long long>(wrong_item), static_cast<unsigned long long>(unreadable));
    const LatencyHistogram ts_latency = feed_ts_latency(shards, ph.item_id);
    std::printf(
        "feed: publish → last feed.item %.3f s; publish → each session's feed.item ms: %s\n",
        to_last_s, latency_text(latency).c_str());
    std::printf("feed: item ts_ms → each session's feed.item (wall clock) ms: %s\n",
                latency_text(ts_latency).c_str());
    std::printf(
        "feed: task %s: %lld followers in %lld batches, %lld online; fan-out "
        "(finished_ms - created_ms) %lld ms%s\n",
        ph.task_done ? "done" : "NOT done", ph.followers_done, ph.batches_done, ph.task_online,
        fanout_ms, ph.task_done ? "" : " (gave up waiting: --task-wait-s)");
    std::printf("cpu: load tool %.0f%% of a core", ph.client_cpu_pct);
    if (ph.server_cpu_pct >= 0) std::printf(", server %.0f%%", ph.server_cpu_pct);
    std::printf("\n");

    return ",\"feed_mode\":\"publish\",\"anchor\":" + num(opts_.feed_anchor) +
           ",\"followers\":" + num(ph.followers) +
           ",\"follower_load_s\":" + fmt("%.3f", ph.load_s) + ",\"item_id\":" + num(ph.item_id) +
           ",\"publish_answer_ms\":" + fmt("%.3f", double(ph.answered_ns - ph.publish_ns) / 1e6) +
           ",\"online_sessions\":" + std::to_string(ph.online_sessions) +
           ",\"received\":" + num(received) + ",\"missing\":" + num(missing) +
           ",\"duplicates\":" + num(extra) + ",\"wrong_item\":" + num(wrong_item) +
           ",\"unreadable\":" + num(unreadable) + ",\"other_pushes\":" + num(other) +
           ",\"to_last_push_s\":" + fmt("%.3f", to_last_s) + latency_json("latency", latency) +
           latency_json("ts_latency", ts_latency) +
           ",\"task_done\":" + (ph.task_done ? "true" : "false") +
           ",\"task_total\":" + std::to_string(ph.task_total) +
           ",\"task_followers_done\":" + std::to_string(ph.followers_done) +
           ",\"task_batches\":" + std::to_string(ph.batches_done) +
           ",\"task_online\":" + std::to_string(ph.task_online) +
           ",\"fanout_ms\":" + std::to_string(fanout_ms) +
           ",\"client_cpu_pct\":" + fmt("%.1f", ph.client_cpu_pct) +
           ",\"server_cpu_pct\":" + fmt("%.1f", ph.server_cpu_pct);
}

// ------------------------------------------------------------------ feed, receive only

void PluginRun::run_feed_receive_only(const Shards& shards) {
    Phase& ph = *phase_;
    ph.ran = true;
    ph.online_sessions = sessions_up(shards);
    ph.connections = load_.connections;
    for (const auto& s : shards) ph.login_failed += s->failed();
    for (auto& s : shards) s->start_measuring();
    // The line a script waits for before it starts the publishing process.
    std::printf(
        "ready: feed receive-only, %u of %u sessions logged in (%u failed); waiting up "
        "to %.0f s for feed.item\n",
        ph.online_sessions, ph.connections, ph.login_failed, opts_.task_wait_s);
    std::fflush(stdout);

    // Until every session has a push and none came for kSettle, or --drain-s without progress
    // after the first push; bounded by --task-wait-s from the ready line.
    const auto start = Clock::now();
    const auto limit = start + seconds_ms(opts_.task_wait_s);
    const auto drain = seconds_ms(opts_.drain_s);
    auto next_report = start + std::chrono::seconds(10);
    ProgressClock progress(pushes_received(shards), start);  // none expected before the publish
    bool pushing = false;
    ph.wait_end = "limit";
    // Bounded by `limit`.
    while (Clock::now() < limit) {
        std::this_thread::sleep_for(kPollStep);
        const auto now = Clock::now();
        const std::uint64_t pushes = pushes_received(shards);
        if (progress.note(pushes, now)) {
            if (!pushing) next_report = now + std::chrono::seconds(1);
            pushing = true;
        }
        if (now >= next_report) {
            std::printf("  t=%.0fs feed.item pushes %llu of %u sessions\n",
                        std::chrono::duration<double>(now - start).count(),
                        static_cast<unsigned long long>(pushes), ph.online_sessions);
            std::fflush(stdout);
            next_report = now + (pushing ? std::chrono::seconds(1) : std::chrono::seconds(10));
        }
        if (pushes >= ph.online_sessions && progress.still_for(now) >= kSettle) {
            ph.wait_end = "all";
            break;
        }
        if (pushing && progress.still_for(now) >= drain) {
            ph.wait_end = "drained";
            break;
        }
    }
    for (auto& s : shards) s->stop_measuring();
    ph.waited_s = std::chrono::duration<double>(Clock::now() - start).count();
    ph.complete = std::string_view(ph.wait_end) == "all";
}

std::string PluginRun::report_feed_receive_only(const Shards& shards, bool& clean) {
    Phase& ph = *phase_;
    // The item: the one most sessions got (this process does not publish it; a session with
    // another one, or two, counts as wrong or duplicated).
    std::map<std::uint64_t, std::uint64_t> by_item;
    std::uint64_t unreadable = 0, other = 0;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        unreadable += p.unmatched;
        other += p.other_types;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] != 0) ++by_item[p.item_ids[c]];
        }
    }
    std::uint64_t most = 0;
    for (const auto& [id, n] : by_item) {
        if (n > most) {
            most = n;
            ph.item_id = id;
        }
    }
    std::uint64_t received = 0, twice = 0, extra = 0, wrong_item = 0, no_ts = 0;
    std::int64_t first_ns = 0, last_ns = 0, item_ts_ms = -1;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] == 0) continue;
            count_copies(p.items[c], received, twice, extra);
            if (p.item_ids[c] != ph.item_id) {
                ++wrong_item;
                continue;
            }
            if (p.item_ts_ms[c] < 0) ++no_ts;
            if (item_ts_ms < 0) item_ts_ms = p.item_ts_ms[c];
            const std::int64_t t = p.item_first_ns[c];
            if (first_ns == 0 || t < first_ns) first_ns = t;
            last_ns = std::max(last_ns, t);
        }
    }
    const LatencyHistogram ts_latency = feed_ts_latency(shards, ph.item_id);
    const std::uint64_t missing = ph.online_sessions > received ? ph.online_sessions - received : 0;
    if (missing || twice || wrong_item || unreadable || no_ts || received == 0) clean = false;
    const double first_to_last_s = last_ns > first_ns ? double(last_ns - first_ns) / 1e9 : 0;

    std::printf(
        "feed (receive-only): item %llu (ts_ms %lld): %llu of %u online sessions got "
        "feed.item, missing %llu, duplicates %llu (%llu sessions), another item %llu, "
        "unreadable %llu, no ts_ms %llu\n",
        static_cast<unsigned long long>(ph.item_id), static_cast<long long>(item_ts_ms),
        static_cast<unsigned long long>(received), ph.online_sessions,
        static_cast<unsigned long long>(missing), static_cast<unsigned long long>(extra),
        static_cast<unsigned long long>(twice), static_cast<unsigned long long>(wrong_item),
        static_cast<unsigned long long>(unreadable), static_cast<unsigned long long>(no_ts));
    std::printf("feed (receive-only): item ts_ms → each session's feed.item (wall clock) ms: %s\n",
                latency_text(ts_latency).c_str());
    std::printf(
        "feed (receive-only): first → last feed.item here %.3f s; waited %.1f s after "
        "ready (%s)\n",
        first_to_last_s, ph.waited_s,
        std::string_view(ph.wait_end) == "all"       ? "every session had a push"
        : std::string_view(ph.wait_end) == "drained" ? "gave up: --drain-s without progress"
                                                     : "gave up: --task-wait-s");

    return ",\"feed_mode\":\"receive_only\",\"item_id\":" + num(ph.item_id) +
           ",\"item_ts_ms\":" + std::to_string(item_ts_ms) +
           ",\"online_sessions\":" + std::to_string(ph.online_sessions) +
           ",\"received\":" + num(received) + ",\"missing\":" + num(missing) +
           ",\"duplicates\":" + num(extra) + ",\"wrong_item\":" + num(wrong_item) +
           ",\"unreadable\":" + num(unreadable) + ",\"no_ts_ms\":" + num(no_ts) +
           ",\"other_pushes\":" + num(other) + latency_json("ts_latency", ts_latency) +
           ",\"first_to_last_push_s\":" + fmt("%.3f", first_to_last_s) +
           ",\"waited_s\":" + fmt("%.3f", ph.waited_s) + ",\"wait_end\":\"" + ph.wait_end + "\"";
}

}  // namespace lp::load
