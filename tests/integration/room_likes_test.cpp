// tests/integration/room_likes_test: likes aggregated on the server (docs/rooms.md "Likes") on
// real nodes. `room.like {room_id, count}` from many clients is summed per room: every member
// gets `room.likes {"total":T,"delta":D}` pushes whose totals rise (each the last plus its
// delta) to the exact sum, far fewer pushes than like requests, at most about one per
// room.likes_interval_ms and none once likes stop; the bounds are refused with their codes
// (LIKE_COUNT_OUT_OF_RANGE, LIKE_RATE_LIMITED with retry_after_ms, NOT_IN_ROOM), guests only
// with auth.guests_may_like; room.enter carries likes_total. On 3 nodes with Redis, likes from
// every node merge into one running total published once per interval for the whole room, and
// the total survives a restart of the room's home.
// Every wait is on a condition with a generous deadline; the pacing bound is checked against the
// test's own clock (pushes can only be fewer on a slow machine), never a speed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "cluster_fixture.hpp"
#include "eventually.hpp"
#include "livepush.pb.h"

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::testing::enter_room;
using lp::testing::eventually;
using lp::testing::logged_in;
using lp::testing::NodeProcess;
using lp::testing::room_json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr int kLikeRateLimited = 3020;
constexpr int kLikeCountOutOfRange = 3021;

std::string like_json(std::uint64_t room, std::uint64_t count) {
    return R"({"room_id":)" + std::to_string(room) + R"(,"count":)" + std::to_string(count) + "}";
}

// The likes total as the room's state carries it (key "likes"), from a room.enter; 0 without.
std::uint64_t state_likes(Connection& c, std::uint64_t room) {
    json::object out = enter_room(c, room);
    const json::value* st = out.if_contains("state");
    const json::value* likes =
        st && st->is_object() ? st->as_object().if_contains("likes") : nullptr;
    if (!likes || !likes->is_object()) return 0;
    const json::value* v = likes->as_object().if_contains("value");
    return v && v->is_number() ? v->to_number<std::uint64_t>() : 0;
}

// Sends `n` room.like of `count` back to back, then reads their results; returns how many
// were accepted. (Pipelined: the pacing checks do not depend on round-trip times.)
int like_burst(Connection& c, std::uint64_t room, int n, std::uint64_t count) {
    for (int i = 0; i < n; ++i) {
        pb::BizReq req;
        req.set_type("room.like");
        req.set_data(like_json(room, count));
        c.send(lp::codec::Code::Biz, req);
    }
    int ok = 0;
    for (int i = 0; i < n; ++i) {
        auto f = c.wait_code(lp::codec::Code::BizResult, 10000ms);
        if (!f) break;
        pb::Result res;
        if (f->parse(res) && res.code() == 0) ++ok;
    }
    return ok;
}

// What one member saw of room.likes.
struct Seen {
    std::vector<std::uint64_t> totals;
    bool consistent = true;  // every total = the previous one + its delta, delta > 0
    std::string why;
    std::uint64_t last() const { return totals.empty() ? 0 : totals.back(); }
};

// Reads room.likes pushes until the total reaches `want` (or nothing comes for `quiet`).
void collect(Connection& c, std::uint64_t want, Seen& seen,
             std::chrono::milliseconds quiet = 10000ms) {
    while (seen.last() < want) {
        auto p = c.next_push(quiet);
        if (!p) return;
        if (p->type() != "room.likes") continue;
        EXPECT_EQ(p->room_seq(), 0u) << "room.likes is outside the room's seq";
        auto v = json::parse(p->payload()).as_object();
        const auto total = v.at("total").to_number<std::uint64_t>();
        const auto delta = v.at("delta").to_number<std::uint64_t>();
        if (delta == 0 || (!seen.totals.empty() && total != seen.last() + delta) ||
            (seen.totals.empty() && total < delta)) {
            seen.consistent = false;
            seen.why = "total " + std::to_string(total) + " delta " + std::to_string(delta) +
                       " after " + std::to_string(seen.last());
        }
        seen.totals.push_back(total);
    }
}

