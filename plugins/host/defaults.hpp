// plugins/host/defaults: the default of each plugin-host option an operator can set (jobs.*).
//
// JobRunner::Options takes its defaults from here, and so does app/config's Config, so each
// default is written once. Constants only, on std headers: app/config includes this without
// the host's dependencies. It must never hold a limit that is not an option default.
#pragma once

#include <chrono>
#include <cstdint>

namespace lp::plugins {

// An idle node claims due jobs this often (one Redis call in a cluster): how late past its
// deadline a job may start; 100 ms keeps PK deadlines within the 200 ms their rules ask for.
inline constexpr std::chrono::milliseconds kDefaultJobTick{100};
// A claimed job not finished this long after its claim runs again (a dead node's work).
inline constexpr std::chrono::milliseconds kDefaultJobTtr{30000};
inline constexpr std::uint32_t kDefaultJobMaxAttempts = 10;  // then buried; 0 = no limit
// The plugins' filter_chat must answer a room.chat within this (room_hook_runner.hpp).
inline constexpr std::chrono::milliseconds kDefaultFilterTimeout{50};

}  // namespace lp::plugins
