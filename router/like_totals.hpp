// router/like_totals: where a room's running likes total is kept. Two implementations:
// MemoryLikeTotals (the embedded node: a map in the process) and RedisLikeTotals
// (redis_like_totals.hpp: a counter in Redis, so the total survives a restart of the room's
// home and a change of home). app/ picks one; RoomLikes (room_likes.hpp) uses it on the home.
//
// A total is forgotten room.likes_ttl_s after the room's last like, so what is kept follows the
// rooms liked lately, not every room ever liked.
//
// Must never block the caller: add() answers through a callback, known() from what is at hand.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <unordered_map>

namespace lp::router {

class LikeTotals {
public:
    virtual ~LikeTotals() = default;
    // nullopt: the total could not be updated (the store is down); the delta was not counted.
    using Done = std::function<void(std::optional<std::uint64_t> total)>;
    // Adds `delta` to the room's total and calls done with the total after it, on any thread
    // (the caller's own for the memory store, the Redis thread for Redis), in the order of the
    // add() calls.
    virtual void add(std::uint64_t room, std::uint64_t delta, Done done) = 0;
    // The room's total as far as this node knows, without waiting (0 for a room never liked).
    virtual std::uint64_t known(std::uint64_t room) = 0;
};

class MemoryLikeTotals final : public LikeTotals {
public:
    explicit MemoryLikeTotals(std::chrono::seconds ttl) : ttl_ms_(ttl.count() * 1000) {}
    void add(std::uint64_t room, std::uint64_t delta, Done done) override;
    std::uint64_t known(std::uint64_t room) override;
    std::size_t rooms();

private:
    struct Entry {
        std::uint64_t total = 0;
        std::uint64_t liked_ms = 0;
    };
    void sweep(std::uint64_t now_ms);  // mu_ held: forgets totals idle past the TTL

    const std::uint64_t ttl_ms_;
    std::mutex mu_;
    std::unordered_map<std::uint64_t, Entry> rooms_;
    std::size_t sweep_at_ = 4096;
};

}  // namespace lp::router
