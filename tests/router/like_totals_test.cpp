// tests/router/like_totals_test: the two stores of rooms' likes totals (router/like_totals.hpp,
// router/redis_like_totals.hpp). Each add answers the total after it, in the order of the adds;
// known() never waits. The Redis store keeps the total in lp:{room:ID}:likes with the TTL,
// shares it between nodes (a second store, a restarted home, goes on from it), answers a cold
// room with what it has (0) while it reads the total, then the total; and a failed add says so
// (nullopt) instead of inventing a total. Against a real redis-server on a run-time port.
#include "router/like_totals.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <optional>
#include <vector>

#include "redis/client.hpp"
#include "redis_server.hpp"
#include "router/redis_like_totals.hpp"
#include "tests/integration/eventually.hpp"

namespace {

using lp::router::MemoryLikeTotals;
using lp::router::RedisLikeTotals;
using lp::testing::eventually;
using namespace std::chrono_literals;

// The answers of add(), in the order they came.
struct Answers {
    std::mutex mu;
    std::vector<std::optional<std::uint64_t>> got;
    lp::router::LikeTotals::Done done() {
        return [this](std::optional<std::uint64_t> t) {
            std::lock_guard lock(mu);
            got.push_back(t);
        };
    }
    std::size_t size() {
        std::lock_guard lock(mu);
        return got.size();
    }
};

TEST(MemoryLikeTotals, EachAddAnswersTheTotalAfterItPerRoom) {
    MemoryLikeTotals totals(std::chrono::seconds(3600));
    Answers a;
    totals.add(1, 5, a.done());
    totals.add(1, 7, a.done());
    totals.add(2, 1, a.done());
    ASSERT_EQ(a.size(), 3u) << "the memory store answers at once";
    EXPECT_EQ(a.got[0], 5u);
    EXPECT_EQ(a.got[1], 12u);
    EXPECT_EQ(a.got[2], 1u);
    EXPECT_EQ(totals.known(1), 12u);
    EXPECT_EQ(totals.known(2), 1u);
    EXPECT_EQ(totals.known(3), 0u) << "a room never liked";
}

TEST(MemoryLikeTotals, ATotalIsForgottenAfterTheTtlWithoutLikes) {
    MemoryLikeTotals totals(std::chrono::seconds(1));
    totals.add(1, 5, {});
    EXPECT_EQ(totals.known(1), 5u);
    ASSERT_TRUE(eventually([&] { return totals.known(1) == 0; }, 5000ms, 50ms));
    Answers a;
    totals.add(1, 2, a.done());
    EXPECT_EQ(a.got.at(0), 2u) << "a forgotten total starts again";
}

lp::redis::Client::Options options_for(const lp::testing::RedisServer& server) {
    lp::redis::Client::Options o;
    o.host = server.host();
    o.port = server.port();
    o.connect_timeout = 500ms;
    o.command_timeout = 1000ms;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    return o;
}

TEST(RedisLikeTotals, TheTotalIsInRedisSharedAndSurvivesTheStore) {
    lp::testing::RedisServer server;
    lp::redis::Client redis(options_for(server));
    redis.start();
    ASSERT_TRUE(eventually([&] { return redis.connected(); }));

    Answers a;
    {
        RedisLikeTotals home(redis, std::chrono::seconds(600));
        home.add(42, 5, a.done());
        home.add(42, 3, a.done());
        ASSERT_TRUE(eventually([&] { return a.size() == 2; }));
        EXPECT_EQ(a.got[0], 5u);
        EXPECT_EQ(a.got[1], 8u);
        EXPECT_EQ(home.known(42), 8u) << "the home's cache has its adds";
    }
    EXPECT_EQ(RedisLikeTotals::key(42), "lp:{room:42}:likes");
    auto v = redis.command_sync({"GET", "lp:{room:42}:likes"}, 1000ms);
    EXPECT_EQ(v.str, "8");
    auto ttl = redis.command_sync({"PTTL", "lp:{room:42}:likes"}, 1000ms);
    EXPECT_GT(ttl.integer, 500000) << "room.likes_ttl_s on the key";

    // A new home (another node, or this one restarted): a cold room answers what it has, then
    // the total it read; its adds go on from the total in Redis.
    RedisLikeTotals next(redis, std::chrono::seconds(600));
    EXPECT_EQ(next.known(42), 0u) << "cold: never waits for Redis";
    EXPECT_TRUE(eventually([&] { return next.known(42) == 8; }));
    next.add(42, 2, a.done());
    ASSERT_TRUE(eventually([&] { return a.size() == 3; }));
    EXPECT_EQ(a.got[2], 10u);
    redis.stop();
}

TEST(RedisLikeTotals, AFailedAddIsReportedNotCounted) {
    lp::testing::RedisServer server;
    lp::redis::Client redis(options_for(server));
    redis.start();
    ASSERT_TRUE(eventually([&] { return redis.connected(); }));
    RedisLikeTotals totals(redis, std::chrono::seconds(600));
    server.stop();
    ASSERT_TRUE(eventually([&] { return !redis.connected(); }));
    Answers a;
    totals.add(7, 3, a.done());
    ASSERT_TRUE(eventually([&] { return a.size() == 1; }));
    EXPECT_EQ(a.got[0], std::nullopt) << "the caller keeps the likes and tries again";
    redis.stop();
}

}  // namespace
