// server/push_packet: every field reaches the Push message, and the frame carries code PUSH with
// the caller's flags.
#include "server/push_packet.hpp"

#include <gtest/gtest.h>

#include <string>

#include "codec/frame.hpp"
#include "livepush.pb.h"

namespace {

const livepush::v1::Push& push_of(const lp::server::SharedPacket& p) {
    const auto* push = dynamic_cast<const livepush::v1::Push*>(p.body.get());
    EXPECT_NE(push, nullptr);
    static const livepush::v1::Push empty;
    return push ? *push : empty;
}

TEST(PushPacket, RoomPushCarriesEveryField) {
    const std::string payload = R"({"text":"hi"})";
    const auto packet = lp::server::push_packet({.msg_id = 7,
                                                 .type = "room.chat",
                                                 .payload = payload,
                                                 .sent_at_ms = 1'700'000'000'123,
                                                 .room_id = 42,
                                                 .room_seq = 9});
    EXPECT_EQ(packet.code, lp::codec::Code::Push);
    EXPECT_EQ(packet.flags, 0);
    const auto& push = push_of(packet);
    EXPECT_EQ(push.msg_id(), 7u);
    EXPECT_EQ(push.type(), "room.chat");
    EXPECT_EQ(push.payload(), payload);
    EXPECT_EQ(push.sent_at_ms(), 1'700'000'000'123u);
    EXPECT_EQ(push.room_id(), 42u);
    EXPECT_EQ(push.room_seq(), 9u);
}

TEST(PushPacket, UserPushHasNoRoomAndKeepsTheAckFlag) {
    const auto packet = lp::server::push_packet(
        {.msg_id = 8, .type = "feed.item", .payload = "{}", .sent_at_ms = 5},
        lp::codec::kAckRequired);
    EXPECT_EQ(packet.code, lp::codec::Code::Push);
    EXPECT_EQ(packet.flags, lp::codec::kAckRequired);
    const auto& push = push_of(packet);
    EXPECT_EQ(push.msg_id(), 8u);
    EXPECT_EQ(push.type(), "feed.item");
    EXPECT_EQ(push.payload(), "{}");
    EXPECT_EQ(push.sent_at_ms(), 5u);
    EXPECT_EQ(push.room_id(), 0u);
    EXPECT_EQ(push.room_seq(), 0u);
    // Binary-safe: a payload with a NUL byte is kept whole.
    const std::string nul("a\0b", 3);
    EXPECT_EQ(push_of(lp::server::push_packet({.payload = nul})).payload(), nul);
}

}  // namespace
