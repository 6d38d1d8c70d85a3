// router/room_online: `room.online {"count": N}` to a room's members when its count on every
// node changed, at most once per room.online_interval_ms.
//
// One periodic sweep per node (app/ runs it on the main thread's timer), never a timer per
// room: it asks Routing for the rooms this node is the home of with members anywhere and their
// cluster-wide count (the home is the only node that knows it), and publishes one unsequenced
// room message per room whose count differs from the last one sent. The message is encoded
// once per room and fanned out like any room message, on every node with members.
//
// Unsequenced: it takes no room_seq and is not kept in the room's history, so a client's
// last_seq and recovery never see it: a replayed count would be stale, and the next sweep
// sends the current one anyway. The state here is a map room -> last count sent; rooms that
// left the home's list are forgotten (a room that fills again gets its count anew).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <unordered_map>

#include "router/routing.hpp"

namespace lp::router {

class RoomOnline {
public:
    // next_msg_id: the node's message ids (each room.online push has its own).
    RoomOnline(Routing& routing, std::function<std::uint64_t()> next_msg_id)
        : routing_(routing), next_msg_id_(std::move(next_msg_id)) {}

    // One sweep; call every room.online_interval_ms from one thread.
    void sweep();

    std::uint64_t pushes() const noexcept { return pushes_.load(std::memory_order_relaxed); }

private:
    Routing& routing_;
    std::function<std::uint64_t()> next_msg_id_;
    std::unordered_map<std::uint64_t, std::uint64_t> last_sent_;  // room -> count
    std::atomic<std::uint64_t> pushes_{0};
};

}  // namespace lp::router
