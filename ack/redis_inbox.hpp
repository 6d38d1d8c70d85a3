// ack/redis_inbox: the cluster-mode inbox, kept in Redis and shared by every node, so a user
// who reconnects to another node finds what was stored for them, and nothing is lost when a
// node dies. Same semantics as MemoryInbox (ordered, deduplicated by msg_id, capped per user,
// expiring per message); the tests run the same cases against both.
//
// Layout, per user (`{user}` is a Redis Cluster hash tag: a user's keys share one slot, so each
// script below may touch all four):
//   lp:inbox:{user}      LIST  msg_ids (decimal), oldest first: the order.
//   lp:inbox:{user}:m    HASH  msg_id -> the message (protobuf livepush.internal.v1.InboxMessage)
//   lp:inbox:{user}:exp  ZSET  msg_id scored by expires_at_ms; never-expiring messages are absent
//   lp:inbox:{user}:s    HASH  the senders' shares (im.send messages only, sender != 0):
//                              `m<msg_id>` -> sender, and `c<sender>` -> how many held messages
//                              that sender has here (absent at 0). Every script that drops a
//                              message (remove, expiry prune, cap drop) decrements its count, so
//                              append_checked can refuse a sender over max_per_sender in O(1).
// The ZSET is the one addition to the obvious LIST + HASH: it lets a script find the expired
// messages with one range query instead of reading and parsing every stored message, so
// `size` stays cheap however large the payloads, and the scripts never look inside a stored
// value (its format, versioned by protobuf field numbers, is C++'s business alone).
//
// Every operation is one Lua script: atomic, one round trip. `now_ms` always comes from this
// process (never Redis's clock). The keys carry a TTL, set at each append to the latest
// expiry of the messages held (none while a never-expiring one is held), so an abandoned inbox
// leaves Redis by itself; removes and prunes never shorten it.
//
// Threading and blocking: every method is thread-safe. `append`, `load` and `size` block the
// caller for one round trip, at most Options::timeout (500 ms by default): QosDelivery calls
// them from event-loop threads, so a slow Redis stalls that loop for up to that long, which is
// why the timeout is short. `append` must block: the push API may not answer 200 before the
// message is durable. `remove` (acks) is asynchronous: it never blocks, and a later call made
// through the same redis::Client sees its effect (one connection, commands run in order).
//
// Replication (issue 16): appends go through redis::Client's replicated forms. On a client with
// wait_replicas = N they are confirmed by WAIT N; a write fewer replicas acknowledged in time
// is an append failure (false / Unavailable: the API answers 503), since a failover could lose
// it. Give such a client a timeout budget here of at least its wait_timeout more.
//
// Failures: Redis down or slow -> `append` returns false, `load` returns nothing (the messages
// stay for the next login), `size` returns 0, `remove` is lost; each is counted in stats(). A
// timed-out append may still land later; appending the same msg_id again is then a duplicate.
//
// Counters: stored, duplicates, dropped_cap, expired and removed count what this process's
// scripts reported (sum them over nodes). An inbox that leaves by its key TTL is not counted as
// expired. `size` and `users` are cluster-wide, as of sweep()'s last full SCAN pass (0 before the
// first): the same figure on every node, so do not sum them over nodes.
//
// Operations: run this Redis with `maxmemory-policy noeviction`. Evicting one key of a user
// breaks what the scripts rely on (the keys carry TTLs, so a volatile-* policy would pick them);
// with noeviction a full Redis refuses the write and append says false. One load of a full
// replay is one reply: 200 messages of 64 KiB took ~80 ms here, so very large payloads times
// replay_max can approach the timeout.
//
// What it must never do: keep a lock or a caller's thread across a Redis call beyond the
// timeout, or crash because Redis went away or holds something it cannot parse.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "ack/inbox_store.hpp"

namespace lp::redis {
class Client;
}

