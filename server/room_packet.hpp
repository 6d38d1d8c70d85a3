// server/room_packet: one message published to a room, as every loop and the room's history
// ring share it. Built once under the room's lock: the body is serialized once here, and each
// loop encodes each wire form of it at most once (room_fanout.cpp).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "server/msg_class.hpp"
#include "server/outbound.hpp"

namespace lp::server {

struct RoomPacket {
    std::uint64_t room = 0;
    std::uint64_t seq = 0;
    std::uint64_t epoch = 0;  // the room's incarnation the seq belongs to
    std::uint64_t time_ms = 0;
    SharedPacket packet;                 // the Push, with room_seq set
    std::string binary_body;             // packet.body serialized (binary protobuf)
    std::vector<std::uint64_t> exclude;  // user ids, sorted
    MsgClass cls = MsgClass::Normal;     // what a viewer's budget may shed (room_budget.hpp)
    std::uint64_t sender = 0;            // the sending user (room.chat), 0 = none: always sees it
};

// What travels with a room message besides its packet: its class and its sender.
struct RoomMeta {
    MsgClass cls = MsgClass::Normal;
    std::uint64_t sender = 0;
};
using RoomPacketPtr = std::shared_ptr<const RoomPacket>;

}  // namespace lp::server
