// server/room_fanout: delivers room messages to one loop's members, coalesced.
//
// Messages for a room that reach a loop within a short window (LoopOptions::room_coalesce,
// default 10 ms, or room_coalesce_max messages, default 64) are delivered together: each wire
// form of the whole batch is encoded once into one buffer, and every member queues that one
// buffer, so a receiver gets the batch in one write and the loop does one queue operation per
// receiver per batch, not per message. Members who joined in the middle of a batch or are
// excluded from one of its messages take a slower per-message path.
//
// The viewer budget (LoopOptions::viewer_budget_per_s, room_budget.hpp) is decided here, once
// per batch per room: when it sheds, each of its few viewer groups gets its kept subset encoded
// once per wire form, and a member whose own message was shed takes the per-message path so it
// still sees it. Under budget the path above is unchanged.
#pragma once

#include <boost/asio/steady_timer.hpp>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "server/room_budget.hpp"
#include "server/room_packet.hpp"

namespace lp::server {

class EventLoop;
class Session;

// Queues `packets` (in order) to one session as one buffer in its wire form: room recovery.
void replay_to(Session& s, const std::vector<RoomPacketPtr>& packets);

class RoomFanout {
public:
    explicit RoomFanout(EventLoop& loop);
    // On the loop thread. Messages of one room must arrive in seq order (the hub posts them so).
    void enqueue(const RoomPacketPtr& p);
    void flush_all();
    // room.viewer_budget_per_s changed (a reload): rooms' budgets start again at the new rate.
    void reset_budgets() { budgets_.clear(); }

private:
    void flush_room(std::uint64_t room, std::vector<RoomPacketPtr>& batch);
    void arm();
    // The budget's plan for the batch, or nullptr when nothing is shed (or the budget is off).
    const RoomBudget::Plan* plan_for(std::uint64_t room, const std::vector<RoomPacketPtr>& batch);
    void sweep_budgets(std::uint64_t now_ms);

    EventLoop& loop_;
    boost::asio::steady_timer timer_;
    bool armed_ = false;
    std::unordered_map<std::uint64_t, std::vector<RoomPacketPtr>> pending_;
    // Rooms' budgets on this loop; bounded: idle ones (full buckets) and rooms without members
    // here are dropped when the map passes its sweep mark.
    std::unordered_map<std::uint64_t, RoomBudget> budgets_;
    std::size_t budgets_sweep_at_ = 256;
    RoomBudget::Plan plan_;  // reused: its vectors keep their capacity
};

}  // namespace lp::server