// Nothing of type room.likes within `wait`.
bool no_likes_push(Connection& c, std::chrono::milliseconds wait) {
    const auto until = Clock::now() + wait;
    while (Clock::now() < until) {
        auto p = c.next_push(100ms);
        if (p && p->type() == "room.likes") return false;
    }
    return true;
}

// ---------------------------------------------------------------- embedded

TEST(RoomLikes, LikesFromManyClientsReachEveryMemberAsOneRunningTotal) {
    constexpr int kInterval = 200;
    NodeProcess node({"--loops", "3", "--set",
                      "room.likes_interval_ms=" + std::to_string(kInterval), "--set",
                      "room.like_rate_per_s=0", "--set", "server.biz_rate_per_s=0"});
    constexpr std::uint64_t room = 71;
    std::vector<std::unique_ptr<Connection>> members;
    for (std::uint64_t u = 1; u <= 5; ++u) {
        members.push_back(logged_in(node.tcp_port(), 100 + u));
        auto out = enter_room(*members.back(), room);
        EXPECT_EQ(out.at("likes_total").to_number<std::uint64_t>(), 0u) << "no like yet";
    }
    // Three likers (members too), 100 requests each with counts 1, 2, 3.
    const auto started = Clock::now();
    std::uint64_t sum = 0;
    int requests = 0;
    for (int i = 0; i < 3; ++i) {
        const std::uint64_t count = static_cast<std::uint64_t>(i + 1);
        const int ok = like_burst(*members[i], room, 100, count);
        ASSERT_EQ(ok, 100) << "liker " << i;
        sum += 100 * count;
        requests += ok;
    }
    std::vector<Seen> seen(members.size());
    for (std::size_t m = 0; m < members.size(); ++m) {
        collect(*members[m], sum, seen[m]);
        EXPECT_TRUE(seen[m].consistent) << "member " << m << ": " << seen[m].why;
        EXPECT_EQ(seen[m].last(), sum) << "member " << m << " ends at the exact sum";
    }
    const auto elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    const std::size_t pushes = seen[0].totals.size();
    EXPECT_LT(pushes, static_cast<std::size_t>(requests) / 10)
        << "one push per interval, not one per like";
    EXPECT_LE(pushes, static_cast<std::size_t>(elapsed_ms / kInterval + 2))
        << "at most one push per interval";
    for (const auto& s : seen) EXPECT_EQ(s.totals, seen[0].totals) << "every member sees the same";

    auto api = lp::testing::HttpClient(node.api_port());
    auto metric = [&](const std::string& name) {
        return lp::testing::metric_value(api.get("/metrics").body, name);
    };
    EXPECT_EQ(metric("livepush_room_likes_received_total"), static_cast<double>(sum));
    EXPECT_EQ(metric("livepush_room_likes_merged_total"), static_cast<double>(sum));
    EXPECT_EQ(metric("livepush_room_likes_pushes_total"), static_cast<double>(pushes));
    EXPECT_EQ(metric("livepush_room_like_requests_total"), static_cast<double>(requests));

    // A late joiner sees the total at once.
    auto late = logged_in(node.tcp_port(), 199);
    EXPECT_EQ(enter_room(*late, room).at("likes_total").to_number<std::uint64_t>(), sum);
    // The total lives in the room's state as well (key "likes"), written after each room.likes.
    EXPECT_TRUE(lp::testing::eventually([&] { return state_likes(*late, room) == sum; }))
        << "state.likes is " << state_likes(*late, room);
}

