// load-test/scenario_run: the one interface livepush-load's conductor (livepush_load.cpp) drives
// every scenario family through:
//   transport_scenarios  pingpong, idle      (the sessions themselves)
//   publish_scenarios    room, qos1          (a publisher pushes through the HTTP API)
//   plugin_runs          gift, pk, feed      (the business plugins' paths)
// The conductor owns the options, the shards, the connect phase and the run's common report
// (run_report.hpp); a ScenarioRun owns what happens between connect and shutdown, and the lines
// and JSON fields of its own results. A ScenarioRun never creates or joins shards, and every wait
// it makes is bounded.
#pragma once

#include <array>
#include <cstdint>
#include <string>

#include "load-test/latency_histogram.hpp"
#include "load-test/load_shard.hpp"
#include "load-test/run_phases.hpp"

namespace lp::load {

// The transport counters of every shard, summed after join().
struct ShardSum {
    LatencyHistogram latency;  // HEARTBEAT→PONG, measuring window (ns)
    std::uint64_t pongs_measured = 0;
    std::uint64_t pongs_total = 0;
    std::uint64_t unmatched_pongs = 0;
    std::uint64_t pushes = 0;
    std::uint64_t kicks = 0;
    std::uint64_t error_frames = 0;
    std::array<std::uint64_t, static_cast<std::size_t>(Drop::Count)> drops{};
    double pong_per_s = 0;  // each shard's PONGs over its own window, summed
    double measured_s = 0;  // the longest shard window
};

class ScenarioRun {
public:
    virtual ~ScenarioRun() = default;

    // The lines after the run's first line that say what the scenario will do.
    virtual void print_plan() const {}
    // Before the shards exist (idle: the server's baseline RSS; room, qos1: the publisher).
    // Throws std::exception when the run cannot start (exit status 2).
    virtual void prepare() {}
    // The shards run and nothing is connected yet (feed: loads the followers). False: the run
    // ends with status 1.
    virtual bool before_connect() { return true; }
    // While the sessions are connected; only when at least one logged in.
    virtual void run(const Shards& shards) = 0;
    // After the shards are joined: prints the scenario's results and returns their JSON fields
    // (each with a leading comma). `logged_in`: sessions logged in by the end of the connect
    // phase (0: run() did not run). `clean` becomes false when something was lost, duplicated,
    // refused or not measured.
    virtual std::string report(const Shards& shards, const ShardSum& sum, std::uint32_t logged_in,
                               bool& clean) = 0;
};

}  // namespace lp::load
