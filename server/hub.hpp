// server/hub: the node's directory of who is where — users to sessions, rooms to loops — and
// each room's sequence and recent history.
//
// Users and rooms are spread over 64 stripes, each with its own small mutex, so two loops
// contend only when they touch the same stripe at the same moment; nothing holds a lock shared
// by all loops, and nothing here runs per receiver. Room membership itself lives in each
// loop's RoomTable (loop-local, lock-free); the hub keeps a room's exact online count, which
// loops have members, its room_seq and epoch, and a ring of its recent messages for recovery.
// A publish takes the room's stripe to assign room_seq, records the message in the ring, and
// posts it to just the loops with members, in seq order; each loop then coalesces and fans out
// to its own members with encode-once buffers (room_fanout.hpp).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "server/defaults.hpp"
#include "server/outbound.hpp"
#include "server/room_packet.hpp"

namespace lp::server {

class EventLoop;
class Session;

// Told when this node's member count of a room changes (the cluster layer subscribes to the
// room's home node on 0 -> 1 and unsubscribes on 1 -> 0). Called outside the hub's locks, on
// the thread that changed the membership.
class HubObserver {
public:
    virtual ~HubObserver() = default;
    virtual void on_room_members(std::uint64_t room, std::uint64_t members_here) = 0;
};

// Told when a session enters or leaves a room (room.leave, a disconnect, a kick, a ban): the
// plugins' room hooks. Called on the session's loop, outside the hub's locks: it must only post.
class RoomMemberObserver {
public:
    virtual ~RoomMemberObserver() = default;
    virtual void on_member(const Session& s, std::uint64_t room, bool entered) = 0;
};

struct HubOptions {
    std::size_t room_history_max = kDefaultRoomHistoryMax;  // messages kept per room for recovery
    std::chrono::milliseconds room_history_ttl = kDefaultRoomHistoryTtl;  // and for how long
};

class Hub {
public:
    Hub(std::vector<EventLoop*> loops, HubOptions opts = {});

    // ---------------------------------------------------------------- users
    // Registers s (logged in, user fields set) as the session of (user.id, user.platform).
    // `replaced` is the session it displaces on the same platform, if any, for the caller to
    // kick ("replaced"). With max_sessions > 0 and the user already holding that many sessions
    // here, the one bound longest ago leaves the directory as `evicted`, for the caller to kick
    // ("too_many_sessions"). The user's list is kept in login order.
    struct Bind {
        std::shared_ptr<Session> replaced;
        std::shared_ptr<Session> evicted;
    };
    Bind bind_user(Session& s, std::size_t max_sessions = 0);
    // Removes s from the directory if it is still the bound session (compare-and-delete).
    void unbind_user(Session& s);

    struct UserSession {
        std::uint64_t session_id = 0;
        std::string platform;
        unsigned loop = 0;
        std::weak_ptr<Session> session;
    };
    std::vector<UserSession> user_sessions(std::uint64_t user) const;
    std::size_t online_users() const noexcept {
        return online_users_.load(std::memory_order_relaxed);
    }

    // Runs fn on every live session of `user`, each on its own loop. Returns how many sessions
    // were targeted.
    std::size_t post_to_user(std::uint64_t user, std::function<void(Session&)> fn) const;

    // ---------------------------------------------------------------- rooms
    struct RoomState {
        std::uint64_t online = 0;  // sessions in the room, node-wide, exact
        std::uint64_t seq = 0;     // last room_seq assigned
        std::uint64_t epoch = 0;   // changes whenever the room's state (and history) is new
    };
    struct Join {
        RoomState state;
        bool joined = false;  // false: was already a member
        bool recovery_asked = false;
        bool recovered = false;  // the gap (last_seq, join_seq] is fully in `replay`
        std::vector<RoomPacketPtr> replay;
    };
    // On s's loop. Idempotent: entering twice counts once. With last_seq, returns the messages
    // in (last_seq, the seq this session's live stream starts after], or recovered = false when
    // the history no longer holds them (or `epoch` is given and is not the room's epoch).
    //
    // Cluster mode, on a node that is not the room's home: `home` is the state the home node
    // answered (after merge_home); a room entry created here takes the home's seq and epoch,
    // never a fresh epoch of this node's.
    Join join_room(Session& s, std::uint64_t room, std::optional<std::uint64_t> last_seq = {},
                   std::optional<std::uint64_t> epoch = {}, const RoomState* home = nullptr);
    bool leave_room(Session& s, std::uint64_t room);
    void leave_all_rooms(Session& s);
    RoomState room_state(std::uint64_t room) const;
    std::size_t room_count() const noexcept { return room_count_.load(std::memory_order_relaxed); }
    std::uint64_t room_members() const noexcept {
        return room_members_.load(std::memory_order_relaxed);
    }

