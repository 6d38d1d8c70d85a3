// router/redis_like_totals: rooms' likes totals in Redis (cluster mode), so a total survives a
// restart of the room's home node and a change of home: the new home adds to the same counter.
//
//   lp:{room:ID}:likes    STRING, an integer: the room's likes total. INCRBY by the room's home
//                         once per room.likes_interval_ms while likes arrive (the interval's
//                         sum, never once per like), PEXPIRE room.likes_ttl_s on every add.
//
// The hash tag keeps every key of one room in one slot; the room state helper (issue 14 item 5)
// may adopt the key as it is.
//
// known() answers from a node-local cache, never waiting: exact on the home once it added to the
// room (every INCRBY reply lands in the cache), otherwise the value of a GET it started the
// first time the room was asked for, or when its entry is older than kFresh; until that GET is
// back it answers what it had (0 for a room it never saw). The cache is bounded: entries unused
// for 2 x kFresh are dropped when it has doubled.
#pragma once

#include <chrono>
#include <mutex>
#include <unordered_map>

#include "redis/client.hpp"
#include "router/like_totals.hpp"

namespace lp::router {

class RedisLikeTotals final : public LikeTotals {
public:
    static constexpr std::chrono::milliseconds kFresh{30000};

    RedisLikeTotals(redis::Client& redis, std::chrono::seconds ttl)
        : redis_(redis), ttl_ms_(static_cast<std::uint64_t>(ttl.count()) * 1000) {}
    void add(std::uint64_t room, std::uint64_t delta, Done done) override;
    std::uint64_t known(std::uint64_t room) override;

    static std::string key(std::uint64_t room);

private:
    struct Cached {
        std::uint64_t total = 0;
        std::uint64_t refreshed_ms = 0;  // 0: never read
        bool reading = false;
    };
    void remember(std::uint64_t room, std::uint64_t total);
    void sweep(std::uint64_t now_ms);  // mu_ held

    redis::Client& redis_;
    const std::uint64_t ttl_ms_;
    std::mutex mu_;
    std::unordered_map<std::uint64_t, Cached> cache_;
    std::size_t sweep_at_ = 4096;
};

}  // namespace lp::router
