// tests/server/timing_wheel_test: deadlines fire once, at the right tick, however they moved.
#include "server/timing_wheel.hpp"

#include <gtest/gtest.h>

#include <vector>

namespace {

using lp::server::TimingWheel;
using lp::server::WheelNode;

struct Fired {
    std::vector<std::pair<WheelNode*, std::uint64_t>> list;
};

TEST(TimingWheel, FiresAtItsDueTickAndNotBefore) {
    TimingWheel wheel(16);
    WheelNode a, b;
    wheel.set_due(a, 5);
    wheel.set_due(b, 9);
    std::vector<std::pair<WheelNode*, std::uint64_t>> fired;
    auto rec = [&](WheelNode& n) { fired.push_back({&n, wheel.now()}); };
    wheel.advance(4, rec);
    EXPECT_TRUE(fired.empty());
    wheel.advance(5, rec);
    ASSERT_EQ(fired.size(), 1u);
    EXPECT_EQ(fired[0].first, &a);
    EXPECT_EQ(fired[0].second, 5u);
    EXPECT_FALSE(a.linked());
    wheel.advance(20, rec);
    ASSERT_EQ(fired.size(), 2u);
    EXPECT_EQ(fired[1].first, &b);
    EXPECT_EQ(fired[1].second, 9u);
}

TEST(TimingWheel, MovingADeadlineLaterDelaysItAndEarlierAdvancesIt) {
    TimingWheel wheel(16);
    WheelNode late, early;
    wheel.set_due(late, 3);
    wheel.set_due(late, 12);  // a heartbeat: moved later, re-filed lazily
    wheel.set_due(early, 10);
    wheel.set_due(early, 2);  // moved earlier: re-filed at once
    std::vector<std::uint64_t> late_at, early_at;
    wheel.advance(30,
                  [&](WheelNode& n) { (&n == &late ? late_at : early_at).push_back(wheel.now()); });
    ASSERT_EQ(late_at.size(), 1u);
    EXPECT_EQ(late_at[0], 12u);
    ASSERT_EQ(early_at.size(), 1u);
    EXPECT_EQ(early_at[0], 2u);
}

TEST(TimingWheel, DeadlinesBeyondTheSpanStillFireOnTime) {
    TimingWheel wheel(8);  // span 8 ticks
    WheelNode far;
    wheel.set_due(far, 50);
    std::uint64_t at = 0;
    int count = 0;
    wheel.advance(100, [&](WheelNode&) {
        at = wheel.now();
        ++count;
    });
    EXPECT_EQ(count, 1);
    EXPECT_EQ(at, 50u);
}

TEST(TimingWheel, UnlinkedNodesNeverFireAndCallbacksMayUnlinkOthers) {
    TimingWheel wheel(16);
    WheelNode a, b, c;
    wheel.set_due(a, 4);
    wheel.set_due(b, 4);
    wheel.set_due(c, 4);
    TimingWheel::unlink(c);
    int fired = 0;
    wheel.advance(10, [&](WheelNode& n) {
        ++fired;
        // The first to fire cancels the other one in the same slot.
        TimingWheel::unlink(&n == &a ? b : a);
    });
    EXPECT_EQ(fired, 1);
}

TEST(TimingWheel, ACallbackCanRescheduleItsNode) {
    TimingWheel wheel(16);
    WheelNode n;
    wheel.set_due(n, 2);
    std::vector<std::uint64_t> at;
    wheel.advance(20, [&](WheelNode& node) {
        at.push_back(wheel.now());
        if (at.size() < 3) wheel.set_due(node, wheel.now() + 5);
    });
    EXPECT_EQ(at, (std::vector<std::uint64_t>{2, 7, 12}));
}

}  // namespace
