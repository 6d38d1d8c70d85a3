// load-test/run_report: the part of livepush-load's report every scenario shares: the connect +
// login summary, failures and drops by kind, KICK / ERROR / PUSH counts, the head and the end of
// the one JSON line (the scenario's own fields go between, from its ScenarioRun::report). Prints
// and formats only; never waits and never steers a shard.
#pragma once

#include <cstdint>
#include <string>

#include "load-test/load_options.hpp"
#include "load-test/run_phases.hpp"
#include "load-test/scenario_run.hpp"

namespace lp::load {

// What the connect phase achieved.
struct ConnectSummary {
    Totals after_connect;  // at the end of the connect phase
    double connect_s = 0;  // first connect → last LOGIN_RESULT (or room.enter result)
    double logins_per_s = 0;
    std::string failures_json;  // {"socket":N,...}: every Failure kind
};

// Prints the connect + login line and the failures by kind (when any).
ConnectSummary report_connect(const Shards& shards, std::uint32_t connections);

// Sums the transport counters of the joined shards.
ShardSum sum_shards(const Shards& shards);

// Prints the drops and frame counts; returns the JSON line up to the scenario's fields.
std::string report_head(const RunOptions& run, const ConnectSummary& connect, const ShardSum& sum,
                        std::uint32_t dropped);

// Prints the load tool's peak RSS, then the JSON line closed with it.
void print_report_end(std::string json, long client_peak_rss_kib);

}  // namespace lp::load
