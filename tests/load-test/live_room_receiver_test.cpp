// tests/load-test/live_room_receiver_test: the live-room scenario's books (load-test/
// live_room_receiver.hpp) on made-up pushes, without a socket: messages counted per class by
// push type, gifts lost counted by gift number (not by room_seq: the budget's gaps are not
// loss), each sender's own chats seen back, the likes totals (never down, ending at the exact
// sum), and room.like refused as an unknown BIZ type read as "likes not supported".
#include "load-test/live_room_receiver.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace {

using namespace lp::load;

constexpr std::uint64_t kRun = 777;

// A PushFields over strings the test keeps alive.
struct Push {
    std::string type, payload;
    std::uint64_t sent_at_ms = 0;
    PushFields fields() const {
        PushFields f;
        f.type = type;
        f.payload = payload;
        f.room_id = 5;
        f.room_seq = 1;
        f.sent_at_ms = sent_at_ms;
        return f;
    }
};

Push gift(std::uint64_t i, std::uint64_t run = kRun) {
    return {"gift.effect",
            "{\"live_gift\":" + std::to_string(i) + ",\"run\":" + std::to_string(run) + "}"};
}
Push chat(std::uint64_t from, std::uint32_t n) {
    return {"room.chat", "{\"from\":\"" + std::to_string(from) + "\",\"text\":\"c" +
                             std::to_string(n) + " xxxx\"}"};
}
Push likes(std::uint64_t total, std::uint64_t delta) {
    return {"room.likes",
            "{\"total\":" + std::to_string(total) + ",\"delta\":" + std::to_string(delta) + "}"};
}

struct Books {
    explicit Books(std::vector<std::uint64_t> users, std::uint64_t gifts = 3) : clock(gifts, kRun) {
        LiveRoomCheckOptions o;
        o.gifts = &clock;
        receiver.prepare(o, std::move(users));
    }
    void push(std::uint32_t conn, const Push& p, std::int64_t now_ns = 1000) {
        receiver.on_push(conn, p.fields(), now_ns, 0);
    }
    LiveRoomSummary summary(std::uint64_t gifts_accepted, std::uint64_t likes = 0) const {
        return summarize({&receiver}, gifts_accepted, likes);
    }
    LiveGiftClock clock;
    LiveRoomReceiver receiver;
};

TEST(LiveRoomReceiver, ClassesFollowIssue14sTableOfPushTypes) {
    EXPECT_EQ(class_of_type("room.notice"), MsgClass::Critical);
    EXPECT_EQ(class_of_type("gift.effect"), MsgClass::High);
    EXPECT_EQ(class_of_type("room.state"), MsgClass::High);
    EXPECT_EQ(class_of_type("pk.score"), MsgClass::High);
    EXPECT_EQ(class_of_type("room.chat"), MsgClass::Normal);
    EXPECT_EQ(class_of_type("room.likes"), MsgClass::Low);
    EXPECT_EQ(class_of_type("welcome.first_recharge"), MsgClass::Other);
}

TEST(LiveRoomReceiver, CountsEachViewersMessagesByClassAndSpreadsThemOverViewers) {
    Books b({100, 101, 102});
    b.push(0, {"room.notice", "{}"});
    b.push(0, chat(9, 0));
    b.push(0, chat(9, 1));
    b.push(1, chat(9, 0));
    b.push(2, likes(1, 1));
    b.push(2, gift(0));
    const LiveRoomSummary s = b.summary(0);
    const auto k = [](MsgClass c) { return static_cast<std::size_t>(c); };
    EXPECT_EQ(s.viewers, 3u);
    EXPECT_EQ(b.receiver.viewers[0].by_class[k(MsgClass::Critical)], 1u);
    EXPECT_EQ(b.receiver.viewers[0].by_class[k(MsgClass::Normal)], 2u);
    EXPECT_EQ(s.min[k(MsgClass::Normal)], 0u);
    EXPECT_EQ(s.median[k(MsgClass::Normal)], 1u);
    EXPECT_EQ(s.max[k(MsgClass::Normal)], 2u);
    EXPECT_EQ(s.sum[k(MsgClass::Normal)], 3u);
    EXPECT_EQ(s.sum[k(MsgClass::Low)], 1u);
    EXPECT_EQ(s.sum[k(MsgClass::High)], 1u);
}

