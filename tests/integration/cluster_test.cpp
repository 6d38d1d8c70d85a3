// tests/integration/cluster_test: three real livepushd nodes and a real redis-server on
// loopback: pushes across nodes (qos0 and qos1), a room with members on every node, rooms not
// sent to nodes without members, duplicate logins across nodes, presence from any node, a node
// killed with SIGKILL (offline within 10 s, inbox elsewhere, no qos1 lost over 1,000 messages),
// Redis restarted mid-run, and the drain's reconnect_to.
#include <gtest/gtest.h>
#include <signal.h>

#include <array>
#include <boost/json.hpp>
#include <chrono>
#include <cstdlib>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "ack/redis_inbox.hpp"
#include "cluster_fixture.hpp"
#include "livepush.pb.h"
#include "redis/client.hpp"

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::client::Options;
using lp::client::Transport;
using lp::codec::Code;
using lp::testing::client_options;
using lp::testing::HttpClient;
using lp::testing::login_with;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::RedisServer;
using lp::testing::TempDir;
using lp::testing::token_for;
using namespace std::chrono_literals;

using lp::testing::eventually;
using lp::testing::json_u64;
using ClusterTest = lp::testing::ClusterFixture;

// ------------------------------------------------------------------ users

TEST_F(ClusterTest, UserPushCrossesNodesQos0AndQos1) {
    start_nodes();
    auto c = login(1, 500);  // on n2
    ASSERT_TRUE(routed(0, 500));
    ASSERT_TRUE(routed(2, 500));
    auto r0 = post(0, "/v1/push/user", R"({"user_id":500,"type":"q0","payload":{"a":1}})");
    EXPECT_EQ(json_u64(r0.at("sessions")), 1u);
    auto p0 = c->next_push();
    ASSERT_TRUE(p0) << "a qos0 push through n1 must reach the user on n2";
    EXPECT_EQ(p0->type(), "q0");
    EXPECT_EQ(p0->payload(), R"({"a":1})");

    auto r1 = post(2, "/v1/push/user", R"({"user_id":500,"type":"q1","payload":2,"qos":1})");
    auto f = c->wait_code(Code::Push);
    ASSERT_TRUE(f);
    EXPECT_TRUE(f->header.flags & lp::codec::kAckRequired);
    pb::Push p1;
    ASSERT_TRUE(f->parse(p1));
    EXPECT_EQ(std::to_string(p1.msg_id()), std::string(r1.at("msg_id").as_string()));
    EXPECT_EQ(json_u64(get(0, "/v1/users/500").at("inbox")), 1u)
        << "qos1 is durable before delivery";
    c->ack({p1.msg_id()});
    EXPECT_TRUE(
        eventually([&] { return json_u64(get(0, "/v1/users/500").at("inbox")) == 0; }, 3000ms))
        << "the ack on n2 removes it from the shared inbox";
}

TEST_F(ClusterTest, PresenceAndDuplicateLoginAcrossNodes) {
    start_nodes();
    auto first = login(0, 600, "android");
    auto web = login(1, 600, "web");
    // Both LOGINs bind their routes in Redis after LOGIN_RESULT: presence is read once both are.
    ASSERT_TRUE(eventually(
        [&] { return get(0, "/v1/users/600").at("sessions").as_array().size() == 2; }, 10000ms));
    for (int n = 0; n < 3; ++n) {
        auto u = get(n, "/v1/users/600");
        EXPECT_TRUE(u.at("online").as_bool()) << "presence from n" << n + 1;
        EXPECT_EQ(u.at("sessions").as_array().size(), 2u) << "both platforms, from n" << n + 1;
    }
    auto second = login(2, 600, "android");  // same platform on another node
    auto kick = first->wait_code(Code::Kick);
    ASSERT_TRUE(kick) << "the first app session must be kicked across nodes";
    pb::Kick k;
    ASSERT_TRUE(kick->parse(k));
    EXPECT_EQ(k.reason(), "replaced");
    EXPECT_TRUE(first->wait_closed(3000ms));
    EXPECT_TRUE(web->heartbeat()) << "another platform stays";
    EXPECT_TRUE(second->heartbeat());
    EXPECT_TRUE(eventually(
        [&] {
            auto s = get(1, "/v1/users/600").at("sessions").as_array();
            return s.size() == 2;
        },
        3000ms));
}

