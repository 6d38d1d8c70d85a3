// server/hub: the node's directory of who is where — users to sessions, rooms to loops.
//
// Users and rooms are spread over 64 stripes, each with its own small mutex, so two loops
// contend only when they touch the same stripe at the same moment; nothing holds a lock shared
// by all loops. Room membership itself lives in each loop's RoomTable (loop-local, lock-free);
// the hub only keeps a room's exact online count, which loops have members, and its sequence.
// A publish takes the room's stripe to assign room_seq and posts the packet to just the loops
// with members, in seq order; each loop then fans out to its own members with encode-once
// buffers (outbound.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/outbound.hpp"

namespace lp::server {

class EventLoop;
class Session;

class Hub {
public:
    explicit Hub(std::vector<EventLoop*> loops);

    // ---------------------------------------------------------------- users
    // Registers s (logged in, user fields set) as the session of (user.id, user.platform) and
    // returns the session it displaces, if any, for the caller to kick ("replaced").
    std::shared_ptr<Session> bind_user(Session& s);
    // Removes s from the directory if it is still the bound session (compare-and-delete).
    void unbind_user(Session& s);

    struct UserSession {
        std::uint64_t session_id = 0;
        std::string platform;
        unsigned loop = 0;
        std::weak_ptr<Session> session;
    };
    std::vector<UserSession> user_sessions(std::uint64_t user) const;
    std::size_t online_users() const noexcept { return online_users_.load(std::memory_order_relaxed); }

    // Runs fn on every live session of `user`, each on its own loop. Returns how many sessions
    // were targeted.
    std::size_t post_to_user(std::uint64_t user, std::function<void(Session&)> fn) const;

    // ---------------------------------------------------------------- rooms
    struct RoomState {
        std::uint64_t online = 0;  // sessions in the room, node-wide, exact
        std::uint64_t seq = 0;     // last room_seq assigned
        std::uint64_t epoch = 0;   // changes whenever the room's state is created anew
    };
    // On s's loop. Idempotent: entering a room twice counts once.
    RoomState join_room(Session& s, std::uint64_t room, bool* joined = nullptr);
    bool leave_room(Session& s, std::uint64_t room);
    void leave_all_rooms(Session& s);
    RoomState room_state(std::uint64_t room) const;
    std::size_t room_count() const noexcept { return room_count_.load(std::memory_order_relaxed); }

    struct Published {
        bool room_exists = false;
        std::uint64_t seq = 0;
        std::uint64_t online = 0;
    };
    // Assigns the room's next seq, builds the packet with it and fans it out to every member
    // on every loop except users in `exclude` (sorted ascending). Thread-safe.
    Published publish_room(std::uint64_t room,
                           const std::function<SharedPacket(std::uint64_t seq)>& build,
                           std::vector<std::uint64_t> exclude = {});

    const std::vector<EventLoop*>& loops() const noexcept { return loops_; }

private:
    struct Bound {
        std::string platform;
        std::uint64_t session_id;
        unsigned loop;
        std::weak_ptr<Session> session;
    };
    struct RoomEntry {
        RoomState state;
        std::vector<std::uint32_t> per_loop;  // members on each loop
    };
    struct alignas(64) Stripe {
        mutable std::mutex mu;
        std::unordered_map<std::uint64_t, std::vector<Bound>> users;
        std::unordered_map<std::uint64_t, RoomEntry> rooms;
    };
    static constexpr std::size_t kStripes = 64;
    Stripe& stripe(std::uint64_t key) const noexcept;
    std::uint64_t next_epoch() noexcept;

    std::vector<EventLoop*> loops_;
    mutable std::array<Stripe, kStripes> stripes_;
    std::atomic<std::size_t> online_users_{0};
    std::atomic<std::size_t> room_count_{0};
    std::atomic<std::uint64_t> last_epoch_{0};
};

// Fans a packet out to the room's members on the calling loop (used by Hub::publish_room).
void deliver_to_room(EventLoop& loop, std::uint64_t room, const SharedPacket& packet,
                     const std::vector<std::uint64_t>& exclude);

}  // namespace lp::server
