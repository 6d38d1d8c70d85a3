// load-test/load_options: livepush-load's command line: every flag, its default, its bounds and
// the checks between flags, in one place (--help prints kUsage from load_options.cpp).
//
// Owns turning argv into a RunOptions a run can trust: a bad value or a combination a scenario
// cannot run with ends the process with exit status 2 and a line that says what to fix. It
// never opens a connection or starts a thread; what a scenario does with its options lives in
// the scenario's own file.
#pragma once

#include <cstdint>
#include <string>

#include "load-test/load_shard.hpp"
#include "load-test/plugin_runs.hpp"

namespace lp::load {

// Everything a run was asked for: the shards' options (`load`), the conductor's phase times,
// the publisher's (room, qos1) and the plugin scenarios' (gift, pk, feed).
struct RunOptions {
    LoadOptions load;
    double connect_phase_s = 120;
    double warmup_s = 2;
    double duration_s = 10;
    double settle_s = 2;
    double timeout_s = 0;
    int server_pid = 0;
    // room and qos1
    std::string api_host;
    std::uint16_t api_port = 0;
    std::string api_key;
    std::uint32_t api_connections = 4;
    double rate = 1000;
    std::uint32_t payload_bytes = 64;
    bool random_users = false;
    double drain_s = 2;
    bool drain_set = false;
    bool rate_set = false;
    PluginRunOptions plugin;  // gift, pk, feed
    // live-room (its senders' rates and chat size are in `load`)
    double gift_rate = 5;
    bool senders_set = false;
    bool room_base_set = false;
};

// Parses and checks the command line; prints --help and exits 0, or exits 2 on a usage error.
RunOptions parse_options(int argc, char** argv);

// Prints "livepush-load: WHY (see --help)" to stderr and exits with status 2.
[[noreturn]] void usage_error(const std::string& why);

// The scenario families.
inline bool is_plugin_scenario(Scenario s) {
    return s == Scenario::Gift || s == Scenario::Pk || s == Scenario::Feed;
}
// live-room: sessions send as well as receive (live_room_run.hpp).
inline bool is_live_room(Scenario s) {
    return s == Scenario::LiveRoom;
}
// room and qos1: a publisher pushes through the HTTP API (publish_scenarios.hpp).
inline bool publishes(Scenario s) {
    return s == Scenario::Room || s == Scenario::Qos1;
}
// The --scenario name, as the report prints it.
const char* scenario_name(Scenario s);

}  // namespace lp::load
