// server/push_packet: see push_packet.hpp.
#include "server/push_packet.hpp"

#include <memory>

#include "livepush.pb.h"

namespace lp::server {

SharedPacket push_packet(const PushFields& fields, std::uint8_t flags) {
    auto push = std::make_shared<livepush::v1::Push>();
    push->set_msg_id(fields.msg_id);
    push->set_type(fields.type.data(), fields.type.size());
    push->set_room_id(fields.room_id);
    push->set_room_seq(fields.room_seq);
    push->set_payload(fields.payload.data(), fields.payload.size());
    push->set_sent_at_ms(fields.sent_at_ms);
    return SharedPacket{codec::Code::Push, flags, std::move(push)};
}

SharedPacket push_packet_taking(OwnedPushFields&& fields, std::uint8_t flags) {
    auto push = std::make_shared<livepush::v1::Push>();
    push->set_msg_id(fields.msg_id);
    push->set_type(std::move(fields.type));
    push->set_room_id(fields.room_id);
    push->set_room_seq(fields.room_seq);
    push->set_payload(std::move(fields.payload));
    push->set_sent_at_ms(fields.sent_at_ms);
    return SharedPacket{codec::Code::Push, flags, std::move(push)};
}

}  // namespace lp::server
