// tests/integration/viewer_budget_test: message classes, the per-viewer budget and the room
// chat rate (docs/rooms.md "Message classes and the viewer budget") on real nodes.
// - Embedded: a room flooded far above room.viewer_budget_per_s: a viewer gets every high
//   message and about the budget of the rest, the sender of room.chat sees every one of its
//   own; the metrics count what was shed by class; an unknown "class" is a 400.
// - Over room.chat_rate_per_s an audience chat is refused with ROOM_RATE_LIMITED (3015) and
//   retry_after_ms; an admin's chat is not counted.
// - 3 nodes with Redis: the class and the sender cross the node links (published on the
//   room's home, viewers elsewhere with a tiny budget still get every high message; a sender
//   on another node still sees its own chats).
// Every wait has a generous deadline; nothing asserts on speed: the bounds on what a viewer
// received are taken from the time the flood really took.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <set>
#include <string>
#include <thread>

#include "cluster_fixture.hpp"
#include "livepush.pb.h"

namespace {

namespace json = boost::json;
using lp::client::Connection;
using lp::testing::chat_json;
using lp::testing::HttpClient;
using lp::testing::logged_in;
using lp::testing::NodeProcess;
using lp::testing::room_json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t kRoomRateLimited = 3015;

// What a member received of the room, by kind, until `quiet` passes with nothing new.
struct Received {
    std::set<std::string> high;    // payload "h<i>"
    std::set<std::string> normal;  // payload "n<i>"
    std::set<std::string> chats;   // room.chat texts from anyone
    std::size_t total = 0;
};

Received drain(Connection& c, std::chrono::milliseconds quiet = 1500ms) {
    Received r;
    while (auto p = c.next_push(quiet)) {
        if (p->type() == "room.online") continue;
        ++r.total;
        if (p->type() == "room.chat") {
            auto v = json::parse(p->payload());
            r.chats.insert(std::string(v.at("text").as_string()));
        } else {
            auto v = json::parse(p->payload());
            std::string tag(v.at("tag").as_string());
            (tag[0] == 'h' ? r.high : r.normal).insert(tag);
        }
    }
    return r;
}

std::string push_body(std::uint64_t room, const std::string& tag, const char* cls) {
    std::string b = R"({"room_id":)" + std::to_string(room) +
                    R"(,"type":"test.flood","payload":{"tag":")" + tag + "\"}";
    if (cls) b += std::string(R"(,"class":")") + cls + "\"";
    return b + "}";
}