// ------------------------------------------------------------------ rooms

TEST_F(ClusterTest, RoomWithMembersOnAllNodesReachesEachMemberOnce) {
    start_nodes();
    std::vector<std::unique_ptr<Connection>> members;
    for (int i = 0; i < 12; ++i) {
        members.push_back(
            login(i % 3, 1000 + i, "android", i % 2 ? Transport::Ws : Transport::Tcp));
        ASSERT_TRUE(members.back()->biz("room.enter", R"({"room_id":77})"));
    }
    ASSERT_TRUE(
        eventually([&] { return json_u64(get(0, "/v1/rooms/77").at("online")) == 12; }, 4000ms))
        << "cluster-wide room count";
    for (int i = 1; i <= 5; ++i)
        post(i % 3, "/v1/push/room",
             "{\"room_id\":77,\"type\":\"t\",\"payload\":" + std::to_string(i) + "}");
    auto chat = members[4]->biz("room.chat", R"({"room_id":77,"text":"hello all nodes"})");
    ASSERT_TRUE(chat);
    ASSERT_EQ(chat->code(), 0);
    for (std::size_t m = 0; m < members.size(); ++m) {
        std::uint64_t last_seq = 0;
        std::set<std::string> payloads;
        for (int i = 0; i < 6; ++i) {
            auto p = members[m]->next_push();
            ASSERT_TRUE(p) << "member " << m << " message " << i;
            EXPECT_GT(p->room_seq(), last_seq) << "room_seq must increase on every node";
            last_seq = p->room_seq();
            payloads.insert(p->payload());
        }
        EXPECT_EQ(payloads.size(), 6u);
        ASSERT_TRUE(members[m]->heartbeat());
        EXPECT_FALSE(members[m]->next_push(0ms)) << "member " << m << " got a message twice";
    }
}

TEST_F(ClusterTest, ARoomMessageIsNotSentToANodeWithoutMembers) {
    start_nodes();
    // A room whose home is n1 or n2, with members on n1 and n2 only.
    std::uint64_t room = 0;
    std::string home;
    for (std::uint64_t r = 100; r < 200 && !room; ++r) {
        home = std::string(get(0, "/v1/rooms/" + std::to_string(r)).at("home").as_string());
        if (home != "n3") room = r;
    }
    ASSERT_NE(room, 0u);
    int home_index = home == "n1" ? 0 : 1;
    auto a = login(0, 700);
    auto b = login(1, 701);
    std::string enter = "{\"room_id\":" + std::to_string(room) + "}";
    ASSERT_TRUE(a->biz("room.enter", enter));
    ASSERT_TRUE(b->biz("room.enter", enter));
    ASSERT_TRUE(eventually(
        [&] { return json_u64(get(2, "/v1/rooms/" + std::to_string(room)).at("online")) == 2; },
        4000ms));
    double skipped_before = metric(home_index, "livepush_cluster_room_nodes_skipped_total");
    for (int i = 0; i < 10; ++i)
        post(2, "/v1/push/room",
             "{\"room_id\":" + std::to_string(room) +
                 ",\"type\":\"t\",\"payload\":" + std::to_string(i) + "}");
    for (auto* c : {a.get(), b.get()})
        for (int i = 0; i < 10; ++i) ASSERT_TRUE(c->next_push()) << "message " << i;
    EXPECT_EQ(metric(2, "livepush_cluster_room_deliveries_total{direction=\"received\"}"), 0)
        << "n3 has no members: it must receive no room delivery";
    EXPECT_EQ(metric(home_index, "livepush_cluster_room_nodes_skipped_total") - skipped_before, 10)
        << "the home skipped n3 once per message";
    EXPECT_EQ(metric(2, "livepush_cluster_room_publishes_forwarded_total"), 10)
        << "n3 forwarded each publish to the home, once";
}

// ------------------------------------------------------------------ failures

