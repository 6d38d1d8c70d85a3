// app/config_tools: `livepushd config --print` and `livepushd config --example`, as text.
//
// Both are generated from the schema (app/config_schema.hpp kSchema, through config_schema()), so
// they list every key there is and cannot drift from what the node reads: a new row shows up in the
// printed configuration, in the example file (etc/livepush/livepushd.toml, checked against this
// output by a test) and in --help at once. Secret rows (ConfigKeyInfo::secret) are never printed.
// check-config lives in main.cpp, next to the start-up policy it must run the same way.
#pragma once

#include <string>

#include "app/config.hpp"

namespace lp::app {

// The effective configuration as TOML: every key with its value, a comment naming its source
// when it is not the default (file:line, environment variable, flag; "derived at start" for a
// value start-up filled in, such as cluster.node_id), secrets as "<redacted>".
std::string print_config(const Config& config);

// The example configuration: every key commented out at its default, with its help text, bounds,
// environment variable and flag. Uncommented, every line is a valid setting.
std::string example_config();

}  // namespace lp::app
