// plugins/host/memory_store: the plugin SDK's Store in process memory (embedded mode).
//
// What it is for: a node running alone gives its plugins the same store API they get from Redis
// in a cluster, with the same answers, so a plugin tested embedded behaves the same clustered.
// "The same answers" is pinned by one behavioural test suite run against both stores
// (tests/plugins/store_test.cpp); where Redis has a rule, this follows it:
// - A key holds one type. An operation of another type on it fails (Redis: WRONGTYPE) and
//   changes nothing; only set() and del() overwrite or remove a key of any type.
// - A hash, set, sorted set or list that becomes empty is removed with its key (and its TTL).
// - set() and compare_and_set() without a TTL (ttl <= 0) leave the key with none (SET clears
//   it); incr_by() and the container writes keep the key's TTL; expire() with ttl <= 0
//   removes the key.
// - Sorted sets order by score, then by member bytes (memcmp); zrevrange/zrevrank walk that
//   order backwards, so equal scores come out in reverse lexicographic member order, exactly
//   as ZREVRANGE. Ranks are O(log n) (an order-statistics tree).
// - sscan returns exactly `count` members per call (Redis: about `count`) in member order; a
//   member present for the whole scan is returned exactly once. The cursor is opaque.
//
// What it owns: nothing but a view. The keys live in a MemoryStoreData, which several stores
// (one per plugin, each with its own key prefix) may share; it is split in shards, each with
// its own mutex, and every operation touches one key, so one shard lock makes it atomic.
// Expired keys are removed when touched, and by sweep() (the host calls it now and then, so
// keys written once and never read again do not pile up).
//
// What it must never do: call out (no callbacks, no I/O) while holding a shard lock.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

// The keys and values of one in-memory store, shared by MemoryStore views.
class MemoryStoreData {
public:
    MemoryStoreData();
    ~MemoryStoreData();
    MemoryStoreData(const MemoryStoreData&) = delete;
    MemoryStoreData& operator=(const MemoryStoreData&) = delete;

    // Removes every expired key (of every prefix); returns how many it removed.
    std::size_t sweep();
    // Live keys, of every prefix (expired ones not yet swept are not counted).
    std::size_t size();

    struct Shards;  // the keys, by hash, each shard with its lock (defined in the .cpp)

private:
    friend class MemoryStore;
    std::unique_ptr<Shards> shards_;
};

class MemoryStore final : public sdk::Store {
public:
    // A store of its own.
    explicit MemoryStore(std::string prefix);
    // A view of `data` in which every key is `prefix` + key.
    MemoryStore(std::shared_ptr<MemoryStoreData> data, std::string prefix);

    const std::string& prefix() const noexcept { return prefix_; }
    const std::shared_ptr<MemoryStoreData>& data() const noexcept { return data_; }
    // data()->sweep(): every prefix, not only this one.
    std::size_t sweep() { return data_->sweep(); }

    // Mutations return true when applied (set, hset, zadd, sadd, lpush_trim; sadd of nothing is
    // true). Removals and expire return true when there was something to remove or expire (del,
    // hdel, zrem: the key/field/member existed; srem: at least one member did; expire: the key
    // exists), as Redis's 1/0. Failure (here: the key holds another type) is false / nullopt.
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

    // Pushes `value` at the head and keeps the newest `keep` values (keep = 0 removes the list).
    bool lpush_trim(const std::string& key, const std::string& value, std::size_t keep) override;
    std::optional<std::vector<std::string>> lrange(const std::string& key, std::int64_t start,
                                                   std::int64_t stop) override;
    bool expire(const std::string& key, std::chrono::milliseconds ttl) override;

private:
    std::string full_key(const std::string& key) const { return prefix_ + key; }

    std::shared_ptr<MemoryStoreData> data_;
    std::string prefix_;
};

}  // namespace lp::plugins