TEST_F(ClusterTest, KilledNodeUsersGoOfflineAndGetEveryQos1MessageElsewhere) {
    start_nodes();
    auto c = login(1, 800);  // on n2, never acks
    ASSERT_TRUE(routed(0, 800));
    std::set<std::uint64_t> accepted;
    // "Offline within 10 s" is timed from the kill: the user's state is read while the pushes
    // after the kill go on, and afterwards until 10 s after the kill at most.
    std::chrono::steady_clock::time_point killed_at;
    std::optional<std::chrono::steady_clock::time_point> offline_at;
    auto read_offline = [&] {
        if (!offline_at && !get(0, "/v1/users/800").at("online").as_bool()) {
            offline_at = std::chrono::steady_clock::now();
        }
        return offline_at.has_value();
    };
    for (int i = 0; i < 1000; ++i) {
        if (i == 300) {
            killed_at = std::chrono::steady_clock::now();
            nodes_[1]->stop(SIGKILL, 5000ms);
        }
        if (i > 300 && i % 20 == 0) read_offline();
        auto r = api_[0]->post("/v1/push/user", "{\"user_id\":800,\"type\":\"m\",\"payload\":" +
                                                    std::to_string(i) + ",\"qos\":1}");
        ASSERT_EQ(r.status, 200) << "accepted qos1 pushes keep being accepted: " << r.body;
        accepted.insert(std::stoull(std::string(r.json().at("msg_id").as_string())));
    }
    while (!read_offline() && std::chrono::steady_clock::now() - killed_at < 10s) {
        std::this_thread::sleep_for(50ms);
    }
    ASSERT_TRUE(offline_at)
        << "users of a SIGKILLed node must read offline within 10 s of the kill";
    EXPECT_LT(*offline_at - killed_at, 10s) << "timed from the kill";
    c.reset();

    auto again = login(2, 800);  // reconnects to n3
    std::set<std::uint64_t> got;
    auto until = std::chrono::steady_clock::now() + 30s;
    while (got.size() < accepted.size() && std::chrono::steady_clock::now() < until) {
        auto p = again->next_push(2000ms);
        if (!p) break;
        got.insert(p->msg_id());
        again->ack({p->msg_id()});
    }
    std::size_t lost = 0;
    for (auto id : accepted) lost += got.count(id) == 0;
    EXPECT_EQ(lost, 0u) << "of " << accepted.size() << " accepted qos1 messages";
}

TEST_F(ClusterTest, RedisOutageDegradesAndRecoversByItself) {
    start_nodes();
    auto a = login(0, 900);
    auto b = login(1, 901);
    ASSERT_TRUE(a->biz("room.enter", R"({"room_id":9})"));
    ASSERT_TRUE(b->biz("room.enter", R"({"room_id":9})"));
    ASSERT_TRUE(
        eventually([&] { return json_u64(get(0, "/v1/rooms/9").at("online")) == 2; }, 4000ms));

    redis_->stop();
    ASSERT_TRUE(eventually([&] { return api_[0]->get("/readyz").status == 503; }, 5000ms))
        << "readyz must say degraded while Redis is down";
    EXPECT_NE(api_[0]->get("/readyz").body.find("degraded"), std::string::npos);
    auto q1 = api_[0]->post("/v1/push/user", R"({"user_id":901,"type":"t","payload":1,"qos":1})");
    EXPECT_EQ(q1.status, 503) << q1.body;
    EXPECT_NE(q1.body.find("Redis"), std::string::npos) << "the error says what is missing";
    EXPECT_EQ(metric(0, "livepush_inbox_redis_failures_total{op=\"append\"}"), 1)
        << "and the metric counts it";
    post(0, "/v1/push/user", R"({"user_id":900,"type":"local","payload":1})");  // a local user
    auto local = a->next_push();
    ASSERT_TRUE(local) << "local pushes keep working without Redis";
    EXPECT_EQ(local->type(), "local");
    post(1, "/v1/push/room", R"({"room_id":9,"type":"room","payload":1})", 200);
    for (auto* c : {a.get(), b.get()}) {
        auto p = c->next_push();
        ASSERT_TRUE(p) << "room traffic between nodes does not need Redis";
        EXPECT_EQ(p->type(), "room");
    }
    EXPECT_TRUE(a->heartbeat());

    redis_->start();  // empty: everything must be registered again by the nodes
    ASSERT_TRUE(eventually([&] { return api_[0]->get("/readyz").status == 200; }, 8000ms));
    ASSERT_TRUE(eventually([&] { return get(2, "/v1/users/901").at("online").as_bool(); }, 5000ms))
        << "routes re-registered from live sessions";
    auto r = post(2, "/v1/push/user", R"({"user_id":901,"type":"after","payload":1,"qos":1})");
    auto p = b->next_push();
    ASSERT_TRUE(p);
    EXPECT_EQ(p->type(), "after");
    b->ack({p->msg_id()});
    for (int n = 0; n < 3; ++n) EXPECT_TRUE(nodes_[n]->running()) << "no node crashed";
}

