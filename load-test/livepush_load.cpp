// livepush-load: the load generator. Opens N sessions against one livepush node (TCP or
// WebSocket), logs them in with HS256 tokens minted from --secret, and runs a scenario:
//   pingpong  every session keeps --inflight heartbeats in flight; reports PONG/s and latency
//   idle      sessions only keep alive; reports the server's resident memory per session
// Both report the connect + login rate and failures by kind.
//
// This file is the conductor: options, the phase timeline, the report. The connections live in
// load_shard.cpp, one event loop per --threads, because the measuring itself must be cheap: the
// tool has to hold 15,000+ sessions in one process while the server is the thing being measured.
// Every phase has a deadline and an alarm backs up the whole run, so it always exits by itself.
#include <arpa/inet.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "load-test/load_shard.hpp"

namespace {

using lp::load::Drop;
using lp::load::Failure;
using lp::load::LoadOptions;
using lp::load::LoadShard;
using lp::load::Scenario;
using Clock = std::chrono::steady_clock;

constexpr std::string_view kUsage = R"(livepush-load: an asynchronous load generator for livepush.

usage: livepush-load --secret SECRET [options]

target:
  --host HOST                 server address (default 127.0.0.1)
  --port PORT                 TCP port, or the WebSocket port with --transport ws (default 7000)
  --transport tcp|ws          raw TCP frames or WebSocket binary messages (default tcp)
  --ws-path PATH              WebSocket path (default /ws)
  --json                      JSON_BODY frames instead of binary protobuf
  --secret SECRET             HS256 secret the server verifies tokens with (required)
  --user-base ID              connection i logs in as user ID+i (default 1000000)
  --platform NAME             LoginReq.platform (default load)
load:
  --scenario pingpong|idle    what to run (default pingpong)
  --connections N             sessions to open (default 1000)
  --threads N                 event-loop threads, connections split evenly (default 1)
  --source-ips LIST           local addresses to bind round-robin, e.g. 127.0.0.1-127.0.0.8
                              or 127.0.0.2,127.0.0.3 (default: the kernel's choice)
  --connect-concurrency N     connects + logins in progress at once (default 500)
  --connect-timeout-ms N      per-session limit for connect + upgrade + login (default 10000)
  --connect-phase-s S         limit for the whole connect phase (default 120)
  --inflight K                pingpong: heartbeats in flight per session (default 1)
  --warmup-s S                pingpong: ping before measuring (default 2)
  --duration-s S              pingpong: measuring time; idle: holding time (default 10)
  --heartbeat-ms N            idle: heartbeat period per session (default 20000)
  --settle-s S                idle: wait after the last login before reading RSS (default 2)
  --server-pid PID            idle: the server process whose VmRSS is read (required for idle;
                              use a fresh server: RSS does not shrink after earlier runs)
  --timeout-s S               hard limit for the whole run (default: the phases' sum + 30)
  --max-body N                frame body limit (default 65536)
  -h, --help                  this text

output: human-readable lines, then one line of JSON with every number, for scripts.
exit status: 0 all sessions logged in and stayed, 1 some failed or dropped, 2 usage,
             3 the hard timeout fired.
)";

[[noreturn]] void usage_error(const std::string& why) {
    std::fprintf(stderr, "livepush-load: %s (see --help)\n", why.c_str());
    std::exit(2);
}

std::uint64_t parse_uint(const char* flag, const std::string& text, std::uint64_t max) {
    char* end = nullptr;
    errno = 0;
    unsigned long long v = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || errno != 0 || v > max || text[0] == '-') {
        usage_error(std::string("bad value for ") + flag + ": " + text);
    }
    return v;
}

double parse_seconds(const char* flag, const std::string& text) {
    char* end = nullptr;
    double v = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !(v >= 0) || v > 86400) {
        usage_error(std::string("bad value for ") + flag + ": " + text);
    }
    return v;
}

