// plugins/host/push_adapter: see push_adapter.hpp.
#include "plugins/host/push_adapter.hpp"

#include <algorithm>

namespace lp::plugins {

sdk::PushResult PushAdapter::run(push::PushRequest& req, const sdk::PushOptions& opts) {
    req.qos = opts.qos;
    req.ttl_s = opts.ttl_s;
    req.online_only = opts.online_only;
    req.outside_rooms_only = opts.outside_rooms_only;
    req.exclude = opts.exclude;
    std::sort(req.exclude.begin(), req.exclude.end());
    req.exclude.erase(std::unique(req.exclude.begin(), req.exclude.end()), req.exclude.end());
    auto out = push_.push(req);
    sdk::PushResult r;
    r.ok = out.status == 200;
    r.error = out.error;
    r.msg_id = out.msg_id;
    r.sessions = out.sessions;
    r.room_seq = out.room_seq;
    return r;
}

sdk::PushResult PushAdapter::to_user(std::uint64_t user, const std::string& type,
                                     const std::string& payload_json,
                                     const sdk::PushOptions& opts) {
    push::PushRequest req;
    req.target = push::Target::User;
    req.user_id = user;
    req.type = type;
    req.payload = payload_json;
    return run(req, opts);
}

sdk::PushResult PushAdapter::to_users(const std::vector<std::uint64_t>& users,
                                      const std::string& type, const std::string& payload_json,
                                      const sdk::PushOptions& opts) {
    push::PushRequest req;
    req.target = push::Target::Users;
    req.user_ids = users;
    req.type = type;
    req.payload = payload_json;
    return run(req, opts);
}

sdk::PushResult PushAdapter::to_room(std::uint64_t room, const std::string& type,
                                     const std::string& payload_json,
                                     const sdk::PushOptions& opts) {
    push::PushRequest req;
    req.target = push::Target::Room;
    req.room_id = room;
    req.type = type;
    req.payload = payload_json;
    sdk::PushOptions room_opts = opts;
    room_opts.qos = 0;  // rooms are qos0 by contract
    return run(req, room_opts);
}

static_assert(static_cast<int>(sdk::RoomClass::Critical) ==
                  static_cast<int>(server::MsgClass::Critical) &&
              static_cast<int>(sdk::RoomClass::Low) == static_cast<int>(server::MsgClass::Low));

sdk::PushResult PushAdapter::to_room_as(sdk::RoomClass cls, std::uint64_t room,
                                        const std::string& type, const std::string& payload_json,
                                        const sdk::PushOptions& opts) {
    push::PushRequest req;
    req.target = push::Target::Room;
    req.room_id = room;
    req.type = type;
    req.payload = payload_json;
    // The SDK's enum has the server's order (critical, high, normal, low).
    req.cls = static_cast<server::MsgClass>(static_cast<std::uint8_t>(cls));
    sdk::PushOptions room_opts = opts;
    room_opts.qos = 0;  // rooms are qos0 by contract
    return run(req, room_opts);
}

std::vector<std::uint64_t> PushAdapter::online(const std::vector<std::uint64_t>& users) {
    return push_.online(users);
}

}  // namespace lp::plugins
