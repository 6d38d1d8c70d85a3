// router/like_totals: see like_totals.hpp.
#include "router/like_totals.hpp"

#include <algorithm>

#include "codec/wall_clock.hpp"

namespace lp::router {

namespace {
// Idle past the TTL (a wall clock stepped back counts as not idle).
bool idle_past(std::uint64_t now_ms, std::uint64_t since_ms, std::uint64_t ttl_ms) {
    return now_ms > since_ms && now_ms - since_ms > ttl_ms;
}
}  // namespace

void MemoryLikeTotals::add(std::uint64_t room, std::uint64_t delta, Done done) {
    std::uint64_t total = 0;
    {
        std::lock_guard lock(mu_);
        const std::uint64_t now = codec::wall_ms();
        Entry& e = rooms_[room];
        if (e.liked_ms != 0 && idle_past(now, e.liked_ms, ttl_ms_))
            e.total = 0;  // expired, not swept yet
        e.total += delta;
        e.liked_ms = now;
        total = e.total;
        if (rooms_.size() >= sweep_at_) sweep(now);
    }
    if (done) done(total);
}

std::uint64_t MemoryLikeTotals::known(std::uint64_t room) {
    std::lock_guard lock(mu_);
    auto it = rooms_.find(room);
    if (it == rooms_.end()) return 0;
    if (idle_past(codec::wall_ms(), it->second.liked_ms, ttl_ms_)) return 0;
    return it->second.total;
}

std::size_t MemoryLikeTotals::rooms() {
    std::lock_guard lock(mu_);
    return rooms_.size();
}

void MemoryLikeTotals::sweep(std::uint64_t now_ms) {
    for (auto it = rooms_.begin(); it != rooms_.end();) {
        if (idle_past(now_ms, it->second.liked_ms, ttl_ms_))
            it = rooms_.erase(it);
        else
            ++it;
    }
    // Amortized: the next sweep when the map has doubled again.
    sweep_at_ = std::max<std::size_t>(4096, 2 * rooms_.size());
}

}  // namespace lp::router
