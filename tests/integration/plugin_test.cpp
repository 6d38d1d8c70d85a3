// tests/integration/plugin_test: plugins in a real livepushd: gift effects end to end, the
// external shared-object plugin loading and serving a BIZ type and a route, a throwing plugin
// that must not take the node down, and Kafka: gift events produced by another process (kcat)
// into librdkafka's mock cluster become room effects, and room.chat goes upstream. Rank: week-star
// ties 50 ms apart, through the HTTP API.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>

#include "../plugins/kafka_mock.hpp"
#include "eventually.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "test_clients.hpp"

#ifndef LIVEPUSH_ECHO_PLUGIN
#error "LIVEPUSH_ECHO_PLUGIN must name the example plugin's shared object"
#endif

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::client::Transport;
using lp::codec::Code;
using lp::testing::HttpClient;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::push_of_type;
using lp::testing::token_for;
using namespace std::chrono_literals;

std::unique_ptr<Connection> login(const NodeProcess& n, std::uint64_t user,
                                  Transport t = Transport::Tcp) {
    return lp::testing::login_with(lp::testing::client_options(n, t), token_for(user));
}

std::string gift_event(const std::string& id, std::uint64_t room, std::uint64_t sender,
                       const std::string& extra = "") {
    return "{\"event_id\":\"" + id + "\",\"room_id\":" + std::to_string(room) +
           ",\"anchor_id\":900,\"sender_id\":" + std::to_string(sender) +
           ",\"channel_id\":1,\"gift_id\":7,\"count\":3,\"value\":\"12.5\",\"ts_ms\":1" + extra +
           "}";
}

TEST(GiftPlugin, EventBecomesRoomEffectAndSenderConfirmationOnce) {
    NodeProcess node({"--set", "plugins.enabled=gift"});
    HttpClient api(node.api_port());
    auto viewer = login(node, 10, Transport::Ws);
    auto sender = login(node, 11);
    auto outsider = login(node, 12);
    ASSERT_TRUE(viewer->biz("room.enter", R"({"room_id":1})"));
    ASSERT_TRUE(sender->biz("room.enter", R"({"room_id":1})"));
    auto r = api.post("/v1/gift/events", gift_event("g-1", 1, 11));
    ASSERT_EQ(r.status, 202) << r.body;
    auto effect = push_of_type(*viewer, "gift.effect");
    ASSERT_TRUE(effect) << "the room gets the effect";
    auto p = json::parse(effect->payload()).as_object();
    EXPECT_EQ(p.at("sender_id").as_string(), "11");
    EXPECT_EQ(p.at("count").to_number<int>(), 3);
    EXPECT_TRUE(p.contains("effect"));
    EXPECT_NE(effect->payload().find(R"("value":12.5)"), std::string::npos)
        << "a decimal value is a plain JSON number, no exponent: " << effect->payload();
    EXPECT_EQ(json::parse(r.body).at("duplicate"), false);
    auto f = sender->wait_for([](const lp::client::Frame& fr) {
        pb::Push push;
        return fr.code() == Code::Push && fr.parse(push) && push.type() == "gift.confirmed";
    });
    ASSERT_TRUE(f) << "the sender gets a confirmation";
    EXPECT_TRUE(f->header.flags & lp::codec::kAckRequired);
    // The same event again (a redelivery): handled once, and the answer says so (it was a 202
    // "accepted" that did nothing before issue 12).
    auto again = api.post("/v1/gift/events", gift_event("g-1", 1, 11));
    ASSERT_EQ(again.status, 200) << again.body;
    EXPECT_EQ(json::parse(again.body).at("duplicate"), true) << again.body;
    EXPECT_EQ(json::parse(again.body).at("accepted"), false) << again.body;
    EXPECT_FALSE(push_of_type(*viewer, "gift.effect", 600ms))
        << "a duplicate event_id is handled once";
    // A failed gift: the sender only.
    ASSERT_EQ(api.post("/v1/gift/events",
                       gift_event("g-2", 1, 11, ",\"status\":\"failed\",\"reason\":\"balance\""))
                  .status,
              202);
    auto failed = push_of_type(*sender, "gift.failed");
    ASSERT_TRUE(failed);
    EXPECT_EQ(json::parse(failed->payload()).at("reason").as_string(), "balance");
    EXPECT_FALSE(push_of_type(*viewer, "gift.failed", 300ms))
        << "a failure goes to the sender only";
    EXPECT_FALSE(outsider->next_push(0ms));
    EXPECT_EQ(api.post("/v1/gift/events", R"({"event_id":"x"})").status, 400);
}

