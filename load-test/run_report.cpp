// load-test/run_report: see run_report.hpp.
#include "load-test/run_report.hpp"

#include <algorithm>
#include <cstdio>
#include <string>
#include <string_view>

#include "load-test/report.hpp"

namespace lp::load {
namespace {

// Counts by kind as a JSON object of every kind, and as " kind=N" text of the non-zero ones.
template <class Kind, class CountOf>
std::string counts_by_kind(CountOf count_of, std::string& text) {
    std::string json = "{";
    for (std::size_t k = 0; k < static_cast<std::size_t>(Kind::Count); ++k) {
        const std::uint64_t n = count_of(k);
        const std::string name(name_of(static_cast<Kind>(k)));
        if (json.size() > 1) json += ",";
        json += "\"" + name + "\":" + std::to_string(n);
        if (n) text += " " + name + "=" + std::to_string(n);
    }
    return json + "}";
}

}  // namespace

ConnectSummary report_connect(const Shards& shards, std::uint32_t connections) {
    ConnectSummary c;
    c.after_connect = totals(shards);
    std::int64_t first_connect = 0, last_login = 0;
    for (auto& s : shards) {
        std::int64_t f = s->first_connect_ns();
        if (f != 0 && (first_connect == 0 || f < first_connect)) first_connect = f;
        last_login = std::max(last_login, s->last_login_ns());
    }
    c.connect_s = seconds_between(first_connect, last_login);
    c.logins_per_s = c.connect_s > 0 ? c.after_connect.logged_in / c.connect_s : 0;
    std::printf(
        "connect+login: %u/%u logged in, %u failed, %.3f s from first connect to last "
        "LOGIN_RESULT (%.0f logins/s)\n",
        c.after_connect.logged_in, connections, c.after_connect.failed, c.connect_s,
        c.logins_per_s);
    std::string failures_text;
    c.failures_json = counts_by_kind<Failure>(
        [&](std::size_t k) {
            std::uint64_t n = 0;
            for (auto& s : shards) n += s->failures(static_cast<Failure>(k));
            return n;
        },
        failures_text);
    if (!failures_text.empty()) std::printf("failures:%s\n", failures_text.c_str());
    std::fflush(stdout);
    return c;
}

ShardSum sum_shards(const Shards& shards) {
    ShardSum sum;
    for (auto& s : shards) {
        const auto& r = s->results();
        sum.latency.merge(r.latency);
        sum.pongs_measured += r.pongs_measured;
        sum.pongs_total += r.pongs_total;
        sum.unmatched_pongs += r.unmatched_pongs;
        sum.pushes += r.pushes;
        sum.kicks += r.kicks;
        sum.error_frames += r.error_frames;
        for (std::size_t k = 0; k < sum.drops.size(); ++k) sum.drops[k] += r.drops[k];
        if (r.measured_ns > 0)
            sum.pong_per_s += double(r.pongs_measured) / (double(r.measured_ns) / 1e9);
        sum.measured_s = std::max(sum.measured_s, double(r.measured_ns) / 1e9);
    }
    return sum;
}

std::string report_head(const RunOptions& run, const ConnectSummary& connect, const ShardSum& sum,
                        std::uint32_t dropped) {
    const LoadOptions& opts = run.load;
    std::string drops_text;
    const std::string drops_json =
        counts_by_kind<Drop>([&](std::size_t k) { return sum.drops[k]; }, drops_text);
    if (dropped) std::printf("dropped after login: %u (%s )\n", dropped, drops_text.c_str());
    if (sum.kicks || sum.error_frames || sum.pushes) {
        std::printf("received: %llu KICK, %llu ERROR, %llu PUSH\n",
                    static_cast<unsigned long long>(sum.kicks),
                    static_cast<unsigned long long>(sum.error_frames),
                    static_cast<unsigned long long>(sum.pushes));
    }
    return "{\"scenario\":\"" + std::string(scenario_name(opts.scenario)) + "\",\"transport\":\"" +
           (opts.websocket ? "ws" : "tcp") +
           "\",\"connections\":" + std::to_string(opts.connections) +
           ",\"threads\":" + std::to_string(opts.threads) +
           ",\"logged_in\":" + std::to_string(connect.after_connect.logged_in) +
           ",\"failed\":" + std::to_string(connect.after_connect.failed) +
           ",\"connect_login_s\":" + fmt("%.3f", connect.connect_s) +
           ",\"logins_per_s\":" + fmt("%.1f", connect.logins_per_s) +
           ",\"failures\":" + connect.failures_json + ",\"dropped\":" + std::to_string(dropped) +
           ",\"drops\":" + drops_json + ",\"kicks\":" + std::to_string(sum.kicks) +
           ",\"error_frames\":" + std::to_string(sum.error_frames);
}

void print_report_end(std::string json, long client_peak_rss_kib) {
    std::printf("load generator peak RSS %ld KiB\n", client_peak_rss_kib);
    json += ",\"client_peak_rss_kib\":" + std::to_string(client_peak_rss_kib) + "}";
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
}

}  // namespace lp::load
