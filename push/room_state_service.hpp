// push/room_state_service: a room's keyed, versioned state (issue 14 item 5; docs/rooms.md
// "Room state"): the bounds, the store write, and the `room.state {key, value, version}` push
// that tells the room's members (and every node's room state cache) about each change.
//
// Callers: the HTTP API (PUT/DELETE/GET /v1/rooms/{id}/state..., api_room_state.cpp), plugins
// through the SDK (plugins/host/room_state_adapter.hpp), and C++ inside the node (the likes
// total: set_async from a loop or a timer). Where it runs decides which form to call:
// - set_async / erase_async never block (the store answers on its own thread, the push is
//   queued without waiting): event loops, timers.
// - set / erase / get wait for the store, up to kStoreWait: API threads and plugin workers only.
// The store (memory or Redis) is the truth and assigns the version; the push follows the write,
// so two writers' pushes may reach a member out of order: members keep the higher version.
// What it must never do: let a caller store more than the configured bounds (keys per room, key
// length and characters, value bytes), or push a change the store did not take.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "codec/prometheus_text.hpp"
#include "push/defaults.hpp"
#include "router/room_state_store.hpp"
#include "router/routing.hpp"

namespace lp::push {

// livepush.v1.ErrorCode: a key that is empty, too long or has characters outside
// [A-Za-z0-9_.:-]; a value over the bytes bound, a room that has max_keys keys already, or a
// room whose values together would pass max_room_bytes.
inline constexpr int kRoomStateBadKey = 3018;
inline constexpr int kRoomStateFull = 3019;

struct RoomStateLimits {
    std::uint32_t max_key_bytes = kDefaultRoomStateMaxKeyBytes;
    std::uint32_t max_value_bytes = kDefaultRoomStateMaxValueBytes;
    std::uint32_t max_keys = kDefaultRoomStateMaxKeys;
    std::uint32_t max_room_bytes = kDefaultRoomStateMaxRoomBytes;
};

class RoomStateService {
public:
    static constexpr std::chrono::milliseconds kStoreWait{3000};

    RoomStateService(RoomStateLimits limits, router::RoomStateStore& store,
                     router::Routing& routing, std::function<std::uint64_t()> next_msg_id);

    struct Result {
        int status = 200;  // HTTP status: 200; 400/404/409/413/503 with code and error
        int code = 0;
        std::string error;
        std::uint64_t version = 0;
    };
    // `value_json` is any JSON value but null (that is a delete); stored compacted.
    void set_async(std::uint64_t room, std::string_view key, std::string_view value_json,
                   std::function<void(Result)> done = {});
    void erase_async(std::uint64_t room, std::string_view key,
                     std::function<void(Result)> done = {});
    Result set(std::uint64_t room, std::string_view key, std::string_view value_json);
    Result erase(std::uint64_t room, std::string_view key);

    struct Read {
        int status = 200;
        std::string error;
        std::string json;  // {key: {value, version}}
    };
    Read get(std::uint64_t room);

    const RoomStateLimits& limits() const noexcept { return limits_; }
    void write_metrics(codec::PromText& m) const;

private:
    void publish(std::uint64_t room, const std::string& key, const std::string& value_json,
                 std::uint64_t version);
    Result refuse(int status, int code, std::string why, std::size_t bytes);
    static Result wait(const std::function<void(std::function<void(Result)>)>& start);

    const RoomStateLimits limits_;
    router::RoomStateStore& store_;
    router::Routing& routing_;
    std::function<std::uint64_t()> next_msg_id_;
    std::atomic<std::uint64_t> sets_{0}, deletes_{0}, refused_{0}, refused_bytes_{0},
        unavailable_{0};
};

}  // namespace lp::push
