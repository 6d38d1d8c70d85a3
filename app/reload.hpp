// app/reload: what a configuration reload (SIGHUP) does with a freshly loaded configuration.
//
// The node keeps running on `running`; `fresh` is what the same sources (the --config file read
// again, the environment and flags as captured at start) give now. Every schema key whose value
// differs is either live (app/config_schema.hpp kLiveKeys: copied into the next configuration)
// or restart-only (refused, named, and left at its running value), and so is every changed
// plugin setting (plugins.NAME.KEY: plugins read theirs at start). A key is applied whole or not
// at all. Pure: no logging, no signal, no module; app/main logs the plan and app/node applies it.
#pragma once

#include <string>
#include <vector>

#include "app/config.hpp"

namespace lp::app {

struct ReloadPlan {
    Config next;                       // `running` with the live keys that changed taken from fresh
    std::vector<std::string> applied;  // live keys that changed
    std::vector<std::string> refused;  // restart-only keys (and plugin settings) that changed
};

ReloadPlan plan_reload(const Config& running, const Config& fresh);

// The outcome of one reload, for the metrics (livepush_config_reloads_total{result}).
enum class ReloadResult : std::uint8_t { Ok, Invalid, Partial };

}  // namespace lp::app