TEST(LiveRoomReceiver, GiftsLostAreCountedByGiftNumberPerViewer) {
    Books b({100, 101}, 3);
    b.clock.stamp(0, 500);
    b.push(0, gift(0), 2500);
    b.push(0, gift(2));
    b.push(0, gift(2));            // a second copy
    b.push(0, gift(1, kRun + 1));  // another run's
    b.push(0, gift(9));            // past the run's gifts
    for (std::uint64_t i = 0; i < 3; ++i) b.push(1, gift(i));
    EXPECT_TRUE(b.receiver.gift_seen(0, 2));
    EXPECT_FALSE(b.receiver.gift_seen(0, 1));
    EXPECT_EQ(b.receiver.gifts_foreign, 2u);
    // Gift 0 is the only one stamped: its two deliveries (at 2500 and 1000 ns, sent at 500).
    EXPECT_EQ(b.receiver.high_latency.count(), 2u);
    EXPECT_EQ(b.receiver.high_latency.max(), 2000u);
    EXPECT_EQ(b.receiver.gifts_unstamped, 3u);  // 2 at viewer 0, 1 and 2 at viewer 1
    const LiveRoomSummary s = b.summary(3);
    EXPECT_EQ(s.gifts_lost, 1u);
    EXPECT_EQ(s.viewers_missing_gifts, 1u);
    EXPECT_EQ(s.gift_duplicates, 1u);
}

TEST(LiveRoomReceiver, EverySendersAcceptedChatMustComeBackToItInOrder) {
    Books b({100, 101, 102});
    // Sender 100 sent 4 chats: 0, 1 and 3 accepted, 2 refused over the room's chat rate.
    for (int i = 0; i < 4; ++i) b.receiver.on_chat_sent(0);
    b.receiver.on_chat_result(0, 0, 0);
    b.receiver.on_chat_result(0, 1, 0);
    b.receiver.on_chat_result(0, 2, kRateLimited);
    b.receiver.on_chat_result(0, 3, 0);
    // Sender 101: 1 sent, accepted, seen.
    b.receiver.on_chat_sent(1);
    b.receiver.on_chat_result(1, 0, 0);
    b.push(1, chat(101, 0));
    b.push(0, chat(100, 0));
    b.push(0, chat(101, 0));  // someone else's: not its own
    b.push(0, chat(100, 3));  // 1 never came back
    b.push(0, chat(100, 3));  // a repeat
    b.push(2, chat(100, 0));  // 102 sent nothing: nothing to track
    EXPECT_EQ(b.receiver.chat_accepted, 4u);
    EXPECT_EQ(b.receiver.chat_rate_limited, 1u);
    const LiveRoomSummary s = b.summary(0);
    EXPECT_EQ(s.senders, 2u);
    EXPECT_EQ(s.own_sent, 5u);
    EXPECT_EQ(s.own_accepted, 4u);
    EXPECT_EQ(s.own_seen, 3u);
    EXPECT_EQ(s.own_missing, 1u);
    EXPECT_EQ(s.senders_missing_own, 1u);
    EXPECT_EQ(s.own_out_of_order, 1u);
}

TEST(LiveRoomReceiver, LikesTotalsNeverGoDownAndEndAtTheRoomsExactSum) {
    Books b({100, 101, 102, 103});
    // The run's accepted likes: numbers 0..5 count 1,2,3,1,2,3 = 12; one more refused.
    for (std::uint32_t m = 0; m < 6; ++m) b.receiver.on_like_result(m, 0);
    b.receiver.on_like_result(6, 3021);
    EXPECT_EQ(b.receiver.like_count_accepted, 12u);
    EXPECT_EQ(b.receiver.likes_refused, 1u);
    // The room had 10 before the run.
    b.push(0, likes(13, 3));
    b.push(0, likes(22, 9));
    b.push(1, likes(22, 9));  // its first one was shed: a higher base, still ends right
    b.push(2, likes(13, 3));
    b.push(2, likes(12, 1));  // down: a regression; the last total stays 13
    const LiveRoomSummary s = b.summary(0, b.receiver.like_count_accepted);
    EXPECT_EQ(s.likes_base, 10u);
    EXPECT_EQ(s.likes_expected, 22u);
    EXPECT_EQ(s.viewers_with_likes, 3u);
    EXPECT_EQ(s.viewers_at_expected, 2u);
    EXPECT_EQ(s.viewers_below_expected, 1u);
    EXPECT_EQ(s.likes_regressions, 1u);
    EXPECT_EQ(s.likes_last_min, 13u);
    EXPECT_EQ(s.likes_last_max, 22u);
}

TEST(LiveRoomReceiver, RoomLikeAsAnUnknownBizTypeMeansLikesUnsupportedNotLost) {
    Books b({100});
    b.receiver.on_like_sent();
    b.receiver.on_like_result(0, kUnknownBizType);
    EXPECT_EQ(b.receiver.likes_unsupported, 1u);
    EXPECT_EQ(b.receiver.likes_accepted, 0u);
    EXPECT_EQ(b.receiver.likes_refused, 0u);
    const LiveRoomSummary s = b.summary(0, 0);
    EXPECT_EQ(s.viewers_with_likes, 0u);
    EXPECT_EQ(s.likes_expected, 0u);
}

}  // namespace
