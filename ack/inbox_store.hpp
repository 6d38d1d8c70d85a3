// ack/inbox_store: where qos1 messages wait for a user who is offline, disconnected with them
// in flight, or never acked them. Replayed in order at the user's next login and removed as
// they are acked. Two implementations: MemoryInbox (embedded mode) and RedisInbox (cluster).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lp::codec {
class PromText;
}

namespace lp::ack {

// A user-targeted qos1 message, as stored and as replayed.
struct StoredMessage {
    std::uint64_t msg_id = 0;
    std::string type;
    std::string payload;  // UTF-8 JSON (or raw bytes)
    std::uint64_t sent_at_ms = 0;
    std::uint64_t expires_at_ms = 0;  // dropped after this (never replayed)
    // im.send's sending user, stored with the message: a store holds at most its
    // max_per_sender messages from one sender in one inbox (append_checked). 0 = an API or
    // plugin push, not subject to that share.
    std::uint64_t sender = 0;
    // Delivery options, never stored (such messages never enter an inbox):
    bool online_only = false;         // offline, or disconnected before the ack: dropped
    bool outside_rooms_only = false;  // only sessions in a non-consumption scene get it
};

// What append_checked did.
enum class AppendResult {
    Stored,       // stored, or already there
    ShareFull,    // not stored: the inbox holds max_per_sender messages from m.sender already
    Unavailable,  // not stored (durably): the store is down; see append()
};

struct InboxCounters {
    std::uint64_t stored = 0;        // messages appended
    std::uint64_t duplicates = 0;    // appends of a msg_id already there (ignored)
    std::uint64_t dropped_cap = 0;   // oldest dropped because a user's inbox was full
    std::uint64_t expired = 0;       // dropped at their TTL
    std::uint64_t removed = 0;       // removed by acks
    std::uint64_t size = 0;          // messages held now, all users
    std::uint64_t users = 0;         // users with a non-empty inbox
    std::uint64_t share_full = 0;    // append_checked refused: a sender's share of an inbox full
};

class InboxStore {
public:
    virtual ~InboxStore() = default;
    // Appends to the user's inbox (ignored if msg_id is already there); drops the oldest when
    // the inbox is over its cap. Thread-safe, as is everything here. True when the message is
    // stored or was already there; false when the store is unavailable and the message is not
    // durably kept (the push API answers 503 then). A false may still have stored it (a timed-out
    // write that lands later): appending the same msg_id again is always safe.
    // A message already accepted (re-stored at disconnect or after its retries) always goes in
    // here, whatever its sender's share: it only counts towards that share.
    [[nodiscard]] virtual bool append(std::uint64_t user, const StoredMessage& m) = 0;
    // append() of a new message (im.send): refused with ShareFull, and the inbox untouched, when
    // m.sender != 0 already has the store's max_per_sender messages in this inbox. So one sender
    // can never push a user's earlier messages out over the per-user cap.
    [[nodiscard]] virtual AppendResult append_checked(std::uint64_t user, const StoredMessage& m) {
        return append(user, m) ? AppendResult::Stored : AppendResult::Unavailable;
    }
    // append() of one message for many users, in one round trip where the store can (Redis:
    // pipelined). Returns the users it could not store for (empty: all stored).
    [[nodiscard]] virtual std::vector<std::uint64_t> append_many(const std::vector<std::uint64_t>& users,
                                                                 const StoredMessage& m) {
        std::vector<std::uint64_t> failed;
        for (auto u : users)
            if (!append(u, m)) failed.push_back(u);
        return failed;
    }
    // The user's unexpired messages, oldest first (at most `max`). They stay until removed.
    virtual std::vector<StoredMessage> load(std::uint64_t user, std::size_t max) = 0;
    virtual void remove(std::uint64_t user, const std::vector<std::uint64_t>& msg_ids) = 0;
    virtual std::size_t size(std::uint64_t user) = 0;
    // The users (of `users`) whose inbox holds something, in one round trip where the store can.
    // Expired messages not yet swept may count. Empty also when the store is unavailable.
    virtual std::vector<std::uint64_t> nonempty(const std::vector<std::uint64_t>& users) {
        std::vector<std::uint64_t> out;
        for (auto u : users)
            if (size(u) > 0) out.push_back(u);
        return out;
    }
    // Drops expired messages of every user (called periodically).
    virtual void sweep(std::uint64_t now_ms) = 0;
    virtual InboxCounters counters() const = 0;
    // Its Prometheus families: the counters above, and whatever a store counts of its own
    // (RedisInbox: the operations Redis did not complete). Defined in ack/delivery_metrics.cpp.
    virtual void write_metrics(codec::PromText& m) const;
};

}  // namespace lp::ack