class ClusterWithAofTest : public ClusterTest {
    std::vector<std::string> redis_args() override {
        return {"--appendonly", "yes", "--appendfsync", "always"};
    }
};

TEST_F(ClusterWithAofTest, AcceptedQos1SurvivesARedisRestart) {
    start_nodes();
    auto r = post(0, "/v1/push/user", R"({"user_id":950,"type":"kept","payload":1,"qos":1})");
    EXPECT_EQ(json_u64(r.at("stored")), 1u);
    redis_->restart();
    ASSERT_TRUE(eventually([&] { return api_[2]->get("/readyz").status == 200; }, 8000ms));
    // Redis answers LOADING while it replays its AOF: wait until the inbox reads back.
    ASSERT_TRUE(
        eventually([&] { return json_u64(get(2, "/v1/users/950").at("inbox")) == 1; }, 8000ms))
        << "the accepted message is gone from the inbox after the restart";
    auto c = login(2, 950);
    auto p = c->next_push();
    ASSERT_TRUE(p) << "an accepted qos1 message must survive a Redis restart";
    EXPECT_EQ(std::to_string(p->msg_id()), std::string(r.at("msg_id").as_string()));
}

TEST_F(ClusterTest, AStoredMessageNoNodeRoutedReachesItsOnlineUserWhenANodeLeaves) {
    // A node accepted a qos1 message (it is in the durable inbox) and died before its link frame
    // reached the user's node: written here straight into the inbox, as that node would have.
    // When a node leaves, the survivors re-check their users' inboxes: the user gets it without
    // logging in again, and a message already in flight to it is not sent twice.
    start_nodes({"--set", "delivery.retry_ms=30000", "--set", "cluster.node_ttl_ms=2000"});
    auto u = login(1, 970);  // on n2
    ASSERT_TRUE(routed(0, 970));
    auto inflight =
        post(0, "/v1/push/user", R"({"user_id":970,"type":"inflight","payload":1,"qos":1})");
    auto first = u->next_push();
    ASSERT_TRUE(first);
    EXPECT_EQ(first->type(), "inflight");  // not acked: it stays in flight (retry in 30 s)

    lp::redis::Client::Options o;
    o.host = "127.0.0.1";
    o.port = redis_->port();
    lp::redis::Client client(o);
    client.start();
    ASSERT_TRUE(eventually([&] { return client.connected(); }, 3000ms));
    lp::ack::RedisInbox inbox(client, 1000);
    lp::ack::StoredMessage orphan;
    orphan.msg_id = 4242;
    orphan.type = "orphan";
    orphan.payload = "2";
    orphan.sent_at_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    orphan.expires_at_ms = orphan.sent_at_ms + 3600'000;
    ASSERT_TRUE(inbox.append(970, orphan));
    EXPECT_FALSE(u->next_push(500ms)) << "nobody routed it yet";

    nodes_[2]->stop(SIGKILL, 5000ms);  // n3 leaves
    auto p = u->next_push(10000ms);
    ASSERT_TRUE(p) << "the survivors re-check their users' inboxes when a node leaves";
    EXPECT_EQ(p->type(), "orphan");
    EXPECT_EQ(p->msg_id(), 4242u);
    EXPECT_FALSE(u->next_push(1000ms)) << "the message in flight is not sent again";
    EXPECT_EQ(metric(1, "livepush_qos1_resynced_total"), 1);
    u->ack({p->msg_id(), first->msg_id()});
    EXPECT_TRUE(
        eventually([&] { return json_u64(get(0, "/v1/users/970").at("inbox")) == 0; }, 3000ms))
        << "acks remove both from the inbox";
    (void)inflight;
}