TEST(RankPlugin, ReceiversReachingACount50msApartRankInThatOrder) {
    // Embedded: one node, its in-memory store. 801 reaches 3 roses 50 ms before 802, in the
    // same second: 801 ranks first (with ties by second, member order would put 802 first).
    NodeProcess node({"--set", "plugins.enabled=gift,rank"});
    HttpClient api(node.api_port());
    ASSERT_EQ(api.post("/v1/rank/weekstar/config",
                       R"({"channel_id":1,"gifts":[7],"web":true,"app":true})")
                  .status,
              200);
    const std::int64_t now = std::chrono::duration_cast<std::chrono::milliseconds>(
                                 std::chrono::system_clock::now().time_since_epoch())
                                 .count();
    const std::int64_t t0 = (now - 5000) / 1000 * 1000 + 100;  // .100 s and .150 s: one second
    auto event = [](const std::string& id, int anchor, std::int64_t ts) {
        return "{\"event_id\":\"" + id +
               "\",\"room_id\":9,\"anchor_id\":" + std::to_string(anchor) +
               ",\"sender_id\":11,\"channel_id\":1,\"gift_id\":7,\"count\":3,\"value\":\"1\",\"ts_"
               "ms\":" +
               std::to_string(ts) + "}";
    };
    ASSERT_EQ(api.post("/v1/gift/events", event("wk-2", 802, t0 + 50)).status,
              202);  // arrives first
    ASSERT_EQ(api.post("/v1/gift/events", event("wk-1", 801, t0)).status, 202);
    const std::string expected =
        R"([{"user_id":"801","score":3,"rank":1},{"user_id":"802","score":3,"rank":2}])";
    std::string seen;
    EXPECT_TRUE(lp::testing::eventually(
        [&] {  // events are counted on the plugin's worker
            auto board = api.get("/v1/rank/weekstar?channel=1&gift=7");
            seen = board.status == 200 ? json::serialize(board.json().at("entries")) : board.body;
            return seen == expected;
        },
        5s))
        << seen;
}

TEST(ExternalPlugin, SharedObjectLoadsAndServesBizAndRoutes) {
    NodeProcess node({"--set", std::string("plugins.load=") + LIVEPUSH_ECHO_PLUGIN, "--set",
                      "plugins.echo.greeting=ni hao"});
    HttpClient api(node.api_port());
    auto c = login(node, 20);
    auto r = c->biz("echo.say", R"({"text":"hi"})");
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code(), 0) << r->message();
    auto data = json::parse(r->data()).as_object();
    EXPECT_EQ(data.at("greeting").as_string(), "ni hao") << "the plugin reads its config section";
    EXPECT_EQ(data.at("echo").at("text").as_string(), "hi");
    auto p = push_of_type(*c, "echo.said");
    ASSERT_TRUE(p) << "the plugin pushes through its context";
    auto ping = api.get("/v1/echo/ping");
    EXPECT_EQ(ping.status, 200);
    EXPECT_EQ(ping.json().at("node").as_string(), "test-node");
}

TEST(ExternalPlugin, AThrowingPluginDoesNotTakeTheNodeDown) {
    NodeProcess node({"--set", std::string("plugins.load=") + LIVEPUSH_ECHO_PLUGIN});
    HttpClient api(node.api_port());
    auto c = login(node, 30);
    auto r = c->biz("echo.throw", "{}");
    ASSERT_TRUE(r) << "a BIZ_RESULT still comes back";
    EXPECT_NE(r->code(), 0);
    EXPECT_TRUE(c->heartbeat()) << "the connection stays";
    auto h = api.post("/v1/echo/throw", "{}");
    EXPECT_EQ(h.status, 500);
    EXPECT_TRUE(h.json().as_object().contains("error"));
    auto ok = c->biz("echo.say", "{}");
    ASSERT_TRUE(ok);
    EXPECT_EQ(ok->code(), 0) << "the plugin keeps serving after it threw";
    EXPECT_TRUE(node.running());
    auto m = api.get("/metrics").body;
    EXPECT_EQ(metric_value(m, "livepush_plugin_failures_total{plugin=\"echo\"}"), 2);
}