// The flood: `n` pushes of type test.flood (normal by type), every `high_every`th with class
// high, `pause` after each, and between them `chats` room.chat from `sender`. Returns how long
// it took in seconds.
double flood(HttpClient& api, std::uint64_t room, int n, int high_every, Connection* sender,
             int chats, std::chrono::milliseconds pause = 0ms) {
    const auto start = Clock::now();
    for (int i = 1; i <= n; ++i) {
        const bool high = i % high_every == 0;
        auto r = api.post("/v1/push/room", push_body(room, (high ? "h" : "n") + std::to_string(i),
                                                     high ? "high" : nullptr));
        EXPECT_EQ(r.status, 200) << r.body;
        if (sender && chats > 0 && i % (n / chats) == 0) {
            auto res = sender->biz("room.chat", chat_json(room, "own" + std::to_string(i)));
            EXPECT_TRUE(res && res->code() == 0) << (res ? res->message() : "no BIZ_RESULT");
        }
        if (pause.count() > 0) std::this_thread::sleep_for(pause);
    }
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// ---------------------------------------------------------------- embedded

TEST(ViewerBudget, AFloodedViewerGetsEveryHighOneAboutTheBudgetAndTheSenderAllItsOwn) {
    NodeProcess node({"--set", "room.viewer_budget_per_s=10", "--set", "room.chat_rate_per_s=0"});
    HttpClient api(node.api_port());
    auto viewer = logged_in(node.tcp_port(), 11);
    auto sender = logged_in(node.tcp_port(), 12);
    ASSERT_TRUE(viewer->biz("room.enter", room_json(71)));
    ASSERT_TRUE(sender->biz("room.enter", room_json(71)));

    // 400 pushes over 2 s or more (about 200/s, and 20 chats, against a budget of 10/s), 10 of
    // them high.
    const double took = flood(api, 71, 400, 40, sender.get(), 20, 5ms);
    Received v = drain(*viewer);
    Received s = drain(*sender);

    std::printf("flood of %.2f s: the viewer got %zu (%zu high, %zu normal, %zu chats)\n", took,
                v.total, v.high.size(), v.normal.size(), v.chats.size());
    EXPECT_EQ(v.high.size(), 10u) << "every high message reaches the viewer";
    EXPECT_EQ(s.high.size(), 10u);
    // At most the budget over the time the flood took (the high ones count against it), with
    // a margin for the last batches, plus the burst (half a second's worth).
    const double allowed = 10.0 * (took + 1.0) + 5.0;
    EXPECT_LE(static_cast<double>(v.total), allowed)
        << "received " << v.total << " in " << took << " s";
    EXPECT_GE(v.normal.size() + v.chats.size(), 3u)
        << "the high ones leave room for a fair share of the rest";
    EXPECT_LT(v.normal.size() + v.chats.size(), 390u + 20u) << "some were shed";
    int own = 0;
    for (const auto& t : s.chats) own += t.rfind("own", 0) == 0;
    EXPECT_EQ(own, 20) << "the sender sees every one of its own chats";

    HttpClient metrics(node.api_port());
    const std::string text = metrics.get("/metrics").body;
    EXPECT_GT(lp::testing::metric_value(text, "livepush_room_shed_total{class=\"normal\"}"), 0);
    EXPECT_EQ(lp::testing::metric_value(text, "livepush_room_shed_total{class=\"high\"}"), 0);
    EXPECT_EQ(lp::testing::metric_value(text, "livepush_room_delivered_total{class=\"high\"}"), 20);
    EXPECT_EQ(lp::testing::metric_value(text, "livepush_limit{name=\"room_viewer_budget_per_s\"}"),
              10);
}

// The room's anchor (moderation's PUT meta) chats as high: a viewer under a tiny budget gets
// every one of the anchor's chats in a flood, and the room's chat rate does not count them.
TEST(ViewerBudget, TheAnchorsChatIsHighAndOutsideTheRoomChatRate) {
    NodeProcess node({"--set", "room.viewer_budget_per_s=2", "--set", "room.chat_rate_per_s=1"});
    HttpClient api(node.api_port());
    ASSERT_EQ(api.request("PUT", "/v1/rooms/74/meta", R"({"anchor_id":31,"moderators":[]})",
                          "application/json")
                  .status,
              200);
    auto anchor = logged_in(node.tcp_port(), 31);
    auto viewer = logged_in(node.tcp_port(), 32);
    ASSERT_TRUE(anchor->biz("room.enter", room_json(74)));
    ASSERT_TRUE(viewer->biz("room.enter", room_json(74)));
    flood(api, 74, 100, 1000, anchor.get(), 10);  // every chat answered 0 (checked in flood)
    Received v = drain(*viewer);
    int anchors = 0;
    for (const auto& t : v.chats) anchors += t.rfind("own", 0) == 0;
    EXPECT_EQ(anchors, 10) << "the viewer gets every chat of the anchor";
    EXPECT_LT(v.normal.size(), 50u) << "while the API's normal pushes are shed";
}

TEST(ViewerBudget, AnUnknownClassIsA400) {
    NodeProcess node;
    HttpClient api(node.api_port());
    auto r = api.post("/v1/push/room", push_body(72, "x", "urgent"));
    EXPECT_EQ(r.status, 400) << r.body;
    auto err = json::parse(r.body).as_object();
    EXPECT_EQ(err.at("error").as_string(),
              R"("class" must be one of "critical", "high", "normal", "low")");
    EXPECT_EQ(err.at("code").to_number<int>(), 400);
    r = api.post("/v1/push/room", R"({"room_id":72,"type":"t","payload":{},"priority":"low"})");
    EXPECT_EQ(r.status, 200) << "priority is the alias of class: " << r.body;
}

TEST(RoomChatRate, OverTheRoomRateAChatIsRefusedWithRetryAfterAndAdminsAreNotCounted) {
    NodeProcess node({"--set", "room.chat_rate_per_s=2"});
    auto a = logged_in(node.tcp_port(), 21);
    auto admin = logged_in(node.tcp_port(), 22, "admin");
    ASSERT_TRUE(a->biz("room.enter", room_json(73)));
    ASSERT_TRUE(admin->biz("room.enter", room_json(73)));
    int ok = 0, limited = 0;
    for (int i = 0; i < 6; ++i) {
        auto r = a->biz("room.chat", chat_json(73, "hi"));
        ASSERT_TRUE(r);
        if (r->code() == 0) {
            ++ok;
            continue;
        }
        EXPECT_EQ(r->code(), kRoomRateLimited) << r->message();
        EXPECT_NE(r->message().find("room.chat_rate_per_s"), std::string::npos);
        auto data = json::parse(r->data()).as_object();
        ASSERT_TRUE(data.contains("retry_after_ms")) << r->data();
        EXPECT_GE(data.at("retry_after_ms").to_number<std::int64_t>(), 1);
        EXPECT_LE(data.at("retry_after_ms").to_number<std::int64_t>(), 1000);
        ++limited;
    }
    EXPECT_GE(limited, 3) << "a burst of 2: most of 6 at once are refused";
    EXPECT_LE(ok, 3);
    for (int i = 0; i < 6; ++i) {
        auto r = admin->biz("room.chat", chat_json(73, "staff"));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->code(), 0) << "an admin's chat is not counted: " << r->message();
    }
    HttpClient api(node.api_port());
    EXPECT_EQ(
        lp::testing::metric_value(api.get("/metrics").body,
                                  "livepush_room_chat_refused_total{reason=\"ROOM_RATE_LIMITED\"}"),
        limited);
}

