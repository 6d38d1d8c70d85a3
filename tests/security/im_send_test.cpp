// tests/security/im_send_test: im.send and qos1 delivery as trust boundaries, attacked from
// outside against real livepushd processes (and a real redis-server where the edge needs one):
//   - a flooder cannot push a victim's earlier messages out of the inbox (per-sender share);
//   - im.send is rate limited per sender and its payload bounded;
//   - with Redis down im.send says UNAVAILABLE, never "sent", and works again once Redis is back;
//   - a session that never acks cannot grow the node's waiting queue past its bound, and loses
//     nothing: after a reconnect and acks every message arrives;
//   - im.send and the login inbox load do not block the event loop while Redis hangs.
// Never asserts on speed except where blocking is the attack, and then with a wide margin.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "codec/envelope.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "redis_server.hpp"
#include "test_clients.hpp"
#include "tests/integration/eventually.hpp"

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::codec::Code;
using lp::testing::HttpClient;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::RedisServer;
using lp::testing::token_for;
using namespace std::chrono_literals;

using lp::testing::eventually;

std::unique_ptr<Connection> login(const NodeProcess& n, std::uint64_t user,
                                  const std::string& platform = "android") {
    return lp::testing::login_with(lp::testing::client_options(n), token_for(user), platform);
}

std::string im_to(std::uint64_t to, const std::string& text) {
    return "{\"to\":" + std::to_string(to) + ",\"payload\":{\"text\":\"" + text + "\"}}";
}

double metric(HttpClient& api, const std::string& name) {
    return metric_value(api.get("/metrics").body, name);
}

std::vector<std::string> cluster_args(const RedisServer& r) {
    return {"--redis", "127.0.0.1:" + std::to_string(r.port()), "--link-listen", "127.0.0.1:0"};
}

// ------------------------------------------------------------------ the inbox share

TEST(ImSendShare, AFlooderIsRefusedAfterItsShareAndTheVictimsEarlierMessageSurvives) {
    // Rate limits off: this test is about the inbox, the rate limit has its own test.
    NodeProcess node(
        {"--set", "im.rate_per_s=0", "--biz-rate-per-s", "0", "--inbox-max-per-sender", "100"});
    HttpClient api(node.api_port());
    const std::uint64_t victim = 500, flooder = 600;
    auto earlier = api.post(
        "/v1/push/user", R"({"user_id":500,"type":"bank.otp","payload":{"code":"1234"},"qos":1})");
    ASSERT_EQ(earlier.status, 200) << earlier.body;
    const std::uint64_t earlier_id =
        std::stoull(std::string(earlier.json().at("msg_id").as_string()));

    auto f = login(node, flooder);
    int ok = 0, share_full = 0, other = 0;
    for (int i = 0; i < 1001; ++i) {
        auto r = f->biz("im.send", im_to(victim, "spam" + std::to_string(i)));
        ASSERT_TRUE(r) << "no reply to im.send #" << i;
        if (r->code() == 0)
            ++ok;
        else if (r->code() == pb::INBOX_SHARE_FULL)
            ++share_full;
        else
            ++other;
        if (r->code() == pb::INBOX_SHARE_FULL && share_full == 1) {
            EXPECT_NE(r->message().find("inbox_max_per_sender"), std::string::npos) << r->message();
        }
    }
    EXPECT_EQ(ok, 100);
    EXPECT_EQ(share_full, 901);
    EXPECT_EQ(other, 0);
    EXPECT_EQ(metric(api, "livepush_im_refused_total{reason=\"inbox_share\"}"), 901);

    auto v = login(node, victim);
    std::set<std::uint64_t> got;
    bool saw_earlier = false;
    while (auto p = v->next_push(2000ms)) {
        got.insert(p->msg_id());
        saw_earlier |= p->msg_id() == earlier_id;
        v->ack({p->msg_id()});
        if (got.size() == 101) break;
    }
    EXPECT_TRUE(saw_earlier) << "the victim's earlier message was pushed out of the inbox";
    EXPECT_EQ(got.size(), 101u);
}

// ------------------------------------------------------------------ rate and size

TEST(ImSendLimits, ASenderOverItsRateIsRefusedAndCounted) {
    NodeProcess node({"--set", "im.rate_per_s=5", "--biz-rate-per-s", "0"});
    HttpClient api(node.api_port());
    // One user, three sessions (platforms): the rate is the user's, not each session's.
    std::vector<std::unique_ptr<Connection>> sessions;
    for (const char* platform : {"android", "web", "ios"})
        sessions.push_back(login(node, 700, platform));
    int ok = 0, limited = 0;
    for (int i = 0; i < 60; ++i) {
        auto r = sessions[i % 3]->biz("im.send", im_to(701, "x"));
        ASSERT_TRUE(r);
        if (r->code() == 0) {
            ++ok;
        } else {
            EXPECT_EQ(r->code(), pb::IM_RATE_LIMITED) << r->message();
            EXPECT_NE(r->message().find("im.rate_per_s"), std::string::npos) << r->message();
            ++limited;
        }
    }
    // A burst of 10 (twice the rate), plus what refills while the loop runs (60 round trips on
    // loopback; a wide margin for a slow machine). A bucket per session would let 30+ through.
    EXPECT_GE(ok, 10);
    EXPECT_LT(ok, 25);
    EXPECT_GT(limited, 0);
    EXPECT_EQ(metric(api, "livepush_im_refused_total{reason=\"rate\"}"), limited);
}