TEST(ExternalPlugin, ASlowPluginCallDoesNotStallItsLoop) {
    // One loop: every session shares it. A plugin call that waits (on a slow store, say) runs
    // on a plugin worker; the loop keeps answering the other sessions meanwhile.
    NodeProcess node(
        {"--set", std::string("plugins.load=") + LIVEPUSH_ECHO_PLUGIN, "--loops", "1"});
    HttpClient api(node.api_port());
    auto slow = login(node, 60);
    auto other = login(node, 61);
    std::optional<pb::Result> slow_result;
    std::atomic<bool> slow_done{false};
    std::thread t([&] {
        slow_result = slow->biz("echo.wait", R"({"ms":3000})");
        slow_done = true;
    });
    for (int i = 0; i < 500 && metric_value(api.get("/metrics").body,
                                            "livepush_plugin_calls_total{plugin=\"echo\"}") != 1;
         ++i)
        std::this_thread::sleep_for(10ms);  // until the wait has begun
    const auto t0 = std::chrono::steady_clock::now();
    EXPECT_TRUE(other->heartbeat());
    auto enter = other->biz("room.enter", R"({"room_id":6})");
    ASSERT_TRUE(enter);
    EXPECT_EQ(enter->code(), 0);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 1500ms)
        << "the loop answered while the plugin waited";
    EXPECT_FALSE(slow_done.load()) << "and before the plugin did";
    t.join();
    ASSERT_TRUE(slow_result);
    EXPECT_EQ(slow_result->code(), 0);
    EXPECT_EQ(json::parse(slow_result->data()).at("waited_ms").to_number<int>(), 3000);
}

TEST(ExternalPlugin, AFullPluginQueueAnswersBusyAndRecovers) {
    NodeProcess node({"--set", std::string("plugins.load=") + LIVEPUSH_ECHO_PLUGIN, "--set",
                      "server.plugin_workers=1", "--set", "server.plugin_queue_max=1"});
    HttpClient api(node.api_port());
    auto a = login(node, 70), b = login(node, 71), c = login(node, 72);
    std::optional<pb::Result> ra, rb;
    auto metric_reaches = [&](const std::string& name, double value) {
        for (int i = 0; i < 500; ++i) {
            if (metric_value(api.get("/metrics").body, name) == value) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    };
    std::thread ta([&] { ra = a->biz("echo.wait", R"({"ms":1500})"); });  // runs on the one worker
    ASSERT_TRUE(metric_reaches("livepush_plugin_calls_total{plugin=\"echo\"}", 1))
        << "a's call is running";
    std::thread tb([&] { rb = b->biz("echo.wait", R"({"ms":10})"); });  // waits: the queue is full
    ASSERT_TRUE(metric_reaches("livepush_plugin_biz_queued", 1)) << "b's call is queued";
    auto rc = c->biz("echo.say", R"({"text":"hi"})");
    ASSERT_TRUE(rc);
    EXPECT_EQ(rc->code(), pb::BUSY) << rc->message();
    ta.join();
    tb.join();
    ASSERT_TRUE(ra && rb);
    EXPECT_EQ(ra->code(), 0);
    EXPECT_EQ(rb->code(), 0) << "what was queued is still answered";
    auto again = c->biz("echo.say", R"({"text":"hi"})");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->code(), 0) << "busy passes";
    auto m = api.get("/metrics").body;
    EXPECT_EQ(metric_value(m, "livepush_plugin_biz_total{result=\"busy\"}"), 1);
    // The run counter may be bumped just after the answer went out: wait for it.
    EXPECT_TRUE(metric_reaches("livepush_plugin_biz_total{result=\"run\"}", 3))
        << "a, b and c's second call ran";
}

TEST(ExternalPlugin, AMissingLibraryIsAClearStartupError) {
    try {
        NodeProcess node({"--set", "plugins.load=/nonexistent/libnothing.so"});
        FAIL() << "livepushd started with a plugin library that does not exist";
    } catch (const std::runtime_error& e) {
        // NodeProcess's message carries the server's log: the error names the key, the path and
        // why the library could not be loaded.
        const std::string what = e.what();
        EXPECT_NE(what.find("plugins.load: /nonexistent/libnothing.so: "), std::string::npos)
            << what;
        EXPECT_NE(what.find("No such file or directory"), std::string::npos) << what;
    }
}

