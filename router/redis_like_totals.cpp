// router/redis_like_totals: see redis_like_totals.hpp.
#include "router/redis_like_totals.hpp"

#include <algorithm>
#include <cstdlib>

#include "codec/wall_clock.hpp"

namespace lp::router {

namespace {

// One round trip: the new total, and the key's lifetime renewed.
const redis::Script kAddLikes(R"lua(
local total = redis.call('INCRBY', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return total
)lua");

std::optional<std::uint64_t> total_of(const redis::Reply& r) {
    if (r.type == redis::Reply::Type::Integer && r.integer >= 0)
        return static_cast<std::uint64_t>(r.integer);
    return std::nullopt;
}

}  // namespace

std::string RedisLikeTotals::key(std::uint64_t room) {
    return "lp:{room:" + std::to_string(room) + "}:likes";
}

void RedisLikeTotals::add(std::uint64_t room, std::uint64_t delta, Done done) {
    redis_.eval(kAddLikes, {key(room)}, {std::to_string(delta), std::to_string(ttl_ms_)},
                [this, room, done = std::move(done)](const redis::Reply& r) {
                    auto total = total_of(r);
                    if (total) remember(room, *total);
                    if (done) done(total);
                });
}

std::uint64_t RedisLikeTotals::known(std::uint64_t room) {
    const std::uint64_t now = codec::wall_ms();
    std::uint64_t total = 0;
    {
        std::lock_guard lock(mu_);
        auto [it, created] = cache_.try_emplace(room);
        Cached& c = it->second;
        total = c.total;
        const bool fresh = c.refreshed_ms != 0 && now >= c.refreshed_ms &&
                           now - c.refreshed_ms < static_cast<std::uint64_t>(kFresh.count());
        if (fresh || c.reading) return total;
        c.reading = true;
        if (created && cache_.size() >= sweep_at_) sweep(now);
    }
    redis_.command({"GET", key(room)}, [this, room](const redis::Reply& r) {
        std::lock_guard lock(mu_);
        auto it = cache_.find(room);
        if (it == cache_.end()) return;
        it->second.reading = false;
        if (r.is_nil()) {  // never liked, or forgotten after the TTL
            it->second.total = 0;
            it->second.refreshed_ms = codec::wall_ms();
        } else if (r.type == redis::Reply::Type::String) {
            it->second.total = std::strtoull(r.str.c_str(), nullptr, 10);
            it->second.refreshed_ms = codec::wall_ms();
        }  // an error: read again at the next ask
    });
    return total;
}

void RedisLikeTotals::remember(std::uint64_t room, std::uint64_t total) {
    std::lock_guard lock(mu_);
    Cached& c = cache_[room];
    c.total = total;
    c.refreshed_ms = codec::wall_ms();
}

void RedisLikeTotals::sweep(std::uint64_t now_ms) {
    const auto stale = static_cast<std::uint64_t>(2 * kFresh.count());
    for (auto it = cache_.begin(); it != cache_.end();) {
        const Cached& c = it->second;
        if (!c.reading && now_ms > c.refreshed_ms && now_ms - c.refreshed_ms > stale)
            it = cache_.erase(it);
        else
            ++it;
    }
    sweep_at_ = std::max<std::size_t>(4096, 2 * cache_.size());
}

}  // namespace lp::router
