// events/defaults: the default of each events/ option an operator can set (kafka.*).
//
// KafkaOptions takes its defaults from here, and so does app/config's Config, so each default
// is written once. Constants only, on std headers: app/config includes this without
// librdkafka. It must never hold a limit that is not an option default.
#pragma once

#include <chrono>
#include <string_view>

namespace lp::events {

inline constexpr std::string_view kDefaultKafkaGroup = "livepush";  // one group per cluster
// The longest a consumer fetch waits at a broker (librdkafka's own default is 500 ms).
inline constexpr std::chrono::milliseconds kDefaultFetchWaitMax{100};

}  // namespace lp::events
