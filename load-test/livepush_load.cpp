// livepush-load: the load generator. Opens N sessions against one livepush node (TCP or
// WebSocket), logs them in with HS256 tokens minted from --secret, and runs a scenario:
//   pingpong  every session keeps --inflight heartbeats in flight; reports PONG/s and latency
//   idle      sessions only keep alive; reports the server's resident memory per session
//   room      sessions enter --rooms rooms; a publisher pushes to the rooms through the HTTP
//             API at --rate; reports deliveries/s, publish-to-receive latency, loss, seq gaps
//   qos1      a publisher pushes qos 1 to the sessions' users through the HTTP API at --rate;
//             sessions ACK every push; reports acks/s, latency, loss and duplicate msg_ids
//   gift, pk, feed  the business plugins' paths (plugin_runs.hpp): gift events from Kafka or
//             the API to gift.effect room pushes, gift events to pk.score, a feed publish to
//             every online follower
//   live-room one room's viewers under the node's per-viewer budget, with chat, likes and
//             gifts at once (live_room_run.hpp): messages per class, lost gifts, own chats
// All report the connect + login rate and failures by kind.
//
// This file is the conductor: the phase timeline and the hard timeout. The options are
// load_options.cpp; the connections live in load_shard.cpp, one event loop per --threads,
// because the measuring itself must be cheap: the tool has to hold 15,000+ sessions in one
// process while the server is the thing being measured. Each scenario family is a ScenarioRun
// (scenario_run.hpp) in a file of its own: transport_scenarios.cpp (pingpong, idle),
// publish_scenarios.cpp (room, qos1; its HTTP publisher, api_publisher.cpp, runs on a thread of
// its own), plugin_runs.cpp with gift_run.cpp, pk_run.cpp and feed_run.cpp, and live_room_run.cpp
// (its sending side in load_shard_live.cpp, its books in live_room_receiver.cpp). The report's
// common part is run_report.cpp.
// Every phase has a deadline and an alarm backs up the whole run, so it always exits by itself.
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <csignal>
#include <cstdio>
#include <exception>
#include <memory>
#include <string>

#include "load-test/live_room_run.hpp"
#include "load-test/load_options.hpp"
#include "load-test/load_shard.hpp"
#include "load-test/plugin_runs.hpp"
#include "load-test/publish_scenarios.hpp"
#include "load-test/run_phases.hpp"
#include "load-test/run_report.hpp"
#include "load-test/transport_scenarios.hpp"

namespace {

using namespace lp::load;

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

// The run of --scenario. Plugin runs are made before the shards: they size what the shards check.
std::unique_ptr<ScenarioRun> make_scenario_run(RunOptions& run) {
    switch (run.load.scenario) {
        case Scenario::PingPong:
            return make_pingpong_run(run);
        case Scenario::Idle:
            return make_idle_run(run);
        case Scenario::Room:
        case Scenario::Qos1:
            return make_publish_run(run);
        case Scenario::LiveRoom:
            return make_live_room_run(run);
        default:
            try {
                return std::make_unique<PluginRun>(run.plugin, run.load);
            } catch (const std::exception& e) {
                usage_error(e.what());
            }
    }
}

// The run's first lines: what it targets and what it will do.
void print_plan(const RunOptions& run, const ScenarioRun& scenario, rlim_t fd_limit) {
    const LoadOptions& opts = run.load;
    std::printf(
        "livepush-load: scenario=%s transport=%s target=%s:%u connections=%u threads=%u "
        "source_ips=%zu fd_limit=%llu\n",
        scenario_name(opts.scenario), opts.websocket ? "ws" : "tcp", opts.host.c_str(), opts.port,
        opts.connections, opts.threads, opts.source_ips.size(),
        static_cast<unsigned long long>(fd_limit));
    scenario.print_plan();
    if (fd_limit != 0 && opts.connections + 64 > fd_limit) {
        std::printf(
            "warning: %u connections need more descriptors than the limit %llu; expect "
            "'socket' failures\n",
            opts.connections, static_cast<unsigned long long>(fd_limit));
    }
}

// Connects and logs in every session, printing progress each second; bounded by
// --connect-phase-s (and 5 s for the ones still under way when it ends).
void connect_all(const RunOptions& run, const Shards& shards) {
    const std::uint32_t connections = run.load.connections;
    for (auto& s : shards) s->start_connecting();
    Clock::time_point connect_deadline = Clock::now() + seconds_ms(run.connect_phase_s);
    auto all_settled = [&] {
        Totals t = totals(shards);
        return t.logged_in + t.failed >= connections;
    };
    Clock::time_point next_progress = Clock::now() + std::chrono::seconds(1);
    // Bounded by the connect-phase deadline.
    while (Clock::now() < connect_deadline && !all_settled()) {
        wait_until(std::min(next_progress, connect_deadline), all_settled);
        if (Clock::now() >= next_progress) {
            Totals t = totals(shards);
            std::printf("  connecting: %u logged in, %u failed of %u\n", t.logged_in, t.failed,
                        connections);
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
}

void stop_all(const Shards& shards) {
    for (auto& s : shards) s->shutdown();
    for (auto& s : shards) s->join();
}

}  // namespace

int main(int argc, char** argv) {
    RunOptions run = parse_options(argc, argv);
    std::unique_ptr<ScenarioRun> scenario = make_scenario_run(run);
    const LoadOptions& opts = run.load;
    std::signal(SIGPIPE, SIG_IGN);
    std::signal(SIGALRM, on_hard_timeout);
    alarm(std::max(1u, static_cast<unsigned>(std::ceil(run.timeout_s))));
    print_plan(run, *scenario, raise_fd_limit());

    Shards shards;
    try {
        scenario->prepare();
        for (std::uint32_t s = 0; s < opts.threads; ++s) {
            shards.push_back(std::make_unique<LoadShard>(opts, s, opts.threads));
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "livepush-load: %s\n", e.what());
        return 2;
    }
    for (auto& s : shards) s->run();
    if (!scenario->before_connect()) {
        stop_all(shards);
        return 1;
    }

    connect_all(run, shards);
    const ConnectSummary connect = report_connect(shards, opts.connections);
    const std::uint32_t logged_in = connect.after_connect.logged_in;
    if (logged_in == 0) {
        std::printf("no session logged in: nothing to measure\n");
    } else {
        scenario->run(shards);
    }
    const Totals end_totals = totals(shards);
    // Peak RSS from getrusage: needs no descriptor, which may all be in use by sessions.
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    stop_all(shards);

    const ShardSum sum = sum_shards(shards);
    std::string json = report_head(run, connect, sum, end_totals.dropped);
    bool scenario_clean = true;
    json += scenario->report(shards, sum, logged_in, scenario_clean);
    print_report_end(std::move(json), usage.ru_maxrss);
    bool clean = logged_in == opts.connections && end_totals.dropped == 0 && scenario_clean;
    return clean ? 0 : 1;
}
