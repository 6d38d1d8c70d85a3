// router/room_state_store: where a room's state lives (issue 14 item 5, docs/rooms.md "Room
// state"): keyed JSON values, each with the version of its last write. A room has one version
// counter for all its keys, bumped by every set and delete, so a client can order changes
// across keys; a room that lost all its keys keeps its counter (a client's "newer than what I
// have" stays true).
//
// Two implementations behind one interface, like the other stores: MemoryRoomStateStore (the
// embedded node; the truth is this process) and RedisRoomStateStore (redis_room_state_store.hpp,
// cluster mode; survives restarts). app/ picks one; nothing above asks which.
//
// Every call is asynchronous: `done` runs on the store's thread (Redis: its I/O thread; memory:
// the caller's, before the call returns), must not block and must not call the store again.
// Bounds on keys and values are the caller's (push/room_state_service.hpp) except the number of
// keys per room, which only the store can check atomically with the write.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>

namespace lp::router {

struct RoomStateItem {
    std::string value;  // JSON text
    std::uint64_t version = 0;
};

struct RoomStateSnapshot {
    bool ok = true;
    std::string error;                           // !ok: why (the store is down)
    std::map<std::string, RoomStateItem> items;  // key -> value and version
    std::uint64_t version = 0;                   // the room's counter (0: never written)
};

// What a room may hold; checked by the store atomically with the write.
struct RoomStateBounds {
    std::uint32_t max_keys = 0;
    std::uint64_t max_bytes = 0;  // the values' bytes together
};

struct RoomStateWrite {
    enum class Status { Ok, Absent, TooManyKeys, TooManyBytes, Unavailable };
    Status status = Status::Ok;  // Absent: delete of a key that is not set
    std::string error;           // Unavailable: why
    std::uint64_t version = 0;   // Ok: the version of this write
};

class RoomStateStore {
public:
    virtual ~RoomStateStore() = default;
    // Sets `key` to `value` (JSON text) with the next version; TooManyKeys when the key is new
    // and the room has max_keys keys, TooManyBytes when the values would exceed max_bytes.
    virtual void set(std::uint64_t room, const std::string& key, const std::string& value,
                     RoomStateBounds bounds, std::function<void(RoomStateWrite)> done) = 0;
    // Deletes `key` with the next version; Absent when it is not set (the counter stays).
    virtual void erase(std::uint64_t room, const std::string& key,
                       std::function<void(RoomStateWrite)> done) = 0;
    // The room's whole state.
    virtual void get(std::uint64_t room, std::function<void(RoomStateSnapshot)> done) = 0;
};

// The embedded store: a map under one mutex. A room's entry stays (its counter) after its last
// key goes; it costs a few bytes, and the state API is for business services, not clients.
class MemoryRoomStateStore final : public RoomStateStore {
public:
    void set(std::uint64_t room, const std::string& key, const std::string& value,
             RoomStateBounds bounds, std::function<void(RoomStateWrite)> done) override;
    void erase(std::uint64_t room, const std::string& key,
               std::function<void(RoomStateWrite)> done) override;
    void get(std::uint64_t room, std::function<void(RoomStateSnapshot)> done) override;

private:
    struct Room {
        std::uint64_t version = 0;
        std::uint64_t bytes = 0;  // the values' sizes together
        std::map<std::string, RoomStateItem> items;
    };
    std::mutex mu_;
    std::unordered_map<std::uint64_t, Room> rooms_;
};

}  // namespace lp::router
