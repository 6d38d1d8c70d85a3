// app/reload: see reload.hpp.
#include "app/reload.hpp"

#include <set>

namespace lp::app {

ReloadPlan plan_reload(const Config& running, const Config& fresh) {
    ReloadPlan plan;
    plan.next = running;
    for (const auto& key : config_schema()) {
        if (config_value_toml(running, key.key) == config_value_toml(fresh, key.key)) continue;
        if (key.live) {
            copy_config_value(plan.next, fresh, key.key);
            plan.applied.push_back(key.key);
            // Where the value came from now, for `config --print`-like reports.
            if (const auto it = fresh.sources.find(key.key); it != fresh.sources.end())
                plan.next.sources[key.key] = it->second;
        } else {
            plan.refused.push_back(key.key);
        }
    }
    // Plugin settings: read by each plugin at its start, so any change takes a restart.
    std::set<std::string> names;
    for (const auto& [k, v] : running.plugin_settings) names.insert(k);
    for (const auto& [k, v] : fresh.plugin_settings) names.insert(k);
    for (const auto& name : names) {
        const auto a = running.plugin_settings.find(name);
        const auto b = fresh.plugin_settings.find(name);
        const bool same = a != running.plugin_settings.end() && b != fresh.plugin_settings.end() &&
                          a->second == b->second;
        if (!same) plan.refused.push_back(name);  // "plugins.NAME.KEY"
    }
    return plan;
}

}  // namespace lp::app
