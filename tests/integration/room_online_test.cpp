// tests/integration/room_online_test: online counts (docs/rooms.md "Online counts") on real
// nodes: members get `room.online {"count": N}` when the room's count changed, at most every
// room.online_interval_ms, nothing when it did not change, nothing with the interval 0; on 3
// nodes with Redis, members on n1, n2 and n3 of one room all get the count on every node.
// Every wait is on a condition with a generous deadline; no assertion on speed.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

#include "cluster_fixture.hpp"
#include "livepush.pb.h"

namespace {

using lp::client::Connection;
using lp::testing::eventually;
using lp::testing::logged_in;
using lp::testing::NodeProcess;
using lp::testing::room_json;
using namespace std::chrono_literals;

// The next room.online push's payload within `wait` ("" if none); other pushes are skipped.
std::string next_online(Connection& c, std::chrono::milliseconds wait) {
    for (;;) {
        auto p = c.next_push(wait);
        if (!p) return "";
        if (p->type() == "room.online") {
            EXPECT_EQ(p->room_seq(), 0u) << "outside the room's seq";
            return p->payload();
        }
    }
}

// Waits for {"count":want}, skipping counts on the way there (a join seen between sweeps).
bool gets_count(Connection& c, std::uint64_t want) {
    const std::string expected = "{\"count\":" + std::to_string(want) + "}";
    for (int i = 0; i < 10; ++i) {
        auto got = next_online(c, 10000ms);
        if (got.empty()) return false;
        if (got == expected) return true;
    }
    return false;
}

TEST(RoomOnline, MembersGetTheNewCountOnceAndNothingWhileItStays) {
    NodeProcess node({"--set", "room.online_interval_ms=200"});
    auto a = logged_in(node.tcp_port(), 21);
    auto b = logged_in(node.tcp_port(), 22);
    ASSERT_TRUE(a->biz("room.enter", room_json(91)));
    ASSERT_TRUE(b->biz("room.enter", room_json(91)));
    EXPECT_TRUE(gets_count(*a, 2));
    EXPECT_TRUE(gets_count(*b, 2));

    auto c = logged_in(node.tcp_port(), 23);
    ASSERT_TRUE(c->biz("room.enter", room_json(91)));
    EXPECT_TRUE(gets_count(*a, 3)) << "a member sees the third join";
    EXPECT_TRUE(gets_count(*b, 3));
    EXPECT_TRUE(gets_count(*c, 3)) << "and so does the one who joined";

    // The count stays 3: several intervals pass without a push.
    EXPECT_EQ(next_online(*a, 1500ms), "") << "no push while the count did not change";
    EXPECT_EQ(next_online(*c, 100ms), "");

    c->close();
    EXPECT_TRUE(gets_count(*a, 2)) << "a leave changes the count too";
}

TEST(RoomOnline, OffWithZero) {
    NodeProcess node({"--set", "room.online_interval_ms=0"});
    auto a = logged_in(node.tcp_port(), 21);
    auto b = logged_in(node.tcp_port(), 22);
    ASSERT_TRUE(a->biz("room.enter", room_json(92)));
    ASSERT_TRUE(b->biz("room.enter", room_json(92)));
    EXPECT_EQ(next_online(*a, 2000ms), "") << "interval 0: no room.online at all";
}

class ClusterRoomOnline : public lp::testing::ClusterFixture {};

TEST_F(ClusterRoomOnline, MembersOnEveryNodeGetTheCountOfEveryNode) {
    start_nodes({"--set", "room.online_interval_ms=200"});
    std::unique_ptr<Connection> member[3];
    for (int n = 0; n < 3; ++n) {
        member[n] = login(n, 31 + n);
        ASSERT_TRUE(member[n]->biz("room.enter", room_json(93))) << "on n" << n + 1;
    }
    for (int n = 0; n < 3; ++n)
        EXPECT_TRUE(gets_count(*member[n], 3))
            << "the member on n" << n + 1 << " sees all three nodes' members";
    ASSERT_TRUE(eventually(
        [&] {
            double total = 0;
            for (int n = 0; n < 3; ++n) total += metric(n, "livepush_room_online_pushes_total");
            return total >= 1;
        },
        10000ms));
}

// The home has no member of its own: it still knows the count (the other nodes' reports)
// and sends it to them.
TEST_F(ClusterRoomOnline, AHomeWithoutMembersSendsTheCountToTheOtherNodes) {
    start_nodes({"--set", "room.online_interval_ms=200"});
    std::uint64_t id = 0;
    for (std::uint64_t r = 6000; r < 6200 && id == 0; ++r)
        if (get(0, "/v1/rooms/" + std::to_string(r)).at("home").as_string() == "n3") id = r;
    ASSERT_NE(id, 0u) << "no room homed at n3";
    auto a = login(0, 41);
    auto b = login(1, 42);
    ASSERT_TRUE(a->biz("room.enter", room_json(id)));
    ASSERT_TRUE(b->biz("room.enter", room_json(id)));
    EXPECT_TRUE(gets_count(*a, 2)) << "on n1";
    EXPECT_TRUE(gets_count(*b, 2)) << "on n2";
}

}  // namespace