namespace lp::ack {

class RedisInbox final : public InboxStore {
public:
    struct Options {
        // Bound on each blocking call (append, load, size), on the caller's thread.
        std::chrono::milliseconds timeout{500};
        // Start of every key. Must not contain `{`, `}` (the hash tag is the user id) or a glob
        // character (sweep matches on it).
        std::string key_prefix = "lp:inbox:";
        // Keys sweep() asks SCAN to look at per call (one SCAN step per call, asynchronous, the
        // next call skipped while a step is running). A full pass takes about
        // (keys in the database / this) calls. 0: sweep() does nothing and size/users stay 0.
        std::size_t sweep_keys_per_call = 1000;
    };

    // What went wrong, counted (the InboxCounters are what went right).
    struct Stats {
        std::uint64_t append_failures = 0;  // append returned false
        std::uint64_t load_failures = 0;    // load returned nothing because Redis did not answer
        std::uint64_t size_failures = 0;    // size returned 0 because Redis did not answer
        std::uint64_t remove_failures = 0;  // removes (acks) not applied
        std::uint64_t sweep_failures = 0;   // SCAN steps or prunes of sweep() that failed
        std::uint64_t corrupt = 0;          // stored values that did not parse (skipped)
        std::uint64_t sweep_passes = 0;     // full SCAN passes completed
    };

    // The keys of one user's inbox.
    struct Keys {
        std::string ids;       // LIST
        std::string messages;  // HASH
        std::string expiry;    // ZSET
        std::string senders;   // HASH of the senders' shares
    };

    // `redis` must outlive this object and stay started while it is used; a remove or sweep
    // still in flight when this is destroyed completes harmlessly. Throws std::invalid_argument
    // on a bad key_prefix or a zero timeout.
    // max_per_sender: im.send messages from one sender in one inbox (append_checked); 0 = no share.
    RedisInbox(redis::Client& redis, std::size_t max_per_user, Options opts,
               std::size_t max_per_sender = 0);
    RedisInbox(redis::Client& redis, std::size_t max_per_user)
        : RedisInbox(redis, max_per_user, Options{}) {}
    ~RedisInbox() override;
    RedisInbox(const RedisInbox&) = delete;
    RedisInbox& operator=(const RedisInbox&) = delete;

    [[nodiscard]] bool append(std::uint64_t user, const StoredMessage& m) override;
    [[nodiscard]] AppendResult append_checked(std::uint64_t user, const StoredMessage& m) override;
    // Every user's append script queued at once (the client pipelines them), then waited for
    // together: one round trip for a /v1/push/users of many users, at most `timeout` in all.
    [[nodiscard]] std::vector<std::uint64_t> append_many(const std::vector<std::uint64_t>& users,
                                                         const StoredMessage& m) override;
    std::vector<StoredMessage> load(std::uint64_t user, std::size_t max) override;
    void remove(std::uint64_t user, const std::vector<std::uint64_t>& msg_ids) override;
    std::size_t size(std::uint64_t user) override;
    // One pipelined LLEN per user, waited for together (at most `timeout` in all).
    std::vector<std::uint64_t> nonempty(const std::vector<std::uint64_t>& users) override;
    // One asynchronous SCAN step over the inboxes: each one found has its expired messages
    // dropped and its length added to the pass's totals, published as size/users when the pass
    // completes. Expiry itself does not depend on it (load/size prune, key TTLs clean up).
    void sweep(std::uint64_t now_ms) override;
    InboxCounters counters() const override;
    void write_metrics(codec::PromText& m) const override;  // the counters, then Stats

    Stats stats() const;
    Keys keys_of(std::uint64_t user) const;
    const Options& options() const noexcept { return opts_; }

    // The stored form of a message (protobuf InboxMessage), and back. False if it does not parse.
    static std::string encode(const StoredMessage& m);
    static bool decode(const std::string& bytes, StoredMessage& out);

private:
    // Counters, scripts and the sweep's state: shared with the callbacks of asynchronous calls,
    // which may run after this object is gone.
    struct Shared;

    AppendResult append_script_call(std::uint64_t user, const StoredMessage& m, std::size_t share);

    redis::Client& redis_;
    const std::size_t max_per_user_;
    const std::size_t max_per_sender_;
    const Options opts_;
    std::shared_ptr<Shared> shared_;
};

}  // namespace lp::ack
