// handlers/sender_rate: a token bucket per sending user (im.send's im.rate_per_s), shared by all
// of that user's sessions on this node, so opening more sessions (platforms) does not multiply
// what one user may send. Per node: a user's sessions on other nodes count there.
//
// Thread-safe: 16 striped maps, one lock each, taken for a few instructions. Bounded: a stripe
// that grows past its sweep mark drops the users whose bucket has refilled to full (they are
// the same as absent), so memory follows the users who sent lately, not everyone who ever did.
//
// Must never: block, or keep a bucket for a user who could not tell the difference.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <unordered_map>

namespace lp::handlers {

class SenderRate {
public:
    // rate_per_s 0: take() always says yes.
    SenderRate(std::uint32_t rate_per_s, std::uint32_t burst)
        : rate_(rate_per_s), burst_(burst ? burst : 1) {}

    // A configuration reload: the next take uses the new rate (buckets keep their tokens, capped
    // at the new burst on their next refill).
    void set_rate(std::uint32_t rate_per_s, std::uint32_t burst) {
        rate_.store(rate_per_s, std::memory_order_relaxed);
        burst_.store(burst ? burst : 1, std::memory_order_relaxed);
    }

    // One token of `user` at `now_ms`; false when its bucket is empty.
    bool take(std::uint64_t user, std::uint64_t now_ms) { return take_or_wait(user, now_ms) == 0; }

    // The same keyed by anything (room.chat_rate_per_s keys rooms): 0 when a token was taken,
    // else the milliseconds until the bucket holds one again (at least 1).
    std::uint64_t take_or_wait(std::uint64_t user, std::uint64_t now_ms) {
        const std::uint32_t rate = rate_.load(std::memory_order_relaxed);
        const double burst = burst_.load(std::memory_order_relaxed);
        if (rate == 0) return 0;
        Stripe& st = stripes_[(user * 0x9E3779B97F4A7C15ull) >> 60];
        std::lock_guard lock(st.mu);
        auto [it, created] = st.users.try_emplace(user, Bucket{burst, now_ms});
        Bucket& b = it->second;
        if (!created) {
            const double elapsed_s =
                now_ms > b.refill_ms ? static_cast<double>(now_ms - b.refill_ms) / 1000.0 : 0.0;
            b.tokens = std::min<double>(burst, b.tokens + elapsed_s * rate);
            b.refill_ms = now_ms;
        }
        const bool ok = b.tokens >= 1.0;
        if (ok) b.tokens -= 1.0;
        const std::uint64_t wait =
            ok ? 0
               : std::max<std::uint64_t>(
                     1, static_cast<std::uint64_t>((1.0 - b.tokens) * 1000.0 / rate + 0.999));
        if (created && st.users.size() >= st.sweep_at) sweep(st, now_ms);
        return wait;
    }

    std::size_t tracked_users() {
        std::size_t n = 0;
        for (auto& st : stripes_) {
            std::lock_guard lock(st.mu);
            n += st.users.size();
        }
        return n;
    }

private:
    struct Bucket {
        double tokens;
        std::uint64_t refill_ms;
    };
    struct alignas(64) Stripe {
        std::mutex mu;
        std::unordered_map<std::uint64_t, Bucket> users;
        std::size_t sweep_at = 1024;
    };

    // The stripe is locked. Forgets the buckets that are full by now.
    void sweep(Stripe& st, std::uint64_t now_ms) {
        for (auto it = st.users.begin(); it != st.users.end();) {
            const Bucket& b = it->second;
            const double elapsed_s =
                now_ms > b.refill_ms ? static_cast<double>(now_ms - b.refill_ms) / 1000.0 : 0.0;
            if (b.tokens + elapsed_s * rate_.load(std::memory_order_relaxed) >=
                burst_.load(std::memory_order_relaxed))
                it = st.users.erase(it);
            else
                ++it;
        }
        st.sweep_at = std::max<std::size_t>(1024, 2 * st.users.size());
    }

    std::atomic<std::uint32_t> rate_;
    std::atomic<std::uint32_t> burst_;
    std::array<Stripe, 16> stripes_;
};

}  // namespace lp::handlers