TEST(RoomLikes, OnePushPerIntervalWhileLikesArriveAndNoneAfter) {
    constexpr int kInterval = 500;
    NodeProcess node({"--set", "room.likes_interval_ms=" + std::to_string(kInterval), "--set",
                      "room.like_rate_per_s=100"});
    constexpr std::uint64_t room = 72;
    auto liker = logged_in(node.tcp_port(), 201);
    auto viewer = logged_in(node.tcp_port(), 202);
    enter_room(*liker, room);
    enter_room(*viewer, room);
    // A like every 25 ms for 2 s.
    const auto started = Clock::now();
    int sent = 0;
    while (Clock::now() - started < 2000ms) {
        auto r = liker->biz("room.like", like_json(room, 1));
        ASSERT_TRUE(r && r->code() == 0) << (r ? r->message() : "no BIZ_RESULT");
        ++sent;
        std::this_thread::sleep_for(25ms);
    }
    Seen seen;
    collect(*viewer, static_cast<std::uint64_t>(sent), seen);
    const auto elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    EXPECT_TRUE(seen.consistent) << seen.why;
    EXPECT_EQ(seen.last(), static_cast<std::uint64_t>(sent));
    EXPECT_LE(seen.totals.size(), static_cast<std::size_t>(elapsed_ms / kInterval + 2))
        << "at most one room.likes per interval (" << seen.totals.size() << " in " << elapsed_ms
        << " ms)";
    EXPECT_GE(seen.totals.size(), 2u) << "likes over several intervals: a push in each";
    EXPECT_TRUE(no_likes_push(*viewer, std::chrono::milliseconds(4 * kInterval)))
        << "no room.likes in intervals without likes";
}

TEST(RoomLikes, BoundsAreRefusedWithTheirCodes) {
    NodeProcess node({"--set", "room.like_rate_per_s=1", "--set", "room.like_max_count=50"});
    constexpr std::uint64_t room = 73;
    auto c = logged_in(node.tcp_port(), 301);

    auto r = c->biz("room.like", like_json(room, 1));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), pb::NOT_IN_ROOM) << "only members like";
    enter_room(*c, room);
    for (const std::string data :
         {like_json(room, 0), like_json(room, 51), std::string(R"({"room_id":73,"count":"x"})"),
          std::string(R"({"room_id":73,"count":-1})")}) {
        r = c->biz("room.like", data);
        ASSERT_TRUE(r);
        EXPECT_EQ(r->code(), kLikeCountOutOfRange) << data << ": " << r->message();
        EXPECT_NE(r->message().find("room.like_max_count"), std::string::npos) << r->message();
    }
    r = c->biz("room.like", R"({"count":1})");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), pb::BAD_BIZ_DATA) << "room_id is required";

    // One per second, burst one: of likes sent back to back after one, most are refused with
    // the wait (pipelined, so only a node slower than a second per request lets more through).
    r = c->biz("room.like", like_json(room, 50));
    ASSERT_TRUE(r && r->code() == 0) << (r ? r->message() : "");
    EXPECT_EQ(json::parse(r->data()).at("count").to_number<int>(), 50);
    for (int i = 0; i < 5; ++i) {
        pb::BizReq req;
        req.set_type("room.like");
        req.set_data(room_json(room));  // count defaults to 1
        c->send(lp::codec::Code::Biz, req);
    }
    int accepted = 0, limited = 0;
    std::uint64_t wait = 0;
    for (int i = 0; i < 5; ++i) {
        auto f = c->wait_code(lp::codec::Code::BizResult, 10000ms);
        ASSERT_TRUE(f);
        pb::Result res;
        ASSERT_TRUE(f->parse(res));
        if (res.code() == 0) {
            ++accepted;
            continue;
        }
        ASSERT_EQ(res.code(), kLikeRateLimited) << res.message();
        ++limited;
        EXPECT_NE(res.message().find("room.like_rate_per_s"), std::string::npos) << res.message();
        wait = json::parse(res.data()).at("retry_after_ms").to_number<std::uint64_t>();
        EXPECT_GT(wait, 0u);
        EXPECT_LE(wait, 1000u) << "one token a second";
    }
    EXPECT_GE(limited, 3) << "back to back, over the rate";
    std::this_thread::sleep_for(std::chrono::milliseconds(wait + 50));
    r = c->biz("room.like", like_json(room, 1));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 0) << "after retry_after_ms: " << r->message();

    auto api = lp::testing::HttpClient(node.api_port());
    const auto text = api.get("/metrics").body;
    using lp::testing::metric_value;
    EXPECT_EQ(metric_value(text, "livepush_room_like_refused_total{reason=\"count\"}"), 4);
    EXPECT_EQ(metric_value(text, "livepush_room_like_refused_total{reason=\"rate\"}"), limited);
    EXPECT_EQ(metric_value(text, "livepush_room_like_refused_total{reason=\"not_in_room\"}"), 1);
    EXPECT_EQ(metric_value(text, "livepush_room_likes_received_total"), 51 + accepted);
}

