// router/room_online: see room_online.hpp.
#include "router/room_online.hpp"

#include "codec/wall_clock.hpp"

namespace lp::router {

void RoomOnline::sweep() {
    std::unordered_map<std::uint64_t, std::uint64_t> now;
    const std::uint64_t sent_at = codec::wall_ms();
    for (const auto& [room, count] : routing_.home_rooms_online()) {
        now[room] = count;
        auto it = last_sent_.find(room);
        if (it != last_sent_.end() && it->second == count) continue;
        routing_.publish_room_unsequenced({.room = room,
                                           .msg_id = next_msg_id_(),
                                           .type = "room.online",
                                           .payload = "{\"count\":" + std::to_string(count) + "}",
                                           .sent_at_ms = sent_at});
        pushes_.fetch_add(1, std::memory_order_relaxed);
    }
    last_sent_ = std::move(now);
}

}  // namespace lp::router
