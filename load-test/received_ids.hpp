// load-test/received_ids: which qos1 msg_ids a load shard's clients have received, and how often.
//
// The qos1 scenario must tell, after the run, which accepted pushes never arrived (loss) and
// which arrived twice at the same client (duplicates, e.g. a resend of an acked message). Each
// shard keeps one open-addressing table of msg_id → (client, times seen), sized once before the
// run from --rate × --duration-s; recording a receipt then never allocates, which matters on a
// receive path that handles every push. A full table stops recording and says so
// (untracked), rather than growing in the middle of a measurement.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lp::load {

class ReceivedIds {
public:
    struct Entry {
        std::uint64_t msg_id = 0;  // 0 = empty slot (the server never issues id 0)
        std::uint32_t client = 0;  // shard-local connection index of the first receipt
        std::uint32_t times = 0;   // receipts at that client
    };

    enum class Seen : std::uint8_t {
        First,        // a new id
        Again,        // the same client had it already: a duplicate
        OtherClient,  // another client of this shard had it: delivered to the wrong session
        Untracked,    // the table is full; not recorded
    };

    // Sizes the table for up to max_ids distinct ids (kept at most half full). Before use.
    void reserve_for(std::size_t max_ids) {
        std::size_t slots = 16;
        // Bounded: doubles until twice max_ids, at most 64 steps.
        while (slots < max_ids * 2) slots *= 2;
        slots_.assign(slots, Entry{});
        mask_ = slots - 1;
        limit_ = max_ids;
        used_ = 0;
    }

    Seen record(std::uint64_t msg_id, std::uint32_t client) noexcept {
        if (slots_.empty() || msg_id == 0) return Seen::Untracked;
        // Bounded: the table is never more than half full, so an empty slot is always near.
        for (std::size_t i = hash(msg_id) & mask_;; i = (i + 1) & mask_) {
            Entry& e = slots_[i];
            if (e.msg_id == msg_id) {
                if (e.client != client) return Seen::OtherClient;
                ++e.times;
                return Seen::Again;
            }
            if (e.msg_id == 0) {
                if (used_ >= limit_) return Seen::Untracked;
                e = Entry{msg_id, client, 1};
                ++used_;
                return Seen::First;
            }
        }
    }

    // The entry for msg_id, or nullptr when it was never recorded.
    const Entry* find(std::uint64_t msg_id) const noexcept {
        if (slots_.empty() || msg_id == 0) return nullptr;
        // Bounded as in record().
        for (std::size_t i = hash(msg_id) & mask_;; i = (i + 1) & mask_) {
            const Entry& e = slots_[i];
            if (e.msg_id == msg_id) return &e;
            if (e.msg_id == 0) return nullptr;
        }
    }

    std::size_t size() const noexcept { return used_; }

private:
    // splitmix64's finalizer: msg_ids are sequence-like, their low bits alone would cluster.
    static std::size_t hash(std::uint64_t x) noexcept {
        x ^= x >> 30;
        x *= 0xBF58476D1CE4E5B9ull;
        x ^= x >> 27;
        x *= 0x94D049BB133111EBull;
        x ^= x >> 31;
        return static_cast<std::size_t>(x);
    }

    std::vector<Entry> slots_;
    std::size_t mask_ = 0;
    std::size_t limit_ = 0;
    std::size_t used_ = 0;
};

}  // namespace lp::load
