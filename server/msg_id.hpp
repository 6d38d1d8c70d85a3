// server/msg_id: 64-bit message ids, unique across the nodes of a cluster and increasing on
// each node: 41 bits of milliseconds since 2024-01-01, 10 bits of node number, 13 bits of
// sequence. When a millisecond's 8,192 ids run out, ids borrow from the next millisecond
// rather than repeat, so the generator never blocks and never returns a duplicate.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>

namespace lp::server {

class MsgIdGenerator {
public:
    static constexpr std::uint64_t kEpochMs = 1704067200000ull;  // 2024-01-01T00:00:00Z
    explicit MsgIdGenerator(std::uint16_t node = 0) : node_(node & 0x3FF) {}
    void set_node(std::uint16_t node) noexcept { node_ = node & 0x3FF; }

    std::uint64_t next() noexcept {
        auto now = static_cast<std::uint64_t>(
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::system_clock::now().time_since_epoch())
                .count());
        std::uint64_t base = ((now - kEpochMs) << 23) | (static_cast<std::uint64_t>(node_) << 13);
        std::uint64_t last = last_.load(std::memory_order_relaxed);
        std::uint64_t id;
        do {
            id = base > last ? base : next_after(last);
        } while (!last_.compare_exchange_weak(last, id, std::memory_order_relaxed));
        return id;
    }
    static std::uint64_t time_ms(std::uint64_t id) noexcept { return (id >> 23) + kEpochMs; }

private:
    std::uint64_t next_after(std::uint64_t last) const noexcept {
        // Same node bits; sequence + 1, carrying into the millisecond bits.
        std::uint64_t seq = last & 0x1FFF;
        if (seq < 0x1FFF) return last + 1;
        return (((last >> 23) + 1) << 23) | (static_cast<std::uint64_t>(node_) << 13);
    }
    std::atomic<std::uint64_t> last_{0};
    std::uint16_t node_;
};

}  // namespace lp::server