// "127.0.0.1-127.0.0.8", "127.0.0.1-8", "127.0.0.2,127.0.0.3" or a mix: IPv4 addresses in order.
std::vector<std::string> parse_source_ips(const std::string& list) {
    constexpr std::size_t kMaxSources = 65536;
    std::vector<std::string> out;
    std::size_t start = 0;
    // Bounded by the list's length: each step consumes one comma-separated item.
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        std::string item =
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
        start = comma == std::string::npos ? list.size() + 1 : comma + 1;
        if (item.empty()) continue;
        std::size_t dash = item.find('-');
        std::string first = item.substr(0, dash);
        in_addr a{}, b{};
        if (inet_pton(AF_INET, first.c_str(), &a) != 1)
            usage_error("bad address in --source-ips: " + first);
        std::uint32_t lo = ntohl(a.s_addr), hi = lo;
        if (dash != std::string::npos) {
            std::string last = item.substr(dash + 1);
            if (last.find('.') == std::string::npos) {
                hi = (lo & 0xFFFFFF00u) |
                     static_cast<std::uint32_t>(parse_uint("--source-ips", last, 255));
            } else if (inet_pton(AF_INET, last.c_str(), &b) == 1) {
                hi = ntohl(b.s_addr);
            } else {
                usage_error("bad address in --source-ips: " + last);
            }
        }
        if (hi < lo || hi - lo >= kMaxSources || out.size() + (hi - lo) >= kMaxSources) {
            usage_error("bad range in --source-ips: " + item);
        }
        for (std::uint64_t v = lo; v <= hi; ++v) {
            in_addr x{htonl(static_cast<std::uint32_t>(v))};
            char text[INET_ADDRSTRLEN];
            inet_ntop(AF_INET, &x, text, sizeof text);
            out.emplace_back(text);
        }
    }
    return out;
}

struct RunOptions {
    LoadOptions load;
    double connect_phase_s = 120;
    double warmup_s = 2;
    double duration_s = 10;
    double settle_s = 2;
    double timeout_s = 0;
    int server_pid = 0;
};