    struct Published {
        bool room_exists = false;
        std::uint64_t seq = 0;
        std::uint64_t online = 0;
    };
    // Assigns the room's next seq, builds the packet with it (build must set room_seq in the
    // message), keeps it in the room's history and fans it out to every member on every loop
    // except users in `exclude`. Thread-safe. A room nobody is in (and that has no history)
    // is not created: room_exists = false.
    //
    // Cluster mode: `create` makes the room's entry on the home node even with no local
    // member (the home keeps the room's seq and history), and `forward` runs under the room's
    // lock with the packet, so forwarding to other nodes happens in room_seq order.
    Published publish_room(std::uint64_t room,
                           const std::function<SharedPacket(std::uint64_t seq)>& build,
                           std::vector<std::uint64_t> exclude = {}, bool create = false,
                           const std::function<void(const RoomPacketPtr&)>& forward = {},
                           RoomMeta meta = {});

    // A room message outside the room's sequence (room.online): no room_seq (0), not kept in
    // the history (recovery never replays it), fanned out to the members here like any room
    // message. `forward` as for publish_room. False when the room has no entry here.
    bool publish_unsequenced(std::uint64_t room, SharedPacket packet,
                             const std::function<void(const RoomPacketPtr&)>& forward = {});

    // Cluster mode, on a node with members: a room message whose seq and epoch the room's home
    // node assigned (seq 0: an unsequenced one, see publish_unsequenced). Recorded in the local
    // history and fanned out to local members.
    void deliver_remote(std::uint64_t room, std::uint64_t seq, std::uint64_t epoch,
                        SharedPacket packet, std::vector<std::uint64_t> exclude,
                        RoomMeta meta = {});

    // Cluster mode, on the home node: runs `fn` under the room's lock with its state and, when
    // `after` is set, the messages it still holds after that seq (creating the room's entry, so
    // the epoch handed out stays). What fn sends over a link is ordered with the room's
    // forwarded messages.
    void snapshot_room(
        std::uint64_t room, std::optional<std::uint64_t> after,
        const std::function<void(const RoomState&, const std::vector<RoomPacketPtr>&)>& fn);
    // Cluster mode, on a node that asked the home: adopts the home's epoch and seq (a new epoch
    // drops the local history) and adds the home's messages it lacks to the local history.
    void merge_home(std::uint64_t room, std::uint64_t seq, std::uint64_t epoch,
                    std::vector<RoomPacketPtr> history);
    // Cluster mode, on the home node: a pinned room keeps its entry (seq, epoch) while other
    // nodes have members in it, even with no member and no history here.
    void set_room_pinned(std::uint64_t room, bool pinned);

    // Rooms with members on this node and their counts (for re-subscribing after a change).
    std::vector<std::pair<std::uint64_t, std::uint64_t>> rooms_with_members() const;
    void set_observer(HubObserver* o) noexcept { observer_ = o; }
    // Sees every sequenced room message entering this node (published here as the home, or
    // delivered from the home), under the room's lock and before any loop gets it; must be
    // cheap and must not call into the hub. The room state cache uses it (issue 14 item 5).
    // Set before the node starts.
    using RoomTap = std::function<void(std::uint64_t room, const SharedPacket& packet)>;
    void set_room_tap(RoomTap tap) { room_tap_ = std::move(tap); }
    // Before the server starts.
    void set_member_observer(RoomMemberObserver* o) noexcept { members_ = o; }

    // Sends the packet to every logged-in session on every loop except users in `exclude`.
    // Returns the number of logged-in sessions at the time (the receivers, give or take those
    // arriving or leaving meanwhile).
    std::uint64_t broadcast(SharedPacket packet, std::vector<std::uint64_t> exclude = {});

    // Forgets rooms that are empty and whose newest message is older than the history TTL.
    // Called periodically (once a second) from any thread.
    void sweep_rooms();

    const std::vector<EventLoop*>& loops() const noexcept { return loops_; }
    const HubOptions& options() const noexcept { return opts_; }

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
        std::deque<RoomPacketPtr> history;
        bool pinned = false;  // see set_room_pinned
    };
    struct alignas(64) Stripe {
        mutable std::mutex mu;
        std::unordered_map<std::uint64_t, std::vector<Bound>> users;
        std::unordered_map<std::uint64_t, RoomEntry> rooms;
    };
    static constexpr std::size_t kStripes = 64;
    Stripe& stripe(std::uint64_t key) const noexcept;
    std::uint64_t next_epoch() noexcept;
    void trim_history(RoomEntry& e, std::uint64_t now_ms) const;
    void post_to_member_loops(const RoomEntry& e, const RoomPacketPtr& shared);
    Join join_locked(Session& s, std::uint64_t room, std::optional<std::uint64_t> last_seq,
                     std::optional<std::uint64_t> epoch, const RoomState* home);
    RoomEntry& entry_locked(Stripe& st, std::uint64_t room, const RoomState* home = nullptr);

    std::vector<EventLoop*> loops_;
    HubOptions opts_;
    mutable std::array<Stripe, kStripes> stripes_;
    std::atomic<std::size_t> online_users_{0};
    std::atomic<std::size_t> room_count_{0};
    std::atomic<std::uint64_t> room_members_{0};
    std::atomic<std::uint64_t> last_epoch_{0};
    HubObserver* observer_ = nullptr;
    RoomTap room_tap_;
    RoomMemberObserver* members_ = nullptr;
};

}  // namespace lp::server