// A guest (empty token) who entered the room.
std::unique_ptr<Connection> guest_in(std::uint16_t port, std::uint64_t room) {
    auto c = std::make_unique<Connection>(lp::testing::client_options(port));
    EXPECT_FALSE(c->connect());
    auto r = c->login("", "web");
    EXPECT_TRUE(r && r->code() == 0 && r->role() == "guest") << (r ? r->message() : "no LOGIN");
    enter_room(*c, room);
    return c;
}

TEST(RoomLikes, GuestsMayNotLikeUnlessConfigured) {
    {
        NodeProcess node({"--guests", "true"});
        auto g = guest_in(node.tcp_port(), 74);
        auto r = g->biz("room.like", like_json(74, 1));
        ASSERT_TRUE(r);
        EXPECT_EQ(r->code(), pb::NOT_ALLOWED) << r->message();
        EXPECT_NE(r->message().find("auth.guests_may_like"), std::string::npos) << r->message();
    }
    NodeProcess node(
        {"--guests", "true", "--guests-may-like", "true", "--set", "room.likes_interval_ms=100"});
    auto g = guest_in(node.tcp_port(), 74);
    auto r = g->biz("room.like", like_json(74, 3));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 0) << r->message();
    Seen seen;
    collect(*g, 3, seen);
    EXPECT_EQ(seen.last(), 3u) << "the guest's likes count";
}

// ---------------------------------------------------------------- 3 nodes with Redis

using ClusterRoomLikes = lp::testing::ClusterFixture;

