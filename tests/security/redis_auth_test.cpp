// tests/security/redis_auth_test: a node in front of a Redis that requires a password (and one
// with an ACL user) authenticates on connect, serves, and survives a Redis restart; with wrong
// credentials it refuses to start and says which settings to fix, without printing the secret.
#include <gtest/gtest.h>

#include <chrono>
#include <string>

#include "http_client.hpp"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "redis_server.hpp"

namespace {

using lp::client::Connection;
using lp::client::Options;
using lp::testing::HttpClient;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::RedisServer;
using lp::testing::token_for;
using namespace std::chrono_literals;

constexpr const char* kRedisPassword = "redis-test-password-7f3a";

std::vector<std::string> cluster_args(const RedisServer& redis, std::vector<std::string> extra) {
    std::vector<std::string> args = {"--redis",       "127.0.0.1:" + std::to_string(redis.port()),
                                     "--link-listen", "127.0.0.1:0",
                                     "--loops",       "1"};
    args.insert(args.end(), extra.begin(), extra.end());
    return args;
}

void expect_serves(NodeProcess& node) {
    Options o;
    o.port = node.tcp_port();
    Connection c(o);
    ASSERT_FALSE(c.connect());
    auto r = c.login(token_for(41));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), 0) << r->message();
    HttpClient api(node.api_port());
    auto metrics = api.get("/metrics").body;
    EXPECT_EQ(metric_value(metrics, "livepush_cluster_redis_up"), 1) << metrics;
    EXPECT_EQ(metric_value(metrics, "livepush_redis_auth_failures_total{redis=\"cluster\"}"), 0);
}

TEST(RedisAuth, NodeWithTheRightPasswordServes) {
    RedisServer redis({"--requirepass", kRedisPassword});
    NodeProcess node(cluster_args(redis, {"--redis-password", kRedisPassword}));
    expect_serves(node);
    EXPECT_EQ(node.log().find(kRedisPassword), std::string::npos)
        << "the password must never be logged";
}

TEST(RedisAuth, NodeWithAnAclUserServes) {
    RedisServer redis({"--user", "lpnode", "on", std::string(">") + kRedisPassword, "~*", "&*",
                       "+@all", "--user", "default", "off"});
    NodeProcess node(
        cluster_args(redis, {"--redis-user", "lpnode", "--redis-password", kRedisPassword}));
    expect_serves(node);
}

TEST(RedisAuth, WrongOrMissingPasswordRefusesToStartAndSaysWhy) {
    RedisServer redis({"--requirepass", kRedisPassword});
    for (std::vector<std::string> creds :
         {std::vector<std::string>{"--redis-password", "not-the-password-123"},
          std::vector<std::string>{}}) {
        try {
            NodeProcess node(cluster_args(redis, creds));
            ADD_FAILURE() << "a node with wrong Redis credentials must not become ready";
        } catch (const std::runtime_error& e) {
            const std::string log = e.what();
            EXPECT_NE(log.find("refused our credentials"), std::string::npos) << log;
            EXPECT_NE(log.find("cluster.redis_password"), std::string::npos) << log;
            EXPECT_EQ(log.find("not-the-password-123"), std::string::npos)
                << "secret in the log: " << log;
        }
    }
}

}  // namespace