// ---------------------------------------------------------------- 3 nodes

class ClusterViewerBudget : public lp::testing::ClusterFixture {};

TEST_F(ClusterViewerBudget, TheClassAndTheSenderCrossTheNodeLinks) {
    start_nodes({"--set", "room.viewer_budget_per_s=2", "--set", "room.chat_rate_per_s=0"});
    std::uint64_t room = 0;
    for (std::uint64_t r = 7000; r < 7200 && room == 0; ++r)
        if (get(0, "/v1/rooms/" + std::to_string(r)).at("home").as_string() == "n1") room = r;
    ASSERT_NE(room, 0u) << "no room homed at n1";
    auto v2 = login(1, 51);
    auto v3 = login(2, 52);
    auto sender = login(1, 53);  // on n2: its chats go to the home n1 and come back
    ASSERT_TRUE(v2->biz("room.enter", room_json(room)));
    ASSERT_TRUE(v3->biz("room.enter", room_json(room)));
    ASSERT_TRUE(sender->biz("room.enter", room_json(room)));

    const double took = flood(*api_[0], room, 200, 10, sender.get(), 10);
    Received r2 = drain(*v2), r3 = drain(*v3), rs = drain(*sender);
    EXPECT_EQ(r2.high.size(), 20u) << "published high on n1, every one reaches n2";
    EXPECT_EQ(r3.high.size(), 20u) << "and n3";
    EXPECT_LT(r2.normal.size(), 180u) << "normal ones are shed on n2";
    EXPECT_LE(static_cast<double>(r3.normal.size() + r3.chats.size()), 2.0 * (took + 1.5) + 1.0)
        << "the high ones leave n3's viewer little or nothing of the rest";
    int own = 0;
    for (const auto& t : rs.chats) own += t.rfind("own", 0) == 0;
    EXPECT_EQ(own, 10) << "the sender on n2 sees every one of its own chats";
    EXPECT_GT(metric(1, "livepush_room_shed_total{class=\"normal\"}"), 0);
    EXPECT_EQ(metric(1, "livepush_room_shed_total{class=\"high\"}"), 0);
}

TEST_F(ClusterViewerBudget, OverTheRoomChatRateOnANodeTheSenderIsTold) {
    start_nodes({"--set", "room.chat_rate_per_s=1"});
    auto a = login(2, 61);
    ASSERT_TRUE(a->biz("room.enter", room_json(7300)));
    int limited = 0;
    for (int i = 0; i < 4; ++i) {
        auto r = a->biz("room.chat", chat_json(7300, "hi"));
        ASSERT_TRUE(r);
        if (r->code() == kRoomRateLimited) ++limited;
    }
    EXPECT_GE(limited, 2);
}

}  // namespace
