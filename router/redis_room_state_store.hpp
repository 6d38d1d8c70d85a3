// router/redis_room_state_store: the cluster's RoomStateStore (room_state_store.hpp) in Redis,
// so every node sees one state per room and it survives node restarts.
//
// Key layout: one hash per room, `lp:{room:ID}:state` (the braces keep a room's keys in one
// Redis Cluster slot):
//   field "v"        the room's version counter (HINCRBY; never goes back, even when the last
//                    key goes)
//   field "b"        the values' bytes together (the room's bytes bound)
//   field "k:KEY"    "VERSION VALUE": the version of the key's last write, a space, its JSON
// A set or delete is one Lua script (count check, HINCRBY of "v", HSET/HDEL), so the version
// and the value change together and two writers on two nodes always get distinct versions in
// the order Redis ran them. A read is one HGETALL. No TTL: the state lives until deleted.
//
// It never blocks: every call is queued on the Redis client and answered on its I/O thread.
#pragma once

#include "redis/client.hpp"
#include "router/room_state_store.hpp"

namespace lp::router {

class RedisRoomStateStore final : public RoomStateStore {
public:
    explicit RedisRoomStateStore(redis::Client& redis) : redis_(redis) {}
    void set(std::uint64_t room, const std::string& key, const std::string& value,
             RoomStateBounds bounds, std::function<void(RoomStateWrite)> done) override;
    void erase(std::uint64_t room, const std::string& key,
               std::function<void(RoomStateWrite)> done) override;
    void get(std::uint64_t room, std::function<void(RoomStateSnapshot)> done) override;

    static std::string key_of(std::uint64_t room);

private:
    redis::Client& redis_;
};

}  // namespace lp::router
