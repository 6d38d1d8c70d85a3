// tests/plugins/sdk_doubles: the SDK's services as the plugin tests need them: a log that says
// nothing, metrics that can be read back, a pusher and an event bus that do nothing, stores
// sharing one in-memory map (as the plugins of one embedded node do), and one line read back
// from a Prometheus text. Shared by the pk, feed, rank, plugin host and room hook suites.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/host/memory_store.hpp"
#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

class CountingMetrics final : public sdk::Metrics {
public:
    void count(const std::string& name, std::uint64_t n) override {
        std::lock_guard lock(mu_);
        counts_[name] += n;
    }
    std::uint64_t get(const std::string& name) {
        std::lock_guard lock(mu_);
        return counts_[name];
    }

private:
    std::mutex mu_;
    std::map<std::string, std::uint64_t> counts_;
};

class QuietLog final : public sdk::Log {
public:
    void info(std::string_view) override {}
    void warn(std::string_view) override {}
    void error(std::string_view) override {}
};

class NoPush final : public sdk::Pusher {
public:
    sdk::PushResult to_user(std::uint64_t, const std::string&, const std::string&,
                            const sdk::PushOptions&) override {
        return {};
    }
    sdk::PushResult to_users(const std::vector<std::uint64_t>&, const std::string&,
                             const std::string&, const sdk::PushOptions&) override {
        return {};
    }
    sdk::PushResult to_room(std::uint64_t, const std::string&, const std::string&,
                            const sdk::PushOptions&) override {
        return {};
    }
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>&) override { return {}; }
};

class NoEvents final : public sdk::Events {
public:
    bool publish(const std::string&, const std::string&, const std::string&) override {
        return true;
    }
};

// A store factory (PluginHost::StoreFactory) whose stores share one fresh in-memory map.
inline auto memory_stores() {
    return [data = std::make_shared<MemoryStoreData>()](const std::string& prefix) {
        return std::make_unique<MemoryStore>(data, prefix);
    };
}

// The value on the line `line` (name and labels as written) of Prometheus text, or -1.
inline double prom_value(const std::string& prom_text, const std::string& line) {
    const auto text = "\n" + prom_text;
    const auto at = text.find("\n" + line + " ");
    return at == std::string::npos ? -1 : std::stod(text.substr(at + line.size() + 2));
}

}  // namespace lp::plugins
