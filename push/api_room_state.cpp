// push/api_room_state: the room state routes of the HTTP API (issue 14 item 5; docs/rooms.md
// "Room state"), answered by push/room_state_service.hpp. ApiRoutes members kept apart from
// api_routes.cpp so the route table's file stays about routing.
//   GET    /v1/rooms/{id}/state        -> 200 {key: {"value": <json>, "version": N}}
//   PUT    /v1/rooms/{id}/state/{key}  body: any JSON value but null -> 200 {"version": N}
//   DELETE /v1/rooms/{id}/state/{key}  -> 200 {"version": N}; 404 when the key is not set
// Refusals: 400 (3018 a bad key; a body that is not JSON), 409 (3019 the room has
// room.state_max_keys keys), 413 (3019 a value over room.state_max_value_bytes), 503 (the
// store did not answer). This runs on the API's threads, which may wait for Redis.
#include <boost/json.hpp>

#include "push/api_reply.hpp"
#include "push/api_routes.hpp"
#include "push/room_state_service.hpp"

namespace lp::push {

namespace {

namespace json = boost::json;

constexpr std::string_view kBadRoomId =
    "room id in the path must be a non-zero unsigned 64-bit decimal integer";

}  // namespace

ApiResponse ApiRoutes::room_state_get(std::optional<std::uint64_t> id) {
    if (!room_state_) return api_error(404, "room state is not served by this node", 404);
    if (!id) return api_error(400, kBadRoomId, 400);
    RoomStateService::Read r = room_state_->get(*id);
    if (r.status != 200) return api_error(static_cast<unsigned>(r.status), r.error, r.status);
    return json_reply(200, std::move(r.json));
}

ApiResponse ApiRoutes::room_state_write(std::string_view method, std::optional<std::uint64_t> id,
                                        const std::string& key, std::string_view body) {
    if (!room_state_) return api_error(404, "room state is not served by this node", 404);
    if (!id) return api_error(400, kBadRoomId, 400);
    if (draining_.load(std::memory_order_relaxed))
        return api_error(503, "node is draining; write through another node", 503);
    RoomStateService::Result r;
    if (method == "DELETE") {
        r = room_state_->erase(*id, key);
    } else {
        if (body.empty())
            return api_error(400, "PUT needs the key's new value as its body (any JSON value)",
                             400);
        r = room_state_->set(*id, key, body);
    }
    if (r.status != 200) return api_error(static_cast<unsigned>(r.status), r.error, r.code);
    return json_reply(200, "{\"version\":" + std::to_string(r.version) + '}');
}

}  // namespace lp::push
