// plugins/host/redis_store: the plugin SDK's Store over Redis (cluster mode).
//
// What it is for: plugins on every node share their state (PK states, scores, boards, marks)
// through Redis. Each Store call is one Redis command, or one Lua script where a single command
// cannot do it atomically (compare_and_set, lpush_trim), sent through the node's redis::Client
// and waited for synchronously, at most `timeout`. A timeout, a lost connection or an error
// reply (WRONGTYPE, a value that is not an integer) is false / nullopt; a timed-out write may
// still be applied later, as with any Redis client.
//
// Every key is `prefix` + key: the host gives each plugin its own prefix ("plugin:{name}:").
// Scores are sent as "%.17g", which round-trips every double, so scores (and integers up to
// 2^53) come back exactly as they went. The answers are those of MemoryStore (the same test
// suite runs against both); memory_store.hpp lists the rules, this file follows Redis's.
//
// What it must never do: be called from a redis::Client callback (command_sync would wait for the
// thread it runs on; redis::Client throws std::logic_error there).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plugins/sdk/plugin.hpp"
#include "redis/client.hpp"

namespace lp::plugins {

class RedisStore final : public sdk::Store {
public:
    RedisStore(redis::Client& redis, std::string prefix,
               std::chrono::milliseconds timeout = std::chrono::milliseconds(500));

    const std::string& prefix() const noexcept { return prefix_; }

    // Return values as MemoryStore's (see memory_store.hpp): mutations true when applied,
    // removals and expire true when there was something to remove or expire.
    std::optional<std::string> get(const std::string& key) override;
    bool set(const std::string& key, const std::string& value,
             std::chrono::milliseconds ttl = {}) override;
    bool set_if_absent(const std::string& key, const std::string& value,
                       std::chrono::milliseconds ttl = {}) override;
    bool compare_and_set(const std::string& key, const std::optional<std::string>& expected,
                         const std::string& desired, std::chrono::milliseconds ttl = {}) override;
    bool del(const std::string& key) override;
    std::optional<std::int64_t> incr_by(const std::string& key, std::int64_t delta) override;

    bool hset(const std::string& key, const std::string& field, const std::string& value) override;
    std::optional<std::string> hget(const std::string& key, const std::string& field) override;
    std::optional<std::map<std::string, std::string>> hgetall(const std::string& key) override;
    std::optional<std::int64_t> hincr_by(const std::string& key, const std::string& field,
                                         std::int64_t delta) override;
    bool hdel(const std::string& key, const std::string& field) override;

    bool zadd(const std::string& key, const std::string& member, double score) override;
    std::optional<double> zincr_by(const std::string& key, const std::string& member,
                                   double delta) override;
    std::optional<double> zscore(const std::string& key, const std::string& member) override;
    std::optional<std::vector<std::pair<std::string, double>>> zrevrange(
        const std::string& key, std::int64_t start, std::int64_t stop) override;
    std::optional<std::int64_t> zrevrank(const std::string& key,
                                         const std::string& member) override;
    bool zrem(const std::string& key, const std::string& member) override;

    bool sadd(const std::string& key, const std::vector<std::string>& members) override;
    bool srem(const std::string& key, const std::vector<std::string>& members) override;
    std::optional<std::int64_t> scard(const std::string& key) override;
    std::optional<std::pair<std::string, std::vector<std::string>>> sscan(
        const std::string& key, const std::string& cursor, std::size_t count) override;

    // keep = 0 removes the list (LTRIM alone cannot say "keep none").
    bool lpush_trim(const std::string& key, const std::string& value, std::size_t keep) override;
    // One script call per 500 keys, all queued at once (the client pipelines them), then
    // waited for together, at most `timeout` for the whole batch.
    std::size_t lpush_trim_many(const std::vector<std::string>& keys, const std::string& value,
                                std::size_t keep) override;
    std::optional<std::vector<std::string>> lrange(const std::string& key, std::int64_t start,
                                                   std::int64_t stop) override;
    bool expire(const std::string& key, std::chrono::milliseconds ttl) override;

private:
    std::string full_key(const std::string& key) const { return prefix_ + key; }
    redis::Reply call(std::vector<std::string> args);
    redis::Reply eval(const redis::Script& script, const std::string& key,
                      std::vector<std::string> args);

    redis::Client& redis_;
    std::string prefix_;
    std::chrono::milliseconds timeout_;
};

}  // namespace lp::plugins
