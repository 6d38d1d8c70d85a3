// tests/plugins/sdk_doubles: the SDK's log and metrics as the plugin tests need them: a log
// that says nothing and metrics that can be read back. Shared by the pk, feed and rank suites.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>

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

}  // namespace lp::plugins
