// ack/qos_delivery: at-least-once delivery of user-targeted pushes (design.md section 4).
//
// Every qos1 push carries ACK_REQUIRED and a msg_id. Each session has an in-flight window
// (default 64); more waits behind it, in order. A message not acked within the retry timeout is
// sent again (same msg_id) with exponential backoff, up to max_attempts; then it goes to the
// user's inbox. A user who is offline, or whose session closes with messages in flight or
// waiting, gets them in the inbox too, replayed in order right after the next LOGIN_RESULT and
// removed as they are acked. Clients deduplicate by msg_id.
//
// Bounded: at most `waiting_max` messages wait behind a session's window; beyond that a message
// goes to (or stays in) the inbox and is counted (waiting_overflow). Once the session has
// drained its waiting queue (it acks), the inbox is loaded again: the inbox is the overflow of the
// waiting queue, so nothing is lost and a live session gets it without logging in again.
//
// Off the loop: with a blocking runner set (set_blocking_runner; cluster mode, where the inbox
// is Redis), the inbox load at login runs there, not on the session's loop. Until it is back the
// window is `replaying`: new messages for the session wait behind it, and the replayed ones go
// first, without the ids that arrived meanwhile. A session that closes meanwhile loses nothing:
// what was loaded is still in the inbox.
//
// Retries use the session loop's timing wheel (one node embedded in each in-flight entry), so a
// retry costs no timer object and no lock. All per-session state lives in the session (as its
// `delivery` extension) and is touched only on the session's loop.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

#include "ack/defaults.hpp"
#include "ack/delivery_hooks.hpp"
#include "ack/inbox_store.hpp"
#include "server/hub.hpp"
#include "server/msg_id.hpp"

namespace lp::ack {

struct DeliveryOptions {
    std::uint32_t window = kDefaultWindow;             // messages in flight per session
    std::chrono::milliseconds retry = kDefaultRetry;   // first retry timeout; doubles each attempt
    std::uint32_t max_attempts = kDefaultMaxAttempts;  // sends before the message goes to the inbox
    std::chrono::seconds inbox_ttl = kDefaultInboxTtl;  // default lifetime of a qos1 message
    std::uint32_t replay_max = 1000;                    // inbox messages replayed per login
    // Waiting behind a window per session; 0 = no bound.
    std::uint32_t waiting_max = kDefaultWaitingMax;
};

struct DeliveryStats {
    std::atomic<std::uint64_t> sent{0};       // first sends of qos1 messages to a session
    std::atomic<std::uint64_t> retries{0};    // resends
    std::atomic<std::uint64_t> acked{0};      // in-flight messages acked
    std::atomic<std::uint64_t> late_acks{0};  // acks for ids retried out of this session's window
    std::atomic<std::uint64_t> unknown_acks{0};  // acks for ids this session does not hold: ignored
    std::atomic<std::uint64_t> exhausted{0};     // max_attempts reached, moved to the inbox
    std::atomic<std::uint64_t> offline{0};       // pushes that found the user offline (inbox)
    std::atomic<std::uint64_t> disconnected{0};  // in flight or waiting at disconnect (inbox)
    std::atomic<std::uint64_t> expired{0};       // dropped at their TTL before delivery
    std::atomic<std::uint64_t> replayed{0};      // inbox messages replayed at login
    std::atomic<std::uint64_t> resynced{
        0};  // inbox messages queued to an online session by a resync
    std::atomic<std::int64_t> inflight{0};           // in flight now, all sessions
    std::atomic<std::int64_t> waiting{0};            // behind full windows now
    std::atomic<std::uint64_t> waiting_overflow{0};  // over waiting_max: left to the inbox
    std::atomic<std::uint64_t> replays_async{0};     // login inbox loads run on the blocking runner
};

class QosDelivery final : public DeliveryHooks {
public:
    QosDelivery(DeliveryOptions opts, InboxStore& inbox, server::Hub& hub);

