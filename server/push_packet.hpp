// server/push_packet: the one place a PUSH packet (code 3001, `Push{msg_id, type, room_id,
// room_seq, payload, sent_at_ms}`, design.md section 3) is built from its fields, for user pushes
// (push/, ack/'s qos1 resends) and room pushes (the gateway's room.chat, push/, router/'s home
// and remote deliveries and recovered history).
//
// It owns only the mapping from fields to the protobuf message and the frame flags; it must never
// decide ids, times or sequence numbers (its callers do) nor serialize or send (outbound.hpp does,
// once per wire form). One allocation for the message, one copy of type and payload, as each
// caller made by hand before.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "server/outbound.hpp"

namespace lp::server {

struct PushFields {
    std::uint64_t msg_id = 0;
    std::string_view type;
    std::string_view payload;  // UTF-8 JSON
    std::uint64_t sent_at_ms = 0;
    std::uint64_t room_id = 0;   // room pushes only; 0 (absent on the wire) for user pushes
    std::uint64_t room_seq = 0;  // room pushes only
};

// A PUSH packet with `flags` (codec::kAckRequired for qos1; 0 for qos0 and rooms).
SharedPacket push_packet(const PushFields& fields, std::uint8_t flags = 0);

// The same from strings the caller gives up: type and payload move into the message, no copy
// (a room publish whose message is consumed by the publish).
struct OwnedPushFields {
    std::uint64_t msg_id = 0;
    std::string type;
    std::string payload;
    std::uint64_t sent_at_ms = 0;
    std::uint64_t room_id = 0;
    std::uint64_t room_seq = 0;
};
SharedPacket push_packet_taking(OwnedPushFields&& fields, std::uint8_t flags = 0);

}  // namespace lp::server