RunOptions parse_options(int argc, char** argv) {
    RunOptions o;
    LoadOptions& l = o.load;
    for (int i = 1; i < argc; ++i) {
        std::string_view a = argv[i];
        if (a == "-h" || a == "--help") {
            std::fwrite(kUsage.data(), 1, kUsage.size(), stdout);
            std::exit(0);
        }
        if (a == "--json") {  // the one switch without a value
            l.json_body = true;
            continue;
        }
        if (i + 1 >= argc) usage_error("unknown option or missing value: " + std::string(a));
        const char* flag = argv[i];
        std::string v = argv[++i];
        if (a == "--scenario") {
            if (v == "pingpong")
                l.scenario = Scenario::PingPong;
            else if (v == "idle")
                l.scenario = Scenario::Idle;
            else
                usage_error("--scenario is pingpong or idle");
        } else if (a == "--host")
            l.host = v;
        else if (a == "--port")
            l.port = static_cast<std::uint16_t>(parse_uint(flag, v, 65535));
        else if (a == "--transport") {
            if (v != "tcp" && v != "ws") usage_error("--transport is tcp or ws");
            l.websocket = v == "ws";
        } else if (a == "--ws-path")
            l.ws_path = v;
        else if (a == "--secret")
            l.secret = v;
        else if (a == "--user-base")
            l.user_base = parse_uint(flag, v, UINT64_MAX / 2);
        else if (a == "--platform")
            l.platform = v;
        else if (a == "--connections")
            l.connections = static_cast<std::uint32_t>(parse_uint(flag, v, 1000000));
        else if (a == "--threads")
            l.threads = static_cast<std::uint32_t>(parse_uint(flag, v, 64));
        else if (a == "--source-ips")
            l.source_ips = parse_source_ips(v);
        else if (a == "--connect-concurrency")
            l.connect_concurrency = static_cast<std::uint32_t>(parse_uint(flag, v, 100000));
        else if (a == "--connect-timeout-ms")
            l.connect_timeout_ms = static_cast<std::uint32_t>(parse_uint(flag, v, 600000));
        else if (a == "--connect-phase-s")
            o.connect_phase_s = parse_seconds(flag, v);
        else if (a == "--inflight")
            l.inflight = static_cast<std::uint32_t>(parse_uint(flag, v, 1024));
        else if (a == "--warmup-s")
            o.warmup_s = parse_seconds(flag, v);
        else if (a == "--duration-s")
            o.duration_s = parse_seconds(flag, v);
        else if (a == "--heartbeat-ms")
            l.heartbeat_ms = static_cast<std::uint32_t>(parse_uint(flag, v, 3600000));
        else if (a == "--settle-s")
            o.settle_s = parse_seconds(flag, v);
        else if (a == "--server-pid")
            o.server_pid = static_cast<int>(parse_uint(flag, v, 4194304));
        else if (a == "--timeout-s")
            o.timeout_s = parse_seconds(flag, v);
        else if (a == "--max-body")
            l.max_body = static_cast<std::uint32_t>(parse_uint(flag, v, 16u << 20));
        else
            usage_error("unknown option " + std::string(a));
    }
    if (l.secret.empty()) usage_error("--secret is required");
    if (l.port == 0) usage_error("--port must be set");
    if (l.connections == 0) usage_error("--connections must be at least 1");
    if (l.threads == 0) l.threads = 1;
    if (l.threads > l.connections) l.threads = l.connections;
    if (l.inflight == 0) l.inflight = 1;
    if (l.connect_concurrency == 0) l.connect_concurrency = 1;
    if (l.heartbeat_ms == 0) usage_error("--heartbeat-ms must be positive");
    if (l.scenario == Scenario::Idle && o.server_pid <= 0) usage_error("idle needs --server-pid");
    if (o.timeout_s == 0) {
        o.timeout_s = o.connect_phase_s + o.warmup_s + o.duration_s + o.settle_s + 30;
    }
    return o;
}

void on_hard_timeout(int) {
    static const char msg[] = "livepush-load: hard timeout (--timeout-s) reached, exiting\n";
    ssize_t ignored = ::write(STDERR_FILENO, msg, sizeof msg - 1);
    (void)ignored;
    _exit(3);
}

// Raises the open-file limit to the hard limit: every session is a descriptor.
rlim_t raise_fd_limit() {
    rlimit lim{};
    if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return 0;
    if (lim.rlim_cur < lim.rlim_max) {
        lim.rlim_cur = lim.rlim_max;
        setrlimit(RLIMIT_NOFILE, &lim);
        getrlimit(RLIMIT_NOFILE, &lim);
    }
    return lim.rlim_cur;
}

double seconds_between(std::int64_t from_ns, std::int64_t to_ns) {
    return to_ns > from_ns ? double(to_ns - from_ns) / 1e9 : 0.0;
}

