// server/timing_wheel: one hashed timing wheel per event loop for every session deadline
// (login deadline, heartbeat deadline, close-after-flush linger).
//
// A timer object per session would cost an allocation and a heap operation on every heartbeat.
// Here a session embeds a WheelNode; a heartbeat only moves its `due` tick forward (no list
// work at all), and the wheel re-files the node lazily when its old slot comes round. Deadlines
// that move earlier are re-filed at once. The wheel never allocates after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lp::server {

struct WheelNode {
    // Called when the deadline passes (the node is unlinked first). Set by the node's owner:
    // sessions for their deadlines, the ack layer for retries.
    void (*on_expire)(WheelNode&) = nullptr;
    WheelNode* prev = nullptr;
    WheelNode* next = nullptr;
    std::uint64_t slot_tick = 0;  // the tick whose slot holds this node
    std::uint64_t due = 0;        // the real deadline (tick); may be later than slot_tick
    bool linked() const noexcept { return prev != nullptr; }
};

class TimingWheel {
public:
    explicit TimingWheel(std::size_t slots = 1024) : slots_(slots) {
        for (auto& s : slots_) s.prev = s.next = &s;
    }
    TimingWheel(const TimingWheel&) = delete;
    TimingWheel& operator=(const TimingWheel&) = delete;

    std::uint64_t now() const noexcept { return now_; }

    // Sets the node's deadline. Cheap when the deadline only moves later (the common heartbeat
    // case): the node stays where it is and is re-filed when its slot fires.
    void set_due(WheelNode& n, std::uint64_t due) noexcept {
        if (due <= now_) due = now_ + 1;
        n.due = due;
        if (n.linked() && n.slot_tick <= due) return;
        file(n, due);
    }

    static void unlink(WheelNode& n) noexcept {
        if (!n.linked()) return;
        n.prev->next = n.next;
        n.next->prev = n.prev;
        n.prev = n.next = nullptr;
    }

    // Advances to `tick`, calling on_expire(WheelNode&) for each node whose due tick passed.
    // The node is unlinked before the call; the callback may set_due() it again or unlink
    // any other node.
    template <class F>
    void advance(std::uint64_t tick, F&& on_expire) {
        while (now_ < tick) {
            ++now_;
            WheelNode& slot = slots_[now_ % slots_.size()];
            if (slot.next == &slot) continue;
            // Detach the slot's list so nodes re-filed into this same slot are not revisited.
            WheelNode pending;
            pending.prev = slot.prev;
            pending.next = slot.next;
            pending.prev->next = &pending;
            pending.next->prev = &pending;
            slot.prev = slot.next = &slot;
            while (pending.next != &pending) {
                WheelNode& n = *pending.next;
                unlink(n);
                if (n.due <= now_) {
                    on_expire(n);
                } else {
                    file(n, n.due);
                }
            }
        }
    }

    std::size_t span() const noexcept { return slots_.size(); }

private:
    void file(WheelNode& n, std::uint64_t due) noexcept {
        unlink(n);
        // Past the wheel's span, park in the farthest slot; it is re-filed from there.
        std::uint64_t at = due;
        if (at > now_ + slots_.size() - 1) at = now_ + slots_.size() - 1;
        n.slot_tick = at;
        WheelNode& slot = slots_[at % slots_.size()];
        n.prev = slot.prev;
        n.next = &slot;
        slot.prev->next = &n;
        slot.prev = &n;
    }

    std::vector<WheelNode> slots_;
    std::uint64_t now_ = 0;
};

}  // namespace lp::server