TEST_F(ClusterRoomLikes, LikesFromThreeNodesMergeIntoOneRunningTotal) {
    constexpr int kInterval = 300;
    start_nodes({"--set", "room.likes_interval_ms=" + std::to_string(kInterval), "--set",
                 "room.like_rate_per_s=0", "--set", "server.biz_rate_per_s=0"});
    const std::uint64_t room = room_homed_at(2, 7000);
    ASSERT_NE(room, 0u) << "no room homed at n3";
    // Two members on each node; the first on each likes.
    std::vector<std::unique_ptr<Connection>> members;
    for (int n = 0; n < 3; ++n)
        for (int k = 0; k < 2; ++k) {
            members.push_back(login(n, 400 + 10 * n + k));
            enter_room(*members.back(), room);
        }
    const auto started = Clock::now();
    std::uint64_t sum = 0;
    int requests = 0;
    for (int round = 0; round < 3; ++round)
        for (int n = 0; n < 3; ++n) {
            const std::uint64_t count = static_cast<std::uint64_t>(n + 1 + round);
            const int ok = like_burst(*members[2 * n], room, 40, count);
            ASSERT_EQ(ok, 40) << "n" << n + 1;
            sum += 40 * count;
            requests += ok;
        }
    std::vector<Seen> seen(members.size());
    for (std::size_t m = 0; m < members.size(); ++m) {
        collect(*members[m], sum, seen[m]);
        EXPECT_TRUE(seen[m].consistent) << "member " << m << ": " << seen[m].why;
        EXPECT_EQ(seen[m].last(), sum) << "member " << m << " (on n" << m / 2 + 1 << ")";
    }
    const auto elapsed_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - started).count();
    const std::size_t pushes = seen[0].totals.size();
    for (const auto& s : seen) EXPECT_EQ(s.totals, seen[0].totals) << "one total for the room";
    EXPECT_LT(pushes, static_cast<std::size_t>(requests) / 10) << "far fewer pushes than likes";
    EXPECT_LE(pushes, static_cast<std::size_t>(elapsed_ms / kInterval + 2))
        << "one push per interval for the whole room, not one per node";

    // Only the home published, and merged every node's likes.
    double published = 0, merged = 0, received = 0;
    for (int n = 0; n < 3; ++n) {
        published += metric(n, "livepush_room_likes_pushes_total");
        merged += metric(n, "livepush_room_likes_merged_total");
        received += metric(n, "livepush_room_likes_received_total");
    }
    EXPECT_EQ(metric(2, "livepush_room_likes_pushes_total"), static_cast<double>(pushes));
    EXPECT_EQ(published, static_cast<double>(pushes));
    EXPECT_EQ(merged, static_cast<double>(sum));
    EXPECT_EQ(received, static_cast<double>(sum));
    EXPECT_GT(metric(0, "livepush_room_likes_forwarded_total"), 0) << "n1 forwards to the home";

    // A late joiner on n1 gets the total from the home in room.enter.
    auto late = login(0, 499);
    EXPECT_EQ(enter_room(*late, room).at("likes_total").to_number<std::uint64_t>(), sum);
    EXPECT_TRUE(lp::testing::eventually([&] { return state_likes(*late, room) == sum; }))
        << "state.likes on n1 is " << state_likes(*late, room);
    EXPECT_TRUE(no_likes_push(*members[0], std::chrono::milliseconds(3 * kInterval)))
        << "no room.likes once likes stopped";
}

TEST_F(ClusterRoomLikes, TheTotalSurvivesARestartOfTheRoomsHome) {
    start_nodes({"--set", "room.likes_interval_ms=200"});
    const std::uint64_t room = room_homed_at(2, 8000);
    ASSERT_NE(room, 0u) << "no room homed at n3";
    auto liker = login(0, 501);
    auto viewer = login(1, 502);
    enter_room(*liker, room);
    enter_room(*viewer, room);
    ASSERT_EQ(like_burst(*liker, room, 5, 10), 5);
    Seen before;
    collect(*viewer, 50, before);
    ASSERT_EQ(before.last(), 50u);

    start_node(2);  // n3, the home, restarts: its memory is gone, Redis keeps the total
    ASSERT_TRUE(eventually(
        [&] { return get(0, "/v1/rooms/" + std::to_string(room)).at("home").as_string() == "n3"; },
        10000ms));
    ASSERT_TRUE(eventually([&] { return metric(2, "livepush_cluster_nodes") == kNodes; }, 10000ms));
    // The other nodes subscribe their members to the new n3 again (anti-entropy): until then a
    // room message from the home reaches nobody, likes or not.
    ASSERT_TRUE(eventually(
        [&] {
            return lp::testing::json_u64(
                       get(2, "/v1/rooms/" + std::to_string(room)).at("online")) == 2;
        },
        15000ms));
    ASSERT_EQ(like_burst(*liker, room, 2, 7), 2);
    Seen after;
    collect(*viewer, 64, after);
    EXPECT_TRUE(after.consistent) << after.why;
    EXPECT_EQ(after.last(), 64u) << "the total goes on from 50, not from 0";
    EXPECT_EQ(metric(2, "livepush_room_likes_merged_total"), 14) << "the new n3 published it";

    auto late = login(1, 503);
    EXPECT_EQ(enter_room(*late, room).at("likes_total").to_number<std::uint64_t>(), 64u);
}

}  // namespace
