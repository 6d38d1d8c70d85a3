// tests/handlers/sender_rate_test: im.send's per-user token bucket (handlers/sender_rate.hpp):
// burst, refill, one bucket per user whatever the sessions, and memory that follows only the
// users who sent lately.
#include "handlers/sender_rate.hpp"

#include <gtest/gtest.h>

namespace lp::handlers {
namespace {

int taken(SenderRate& r, std::uint64_t user, std::uint64_t now, int tries) {
    int n = 0;
    for (int i = 0; i < tries; ++i) n += r.take(user, now) ? 1 : 0;
    return n;
}

TEST(SenderRate, ABurstThenTheRate) {
    SenderRate r(10, 20);
    EXPECT_EQ(taken(r, 1, 1000, 50), 20);
    EXPECT_EQ(taken(r, 1, 1000, 5), 0);
    EXPECT_EQ(taken(r, 1, 1500, 50), 5);    // half a second: 5 tokens
    EXPECT_EQ(taken(r, 1, 60000, 50), 20);  // never more than the burst
}

// room.chat_rate_per_s keys rooms and tells a refused sender when a token will be there.
TEST(SenderRate, ARefusalSaysHowLongUntilTheNextToken) {
    SenderRate r(100, 100);  // 10 ms a token
    for (int i = 0; i < 100; ++i) EXPECT_EQ(r.take_or_wait(7, 1000), 0u);
    EXPECT_EQ(r.take_or_wait(7, 1000), 10u);
    EXPECT_EQ(r.take_or_wait(7, 1004), 6u) << "4 ms later: 0.4 of a token";
    EXPECT_EQ(r.take_or_wait(7, 1010), 0u);
    SenderRate slow(2, 2);
    EXPECT_EQ(slow.take_or_wait(7, 0), 0u);
    EXPECT_EQ(slow.take_or_wait(7, 0), 0u);
    EXPECT_EQ(slow.take_or_wait(7, 0), 500u);
}

TEST(SenderRate, UsersHaveTheirOwnBuckets) {
    SenderRate r(1, 2);
    EXPECT_EQ(taken(r, 1, 0, 10), 2);
    EXPECT_EQ(taken(r, 2, 0, 10), 2);
}

TEST(SenderRate, ZeroRateIsUnlimited) {
    SenderRate r(0, 0);
    EXPECT_EQ(taken(r, 1, 0, 1000), 1000);
    EXPECT_EQ(r.tracked_users(), 0u);
}

TEST(SenderRate, UsersWhoseBucketRefilledAreForgotten) {
    SenderRate r(10, 20);
    for (std::uint64_t u = 1; u <= 100000; ++u) r.take(u, 1000);
    EXPECT_GT(r.tracked_users(), 10000u);  // all sent within the same second: all kept
    for (std::uint64_t u = 200001; u <= 300000; ++u) r.take(u, 10'000'000);
    // The first 100,000 are full again by then: swept as the stripes grew.
    EXPECT_LT(r.tracked_users(), 150000u);
}

}  // namespace
}  // namespace lp::handlers
