// router/room_state_cache: this node's copy of the state of the rooms it has members in, so
// that room.enter answers with the whole state without a Redis round trip on the event loop.
//
// Design (issue 14 item 5; docs/rooms.md "Room state"):
// - The store (room_state_store.hpp) is the truth; every change is published to the room as a
//   sequenced `room.state {key, value, version}` message through router::Routing::publish_room,
//   so it passes through every node with members (the home's hub, the others' deliveries).
//   The hub's room tap (server::Hub::set_room_tap) calls observe() with it, under the room's
//   lock and before the message is posted to the loops.
// - A room's entry is loaded (one asynchronous store read) at the first room.enter that finds
//   no member of the room on this node: only while it has members is this node sure to see
//   every change. On a node that is not the room's home the read starts after fetch_room has
//   subscribed the node, so a change is in the read, or in a message after it, or both.
//   Messages seen while the read is out are kept and merged by version with what it returns.
// - Merging is per key by version (highest wins), deletes included (kept as tombstones), so
//   duplicates and messages reordered between two writers are harmless.
// - room.enter joins the room first and reads the entry after, in the same loop task: a change
//   tapped before the read is in the answer; one tapped after it is posted to the loop after
//   the join and reaches the session after its BIZ_RESULT (at worst both: the client keeps the
//   higher version).
// - An entry whose room has had no member here for `idle` is dropped by sweep() (housekeeping):
//   memory is bounded by the rooms with members here.
// Known gap: a change that lands while the last member here leaves and another enters (the
// node briefly unsubscribed) can be missing from this node's copy until the key changes again.
//
// Thread-safe: one mutex; observe() runs under the hub's room lock, so this never calls into
// the hub, and callbacks run outside the mutex.
#pragma once

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "router/room_state_store.hpp"

namespace lp::router {

class RoomStateCache {
public:
    explicit RoomStateCache(RoomStateStore& store) : store_(store) {}

    // A room.state payload ({key, value, version}) passing through this node. Rooms without an
    // entry here are ignored (nothing is created for a room nobody here watches).
    void observe(std::uint64_t room, std::string_view payload);

    // done(true) once the room's entry is loaded: at once when it is and `reload` is false,
    // else after one store read (done(false): the store failed). `done` runs on the store's
    // thread or this one; it must only post. Never blocks.
    void ensure(std::uint64_t room, bool reload, std::function<void(bool)> done);

    // True when the room's entry is loaded and not being reloaded.
    bool ready(std::uint64_t room) const;

    // {key: {value, version}} as this node knows it; nothing when the room has no entry.
    std::optional<boost::json::object> snapshot(std::uint64_t room);

    // Drops the entries of rooms with no member here (`has_members` false) not used for `idle`.
    void sweep(const std::function<bool(std::uint64_t room)>& has_members,
               std::chrono::steady_clock::duration idle);

    std::size_t rooms() const;
    std::uint64_t loads() const;

private:
    struct Item {
        std::optional<boost::json::value> value;  // nothing: deleted (a tombstone)
        std::uint64_t version = 0;
    };
    struct Entry {
        bool loading = false;
        std::uint64_t generation = 0;
        std::map<std::string, Item> items;
        std::map<std::string, Item> seen_while_loading;
        std::vector<std::function<void(bool)>> waiters;
        std::chrono::steady_clock::time_point used;
    };
    static void merge(std::map<std::string, Item>& into, const std::string& key, Item item);
    void loaded(std::uint64_t room, std::uint64_t generation, RoomStateSnapshot s);

    RoomStateStore& store_;
    mutable std::mutex mu_;
    std::unordered_map<std::uint64_t, Entry> rooms_;
    std::uint64_t generations_ = 0;
    std::uint64_t loads_ = 0;
};

}  // namespace lp::router
