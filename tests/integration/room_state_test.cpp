// tests/integration/room_state_test: room state (docs/rooms.md "Room state") on real nodes.
// Embedded: PUT pushes room.state {key, value, version} to members, room.enter carries the
// whole state, DELETE pushes value null, every bound is refused with its 4xx and code, and a PK
// battle's score is in the state for a viewer who enters mid-battle. On 3 nodes with Redis: a
// PUT on n1 reaches members on n2 and n3, room.enter on any node carries it (the room's home
// and the others), DELETE likewise, bounds hold, a PK score set on one node is in the enter
// of a viewer on each node, and the state survives a restart of every node.
// Every wait is on a condition with a generous deadline; no assertion on speed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "cluster_fixture.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"

namespace {

namespace json = boost::json;
using lp::client::Connection;
using lp::testing::enter_room;
using lp::testing::eventually;
using lp::testing::HttpClient;
using lp::testing::HttpResponse;
using lp::testing::logged_in;
using lp::testing::NodeProcess;
using namespace std::chrono_literals;

// The next room.state push's payload within `wait` (null if none); other pushes are skipped.
json::value next_state(Connection& c, std::chrono::milliseconds wait = 10000ms) {
    for (;;) {
        auto p = c.next_push(wait);
        if (!p) return nullptr;
        if (p->type() == "room.state") {
            EXPECT_GT(p->room_seq(), 0u) << "a sequenced room message (recoverable)";
            return json::parse(p->payload());
        }
    }
}

HttpResponse put(HttpClient& api, std::uint64_t room, const std::string& key,
                 const std::string& value) {
    return api.request("PUT", "/v1/rooms/" + std::to_string(room) + "/state/" + key, value,
                       "application/json");
}

HttpResponse del(HttpClient& api, std::uint64_t room, const std::string& key) {
    return api.request("DELETE", "/v1/rooms/" + std::to_string(room) + "/state/" + key, "",
                       "application/json");
}

std::uint64_t version_of(const HttpResponse& r) {
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return 0;
    return r.json().at("version").to_number<std::uint64_t>();
}

int code_of(const HttpResponse& r) {
    return r.json().at("code").to_number<int>();
}

TEST(RoomState, APutReachesMembersAndALateJoinerEntersWithTheWholeState) {
    NodeProcess node;
    HttpClient api(node.api_port());
    auto a = logged_in(node.tcp_port(), 21);
    auto first = enter_room(*a, 301);
    ASSERT_TRUE(first.contains("state")) << json::serialize(first);
    EXPECT_TRUE(first.at("state").as_object().empty()) << "a room without state: {}";

    EXPECT_EQ(version_of(put(api, 301, "title", R"({"text":"finals night"})")), 1u);
    json::value got = next_state(*a);
    ASSERT_TRUE(got.is_object()) << "the member gets room.state";
    EXPECT_EQ(got.at("key").as_string(), "title");
    EXPECT_EQ(got.at("value").at("text").as_string(), "finals night");
    EXPECT_EQ(got.at("version").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(version_of(put(api, 301, "pinned", R"("gift 10 roses for a shout-out")")), 2u);
    EXPECT_EQ(next_state(*a).at("version").to_number<std::uint64_t>(), 2u);

    auto b = logged_in(node.tcp_port(), 22);
    auto late = enter_room(*b, 301);
    const json::object& state = late.at("state").as_object();
    ASSERT_EQ(state.size(), 2u) << json::serialize(late);
    EXPECT_EQ(state.at("title").at("value").at("text").as_string(), "finals night");
    EXPECT_EQ(state.at("title").at("version").to_number<std::uint64_t>(), 1u);
    EXPECT_EQ(state.at("pinned").at("version").to_number<std::uint64_t>(), 2u);

    EXPECT_EQ(version_of(del(api, 301, "title")), 3u);
    for (Connection* c : {a.get(), b.get()}) {
        json::value d = next_state(*c);
        ASSERT_TRUE(d.is_object());
        EXPECT_EQ(d.at("key").as_string(), "title");
        EXPECT_TRUE(d.at("value").is_null()) << "a delete pushes value null";
        EXPECT_EQ(d.at("version").to_number<std::uint64_t>(), 3u);
    }
    auto all = api.get("/v1/rooms/301/state");
    ASSERT_EQ(all.status, 200);
    EXPECT_EQ(all.json(), json::parse(R"({"pinned":{"value":"gift 10 roses for a shout-out",)"
                                      R"("version":2}})"));
    auto c = logged_in(node.tcp_port(), 23);
    EXPECT_FALSE(enter_room(*c, 301).at("state").as_object().contains("title"));
    // A client coming back with a gap it cannot fill (another epoch) gets recovered: false and
    // the state to redraw the room from.
    auto d = logged_in(node.tcp_port(), 24);
    auto back = d->biz("room.enter", R"({"room_id":301,"last_seq":1,"epoch":1})");
    ASSERT_TRUE(back && back->code() == 0);
    auto data = json::parse(back->data()).as_object();
    EXPECT_FALSE(data.at("recovered").as_bool());
    EXPECT_EQ(data.at("state").at("pinned").at("version").to_number<std::uint64_t>(), 2u);
    EXPECT_EQ(del(api, 301, "title").status, 404) << "deleting a key that is not set";
}

TEST(RoomState, EveryBoundIsRefusedWithItsStatusAndCode) {
    NodeProcess node({"--set", "room.state_max_keys=2", "--set", "room.state_max_value_bytes=64",
                      "--set", "room.state_max_key_bytes=8", "--set",
                      "room.state_max_room_bytes=100"});
    HttpClient api(node.api_port());
    auto bad_char = put(api, 302, "a$b", "1");
    EXPECT_EQ(bad_char.status, 400);
    EXPECT_EQ(code_of(bad_char), 3018) << bad_char.body;
    auto too_long = put(api, 302, "ninechars", "1");
    EXPECT_EQ(too_long.status, 400);
    EXPECT_EQ(code_of(too_long), 3018);
    auto big = put(api, 302, "k", "\"" + std::string(63, 'x') + "\"");
    EXPECT_EQ(big.status, 413);
    EXPECT_EQ(code_of(big), 3019) << big.body;
    EXPECT_EQ(put(api, 302, "k", "{not json").status, 400);
    EXPECT_EQ(put(api, 302, "k", "null").status, 400) << "null is a delete";
    EXPECT_EQ(version_of(put(api, 302, "k1", "\"" + std::string(40, 'a') + "\"")), 1u);
    EXPECT_EQ(version_of(put(api, 302, "k2", "1")), 2u);
    auto third = put(api, 302, "k3", "1");
    EXPECT_EQ(third.status, 409) << "a third key in a room of at most 2";
    EXPECT_EQ(code_of(third), 3019);
    EXPECT_EQ(version_of(put(api, 302, "k2", "2")), 3u) << "an existing key may change";
    auto over_room = put(api, 302, "k2", "\"" + std::string(60, 'b') + "\"");
    EXPECT_EQ(over_room.status, 409) << "42 + 62 bytes: over the room's 100";
    EXPECT_EQ(code_of(over_room), 3019);
    EXPECT_EQ(api.get("/v1/rooms/302/state").json().at("k2").at("version").to_number<int>(), 3);

    const std::string metrics = api.get("/metrics").body;
    EXPECT_EQ(lp::testing::metric_value(metrics, "livepush_room_state_refused_total"), 5);
    EXPECT_GE(lp::testing::metric_value(metrics, "livepush_room_state_refused_bytes_total"), 127);
    EXPECT_EQ(lp::testing::metric_value(metrics, "livepush_room_state_writes_total{kind=\"set\"}"),
              3);
}

// The pk plugin keeps its view in state key "pk" of both rooms: a viewer entering mid-battle
// gets the score bar in room.enter's answer, before any pk.score push.
TEST(RoomState, APkBattlesScoreIsInTheStateForALateJoiner) {
    NodeProcess node({"--set", "plugins.enabled=gift,pk", "--set", "plugins.pk.scoring_ms=60000"});
    HttpClient api(node.api_port());
    for (int a : {1, 2})
        ASSERT_EQ(api.post("/v1/pk/whitelist", "{\"anchor_id\":" + std::to_string(a) + "}").status,
                  200);
    auto inv = api.post("/v1/pk/invite",
                        R"({"from_anchor":1,"from_room":101,"to_anchor":2,"to_room":102})");
    ASSERT_EQ(inv.status, 200) << inv.body;
    const std::string pk(inv.json().at("pk_id").as_string());
    ASSERT_EQ(api.post("/v1/pk/" + pk + "/accept", "{}").status, 200);
    ASSERT_EQ(api.post("/v1/gift/events",
                       R"({"event_id":"g1","room_id":101,"anchor_id":1,"sender_id":77,)"
                       R"("channel_id":1,"gift_id":5,"count":1,"value":"1.5","ts_ms":1})")
                  .status,
              202);
    ASSERT_TRUE(eventually(
        [&] {
            auto s = api.get("/v1/rooms/102/state").json();
            const auto* p = s.as_object().if_contains("pk");
            return p && p->at("value").at("scores").at("1").to_number<int>() == 15;
        },
        10000ms))
        << api.get("/v1/rooms/102/state").body;
    auto viewer = logged_in(node.tcp_port(), 50);
    auto entered = enter_room(*viewer, 102);
    const json::value& bar = entered.at("state").at("pk").at("value");
    EXPECT_EQ(bar.at("pk_id").as_string(), pk);
    EXPECT_EQ(bar.at("state").to_number<int>(), 1) << "scoring";
    EXPECT_EQ(bar.at("scores").at("1").to_number<int>(), 15);
}

using ClusterRoomState = lp::testing::ClusterFixture;

TEST_F(ClusterRoomState, APutOnOneNodeReachesEveryNodeAndEveryEnterCarriesIt) {
    start_nodes({"--set", "room.state_max_keys=2"});
    const std::uint64_t room = room_homed_at(0, 7000);
    ASSERT_NE(room, 0u);
    auto b = login(1, 61);
    auto c = login(2, 62);
    enter_room(*b, room);
    enter_room(*c, room);

    const std::uint64_t v1 = version_of(put(*api_[0], room, "score", R"({"red":3,"blue":1})"));
    ASSERT_GT(v1, 0u);
    for (Connection* m : {b.get(), c.get()}) {
        json::value got = next_state(*m);
        ASSERT_TRUE(got.is_object()) << "members on n2 and n3 get room.state";
        EXPECT_EQ(got.at("version").to_number<std::uint64_t>(), v1);
        EXPECT_EQ(got.at("value").at("red").to_number<int>(), 3);
    }
    // Late joiners: on n3 (members there already: its copy is warm), on n2 and on n1, the
    // room's home, where nobody is yet (the copy is loaded from Redis first).
    auto c2 = login(2, 63);
    EXPECT_EQ(
        enter_room(*c2, room).at("state").at("score").at("version").to_number<std::uint64_t>(), v1);
    auto a = login(0, 64);
    auto at_home = enter_room(*a, room);
    EXPECT_EQ(at_home.at("state").at("score").at("value").at("blue").to_number<int>(), 1)
        << json::serialize(at_home);

    const std::uint64_t v2 = version_of(del(*api_[1], room, "score"));
    EXPECT_GT(v2, v1) << "one counter per room, across nodes";
    for (Connection* m : {a.get(), b.get(), c.get(), c2.get()}) {
        json::value got = next_state(*m);
        ASSERT_TRUE(got.is_object());
        EXPECT_TRUE(got.at("value").is_null());
        EXPECT_EQ(got.at("version").to_number<std::uint64_t>(), v2);
    }
    auto late = login(1, 65);
    EXPECT_TRUE(enter_room(*late, room).at("state").as_object().empty());

    // Bounds hold across nodes (the count is checked in Redis, with the write).
    EXPECT_EQ(version_of(put(*api_[0], room, "k1", "1")), v2 + 1);
    EXPECT_EQ(version_of(put(*api_[1], room, "k2", "2")), v2 + 2);
    auto third = put(*api_[2], room, "k3", "3");
    EXPECT_EQ(third.status, 409);
    EXPECT_EQ(code_of(third), 3019);
    EXPECT_EQ(put(*api_[2], room, "bad key", "3").status, 400);
}

// The PK view set by whichever node counts the gift, read by a viewer entering on another.
TEST_F(ClusterRoomState, APkBattlesScoreIsInTheStateForALateJoinerOnAnotherNode) {
    start_nodes({"--set", "plugins.enabled=gift,pk", "--set", "plugins.pk.scoring_ms=60000"});
    for (int a : {11, 12}) post(0, "/v1/pk/whitelist", "{\"anchor_id\":" + std::to_string(a) + "}");
    auto inv = post(0, "/v1/pk/invite",
                    R"({"from_anchor":11,"from_room":111,"to_anchor":12,"to_room":112})");
    const std::string pk(inv.at("pk_id").as_string());
    post(1, "/v1/pk/" + pk + "/accept", "{}");
    auto r = api_[2]->post("/v1/gift/events",
                           R"({"event_id":"cg1","room_id":112,"anchor_id":12,"sender_id":77,)"
                           R"("channel_id":1,"gift_id":5,"count":1,"value":"2.0","ts_ms":1})");
    ASSERT_EQ(r.status, 202) << r.body;
    ASSERT_TRUE(eventually(
        [&] {
            auto s = api_[0]->get("/v1/rooms/111/state").json();
            const auto* p = s.as_object().if_contains("pk");
            return p && p->at("value").at("scores").at("12").to_number<int>() == 20;
        },
        10000ms));
    for (int n = 0; n < kNodes; ++n) {
        auto viewer = login(n, 80 + n);
        auto entered = enter_room(*viewer, 111);
        EXPECT_EQ(entered.at("state").at("pk").at("value").at("scores").at("12").to_number<int>(),
                  20)
            << "a late joiner on n" << n + 1 << ": " << json::serialize(entered);
    }
}

// Redis down: a write is refused with 503 (nothing pushed), and a first room.enter on a node
// still answers, without "state" (the node could not read it), rather than failing or waiting.
TEST_F(ClusterRoomState, WithRedisDownWritesAre503AndEnterAnswersWithoutState) {
    start_nodes();
    redis_->stop();
    auto r = put(*api_[0], 7601, "title", "1");
    EXPECT_EQ(r.status, 503) << r.body;
    auto m = login(1, 91);
    auto r2 = m->biz("room.enter", R"({"room_id":7601})");
    ASSERT_TRUE(r2) << "room.enter is answered";
    EXPECT_EQ(r2->code(), 0) << r2->message();
    EXPECT_FALSE(json::parse(r2->data()).as_object().contains("state"));
    EXPECT_GE(metric(0, "livepush_room_state_unavailable_total"), 1);
}

TEST_F(ClusterRoomState, TheStateSurvivesARestartOfEveryNode) {
    start_nodes();
    const std::uint64_t v1 = version_of(put(*api_[0], 7501, "title", R"("before")"));
    ASSERT_GT(v1, 0u);
    for (int i = 0; i < kNodes; ++i) {
        api_[i].reset();
        nodes_[i].reset();
    }
    start_nodes();
    auto r = api_[1]->get("/v1/rooms/7501/state");
    ASSERT_EQ(r.status, 200);
    EXPECT_EQ(r.json().at("title").at("value").as_string(), "before");
    auto m = login(2, 71);
    EXPECT_EQ(enter_room(*m, 7501).at("state").at("title").at("version").to_number<std::uint64_t>(),
              v1);
    EXPECT_GT(version_of(put(*api_[2], 7501, "title", R"("after")")), v1)
        << "the counter carries on";
    EXPECT_EQ(next_state(*m).at("value").as_string(), "after");
}

}  // namespace
