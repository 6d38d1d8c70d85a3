// load-test/transport_scenarios: the scenarios that measure the sessions themselves, no
// publisher involved.
//   pingpong  every session keeps --inflight heartbeats in flight; PONG/s and round-trip latency
//   idle      sessions only keep alive; the server's resident memory per session (--server-pid)
// They steer the shards' phases and read their results; they never open a connection.
#pragma once

#include <memory>

#include "load-test/load_options.hpp"
#include "load-test/scenario_run.hpp"

namespace lp::load {

std::unique_ptr<ScenarioRun> make_pingpong_run(const RunOptions& run);
std::unique_ptr<ScenarioRun> make_idle_run(const RunOptions& run);

}  // namespace lp::load
