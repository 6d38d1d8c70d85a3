// tests/server/msg_id_test: message ids are unique and increasing, across threads and when a
// millisecond's sequence space runs out, and carry the node and the time.
#include "server/msg_id.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <set>
#include <thread>
#include <vector>

namespace {

using lp::server::MsgIdGenerator;

TEST(MsgId, IncreasingAndUniqueEvenPastTheSequenceSpaceOfOneMillisecond) {
    MsgIdGenerator ids(5);
    std::uint64_t last = 0;
    for (int i = 0; i < 100000; ++i) {  // far more than 8,192 per millisecond
        std::uint64_t id = ids.next();
        ASSERT_GT(id, last);
        ASSERT_EQ((id >> 13) & 0x3FF, 5u) << "node bits";
        last = id;
    }
}

TEST(MsgId, UniqueAcrossThreads) {
    MsgIdGenerator ids(1);
    std::vector<std::vector<std::uint64_t>> per(4);
    std::vector<std::thread> threads;
    for (auto& v : per)
        threads.emplace_back([&ids, &v] {
            for (int i = 0; i < 20000; ++i) v.push_back(ids.next());
        });
    for (auto& t : threads) t.join();
    std::set<std::uint64_t> all;
    for (auto& v : per) all.insert(v.begin(), v.end());
    EXPECT_EQ(all.size(), 80000u);
}

TEST(MsgId, CarriesItsTime) {
    MsgIdGenerator ids(0);
    auto now = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                              std::chrono::system_clock::now().time_since_epoch())
                                              .count());
    auto t = MsgIdGenerator::time_ms(ids.next());
    EXPECT_LE(t >= now ? t - now : now - t, 1000u);
}

TEST(MsgId, DifferentNodesNeverCollide) {
    MsgIdGenerator a(1), b(2);
    std::set<std::uint64_t> seen;
    for (int i = 0; i < 10000; ++i) {
        ASSERT_TRUE(seen.insert(a.next()).second);
        ASSERT_TRUE(seen.insert(b.next()).second);
    }
}

TEST(MsgId, ANewNodeNumberTakesEffectAndIdsKeepIncreasing) {
    MsgIdGenerator ids(700);
    std::uint64_t last = 0;
    for (int i = 0; i < 1000; ++i) last = ids.next();
    ids.set_node(3);  // lower than the old number: ids must still go up
    EXPECT_EQ(ids.node(), 3u);
    for (int i = 0; i < 1000; ++i) {
        const std::uint64_t id = ids.next();
        ASSERT_GT(id, last);
        ASSERT_EQ(MsgIdGenerator::node_of(id), 3u);
        last = id;
    }
}

}  // namespace
