// load-test/gift_events: the gift events one livepush-load run sends (scenarios gift and pk),
// shared by whatever sends them (the Kafka producer or the HTTP publisher) and the receiving
// shards.
//
// Event i is fixed by the plan: its room (room_base + i % rooms), its anchor, its sender (a
// small pool of users the run never logs in: each event also sends a qos1 `gift.confirmed` to
// its sender, and an offline sender keeps that to one inbox write instead of a second delivery
// the tool would have to count), its value, and its id "<run>-<i>". The run part keeps the ids
// of two runs against the same node apart: the node de-duplicates events by event_id.
//
// The sender stamps each event's send time just before handing it over; a shard that receives
// the event's effect reads the stamp back (the effect payload carries the event_id, not the
// time) and marks the event seen, so "distinct events seen by any session" is counted once over
// all shards. Both tables are sized once, before the run, and are lock-free: a stamp is written
// by one thread and read by others, a seen mark is set once. Nothing here allocates per event
// except write_event()'s string, which the caller reuses.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace lp::load {

struct GiftEventSpec {
    std::uint64_t events = 0;
    std::uint64_t run_id = 0;  // the "<run>" of every event id
    std::uint32_t rooms = 1;   // event i goes to room room_base + i % rooms
    std::uint64_t room_base = 1;
    std::uint64_t anchor_base = 0;  // the anchor of room room_base + k is anchor_base + k
    bool one_anchor = false;        // pk: every event goes to anchor_base, whatever the room
    std::uint64_t sender_base = 0;  // event i's sender: sender_base + i % senders
    std::uint32_t senders = 1;
    std::string value = "1.0";  // JSON string: decimal text, as the wallet sends it
    std::uint64_t gift_id = 1;
    std::uint64_t channel_id = 1;
};

class GiftEventPlan {
public:
    explicit GiftEventPlan(GiftEventSpec spec);

    const GiftEventSpec& spec() const noexcept { return spec_; }
    std::uint64_t size() const noexcept { return spec_.events; }
    std::uint64_t room_of(std::uint64_t i) const noexcept {
        return spec_.room_base + i % spec_.rooms;
    }
    std::uint32_t room_index_of(std::uint64_t i) const noexcept {
        return static_cast<std::uint32_t>(i % spec_.rooms);
    }

    // The event's JSON, {event_id, room_id, anchor_id, sender_id, channel_id, gift_id, count,
    // value, ts_ms}, into `out` (cleared first).
    void write_event(std::uint64_t i, std::int64_t ts_ms, std::string& out) const;

    // The index of the event whose id the JSON payload's "event_id" holds; nullopt for a payload
    // without one, or with an id of another run or past the plan.
    std::optional<std::uint64_t> index_in(std::string_view payload) const noexcept;

    // Send stamps, steady clock ns; 0 = not sent (yet).
    void stamp_sent(std::uint64_t i, std::int64_t ns) noexcept {
        sent_ns_[i].store(ns, std::memory_order_release);
    }
    std::int64_t sent_ns(std::uint64_t i) const noexcept {
        return sent_ns_[i].load(std::memory_order_acquire);
    }

    // True the first time any shard marks event i.
    bool mark_seen(std::uint64_t i) noexcept {
        if (seen_[i].exchange(1, std::memory_order_relaxed) != 0) return false;
        distinct_seen_.fetch_add(1, std::memory_order_relaxed);
        return true;
    }
    std::uint64_t distinct_seen() const noexcept {
        return distinct_seen_.load(std::memory_order_relaxed);
    }

private:
    GiftEventSpec spec_;
    std::string id_prefix_;  // "<run>-"
    std::unique_ptr<std::atomic<std::int64_t>[]> sent_ns_;
    std::unique_ptr<std::atomic<std::uint8_t>[]> seen_;
    std::atomic<std::uint64_t> distinct_seen_{0};
};

// The unsigned integer after `"key":` in flat JSON text (quoted or not), searching from `from`;
// nullopt when absent. Enough for the payloads the plugins build (Boost.JSON, no spaces).
std::optional<std::uint64_t> json_uint_after(std::string_view text, std::string_view quoted_key,
                                             std::size_t from = 0) noexcept;

}  // namespace lp::load
