// load-test/publish_scenarios: the scenarios in which a publisher pushes through the node's HTTP
// API (api_publisher.hpp) while the sessions receive and check every PUSH.
//   room  sessions in --rooms rooms; pushes to the rooms at --rate: deliveries/s,
//         publish-to-receive latency, loss, duplicates and room_seq gaps
//   qos1  pushes qos 1 to the sessions' users at --rate; sessions ACK every push: acks/s,
//         latency, loss, duplicate msg_ids and pushes at the wrong session
// Owns the publishing timeline (publish, drain) and the comparison of what the API accepted with
// what the sessions received. Never opens a session: the shards do.
#pragma once

#include <memory>

#include "load-test/load_options.hpp"
#include "load-test/scenario_run.hpp"

namespace lp::load {

std::unique_ptr<ScenarioRun> make_publish_run(const RunOptions& run);

}  // namespace lp::load