    // Thread-safe. Queues the message (qos1) to every session of `user`, or stores it in the
    // inbox when there is none. Returns the number of sessions it was queued to.
    std::uint64_t send(std::uint64_t user, StoredMessage m);
    // Same for many users; the Push is encoded once per wire form per loop. A message with a
    // sender (im.send) goes to an offline user's inbox through append_checked: refused over the
    // sender's share (share_full), or when the store is down (unavailable).
    struct ManyResult {
        std::uint64_t sessions = 0;
        std::uint64_t stored = 0;
        std::uint64_t share_full = 0;
        std::uint64_t unavailable = 0;
    };
    ManyResult send_many(const std::vector<std::uint64_t>& users, const StoredMessage& m);
    // Cluster mode: the message is already in the durable inbox. Queues it to the local
    // sessions of `users` (acks remove it from the inbox); a user with no local session keeps
    // it there. Returns the sessions it was queued to.
    std::uint64_t deliver_stored(const std::vector<std::uint64_t>& users, const StoredMessage& m);

    // Cluster mode, after a peer node left: a qos1 message that node had accepted (it is in the
    // durable inbox) may never have reached this node's session of its user — the node died
    // between its inbox write and the link frame, or the link dropped the frame. Blocking, off
    // the loops: finds this node's logged-in users, asks the inbox which of them hold messages
    // (one pipelined round trip), loads those inboxes and queues to the users' sessions every
    // message not already in flight or waiting there. Returns the users whose inboxes it loaded.
    std::size_t resync_local_users(
        std::chrono::milliseconds collect_timeout = std::chrono::seconds(5));

    // Runs blocking work (the login inbox load) off the loops, keyed by user; false when it
    // could not take it (the load then runs inline). Unset: everything runs inline (embedded
    // mode: the memory inbox never blocks). Set before the server starts.
    using BlockingRunner = std::function<bool(std::uint64_t key, std::function<void()> task)>;
    void set_blocking_runner(BlockingRunner r) { runner_ = std::move(r); }

    void on_login(server::Session& s) override;
    // Only ids this session holds in flight, or moved from its window to the inbox lately
    // (Window::retired), touch the inbox; any other id costs a lookup in the window and
    // nothing in the store. The worst such an id can be is a genuinely late ack of something
    // else: the message is then delivered again (at least once), never lost.
    std::size_t on_ack(server::Session& s, const livepush::v1::Ack& ack) override;
    void on_closed(server::Session& s) override;
    void send_private(PrivateMessage m, std::function<void(PrivateResult)> done) override;

    const DeliveryStats& stats() const noexcept { return stats_; }
    const DeliveryOptions& options() const noexcept { return opts_; }
    InboxStore& inbox() noexcept { return inbox_; }
    std::uint64_t default_expiry(std::uint32_t ttl_s) const;

    struct Window;
    struct Entry;

private:
    ManyResult fan_out(const std::vector<std::uint64_t>& users, const StoredMessage& m,
                       bool stored);
    void enqueue(server::Session& s, std::shared_ptr<const StoredMessage> m,
                 const server::Bytes& frame, bool from_inbox);
    void start(Window& w, std::unique_ptr<Entry> e);
    // Starts e when the window has room and nothing waits ahead of it (or a replay is loading);
    // else queues it behind the others, or over waiting_max leaves it to the inbox.
    void admit(Window& w, std::unique_ptr<Entry> e);
    void on_retry(Entry& e);
    void fill(Window& w);
    // Over waiting_max: the message is left to the inbox (stored there now if it is not yet).
    void overflow(Window& w, Entry& e);
    // Loads the session's inbox (on the blocking runner when set) and replays it: at login, and
    // after a spill over waiting_max once the waiting queue has drained.
    void load_inbox(server::Session& s);
    // On the session's loop: the inbox load is back; replayed messages go first.
    void finish_replay(server::Session& s, std::vector<StoredMessage> msgs);
    void remove_entry(Window& w, Entry& e);
    Window& window_of(server::Session& s);
    // The window has msg_id in flight or waiting, or replayed it from the inbox lately.
    bool holds(Window& w, std::uint64_t msg_id);

    DeliveryOptions opts_;
    InboxStore& inbox_;
    server::Hub& hub_;
    DeliveryStats stats_;
    BlockingRunner runner_;
};

// The Push frame of a qos1 message (ACK_REQUIRED set).
server::SharedPacket qos1_packet(const StoredMessage& m);

}  // namespace lp::ack
