// router/room_likes: likes aggregated on the server (docs/rooms.md "Likes"). A client's
// `room.like {room_id, count}` is summed per room, and the room's members get one
// `room.likes {"total": T, "delta": D}` per room.likes_interval_ms while likes arrive (none in an
// interval without likes) instead of a message per like; the same across the cluster: one push
// per interval for the whole room, not one per node.
//
// The design, in three steps per interval (flush(), from app/'s timer on one thread):
// 1. Count. Each event loop sums its sessions' likes in a map only that loop touches (add(): no
//    lock, no atomic but the stats counter). flush() posts one task to each loop that takes its
//    map; the last loop to answer goes on with the sum (step 2), on that loop's thread. Likes
//    from other nodes and deltas to retry (step 3) wait in one map with its own lock, taken once
//    per link frame and once per flush.
// 2. Forward. A room whose home is this node (Routing::room_is_home) stays here; the others' sums
//    go to their homes, one node-link frame (LinkRoomLikes) per home per interval
//    (Routing::forward_room_likes). A home that receives likes for a room it is not the home of
//    (the node lists disagree for a moment) forwards them on at its next flush: likes are never
//    dropped, at most delayed.
// 3. Publish, on the home only: LikeTotals::add(room, sum) (memory embedded; Redis INCRBY in a
//    cluster: one command per room per interval, whatever the number of likes and nodes), then
//    one unsequenced room message {total, delta: sum} through Routing::publish_room_unsequenced,
//    with the total the store returned. So each push's total is the previous push's plus its
//    delta, and a member sees totals rise monotonically to the exact sum. A store that fails
//    (Redis down) counts nothing: the sum is kept and tried again at the next flush.
//
// Unsequenced like room.online: no room_seq, no history (a replayed total would be stale; the
// next push carries the current one). Class `low` (issue 14 item 4: shed first under the
// per-viewer budget); see publish() for where the class goes.
//
// Pacing: a room gets at most one push per flush, and flush() runs once per interval, so at
// most one per interval on its home; across nodes a like waits at most two intervals (its
// node's flush, then the home's). Cost: per like request one map add on its loop; per interval
// one task per loop, one frame per home node with likes, one store add and one room message per
// liked room.
//
// What is lost: likes counted on a node but not yet flushed when it stops or dies, and sums in
// flight to a home that dies before its flush (at most an interval or two of likes of that node).
// The total already counted survives (Redis in a cluster).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "router/like_counter.hpp"
#include "router/like_totals.hpp"
#include "router/routing.hpp"

namespace lp::codec {
class PromText;
}
namespace lp::server {
class Hub;
}

namespace lp::router {

struct RoomLikesStats {
    std::atomic<std::uint64_t> received{0};        // likes accepted from clients on this node
    std::atomic<std::uint64_t> requests{0};        // room.like requests accepted on this node
    std::atomic<std::uint64_t> forwarded{0};       // likes sent to other nodes (rooms homed there)
    std::atomic<std::uint64_t> from_nodes{0};      // likes received from other nodes
    std::atomic<std::uint64_t> merged{0};          // likes summed into room.likes pushes (home)
    std::atomic<std::uint64_t> pushes{0};          // room.likes pushes published (home)
    std::atomic<std::uint64_t> store_failures{0};  // LikeTotals adds that failed (retried)
    // room.like refused, by reason: [rate, count, not in room] (guests: the gateway's
    // livepush_guest_biz_refused_total)
    std::atomic<std::uint64_t> refused[3] = {};
};

class RoomLikes final : public LikeCounter {
public:
    // hub: its loops take part in the flush. next_msg_id: the node's message ids.
    RoomLikes(Routing& routing, LikeTotals& totals, server::Hub& hub,
              std::function<std::uint64_t()> next_msg_id);

    // ---- LikeCounter (event loops)
    void add(unsigned loop, std::uint64_t room, std::uint64_t count) override;
    std::uint64_t total(std::uint64_t room) override { return totals_.known(room); }
    void refused(Refusal why) noexcept override {
        stats_.refused[static_cast<int>(why)].fetch_add(1, std::memory_order_relaxed);
    }

    // Likes for rooms this node is (supposedly) the home of, from another node (link thread).
    void add_from_node(std::uint64_t room, std::uint64_t likes);

    // Once per room.likes_interval_ms, from one thread (app/'s timer). Never blocks.
    void flush();

    // On the home, after each room.likes: the room's new total (app/ keeps it in the room's
    // state, key "likes", so room.enter carries it). Set before the node starts; must not block.
    void on_total(std::function<void(std::uint64_t room, std::uint64_t total)> f) {
        on_total_ = std::move(f);
    }

    const RoomLikesStats& stats() const noexcept { return stats_; }

private:
    using Sums = std::unordered_map<std::uint64_t, std::uint64_t>;  // room -> likes
    struct Gather;
    void add_pending(std::uint64_t room, std::uint64_t likes);
    void finish(Sums sums);  // step 2 and 3, on the last loop's thread
    void publish(std::uint64_t room, std::uint64_t total, std::uint64_t delta);

    Routing& routing_;
    LikeTotals& totals_;
    server::Hub& hub_;
    std::function<std::uint64_t()> next_msg_id_;
    std::function<void(std::uint64_t, std::uint64_t)> on_total_;
    // One per loop, touched only on that loop's thread (unique_ptr: no false sharing).
    std::vector<std::unique_ptr<Sums>> per_loop_;
    std::mutex pending_mu_;
    Sums pending_;                              // from other nodes, and sums to retry
    std::uint64_t requests_at_last_flush_ = 0;  // flush()'s thread only
    RoomLikesStats stats_;
};

// livepush_room_likes_* families.
void write_metrics(codec::PromText& m, const RoomLikesStats& s);

}  // namespace lp::router
