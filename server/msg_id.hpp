// server/msg_id: 64-bit message ids, unique across the nodes of a cluster and increasing on
// each node: 41 bits of milliseconds since 2024-01-01, 10 bits of node number, 13 bits of
// sequence. When a millisecond's 8,192 ids run out, ids borrow from the next millisecond
// rather than repeat, so the generator never blocks and never returns a duplicate.
//
// Uniqueness across nodes rests on the node number: in a cluster each node claims one in Redis
// (router/node_number.hpp) so that no two live nodes hold the same; embedded keeps 0. The
// number can change while the node runs (its claim was lost and it took another): set_node()
// then moves the clock part past every id already issued, so ids stay increasing and the new
// number never meets an old (time, sequence) pair of this node.
#pragma once

#include <atomic>
#include <cstdint>

#include "codec/wall_clock.hpp"

namespace lp::server {

class MsgIdGenerator {
public:
    static constexpr std::uint64_t kEpochMs = 1704067200000ull;  // 2024-01-01T00:00:00Z
    static constexpr std::uint16_t kNodeNumbers = 1024;          // 10 bits
    explicit MsgIdGenerator(std::uint16_t node = 0) : node_(node & 0x3FF) {}

    // Thread-safe. Ids issued after it returns carry `node`.
    void set_node(std::uint16_t node) noexcept {
        node_.store(node & 0x3FF, std::memory_order_release);
        // The next id starts a new millisecond: greater than any id issued before, whatever
        // the old and new numbers.
        std::uint64_t last = last_.load(std::memory_order_relaxed);
        while (!last_.compare_exchange_weak(last, last | kSeqMask, std::memory_order_relaxed)) {
        }
    }
    std::uint16_t node() const noexcept { return node_.load(std::memory_order_acquire); }

    std::uint64_t next() noexcept {
        const std::uint64_t now = codec::wall_ms();
        // last_ counts (milliseconds << 13 | sequence); the node bits go in between on output.
        const std::uint64_t base = (now - kEpochMs) << kSeqBits;
        std::uint64_t last = last_.load(std::memory_order_relaxed);
        std::uint64_t tick;
        do {
            tick = base > last ? base : last + 1;
        } while (!last_.compare_exchange_weak(last, tick, std::memory_order_relaxed));
        const std::uint64_t node = node_.load(std::memory_order_acquire);
        return ((tick >> kSeqBits) << 23) | (node << kSeqBits) | (tick & kSeqMask);
    }
    static std::uint64_t time_ms(std::uint64_t id) noexcept { return (id >> 23) + kEpochMs; }
    static std::uint16_t node_of(std::uint64_t id) noexcept {
        return static_cast<std::uint16_t>((id >> kSeqBits) & 0x3FF);
    }

private:
    static constexpr unsigned kSeqBits = 13;
    static constexpr std::uint64_t kSeqMask = (1u << kSeqBits) - 1;
    std::atomic<std::uint64_t> last_{0};
    std::atomic<std::uint16_t> node_;
};

}  // namespace lp::server
