// tests/integration/pk_e2e_test: the pk plugin inside real nodes. Embedded: a whole battle
// driven through the HTTP API and gift events, seen by the anchors and both rooms. Cluster (3
// nodes, real redis-server): a battle whose node is killed with SIGKILL mid-PK still changes
// state exactly once per transition, from the survivors' job runners.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <boost/json.hpp>
#include <memory>
#include <set>
#include <thread>

#include "cluster_fixture.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "redis_server.hpp"

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::codec::Code;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::RedisServer;
using lp::testing::token_for;
using namespace std::chrono_literals;

const std::vector<std::string> kShortPk = {
    "--set", "plugins.enabled=gift,pk",    "--set", "plugins.pk.invite_timeout_ms=1000",
    "--set", "plugins.pk.scoring_ms=1500", "--set", "plugins.pk.penalty_ms=800"};

std::unique_ptr<Connection> login(const NodeProcess& n, std::uint64_t user,
                                  std::uint64_t room = 0) {
    auto c = std::make_unique<Connection>(lp::testing::client_options(n));
    EXPECT_FALSE(c->connect());
    EXPECT_TRUE(c->login(token_for(user, 3600, "anchor")));
    if (room) {
        auto r = c->biz("room.enter", lp::testing::room_json(room));
        EXPECT_TRUE(r && r->code() == 0);
    }
    return c;
}

std::string gift(const std::string& id, std::uint64_t room, std::uint64_t anchor,
                 const std::string& value) {
    return "{\"event_id\":\"" + id + "\",\"room_id\":" + std::to_string(room) +
           ",\"anchor_id\":" + std::to_string(anchor) +
           ",\"sender_id\":77,\"channel_id\":1,\"gift_id\":5,\"count\":1,\"value\":\"" + value +
           "\",\"ts_ms\":1}";
}

int state_of(HttpClient& api, const std::string& pk) {
    auto r = api.get("/v1/pk/" + pk);
    if (r.status != 200) return -1;
    return static_cast<int>(r.json().at("state").to_number<int>());
}

using lp::testing::eventually;

// The distinct qos1 pk.state messages an anchor received (acked as they come; resends of a
// msg_id count once), in order. An anchor also sits in its own room, where the same changes
// arrive as qos0 room messages: those are not counted here.
std::vector<int> state_pushes(Connection& c, std::chrono::milliseconds quiet,
                              std::set<std::uint64_t>* seen_ids = nullptr, int until_state = -1) {
    std::vector<int> states;
    std::set<std::uint64_t> local;
    std::set<std::uint64_t>& seen = seen_ids ? *seen_ids : local;
    while (auto f = c.wait_code(Code::Push, quiet)) {
        pb::Push p;
        if (!f->parse(p) || p.type() != "pk.state" || !(f->header.flags & lp::codec::kAckRequired))
            continue;
        c.ack({p.msg_id()});
        if (!seen.insert(p.msg_id()).second) continue;
        states.push_back(static_cast<int>(json::parse(p.payload()).at("state").to_number<int>()));
        if (states.back() == until_state) break;
    }
    return states;
}

TEST(PkEndToEnd, ABattleRunsThroughScoringAndPenaltyToItsWinner) {
    NodeProcess node(kShortPk);
    HttpClient api(node.api_port());
    for (int a : {1, 2})
        ASSERT_EQ(api.post("/v1/pk/whitelist", "{\"anchor_id\":" + std::to_string(a) + "}").status,
                  200);
    auto anchor1 = login(node, 1, 101);
    auto anchor2 = login(node, 2, 102);
    auto viewer = login(node, 50, 102);
    auto inv = api.post("/v1/pk/invite",
                        R"({"from_anchor":1,"from_room":101,"to_anchor":2,"to_room":102})");
    ASSERT_EQ(inv.status, 200) << inv.body;
    std::string pk(inv.json().at("pk_id").as_string());
    // The invitee accepts over its own connection (BIZ), as an anchor app would.
    auto acc = anchor2->biz("pk.accept", "{\"pk_id\":\"" + pk + "\"}");
    ASSERT_TRUE(acc);
    ASSERT_EQ(acc->code(), 0) << acc->message();
    EXPECT_EQ(state_of(api, pk), 1);
    ASSERT_EQ(api.post("/v1/gift/events", gift("e1", 101, 1, "1.5")).status,
              202);  // 15 points to anchor 1
    ASSERT_EQ(api.post("/v1/gift/events", gift("e2", 102, 2, "0.3")).status,
              202);  // 3 points to anchor 2
    ASSERT_TRUE(eventually(
        [&] {
            auto r = api.get("/v1/pk/" + pk).json();
            return r.at("scores").at("1").to_number<int>() == 15 &&
                   r.at("scores").at("2").to_number<int>() == 3;
        },
        3000ms));
    ASSERT_TRUE(eventually([&] { return state_of(api, pk) == 2; }, 3000ms))
        << "scoring ends in penalty";
    EXPECT_EQ(api.get("/v1/pk/" + pk).json().at("winner").as_string(), "1");
    ASSERT_TRUE(eventually([&] { return state_of(api, pk) == 3; }, 3000ms))
        << "penalty ends the PK";

    std::vector<int> expected = {0, 1, 2, 3};
    EXPECT_EQ(state_pushes(*anchor1, 500ms), expected)
        << "every state change reaches each anchor once";
    EXPECT_EQ(state_pushes(*anchor2, 500ms), expected);
    bool saw_score = false;
    auto states = std::vector<int>{};
    while (auto p = viewer->next_push(300ms)) {  // a viewer in room 102: qos0 only
        if (p->type() == "pk.score") saw_score = true;
        if (p->type() == "pk.state")
            states.push_back(
                static_cast<int>(json::parse(p->payload()).at("state").to_number<int>()));
    }
    EXPECT_TRUE(saw_score) << "the rooms get score updates";
    EXPECT_EQ(states, expected) << "and every state change, once each";
}