// ------------------------------------------------------------------ Kafka

// Runs cmd (with stdin_text on its stdin, if any) and returns its stdout; *status gets the
// exit status (-1 if it could not run or did not exit normally).
std::string run(const std::string& cmd, const std::string& stdin_text = "", int* status = nullptr) {
    std::string out;
    if (status) *status = -1;
    FILE* p = ::popen(cmd.c_str(), stdin_text.empty() ? "r" : "w");
    if (!p) return out;
    if (stdin_text.empty()) {
        char buf[4096];
        std::size_t n;
        while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
    } else {
        std::fwrite(stdin_text.data(), 1, stdin_text.size(), p);
    }
    const int rc = ::pclose(p);
    if (status && rc != -1 && WIFEXITED(rc)) *status = WEXITSTATUS(rc);
    return out;
}

TEST(KafkaGift, EventsProducedByAnotherProcessBecomeRoomEffects) {
    lp::test::KafkaMockCluster kafka(3);
    kafka.create_topic("gift", 3);
    kafka.create_topic("livepush.upstream", 3);
    NodeProcess node({"--kafka", kafka.bootstraps(), "--set", "plugins.enabled=gift"});
    HttpClient api(node.api_port());
    auto viewer = login(node, 40);
    ASSERT_TRUE(viewer->biz("room.enter", R"({"room_id":5})"));
    // kcat, another process, produces two events (one of them twice) into the mock cluster.
    std::string events = gift_event("k-1", 5, 41) + "\n" + gift_event("k-2", 5, 41) + "\n" +
                         gift_event("k-1", 5, 41) + "\n";
    int kcat_status = -1;
    run("kcat -P -b " + kafka.bootstraps() + " -t gift -k room5 2>/dev/null", events, &kcat_status);
    ASSERT_EQ(kcat_status, 0) << "kcat could not produce the events";
    std::set<std::string> seen;
    auto until = std::chrono::steady_clock::now() + 20s;
    while (seen.size() < 2 && std::chrono::steady_clock::now() < until) {
        auto p = push_of_type(*viewer, "gift.effect", 1000ms);
        if (p) seen.insert(std::string(json::parse(p->payload()).at("event_id").as_string()));
    }
    EXPECT_EQ(seen, (std::set<std::string>{"k-1", "k-2"}));
    EXPECT_FALSE(push_of_type(*viewer, "gift.effect", 1000ms))
        << "k-1 was produced twice, handled once";
    // ... and the second k-1 was dropped as a duplicate (not lost, not failed).
    const std::string dup = "livepush_kafka_events_total{result=\"duplicate\"}";
    double duplicates = 0;
    for (int i = 0; i < 100 && duplicates < 1; ++i) {
        duplicates = metric_value(api.get("/metrics").body, dup);
        if (duplicates < 1) std::this_thread::sleep_for(100ms);
    }
    EXPECT_EQ(duplicates, 1) << "the repeated k-1 counts as one duplicate";
    EXPECT_EQ(
        metric_value(api.get("/metrics").body, "livepush_kafka_events_total{result=\"failed\"}"),
        0);

    // A client's room.chat goes upstream for business services, keyed by room.
    ASSERT_TRUE(viewer->biz("room.chat", R"({"room_id":5,"text":"upstream please"})"));
    std::string got;
    for (int i = 0; i < 20 && got.find("upstream please") == std::string::npos; ++i) {
        got = run("kcat -C -b " + kafka.bootstraps() +
                      " -t livepush.upstream -o beginning -e -q -f '%k %s\\n' 2>/dev/null",
                  "", &kcat_status);
        EXPECT_EQ(kcat_status, 0) << "kcat could not consume";
        if (got.find("upstream please") == std::string::npos) std::this_thread::sleep_for(500ms);
    }
    EXPECT_NE(got.find("upstream please"), std::string::npos) << got;
    EXPECT_EQ(got.rfind("5 ", 0), 0u) << "keyed by room: " << got;
    EXPECT_EQ(
        metric_value(api.get("/metrics").body, "livepush_kafka_events_total{result=\"handled\"}"),
        2);
}

}  // namespace
