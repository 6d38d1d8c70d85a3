// load-test/transport_scenarios: see transport_scenarios.hpp.
#include "load-test/transport_scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>

#include "load-test/process_stats.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

double us(std::uint64_t ns) {
    return double(ns) / 1000.0;
}

// Warm-up pings, then --duration-s of measured ones.
class PingPongRun final : public ScenarioRun {
public:
    explicit PingPongRun(const RunOptions& run) : run_(run) {}

    void run(const Shards& shards) override {
        for (auto& s : shards) s->start_pinging();
        sleep_until(Clock::now() + seconds_ms(run_.warmup_s));
        for (auto& s : shards) s->start_measuring();
        sleep_until(Clock::now() + seconds_ms(run_.duration_s));
        for (auto& s : shards) s->stop_measuring();
        wait_measuring_stopped(shards, Clock::now() + std::chrono::seconds(5));
    }

    std::string report(const Shards&, const ShardSum& sum, std::uint32_t logged_in,
                       bool&) override {
        const LatencyHistogram& h = sum.latency;
        if (logged_in > 0) {
            std::printf("pingpong: %llu PONGs in %.2f s = %.0f PONG/s (inflight %u per session)\n",
                        static_cast<unsigned long long>(sum.pongs_measured), sum.measured_s,
                        sum.pong_per_s, run_.load.inflight);
            std::printf("latency us: p50=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f\n",
                        us(h.value_at(0.5)), us(h.value_at(0.99)), us(h.value_at(0.999)),
                        us(h.max()), h.mean() / 1000.0);
        }
        if (sum.unmatched_pongs) {
            std::printf("unmatched PONGs: %llu\n",
                        static_cast<unsigned long long>(sum.unmatched_pongs));
        }
        return ",\"inflight\":" + std::to_string(run_.load.inflight) +
               ",\"measured_s\":" + fmt("%.3f", sum.measured_s) +
               ",\"pongs\":" + std::to_string(sum.pongs_measured) +
               ",\"pong_per_s\":" + fmt("%.1f", sum.pong_per_s) +
               ",\"p50_us\":" + fmt("%.1f", us(h.value_at(0.5))) +
               ",\"p99_us\":" + fmt("%.1f", us(h.value_at(0.99))) +
               ",\"p999_us\":" + fmt("%.1f", us(h.value_at(0.999))) +
               ",\"max_us\":" + fmt("%.1f", us(h.max())) +
               ",\"mean_us\":" + fmt("%.1f", h.mean() / 1000.0) +
               ",\"unmatched_pongs\":" + std::to_string(sum.unmatched_pongs);
    }

private:
    const RunOptions& run_;
};

// The server's VmRSS before the sessions, --settle-s after the last login, and at the end of
// --duration-s.
class IdleRun final : public ScenarioRun {
public:
    explicit IdleRun(const RunOptions& run) : run_(run) {}

    void prepare() override {
        rss_baseline_ = read_rss_kib(run_.server_pid);
        if (rss_baseline_ < 0) {
            usage_error("cannot read /proc/" + std::to_string(run_.server_pid) + "/status");
        }
        std::printf("server pid %d: baseline VmRSS %ld KiB\n", run_.server_pid, rss_baseline_);
    }

    void run(const Shards&) override {
        Clock::time_point hold_start = Clock::now();
        sleep_until(hold_start + seconds_ms(run_.settle_s));
        rss_after_ = read_rss_kib(run_.server_pid);
        sleep_until(hold_start + seconds_ms(std::max(run_.duration_s, run_.settle_s)));
        rss_end_ = read_rss_kib(run_.server_pid);
    }

    std::string report(const Shards&, const ShardSum& sum, std::uint32_t logged_in,
                       bool&) override {
        long delta = rss_after_ >= 0 ? rss_after_ - rss_baseline_ : 0;
        double per_session = logged_in ? double(delta) * 1024.0 / logged_in : 0;
        if (logged_in > 0) {
            std::printf(
                "idle: server VmRSS baseline %ld KiB, after %u sessions + %.1f s %ld KiB "
                "(delta %ld KiB = %.0f bytes/session), at end %ld KiB\n",
                rss_baseline_, logged_in, run_.settle_s, rss_after_, delta, per_session, rss_end_);
            std::printf("idle: %llu heartbeats answered (every %u ms per session)\n",
                        static_cast<unsigned long long>(sum.pongs_total), run_.load.heartbeat_ms);
        }
        return ",\"server_pid\":" + std::to_string(run_.server_pid) +
               ",\"rss_baseline_kib\":" + std::to_string(rss_baseline_) +
               ",\"rss_after_kib\":" + std::to_string(rss_after_) +
               ",\"rss_delta_kib\":" + std::to_string(delta) +
               ",\"bytes_per_session\":" + fmt("%.0f", per_session) +
               ",\"rss_end_kib\":" + std::to_string(rss_end_) +
               ",\"pongs\":" + std::to_string(sum.pongs_total) +
               ",\"heartbeat_ms\":" + std::to_string(run_.load.heartbeat_ms);
    }

private:
    const RunOptions& run_;
    long rss_baseline_ = -1, rss_after_ = -1, rss_end_ = -1;
};

}  // namespace

std::unique_ptr<ScenarioRun> make_pingpong_run(const RunOptions& run) {
    return std::make_unique<PingPongRun>(run);
}

std::unique_ptr<ScenarioRun> make_idle_run(const RunOptions& run) {
    return std::make_unique<IdleRun>(run);
}

}  // namespace lp::load