TEST(ImSendLimits, APayloadOverTheLimitIsRefusedNamingIt) {
    NodeProcess node({"--set", "im.max_payload_bytes=1024"});
    HttpClient api(node.api_port());
    auto a = login(node, 710);
    auto r = a->biz("im.send", im_to(711, std::string(2000, 'a')));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), pb::PAYLOAD_TOO_LARGE);
    EXPECT_NE(r->message().find("im.max_payload_bytes"), std::string::npos) << r->message();
    EXPECT_EQ(r->msg_id(), 0u);
    auto small = a->biz("im.send", im_to(711, std::string(900, 'a')));
    ASSERT_TRUE(small);
    EXPECT_EQ(small->code(), 0) << small->message();
    EXPECT_EQ(metric(api, "livepush_im_refused_total{reason=\"payload\"}"), 1);
}

// ------------------------------------------------------------------ no false success

TEST(ImSendStore, WithRedisDownImSendSaysUnavailableAndWorksAgainAfter) {
    RedisServer redis;
    NodeProcess node(cluster_args(redis));
    HttpClient api(node.api_port());
    auto a = login(node, 800);
    auto before = a->biz("im.send", im_to(801, "before"));
    ASSERT_TRUE(before);
    ASSERT_EQ(before->code(), 0) << before->message();

    redis.kill9();
    auto r = a->biz("im.send", im_to(801, "while down"));
    ASSERT_TRUE(r) << "no reply while Redis is down";
    EXPECT_EQ(r->code(), pb::UNAVAILABLE)
        << "im.send claimed success with nothing stored: " << r->message();
    EXPECT_NE(r->message().find("not stored"), std::string::npos) << r->message();
    EXPECT_EQ(r->msg_id(), 0u) << "no msg_id for a message that was not stored";
    EXPECT_GE(metric(api, "livepush_im_refused_total{reason=\"unavailable\"}"), 1);

    redis.start();
    std::optional<pb::Result> after;
    EXPECT_TRUE(eventually(
        [&] {
            after = a->biz("im.send", im_to(801, "after"));
            return after && after->code() == 0;
        },
        20s))
        << (after ? after->message() : "no reply");
    // Redis restarted empty ("before" is gone with it); "after" is stored and replayed.
    auto b = login(node, 801);
    auto p = b->next_push(5000ms);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->msg_id(), after->msg_id());
}

// ------------------------------------------------------------------ bounded waiting queue

void never_acking_session_stays_under_the_bound(std::vector<std::string> args) {
    args.insert(args.end(), {"--delivery-window", "4", "--delivery-waiting-max", "10",
                             "--delivery-retry-ms", "60000"});
    NodeProcess node(args);
    HttpClient api(node.api_port());
    auto silent = login(node, 900);
    std::set<std::uint64_t> sent;
    for (int i = 0; i < 100; ++i) {
        auto r = api.post("/v1/push/user", "{\"user_id\":900,\"type\":\"t\",\"payload\":{\"i\":" +
                                               std::to_string(i) + "},\"qos\":1}");
        EXPECT_EQ(r.status, 200) << r.body;
        if (r.status != 200) return;
        sent.insert(std::stoull(std::string(r.json().at("msg_id").as_string())));
    }
    EXPECT_TRUE(
        eventually([&] { return metric(api, "livepush_qos1_waiting_overflow_total") == 86; }, 10s))
        << metric(api, "livepush_qos1_waiting_overflow_total");
    EXPECT_LE(metric(api, "livepush_qos1_waiting"), 10);
    EXPECT_EQ(metric(api, "livepush_qos1_inflight"), 4);

    silent->close();
    EXPECT_TRUE(eventually([&] { return metric(api, "livepush_sessions_logged_in") == 0; }, 10s));
    auto again = login(node, 900);
    std::set<std::uint64_t> got;
    while (got.size() < sent.size()) {
        auto p = again->next_push(5000ms);
        if (!p) break;
        got.insert(p->msg_id());
        again->ack({p->msg_id()});
    }
    EXPECT_EQ(got, sent) << "got " << got.size() << " of " << sent.size();
    EXPECT_LE(metric(api, "livepush_qos1_waiting"), 10);
}

TEST(Qos1Waiting, ANeverAckingSessionStaysUnderTheBoundAndLosesNothing) {
    never_acking_session_stays_under_the_bound({});
}

TEST(Qos1Waiting, TheSameInClusterModeWhereTheInboxIsRedis) {
    RedisServer redis;
    never_acking_session_stays_under_the_bound(cluster_args(redis));
}

