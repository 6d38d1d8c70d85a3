// tests/security/node_number_test: message ids never collide across nodes, with a real
// redis-server and real livepushd nodes.
//
// The node number (10 bits of every msg_id, server/msg_id.hpp) used to be a hash of the node id:
// two nodes whose ids hash alike issued ids from the same space, and an inbox took a new message
// for a duplicate of another and dropped it. Now each node claims a free number in Redis
// (router/node_number.hpp). These tests start two nodes whose ids hash alike and read the node
// bits of the msg_ids their APIs answer; they also pin the refusal to start when no number is
// free, the switch to a new number when another node took ours, and the release at a clean stop.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "http_client.hpp"
#include "node_process.hpp"
#include "redis/client.hpp"
#include "redis_server.hpp"
#include "server/msg_id.hpp"
#include "tests/integration/eventually.hpp"

namespace {

using namespace std::chrono_literals;
using lp::server::MsgIdGenerator;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::RedisServer;

// Two node ids whose std::hash agrees in its low 10 bits: the old node number of both.
std::pair<std::string, std::string> ids_that_hash_alike() {
    const std::string first = "gateway-a";
    const auto want = std::hash<std::string>{}(first)&0x3FF;
    for (int i = 0;; ++i) {
        std::string other = "gateway-b" + std::to_string(i);
        if ((std::hash<std::string>{}(other)&0x3FF) == want) return {first, other};
    }
}

std::vector<std::string> node_args(const RedisServer& redis, const std::string& id) {
    return {"--redis",       "127.0.0.1:" + std::to_string(redis.port()),
            "--node-id",     id,
            "--link-listen", "127.0.0.1:0",
            "--loops",       "1"};
}

std::uint64_t push_broadcast(HttpClient& api) {
    const auto r = api.post("/v1/push/broadcast", R"({"type":"t","payload":1})");
    EXPECT_EQ(r.status, 200) << r.body;
    if (r.status != 200) return 0;
    return std::stoull(std::string(r.json().at("msg_id").as_string()));
}

using lp::testing::eventually;

std::unique_ptr<lp::redis::Client> redis_client(const RedisServer& redis) {
    lp::redis::Client::Options o;
    o.port = redis.port();
    auto c = std::make_unique<lp::redis::Client>(o);
    c->start();
    return c;
}

// The defence: claimed node numbers. Without it (the hash) both nodes' ids carry one number.
TEST(NodeNumber, TwoNodesWhoseIdsHashAlikeIssueIdsWithDistinctNodeNumbers) {
    const auto [id_a, id_b] = ids_that_hash_alike();
    ASSERT_EQ(std::hash<std::string>{}(id_a)&0x3FF, std::hash<std::string>{}(id_b)&0x3FF);
    RedisServer redis;
    NodeProcess a(node_args(redis, id_a));
    NodeProcess b(node_args(redis, id_b));
    HttpClient api_a(a.api_port());
    HttpClient api_b(b.api_port());
    std::set<std::uint64_t> ids;
    std::set<std::uint16_t> numbers_a;
    std::set<std::uint16_t> numbers_b;
    for (int i = 0; i < 50; ++i) {
        const std::uint64_t from_a = push_broadcast(api_a);
        const std::uint64_t from_b = push_broadcast(api_b);
        EXPECT_TRUE(ids.insert(from_a).second);
        EXPECT_TRUE(ids.insert(from_b).second);
        numbers_a.insert(MsgIdGenerator::node_of(from_a));
        numbers_b.insert(MsgIdGenerator::node_of(from_b));
    }
    ASSERT_EQ(numbers_a.size(), 1u);
    ASSERT_EQ(numbers_b.size(), 1u);
    EXPECT_NE(*numbers_a.begin(), *numbers_b.begin())
        << id_a << " and " << id_b << " both issue ids with node number " << *numbers_a.begin();
    // Each number is what the node says it holds, and what Redis says it holds.
    EXPECT_EQ(lp::testing::metric_value(api_a.get("/metrics").body, "livepush_node_number"),
              *numbers_a.begin());
    auto client = redis_client(redis);
    EXPECT_EQ(
        client->command_sync({"GET", "lp:nodenum:" + std::to_string(*numbers_b.begin())}, 2s).str,
        id_b);
}

TEST(NodeNumber, ANodeDoesNotStartWhenEveryNumberIsHeld) {
    RedisServer redis;
    auto client = redis_client(redis);
    for (int n = 0; n < 1024; ++n) {
        ASSERT_TRUE(
            client
                ->command_sync(
                    {"SET", "lp:nodenum:" + std::to_string(n), "someone-else", "PX", "600000"}, 2s)
                .ok());
    }
    try {
        NodeProcess node(node_args(redis, "latecomer"));
        ADD_FAILURE() << "a node started with no node number free";
    } catch (const std::runtime_error& e) {
        EXPECT_NE(std::string(e.what()).find("node numbers"), std::string::npos) << e.what();
    }
}

TEST(NodeNumber, ANodeWhoseNumberWasTakenSwitchesToAFreeOne) {
    RedisServer redis;
    NodeProcess node(node_args(redis, "gateway-x"));
    HttpClient api(node.api_port());
    const std::uint16_t before = MsgIdGenerator::node_of(push_broadcast(api));
    // Its claim lapsed while it could not reach Redis, and another node took the number.
    auto client = redis_client(redis);
    ASSERT_TRUE(
        client
            ->command_sync(
                {"SET", "lp:nodenum:" + std::to_string(before), "intruder", "PX", "600000"}, 2s)
            .ok());
    ASSERT_TRUE(eventually(
        [&] {
            return lp::testing::metric_value(api.get("/metrics").body,
                                             "livepush_node_number_changes_total") == 1;
        },
        10s));
    const std::uint16_t after = MsgIdGenerator::node_of(push_broadcast(api));
    EXPECT_NE(after, before);
    EXPECT_EQ(client->command_sync({"GET", "lp:nodenum:" + std::to_string(after)}, 2s).str,
              "gateway-x");
    EXPECT_EQ(client->command_sync({"GET", "lp:nodenum:" + std::to_string(before)}, 2s).str,
              "intruder");
}

TEST(NodeNumber, AClaimLostWithRedisIsTakenBackWhenRedisReturns) {
    RedisServer redis;
    NodeProcess node(node_args(redis, "gateway-z"));
    HttpClient api(node.api_port());
    const std::uint16_t number = MsgIdGenerator::node_of(push_broadcast(api));
    redis.restart();  // every key gone, the claim with them
    auto client = redis_client(redis);
    const std::string key = "lp:nodenum:" + std::to_string(number);
    EXPECT_TRUE(eventually(
        [&] {
            return client->command_sync({"GET", key}, 2s).str == "gateway-z";
        },
        15s));
    EXPECT_EQ(MsgIdGenerator::node_of(push_broadcast(api)), number);
    EXPECT_EQ(
        lp::testing::metric_value(api.get("/metrics").body, "livepush_node_number_changes_total"),
        0);
}

TEST(NodeNumber, ACleanStopGivesTheNumberBack) {
    RedisServer redis;
    NodeProcess node(node_args(redis, "gateway-y"));
    HttpClient api(node.api_port());
    const std::uint16_t number = MsgIdGenerator::node_of(push_broadcast(api));
    auto client = redis_client(redis);
    const std::string key = "lp:nodenum:" + std::to_string(number);
    EXPECT_EQ(client->command_sync({"GET", key}, 2s).str, "gateway-y");
    EXPECT_EQ(node.stop(SIGTERM, 20s), 0);
    EXPECT_TRUE(client->command_sync({"GET", key}, 2s).is_nil());
}

TEST(NodeNumber, EmbeddedKeepsNodeNumberZero) {
    NodeProcess node;
    HttpClient api(node.api_port());
    EXPECT_EQ(MsgIdGenerator::node_of(push_broadcast(api)), 0u);
}

}  // namespace