TEST(PkEndToEnd, AnUnansweredInvitationExpiresToIdle) {
    NodeProcess node(kShortPk);
    HttpClient api(node.api_port());
    for (int a : {3, 4}) api.post("/v1/pk/whitelist", "{\"anchor_id\":" + std::to_string(a) + "}");
    auto inv = api.post("/v1/pk/invite",
                        R"({"from_anchor":3,"from_room":103,"to_anchor":4,"to_room":104})");
    ASSERT_EQ(inv.status, 200);
    std::string pk(inv.json().at("pk_id").as_string());
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(eventually([&] { return state_of(api, pk) == 5; }, 3000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1000ms + 400ms)
        << "within 200 ms of the deadline (+ polling)";
    EXPECT_EQ(api.post("/v1/pk/" + pk + "/accept", "{}").status, 409);
}

using PkCluster = lp::testing::ClusterFixture;

TEST_F(PkCluster, ANodeKilledMidPkDoesNotStopOrRepeatItsTransitions) {
    start_nodes(kShortPk);
    auto& api = api_;
    auto& nodes = nodes_;
    for (int a : {11, 12})
        ASSERT_EQ(
            api[0]->post("/v1/pk/whitelist", "{\"anchor_id\":" + std::to_string(a) + "}").status,
            200);
    auto anchor11 = ::login(*nodes[1], 11, 111);
    auto anchor12 = ::login(*nodes[2], 12, 112);
    // The invite (through n1) pushes pk.state to both anchors: their routes must be bound first
    // (a LOGIN binds its route in Redis after LOGIN_RESULT).
    ASSERT_TRUE(routed(0, 11));
    ASSERT_TRUE(routed(0, 12));
    auto inv = api[0]->post("/v1/pk/invite",
                            R"({"from_anchor":11,"from_room":111,"to_anchor":12,"to_room":112})");
    ASSERT_EQ(inv.status, 200) << inv.body;
    std::string pk(inv.json().at("pk_id").as_string());
    ASSERT_EQ(api[1]->post("/v1/pk/" + pk + "/accept", "{}").status, 200);
    ASSERT_EQ(api[2]->post("/v1/gift/events", gift("c1", 112, 12, "2.0")).status, 202);
    // Both anchors have seen the battle start; now the node it started on dies mid-scoring.
    std::set<std::uint64_t> seen11, seen12;
    auto before11 = state_pushes(*anchor11, 3000ms, &seen11, 1);
    auto before12 = state_pushes(*anchor12, 3000ms, &seen12, 1);
    ASSERT_EQ(before11, (std::vector<int>{0, 1}));
    ASSERT_EQ(before12, (std::vector<int>{0, 1}));
    nodes[0]->stop(SIGKILL, 5000ms);
    ASSERT_TRUE(eventually([&] { return state_of(*api[2], pk) == 2; }, 5000ms))
        << "scoring ends on a survivor";
    EXPECT_EQ(api[1]->get("/v1/pk/" + pk).json().at("winner").as_string(), "12");
    ASSERT_TRUE(eventually([&] { return state_of(*api[1], pk) == 3; }, 5000ms));
    std::vector<int> rest = {2, 3};
    EXPECT_EQ(state_pushes(*anchor11, 800ms, &seen11), rest)
        << "each transition exactly once, across nodes";
    EXPECT_EQ(state_pushes(*anchor12, 800ms, &seen12), rest);
}

}  // namespace