// ------------------------------------------------------------------ replay order, off the loop

TEST(ImSendLoop, TheLoginReplayComesFirstAndOnceWhileNewMessagesArriveDuringTheLoad) {
    RedisServer redis;
    auto args = cluster_args(redis);
    args.insert(args.end(), {"--loops", "1"});
    NodeProcess node(args);
    HttpClient api(node.api_port());
    std::vector<std::uint64_t> sent;
    auto push = [&](int i) {
        auto r = api.post("/v1/push/user", "{\"user_id\":1100,\"type\":\"t\",\"payload\":{\"i\":" +
                                               std::to_string(i) + "},\"qos\":1}");
        EXPECT_EQ(r.status, 200) << r.body;
        if (r.status == 200)
            sent.push_back(std::stoull(std::string(r.json().at("msg_id").as_string())));
    };
    for (int i = 0; i < 3; ++i) push(i);  // offline: stored

    // Redis busy for 400 ms: the login's inbox load waits on a worker; pushes arrive meanwhile.
    std::thread sleeper([&] {
        std::system(("redis-cli -p " + std::to_string(redis.port()) + " DEBUG SLEEP 0.4 >/dev/null")
                        .c_str());
    });
    std::this_thread::sleep_for(50ms);
    Connection v(lp::testing::client_options(node));
    ASSERT_FALSE(v.connect());
    pb::LoginReq lr;
    lr.set_token(token_for(1100));
    lr.set_platform("android");
    v.send(Code::Login, lr);
    for (int i = 3; i < 6; ++i) push(i);
    sleeper.join();

    std::vector<std::uint64_t> got;
    while (got.size() < 10) {
        auto p = v.next_push(3000ms);
        if (!p) break;
        got.push_back(p->msg_id());
        v.ack({p->msg_id()});
    }
    EXPECT_EQ(got, sent) << "every message once, the stored ones first, in order";
}

// ------------------------------------------------------------------ the loop is not blocked

TEST(ImSendLoop, AHungRedisDoesNotStallOtherSessionsOfTheLoop) {
    RedisServer redis;
    auto args = cluster_args(redis);
    args.insert(args.end(), {"--loops", "1", "--set", "plugins.enabled=", "--set",
                             "im.rate_per_s=0", "--biz-rate-per-s", "0"});
    NodeProcess node(args);
    auto sender = login(node, 1000);
    auto watcher = login(node, 1001);
    ASSERT_TRUE(watcher->heartbeat());

    redis.pause();  // holds its connections open, answers nothing
    // 20 im.sends to an offline user and 4 logins, each of which used to wait up to 500 ms for
    // Redis on the loop: at least 10 s of a stalled loop on the old code.
    for (int i = 0; i < 20; ++i) {
        pb::BizReq req;
        req.set_type("im.send");
        req.set_data(im_to(1002, "m" + std::to_string(i)));
        sender->send(Code::Biz, req);
    }
    std::vector<std::unique_ptr<Connection>> late;
    for (std::uint64_t u = 1010; u < 1014; ++u) {
        late.push_back(std::make_unique<Connection>(lp::testing::client_options(node)));
        ASSERT_FALSE(late.back()->connect());
        pb::LoginReq lr;
        lr.set_token(token_for(u));
        lr.set_platform("android");
        late.back()->send(Code::Login, lr);
    }
    std::this_thread::sleep_for(100ms);  // the loop has them queued (or is stuck in them)
    const auto t0 = std::chrono::steady_clock::now();
    auto pong = watcher->heartbeat();
    const auto waited = std::chrono::steady_clock::now() - t0;
    // Not a speed test: the order shows it. On a loop that waits for Redis, each im.send is
    // answered before the loop reads the next packet, so the sender's BIZ_RESULTs are written
    // before the watcher's PONG. Off the loop, each of them waits on a worker for a Redis that
    // answers nothing (500 ms at least), long after the PONG.
    auto early_result = sender->wait_code(Code::BizResult, 50ms);
    std::printf("heartbeat behind 20 im.sends + 4 logins with Redis paused: answered in %lld ms\n",
                static_cast<long long>(
                    std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()));
    redis.resume();
    ASSERT_TRUE(pong) << "no PONG within the client's 5 s timeout: the loop was blocked";
    EXPECT_FALSE(early_result)
        << "an im.send was answered before the PONG: it ran on the loop, which "
           "waited for Redis before it read the heartbeat";
    EXPECT_LT(waited, 3s) << "the heartbeat waited "
                          << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()
                          << " ms behind Redis round trips on the loop";
    // Every im.send is answered (refused or stored), none lost in the workers.
    int answered = early_result ? 1 : 0;
    while (answered < 20) {
        auto f = sender->wait_code(Code::BizResult, 10000ms);
        if (!f) break;
        ++answered;
    }
    EXPECT_EQ(answered, 20);
}

}  // namespace
