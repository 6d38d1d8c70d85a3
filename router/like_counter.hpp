// router/like_counter: what handlers/ sees of the likes aggregation (router/room_likes.hpp):
// count a client's likes, read a room's total, count refusals. Header-only, so handlers/ links no
// Redis and no links (the same boundary as routing.hpp).
//
// Both calls run on event loops and must never block or take a lock shared by the loops.
#pragma once

#include <cstdint>

namespace lp::router {

class LikeCounter {
public:
    virtual ~LikeCounter() = default;
    // `count` likes for `room` from a session on loop `loop` (its EventLoop::index()); on that
    // loop's thread. The likes go out later, summed, in the room's next room.likes.
    virtual void add(unsigned loop, std::uint64_t room, std::uint64_t count) = 0;
    // The room's likes total as this node knows it (room.enter's likes_total); never blocks.
    virtual std::uint64_t total(std::uint64_t room) = 0;
    // Counts a room.like the gateway refused (livepush_room_like_refused_total{reason}).
    enum class Refusal : std::uint8_t { Rate = 0, Count, NotInRoom };
    virtual void refused(Refusal why) noexcept = 0;
};

}  // namespace lp::router