// Sleeps in short steps until `until`, or until done() holds; bounded by `until`.
template <class Done>
void wait_until(Clock::time_point until, const Done& done) {
    while (Clock::now() < until && !done()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

void sleep_until(Clock::time_point until) {
    wait_until(until, [] { return false; });
}

struct Totals {
    std::uint32_t logged_in = 0, failed = 0, dropped = 0;
};

Totals totals(const std::vector<std::unique_ptr<LoadShard>>& shards) {
    Totals t;
    for (const auto& s : shards) {
        t.logged_in += s->logged_in();
        t.failed += s->failed();
        t.dropped += s->dropped();
    }
    return t;
}

std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

}  // namespace

int main(int argc, char** argv) {
    RunOptions run = parse_options(argc, argv);
    const LoadOptions& opts = run.load;
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGALRM, on_hard_timeout);
    alarm(std::max(1u, static_cast<unsigned>(std::ceil(run.timeout_s))));

    rlim_t fd_limit = raise_fd_limit();
    const char* scenario = opts.scenario == Scenario::PingPong ? "pingpong" : "idle";
    const char* transport = opts.websocket ? "ws" : "tcp";
    std::printf(
        "livepush-load: scenario=%s transport=%s target=%s:%u connections=%u threads=%u "
        "source_ips=%zu fd_limit=%llu\n",
        scenario, transport, opts.host.c_str(), opts.port, opts.connections, opts.threads,
        opts.source_ips.size(), static_cast<unsigned long long>(fd_limit));
    if (fd_limit != 0 && opts.connections + 64 > fd_limit) {
        std::printf(
            "warning: %u connections need more descriptors than the limit %llu; expect "
            "'socket' failures\n",
            opts.connections, static_cast<unsigned long long>(fd_limit));
    }

    long rss_baseline = -1;
    if (opts.scenario == Scenario::Idle) {
        rss_baseline = lp::load::read_rss_kib(run.server_pid);
        if (rss_baseline < 0)
            usage_error("cannot read /proc/" + std::to_string(run.server_pid) + "/status");
        std::printf("server pid %d: baseline VmRSS %ld KiB\n", run.server_pid, rss_baseline);
    }

    std::vector<std::unique_ptr<LoadShard>> shards;
    try {
        for (std::uint32_t s = 0; s < opts.threads; ++s) {
            shards.push_back(std::make_unique<LoadShard>(opts, s, opts.threads));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "livepush-load: %s\n", e.what());
        return 2;
    }
    for (auto& s : shards) s->run();

    // --- connect + login ------------------------------------------------------------------
    for (auto& s : shards) s->start_connecting();
    Clock::time_point connect_deadline =
        Clock::now() + std::chrono::milliseconds(static_cast<long>(run.connect_phase_s * 1000));
    auto all_settled = [&] {
        Totals t = totals(shards);
        return t.logged_in + t.failed >= opts.connections;
    };
    Clock::time_point next_progress = Clock::now() + std::chrono::seconds(1);
    // Bounded by the connect-phase deadline.
    while (Clock::now() < connect_deadline && !all_settled()) {
        wait_until(std::min(next_progress, connect_deadline), all_settled);
        if (Clock::now() >= next_progress) {
            Totals t = totals(shards);
            std::printf("  connecting: %u logged in, %u failed of %u\n", t.logged_in, t.failed,
                        opts.connections);
            std::fflush(stdout);
            next_progress += std::chrono::seconds(1);
        }
    }
    if (!all_settled()) {
        std::printf("connect phase limit (%.0f s) reached; giving up on the rest\n",
                    run.connect_phase_s);
        for (auto& s : shards) s->stop_connecting();
        wait_until(Clock::now() + std::chrono::seconds(5), all_settled);
    }
    Totals after_connect = totals(shards);
    std::int64_t first_connect = 0, last_login = 0;
    for (auto& s : shards) {
        std::int64_t f = s->first_connect_ns();
        if (f != 0 && (first_connect == 0 || f < first_connect)) first_connect = f;
        last_login = std::max(last_login, s->last_login_ns());
    }
    double connect_s = seconds_between(first_connect, last_login);
    double logins_per_s = connect_s > 0 ? after_connect.logged_in / connect_s : 0;
    std::printf(
        "connect+login: %u/%u logged in, %u failed, %.3f s from first connect to last "
        "LOGIN_RESULT (%.0f logins/s)\n",
        after_connect.logged_in, opts.connections, after_connect.failed, connect_s, logins_per_s);
    std::string failures_json = "{";
    std::string failures_text;
    for (std::size_t k = 0; k < static_cast<std::size_t>(Failure::Count); ++k) {
        std::uint64_t n = 0;
        for (auto& s : shards) n += s->failures(static_cast<Failure>(k));
        if (failures_json.size() > 1) failures_json += ",";
        failures_json += "\"" + std::string(lp::load::name_of(static_cast<Failure>(k))) +
                         "\":" + std::to_string(n);
        if (n)
            failures_text += " " + std::string(lp::load::name_of(static_cast<Failure>(k))) + "=" +
                             std::to_string(n);
    }
    failures_json += "}";
    if (!failures_text.empty()) std::printf("failures:%s\n", failures_text.c_str());
    std::fflush(stdout);

    // --- the scenario -----------------------------------------------------------------------
    long rss_after = -1, rss_end = -1;
    auto seconds = [](double s) { return std::chrono::milliseconds(static_cast<long>(s * 1000)); };
    if (after_connect.logged_in == 0) {
        std::printf("no session logged in: nothing to measure\n");
    } else if (opts.scenario == Scenario::PingPong) {
        for (auto& s : shards) s->start_pinging();
        sleep_until(Clock::now() + seconds(run.warmup_s));
        for (auto& s : shards) s->start_measuring();
        sleep_until(Clock::now() + seconds(run.duration_s));
        for (auto& s : shards) s->stop_measuring();
        wait_until(Clock::now() + std::chrono::seconds(5), [&] {
            return std::all_of(shards.begin(), shards.end(),
                               [](const auto& s) { return s->measuring_stopped(); });
        });
    } else {
        Clock::time_point hold_start = Clock::now();
        sleep_until(hold_start + seconds(run.settle_s));
        rss_after = lp::load::read_rss_kib(run.server_pid);
        sleep_until(hold_start + seconds(std::max(run.duration_s, run.settle_s)));
        rss_end = lp::load::read_rss_kib(run.server_pid);
    }
    Totals end_totals = totals(shards);
    // Peak RSS from getrusage: needs no descriptor, which may all be in use by sessions.
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    long client_rss = usage.ru_maxrss;
    for (auto& s : shards) s->shutdown();
    for (auto& s : shards) s->join();

    // --- report -----------------------------------------------------------------------------
    lp::load::ShardResults sum;
    double pong_per_s = 0, measured_s = 0;
    for (auto& s : shards) {
        const auto& r = s->results();
        sum.latency.merge(r.latency);
        sum.pongs_measured += r.pongs_measured;
        sum.pongs_total += r.pongs_total;
        sum.unmatched_pongs += r.unmatched_pongs;
        sum.pushes += r.pushes;
        sum.kicks += r.kicks;
        sum.error_frames += r.error_frames;
        sum.ws_pongs_dropped += r.ws_pongs_dropped;
        for (std::size_t k = 0; k < sum.drops.size(); ++k) sum.drops[k] += r.drops[k];
        if (r.measured_ns > 0)
            pong_per_s += double(r.pongs_measured) / (double(r.measured_ns) / 1e9);
        measured_s = std::max(measured_s, double(r.measured_ns) / 1e9);
    }
    std::string drops_json = "{";
    std::string drops_text;
    for (std::size_t k = 0; k < sum.drops.size(); ++k) {
        if (drops_json.size() > 1) drops_json += ",";
        std::string name(lp::load::name_of(static_cast<Drop>(k)));
        drops_json += "\"" + name + "\":" + std::to_string(sum.drops[k]);
        if (sum.drops[k]) drops_text += " " + name + "=" + std::to_string(sum.drops[k]);
    }
    drops_json += "}";
    if (end_totals.dropped)
        std::printf("dropped after login: %u (%s )\n", end_totals.dropped, drops_text.c_str());
    if (sum.kicks || sum.error_frames || sum.pushes) {
        std::printf("received: %llu KICK, %llu ERROR, %llu PUSH\n",
                    static_cast<unsigned long long>(sum.kicks),
                    static_cast<unsigned long long>(sum.error_frames),
                    static_cast<unsigned long long>(sum.pushes));
    }

    auto us = [](std::uint64_t ns) { return double(ns) / 1000.0; };
    std::string json =
        "{\"scenario\":\"" + std::string(scenario) + "\",\"transport\":\"" + transport +
        "\",\"connections\":" + std::to_string(opts.connections) +
        ",\"threads\":" + std::to_string(opts.threads) +
        ",\"logged_in\":" + std::to_string(after_connect.logged_in) +
        ",\"failed\":" + std::to_string(after_connect.failed) +
        ",\"connect_login_s\":" + fmt("%.3f", connect_s) +
        ",\"logins_per_s\":" + fmt("%.1f", logins_per_s) + ",\"failures\":" + failures_json +
        ",\"dropped\":" + std::to_string(end_totals.dropped) + ",\"drops\":" + drops_json;
    bool measured = after_connect.logged_in > 0;
    if (opts.scenario == Scenario::PingPong) {
        const auto& h = sum.latency;
        if (measured) {
            std::printf("pingpong: %llu PONGs in %.2f s = %.0f PONG/s (inflight %u per session)\n",
                        static_cast<unsigned long long>(sum.pongs_measured), measured_s, pong_per_s,
                        opts.inflight);
            std::printf("latency us: p50=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f\n",
                        us(h.value_at(0.5)), us(h.value_at(0.99)), us(h.value_at(0.999)),
                        us(h.max()), h.mean() / 1000.0);
        }
        if (sum.unmatched_pongs) {
            std::printf("unmatched PONGs: %llu\n",
                        static_cast<unsigned long long>(sum.unmatched_pongs));
        }
        json += ",\"inflight\":" + std::to_string(opts.inflight) +
                ",\"measured_s\":" + fmt("%.3f", measured_s) +
                ",\"pongs\":" + std::to_string(sum.pongs_measured) +
                ",\"pong_per_s\":" + fmt("%.1f", pong_per_s) +
                ",\"p50_us\":" + fmt("%.1f", us(h.value_at(0.5))) +
                ",\"p99_us\":" + fmt("%.1f", us(h.value_at(0.99))) +
                ",\"p999_us\":" + fmt("%.1f", us(h.value_at(0.999))) +
                ",\"max_us\":" + fmt("%.1f", us(h.max())) +
                ",\"mean_us\":" + fmt("%.1f", h.mean() / 1000.0) +
                ",\"unmatched_pongs\":" + std::to_string(sum.unmatched_pongs);
    } else {
        long delta = rss_after >= 0 ? rss_after - rss_baseline : 0;
        double per_session =
            after_connect.logged_in ? double(delta) * 1024.0 / after_connect.logged_in : 0;
        if (measured) {
            std::printf(
                "idle: server VmRSS baseline %ld KiB, after %u sessions + %.1f s %ld KiB "
                "(delta %ld KiB = %.0f bytes/session), at end %ld KiB\n",
                rss_baseline, after_connect.logged_in, run.settle_s, rss_after, delta, per_session,
                rss_end);
            std::printf("idle: %llu heartbeats answered (every %u ms per session)\n",
                        static_cast<unsigned long long>(sum.pongs_total), opts.heartbeat_ms);
        }
        json += ",\"server_pid\":" + std::to_string(run.server_pid) +
                ",\"rss_baseline_kib\":" + std::to_string(rss_baseline) +
                ",\"rss_after_kib\":" + std::to_string(rss_after) +
                ",\"rss_delta_kib\":" + std::to_string(delta) +
                ",\"bytes_per_session\":" + fmt("%.0f", per_session) +
                ",\"rss_end_kib\":" + std::to_string(rss_end) +
                ",\"pongs\":" + std::to_string(sum.pongs_total) +
                ",\"heartbeat_ms\":" + std::to_string(opts.heartbeat_ms);
    }
    std::printf("load generator peak RSS %ld KiB\n", client_rss);
    json += ",\"client_peak_rss_kib\":" + std::to_string(client_rss) + "}";
    std::printf("%s\n", json.c_str());
    std::fflush(stdout);
    bool clean = after_connect.logged_in == opts.connections && end_totals.dropped == 0;
    return clean ? 0 : 1;
}
