// tests/router/node_value_test: a node's liveness record in Redis carries its WebSocket client
// address beside the TCP and link ones, in a key of its own (lp:node_ws:{id}) so that a node of
// an older version reads lp:node:{id} unchanged; and a node an older version registered (no
// WebSocket key) lists with an empty ws_addr. Against a real redis-server on a run-time port.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>

#include "redis/client.hpp"
#include "redis_server.hpp"
#include "router/route_store.hpp"
#include "tests/integration/eventually.hpp"

namespace {

using lp::router::NodeInfo;
using lp::router::RouteStore;
using lp::testing::eventually;
using namespace std::chrono_literals;

lp::redis::Client::Options options_for(const lp::testing::RedisServer& server) {
    lp::redis::Client::Options o;
    o.host = server.host();
    o.port = server.port();
    o.connect_timeout = 500ms;
    o.command_timeout = 1000ms;
    return o;
}

const NodeInfo* find(const std::vector<NodeInfo>& nodes, const std::string& id) {
    const auto it =
        std::find_if(nodes.begin(), nodes.end(), [&](const NodeInfo& n) { return n.id == id; });
    return it == nodes.end() ? nullptr : &*it;
}

TEST(NodeRecord, CarriesTheWebSocketAddressAndReadsOlderRecords) {
    lp::testing::RedisServer server;
    lp::redis::Client redis(options_for(server));
    redis.start();
    ASSERT_TRUE(eventually([&] { return redis.connected(); }));
    RouteStore store(redis, "new", 5000ms, 2000ms);
    NodeInfo self{"new", "10.0.0.1:7000", "10.0.0.1:7002", "10.0.0.1:7001"};
    bool done = false;
    store.heartbeat(self, [&](bool) { done = true; });
    ASSERT_TRUE(eventually([&] { return done; }));
    // What an older node writes: its record only.
    redis.command_sync(
        {"SET", RouteStore::node_key("old"), "10.0.0.2:7000|10.0.0.2:7002", "PX", "5000"}, 1000ms);
    redis.command_sync({"SADD", "lp:nodes", "old"}, 1000ms);

    const auto nodes = store.live_nodes();
    ASSERT_TRUE(nodes);
    ASSERT_EQ(nodes->size(), 2u);
    const NodeInfo* n = find(*nodes, "new");
    ASSERT_TRUE(n);
    EXPECT_EQ(n->client_addr, "10.0.0.1:7000");
    EXPECT_EQ(n->link_addr, "10.0.0.1:7002");
    EXPECT_EQ(n->ws_addr, "10.0.0.1:7001");
    const NodeInfo* o = find(*nodes, "old");
    ASSERT_TRUE(o);
    EXPECT_EQ(o->client_addr, "10.0.0.2:7000");
    EXPECT_EQ(o->link_addr, "10.0.0.2:7002");
    EXPECT_EQ(o->ws_addr, "") << "an older node has no WebSocket address";

    // What an older node reads: lp:node:{id} as it always was.
    EXPECT_EQ(redis.command_sync({"GET", RouteStore::node_key("new")}, 1000ms).str,
              "10.0.0.1:7000|10.0.0.1:7002");
    EXPECT_GT(redis.command_sync({"PTTL", RouteStore::node_ws_key("new")}, 1000ms).integer, 0)
        << "the WebSocket key dies with the node";

    store.deregister();
    EXPECT_EQ(redis.command_sync({"EXISTS", RouteStore::node_ws_key("new")}, 1000ms).integer, 0);
    redis.stop();
}

}  // namespace
