// tests/plugins/sdk_doubles: the SDK's services as the plugin tests need them: a log that says
// nothing, metrics that can be read back, a pusher and an event bus that do nothing, a store
// that forwards to a MemoryStore (for doubles that change a few calls), stores sharing one
// in-memory map (as the plugins of one embedded node do), and one line read back
// from a Prometheus text. Shared by the pk, feed, rank, plugin host and room hook suites.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
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

// An sdk::Store handing every call to a MemoryStore: a test's store derives from it and
// overrides only the calls it changes (a hook before one, a delay on the reads). lpush_trim_many
// keeps sdk::Store's default, one lpush_trim per key, so an override of lpush_trim sees them.
class MemoryStoreProxy : public sdk::Store {
public:
    MemoryStoreProxy(std::shared_ptr<MemoryStoreData> data, std::string prefix)
        : inner_(std::move(data), std::move(prefix)) {}

    std::optional<std::string> get(const std::string& k) override { return inner_.get(k); }
    bool set(const std::string& k, const std::string& v, std::chrono::milliseconds t) override {
        return inner_.set(k, v, t);
    }
    bool set_if_absent(const std::string& k, const std::string& v,
                       std::chrono::milliseconds t) override {
        return inner_.set_if_absent(k, v, t);
    }
    bool compare_and_set(const std::string& k, const std::optional<std::string>& e,
                         const std::string& d, std::chrono::milliseconds t) override {
        return inner_.compare_and_set(k, e, d, t);
    }
    bool del(const std::string& k) override { return inner_.del(k); }
    std::optional<std::int64_t> incr_by(const std::string& k, std::int64_t d) override {
        return inner_.incr_by(k, d);
    }
    bool hset(const std::string& k, const std::string& f, const std::string& v) override {
        return inner_.hset(k, f, v);
    }
    std::optional<std::string> hget(const std::string& k, const std::string& f) override {
        return inner_.hget(k, f);
    }
    std::optional<std::map<std::string, std::string>> hgetall(const std::string& k) override {
        return inner_.hgetall(k);
    }
    std::optional<std::int64_t> hincr_by(const std::string& k, const std::string& f,
                                         std::int64_t d) override {
        return inner_.hincr_by(k, f, d);
    }
    bool hdel(const std::string& k, const std::string& f) override { return inner_.hdel(k, f); }
    bool zadd(const std::string& k, const std::string& m, double s) override {
        return inner_.zadd(k, m, s);
    }
    std::optional<double> zincr_by(const std::string& k, const std::string& m, double d) override {
        return inner_.zincr_by(k, m, d);
    }
    std::optional<double> zscore(const std::string& k, const std::string& m) override {
        return inner_.zscore(k, m);
    }
    std::optional<std::vector<std::pair<std::string, double>>> zrevrange(const std::string& k,
                                                                         std::int64_t a,
                                                                         std::int64_t b) override {
        return inner_.zrevrange(k, a, b);
    }
    std::optional<std::int64_t> zrevrank(const std::string& k, const std::string& m) override {
        return inner_.zrevrank(k, m);
    }
    bool zrem(const std::string& k, const std::string& m) override { return inner_.zrem(k, m); }
    bool sadd(const std::string& k, const std::vector<std::string>& m) override {
        return inner_.sadd(k, m);
    }
    bool srem(const std::string& k, const std::vector<std::string>& m) override {
        return inner_.srem(k, m);
    }
    std::optional<std::int64_t> scard(const std::string& k) override { return inner_.scard(k); }
    std::optional<std::pair<std::string, std::vector<std::string>>> sscan(const std::string& k,
                                                                          const std::string& c,
                                                                          std::size_t n) override {
        return inner_.sscan(k, c, n);
    }
    bool lpush_trim(const std::string& k, const std::string& v, std::size_t keep) override {
        return inner_.lpush_trim(k, v, keep);
    }
    std::optional<std::vector<std::string>> lrange(const std::string& k, std::int64_t a,
                                                   std::int64_t b) override {
        return inner_.lrange(k, a, b);
    }
    bool expire(const std::string& k, std::chrono::milliseconds t) override {
        return inner_.expire(k, t);
    }

private:
    MemoryStore inner_;
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
