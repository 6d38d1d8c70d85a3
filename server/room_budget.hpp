// server/room_budget: the per-viewer budget of a room (room.viewer_budget_per_s, issue 14 item
// 4): which messages of a coalesced batch each viewer gets when the room is busier than the
// budget. Owned by one loop's RoomFanout, one RoomBudget per room with members on that loop.
//
// The design, and why it is fair and cheap:
// - Every viewer of a room on a loop sees the same stream, so the budget is decided per
//   (loop, room), once per batch, never per receiver. The room's viewers on the loop are split
//   into kGroups groups by a hash of the session id; each group has its own token bucket (rate
//   = the budget per second, burst = kBurstSeconds of it) and its own sampling phase.
// - For each group, a batch's sequenced high and critical messages are always kept and spend
//   tokens (the bucket may go into debt, bounded at one burst, so a flood of high messages
//   leaves no room for normal ones but never blocks high ones). Normal messages that fit in
//   the tokens left are all kept, and then low ones that still fit; when normal ones do not
//   fit, every low one is shed and the normal ones are sampled evenly: a fraction f = tokens /
//   normals is kept by an accumulator (keep when it crosses 1), which spreads the kept ones
//   evenly over the stream. Each group's accumulator starts at a different phase (g + 0.5) /
//   kGroups, so groups keep different messages: every viewer gets a fair share, and together
//   the groups show most of the chat.
// - Unsequenced messages (room.online, seq 0) are outside the budget: kept, no token spent.
// - Cost: one pass over the batch per group (kGroups x batch size, a few instructions each),
//   no allocation once the plan's vectors have grown. When nothing is shed (the room is under
//   budget) the fan-out takes its one-buffer-per-batch path unchanged; when something is shed,
//   each group's kept subset is encoded once per wire form (at most kGroups more buffers a
//   batch), and every member of the group queues that one buffer.
// - A sender always sees their own message: the plan lists the senders of shed messages, and
//   a member among them takes the fan-out's slow per-message path for that batch.
//
// Must never: allocate or decide per receiver, shed a high or critical message, or budget room
// recovery (replay_to is not budgeted).
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "server/room_packet.hpp"

namespace lp::server {

class RoomBudget {
public:
    static constexpr std::size_t kGroups = 4;
    static constexpr double kBurstSeconds = 0.5;

    // Which group a session belongs to (by its id: stable while it lives).
    static std::size_t group_of(std::uint64_t session_id) noexcept {
        return static_cast<std::size_t>((session_id * 0x9E3779B97F4A7C15ull) >> 62);
    }

    // The decision for one batch.
    struct Plan {
        bool sheds = false;                     // false: every group keeps every message
        std::array<bool, kGroups> keeps_all{};  // this group keeps the whole batch
        std::array<std::vector<std::uint8_t>, kGroups> keep;  // [group][message]: 1 = kept
        // [group][class]: messages of the batch shed for this group
        std::array<std::array<std::uint32_t, kMsgClassCount>, kGroups> shed{};
        std::vector<std::uint64_t> shed_senders;  // senders of shed messages, sorted, unique
        bool is_shed_sender(std::uint64_t user) const noexcept;
    };

    // rate_per_s > 0. The first call starts every bucket full.
    explicit RoomBudget(std::uint32_t rate_per_s) : rate_(rate_per_s) {}

    // Decides `batch` (one room's messages, in seq order) at now_ms (a steady clock).
    void decide(const std::vector<RoomPacketPtr>& batch, std::uint64_t now_ms, Plan& out);

    // True when every bucket has refilled by now_ms: the budget is then the same as a new one.
    bool idle(std::uint64_t now_ms) const noexcept;

private:
    double burst() const noexcept;
    void refill(std::uint64_t now_ms);

    std::uint32_t rate_;
    bool started_ = false;
    std::uint64_t refill_ms_ = 0;
    std::array<double, kGroups> tokens_{};
    std::array<double, kGroups> phase_{};
};

}  // namespace lp::server
