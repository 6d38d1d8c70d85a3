// ack/inbox_resync: re-checks the inboxes of this node's users when a peer node leaves the
// cluster (QosDelivery::resync_local_users). The peer may have accepted qos1 messages for our
// users, stored them in the shared inbox and died before routing them here; the re-check queues
// them to the sessions that are online.
//
// It owns one thread. request() only sets a flag and wakes it, so it is safe from any thread
// (the links' thread calls it and must not block). Requests arriving while a re-check runs fold
// into one more run after it: however many peers leave at once, at most one run is pending.
// It must never run the re-check on the caller's thread nor two re-checks at once; a re-check
// that throws is logged, and the thread waits for the next request.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>

namespace lp::ack {

class QosDelivery;

class InboxResync {
public:
    // The re-check to run; returns the users whose inboxes it loaded (logged).
    using Recheck = std::function<std::size_t()>;

    // Re-checks with delivery.resync_local_users(); `delivery` must outlive this object.
    explicit InboxResync(QosDelivery& delivery);
    explicit InboxResync(Recheck recheck);
    ~InboxResync();  // stop()
    InboxResync(const InboxResync&) = delete;
    InboxResync& operator=(const InboxResync&) = delete;

    // Asks for a re-check: runs soon, or once more after the one running now.
    void request();
    // Waits for a running re-check to finish (a pending one is dropped) and joins the thread.
    // Idempotent.
    void stop();

private:
    void run();

    Recheck recheck_;
    std::mutex mu_;
    std::condition_variable cv_;
    bool pending_ = false;
    bool stopping_ = false;
    std::thread thread_;  // last: starts after the members it uses
};

}  // namespace lp::ack
