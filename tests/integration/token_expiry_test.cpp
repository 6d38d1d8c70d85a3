// tests/integration/token_expiry_test: a session does not outlive its token. A real livepushd
// (leeway 0) and real clients: a session logged in with a 2 s token is sent KICK token_expired
// and closed soon after exp, while a long-token session and a guest on the same node stay;
// with auth.expire_sessions=false the short-token session stays too. The kicks are counted in
// livepush_token_expired_kicks_total.
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include "codec/envelope.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "test_clients.hpp"

namespace {

namespace pb = livepush::v1;
using lp::client::Connection;
using lp::codec::Code;
using lp::testing::client_options;
using lp::testing::HttpClient;
using lp::testing::login_with;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::token_for;
using namespace std::chrono_literals;

constexpr std::int64_t kShortTtlS = 2;

TEST(TokenExpiry, ShortTokenSessionIsKickedAtExpAndLongTokenAndGuestStay) {
    NodeProcess node({"--jwt-leeway-s", "0", "--guests", "true"});
    auto short_lived = login_with(client_options(node), token_for(501, kShortTtlS));
    auto long_lived = login_with(client_options(node), token_for(502, 3600));
    auto guest = login_with(client_options(node, lp::client::Transport::Ws), "", "web");
    ASSERT_TRUE(short_lived->heartbeat()) << "the short token is valid at first";

    // exp is at most 2 s away, the kick lands at the next whole second after it: 3 s at most,
    // plus a tick; 10 s is a generous bound for a loaded machine.
    auto kick = short_lived->wait_code(Code::Kick, 10000ms);
    ASSERT_TRUE(kick) << "a session whose token expired must be kicked";
    pb::Kick k;
    ASSERT_TRUE(kick->parse(k));
    EXPECT_EQ(k.reason(), "token_expired");
    EXPECT_TRUE(short_lived->wait_closed(3000ms));

    EXPECT_TRUE(long_lived->heartbeat()) << "a session with a long token must stay";
    EXPECT_TRUE(guest->heartbeat()) << "a guest has no token and must never be kicked for it";

    HttpClient api(node.api_port());
    const std::string metrics = api.get("/metrics").body;
    EXPECT_EQ(metric_value(metrics, "livepush_token_expired_kicks_total"), 1);
    EXPECT_EQ(metric_value(metrics, R"(livepush_kicks_total{reason="token_expired"})"), 1);
}

TEST(TokenExpiry, HeartbeatsDoNotPostponeTheExpiry) {
    // A session that heartbeats more often than the heartbeat deadline must still be kicked:
    // the heartbeat moves only the liveness deadline, never past the token's exp.
    NodeProcess node({"--jwt-leeway-s", "0", "--heartbeat-interval-ms", "300"});
    auto c = login_with(client_options(node), token_for(503, kShortTtlS));
    const auto start = std::chrono::steady_clock::now();
    bool kicked = false;
    while (std::chrono::steady_clock::now() - start < 10s) {
        if (!c->heartbeat()) {
            kicked = true;
            break;
        }
        std::this_thread::sleep_for(100ms);
    }
    ASSERT_TRUE(kicked) << "a heartbeating session must be closed once its token expired";
    EXPECT_TRUE(c->wait_closed(3000ms));
}

TEST(TokenExpiry, ExpireSessionsFalseKeepsTheSession) {
    NodeProcess node({"--jwt-leeway-s", "0", "--expire-sessions", "false"});
    auto c = login_with(client_options(node), token_for(504, kShortTtlS));
    // Well past exp (2 s) and the kick it would have had (3 s at most).
    std::this_thread::sleep_for(4500ms);
    EXPECT_FALSE(c->wait_code(Code::Kick, 200ms)) << "auth.expire_sessions=false: no kick";
    EXPECT_TRUE(c->heartbeat()) << "auth.expire_sessions=false: the session outlives its token";
    HttpClient api(node.api_port());
    EXPECT_EQ(metric_value(api.get("/metrics").body, "livepush_token_expired_kicks_total"), 0);
}

}  // namespace