// A TCP session is sent to another node's TCP host:port, a WebSocket session to its WebSocket
// URL (cluster.advertise_ws, by default server.ws_listen): a browser cannot dial a TCP port.
// Old code: both got the TCP address.
TEST_F(ClusterTest, DrainSendsReconnectToAnotherLiveNode) {
    start_nodes();
    auto c = login(0, 990);
    auto w = login(0, 991, "android", Transport::Ws);
    ::kill(nodes_[0]->pid(), SIGTERM);
    auto kick = c->wait_code(Code::Kick, 5000ms);
    ASSERT_TRUE(kick);
    pb::Kick k;
    ASSERT_TRUE(kick->parse(k));
    EXPECT_EQ(k.reason(), "draining");
    std::set<std::string> others = {"127.0.0.1:" + std::to_string(nodes_[1]->tcp_port()),
                                    "127.0.0.1:" + std::to_string(nodes_[2]->tcp_port())};
    EXPECT_TRUE(others.count(k.reconnect_to())) << "reconnect_to=" << k.reconnect_to();

    auto ws_kick = w->wait_code(Code::Kick, 5000ms);
    ASSERT_TRUE(ws_kick);
    pb::Kick wk;
    ASSERT_TRUE(ws_kick->parse(wk));
    EXPECT_EQ(wk.reason(), "draining");
    std::set<std::string> ws_others = {
        "ws://127.0.0.1:" + std::to_string(nodes_[1]->ws_port()) + "/ws",
        "ws://127.0.0.1:" + std::to_string(nodes_[2]->ws_port()) + "/ws"};
    EXPECT_TRUE(ws_others.count(wk.reconnect_to())) << "reconnect_to=" << wk.reconnect_to();
    EXPECT_EQ(nodes_[0]->stop(0, 10000ms), 0);
}

// Over TLS (one certificate, both listeners): a WebSocket session gets wss://…/ws, in the scheme
// it came over; a TCP+TLS session host:port. Old code: both got the TCP host:port.
TEST_F(ClusterTest, DrainSendsTlsWebSocketSessionsAWssUrl) {
    TempDir dir;
    const std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
    const std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + key +
        " -out " + cert +
        " -days 1 -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl must be installed";
    start_nodes({"--tls-cert", cert, "--tls-key", key});
    auto tls = [&](Transport t) {
        auto o = client_options(*nodes_[0], t);
        o.tls = true;
        o.ca_file = cert;
        return o;
    };
    auto c = login_with(tls(Transport::Tcp), token_for(992, 3600, "viewer"));
    auto w = login_with(tls(Transport::Ws), token_for(993, 3600, "viewer"));
    ::kill(nodes_[0]->pid(), SIGTERM);
    std::set<std::string> tcp_others, wss_others;
    for (int i : {1, 2}) {
        tcp_others.insert("127.0.0.1:" + std::to_string(nodes_[i]->tcp_port()));
        wss_others.insert("wss://127.0.0.1:" + std::to_string(nodes_[i]->ws_port()) + "/ws");
    }
    auto kick = c->wait_code(Code::Kick, 5000ms);
    ASSERT_TRUE(kick);
    pb::Kick k;
    ASSERT_TRUE(kick->parse(k));
    EXPECT_TRUE(tcp_others.count(k.reconnect_to())) << "reconnect_to=" << k.reconnect_to();
    auto ws_kick = w->wait_code(Code::Kick, 5000ms);
    ASSERT_TRUE(ws_kick);
    pb::Kick wk;
    ASSERT_TRUE(ws_kick->parse(wk));
    EXPECT_TRUE(wss_others.count(wk.reconnect_to())) << "reconnect_to=" << wk.reconnect_to();
    EXPECT_EQ(nodes_[0]->stop(0, 10000ms), 0);
}

// Behind a TLS proxy the node sees plain WebSocket sessions that browsers opened as wss://:
// cluster.advertise_ws as a URL is what they are sent, as given.
TEST_F(ClusterTest, DrainSendsAnAdvertisedWsUrlAsGiven) {
    start_nodes({"--advertise-ws", "wss://public.example:8443/ws"});
    auto w = login(0, 994, "android", Transport::Ws);
    ::kill(nodes_[0]->pid(), SIGTERM);
    auto kick = w->wait_code(Code::Kick, 5000ms);
    ASSERT_TRUE(kick);
    pb::Kick k;
    ASSERT_TRUE(kick->parse(k));
    EXPECT_EQ(k.reconnect_to(), "wss://public.example:8443/ws");
    EXPECT_EQ(nodes_[0]->stop(0, 10000ms), 0);
}

}  // namespace
