// tests/plugins/store_test: the SDK's Store, one behaviour suite run against MemoryStore and
// against RedisStore on a real redis-server.
//
// What is pinned here: both stores give the same answers to the same calls (values, TTLs,
// atomic set-if-absent and compare-and-set, counters, hashes, sorted sets ordered and tied as
// Redis orders them, sets scanned completely, trimmed lists), wrong-type calls fail without
// changing anything, and two plugins with their own prefixes never see each other's keys.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <limits>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "plugins/host/memory_store.hpp"
#include "plugins/host/redis_store.hpp"
#include "shared_redis.hpp"

namespace lp::plugins {
namespace {

using namespace std::chrono_literals;
using Ranked = std::vector<std::pair<std::string, double>>;
using Strings = std::vector<std::string>;

// ---------------------------------------------------------------- the two backends

// Stores that share one in-memory map, as the plugins of one embedded node do.
struct MemoryBackend {
    static constexpr const char* kName = "Memory";
    std::shared_ptr<MemoryStoreData> data = std::make_shared<MemoryStoreData>();

    std::unique_ptr<sdk::Store> store(const std::string& prefix) {
        return std::make_unique<MemoryStore>(data, prefix);
    }
};

// Stores that share one redis::Client (one node), on a flushed redis-server.
struct RedisBackend {
    static constexpr const char* kName = "Redis";
    std::unique_ptr<redis::Client> client = test::connected_client();

    RedisBackend() { test::flush_redis(*client); }
    std::unique_ptr<sdk::Store> store(const std::string& prefix) {
        return std::make_unique<RedisStore>(*client, prefix, 2000ms);
    }
};

template <class Backend>
class StoreTest : public ::testing::Test {
protected:
    Backend backend_;
    std::unique_ptr<sdk::Store> store_ = backend_.store("plugin:test:");
    sdk::Store& store() { return *store_; }
};

struct BackendName {
    template <class T>
    static std::string GetName(int) {
        return T::kName;
    }
};

using Backends = ::testing::Types<MemoryBackend, RedisBackend>;
TYPED_TEST_SUITE(StoreTest, Backends, BackendName);

// ---------------------------------------------------------------- strings

TYPED_TEST(StoreTest, StringsRoundTripBinarySafe) {
    auto& s = this->store();
    EXPECT_EQ(s.get("k"), std::nullopt);
    const std::string value("a|b:\0c\xff", 7);
    EXPECT_TRUE(s.set("k", value));
    EXPECT_EQ(s.get("k"), value);
    EXPECT_TRUE(s.set("k", "second"));
    EXPECT_EQ(s.get("k"), "second");
    EXPECT_TRUE(s.del("k"));
    EXPECT_FALSE(s.del("k"));
    EXPECT_EQ(s.get("k"), std::nullopt);
}

TYPED_TEST(StoreTest, TtlsExpireKeys) {
    auto& s = this->store();
    // 300 ms: long enough for the checks before the sleep on a loaded machine under ASan.
    EXPECT_TRUE(s.set("short", "v", 300ms));
    EXPECT_TRUE(s.set("cleared", "v", 300ms));
    EXPECT_TRUE(s.set("cleared", "v2"));  // a set without TTL leaves none (as SET)
    EXPECT_TRUE(s.set_if_absent("lock", "me", 300ms));
    EXPECT_TRUE(s.compare_and_set("state", std::nullopt, "1", 300ms));
    EXPECT_TRUE(s.set("counter", "1", 300ms));
    EXPECT_EQ(s.incr_by("counter", 1), 2);  // INCRBY keeps the TTL
    EXPECT_TRUE(s.hset("hash", "f", "v"));
    EXPECT_TRUE(s.expire("hash", 300ms));
    EXPECT_TRUE(s.set("gone", "v"));
    EXPECT_TRUE(s.expire("gone", 0ms));  // no TTL left: removed at once (as PEXPIRE 0)
    EXPECT_FALSE(s.expire("absent", 300ms));

    EXPECT_EQ(s.get("short"), "v");
    EXPECT_FALSE(s.set_if_absent("lock", "other", 300ms));
    EXPECT_EQ(s.get("gone"), std::nullopt);

    std::this_thread::sleep_for(400ms);
    EXPECT_EQ(s.get("short"), std::nullopt);
    EXPECT_EQ(s.get("cleared"), "v2");
    EXPECT_EQ(s.get("counter"), std::nullopt);
    EXPECT_EQ(s.get("state"), std::nullopt);
    EXPECT_EQ(s.hgetall("hash"), (std::map<std::string, std::string>{}));
    EXPECT_TRUE(s.set_if_absent("lock", "other"));
    EXPECT_EQ(s.get("lock"), "other");
}

TYPED_TEST(StoreTest, SetIfAbsentSetsOnlyOnce) {
    auto& s = this->store();
    EXPECT_TRUE(s.set_if_absent("mark", "first"));
    EXPECT_FALSE(s.set_if_absent("mark", "second"));
    EXPECT_EQ(s.get("mark"), "first");
    EXPECT_TRUE(s.hset("hash", "f", "v"));
    EXPECT_FALSE(s.set_if_absent("hash", "x"));  // any type counts as present
}

TYPED_TEST(StoreTest, CompareAndSetOnlyWhenTheValueIsAsExpected) {
    auto& s = this->store();
    EXPECT_FALSE(s.compare_and_set("pk", std::string("0"), "1"));  // expected a value: absent
    EXPECT_EQ(s.get("pk"), std::nullopt);
    EXPECT_TRUE(s.compare_and_set("pk", std::nullopt, "0"));       // expected absent: absent
    EXPECT_FALSE(s.compare_and_set("pk", std::nullopt, "9"));      // expected absent: present
    EXPECT_FALSE(s.compare_and_set("pk", std::string("1"), "2"));  // mismatch
    EXPECT_EQ(s.get("pk"), "0");
    EXPECT_TRUE(s.compare_and_set("pk", std::string("0"), "1"));
    EXPECT_EQ(s.get("pk"), "1");
    EXPECT_TRUE(s.compare_and_set("pk", std::string("1"), ""));  // empty is a value, not absent
    EXPECT_FALSE(s.compare_and_set("pk", std::nullopt, "x"));
    EXPECT_TRUE(s.compare_and_set("pk", std::string(""), "3"));
    EXPECT_EQ(s.get("pk"), "3");

    EXPECT_TRUE(s.hset("hash", "f", "v"));  // another type never matches and is left alone
    EXPECT_FALSE(s.compare_and_set("hash", std::nullopt, "x"));
    EXPECT_FALSE(s.compare_and_set("hash", std::string("v"), "x"));
    EXPECT_EQ(s.hget("hash", "f"), "v");
}

TYPED_TEST(StoreTest, ConcurrentCompareAndSetHasExactlyOneWinnerPerRound) {
    auto& s = this->store();
    constexpr int kThreads = 8;
    constexpr int kRounds = 40;
    std::vector<std::atomic<int>> winners(kRounds);
    std::barrier round_gate(kThreads);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&] {
            for (int r = 0; r < kRounds; ++r) {
                round_gate.arrive_and_wait();  // everybody tries round r together
                // Round 0 starts from an absent key; round r moves "r-1" to "r".
                std::optional<std::string> expected;
                if (r > 0) expected = std::to_string(r - 1);
                if (s.compare_and_set("state", expected, std::to_string(r))) winners[r]++;
                round_gate.arrive_and_wait();  // nobody starts r+1 before all tried r
            }
        });
    }
    for (auto& t : threads) t.join();
    for (int r = 0; r < kRounds; ++r) EXPECT_EQ(winners[r].load(), 1) << "round " << r;
    EXPECT_EQ(s.get("state"), std::to_string(kRounds - 1));
}

TYPED_TEST(StoreTest, IncrByCountsAndRefusesWhatIsNotAnInteger) {
    auto& s = this->store();
    EXPECT_EQ(s.incr_by("n", 5), 5);
    EXPECT_EQ(s.incr_by("n", -7), -2);
    EXPECT_EQ(s.get("n"), "-2");
    EXPECT_TRUE(s.set("big", std::to_string(std::numeric_limits<std::int64_t>::max() - 1)));
    EXPECT_EQ(s.incr_by("big", 1), std::numeric_limits<std::int64_t>::max());
    EXPECT_EQ(s.incr_by("big", 1), std::nullopt);  // overflow: refused, unchanged
    EXPECT_EQ(s.get("big"), std::to_string(std::numeric_limits<std::int64_t>::max()));
    for (const char* bad : {"abc", "1.5", " 1", "01", ""}) {
        EXPECT_TRUE(s.set("bad", bad));
        EXPECT_EQ(s.incr_by("bad", 1), std::nullopt) << '"' << bad << '"';
        EXPECT_EQ(s.get("bad"), bad);
    }
    EXPECT_TRUE(s.hset("hash", "f", "1"));
    EXPECT_EQ(s.incr_by("hash", 1), std::nullopt);
}

// ---------------------------------------------------------------- hashes

TYPED_TEST(StoreTest, HashesStoreFieldsAndCount) {
    auto& s = this->store();
    EXPECT_EQ(s.hget("h", "a"), std::nullopt);
    EXPECT_EQ(s.hgetall("h"), (std::map<std::string, std::string>{}));
    EXPECT_TRUE(s.hset("h", "a", "1"));
    EXPECT_TRUE(s.hset("h", "b", "x"));
    EXPECT_TRUE(s.hset("h", "a", "2"));
    EXPECT_EQ(s.hget("h", "a"), "2");
    EXPECT_EQ(s.hgetall("h"), (std::map<std::string, std::string>{{"a", "2"}, {"b", "x"}}));
    EXPECT_EQ(s.hincr_by("h", "a", 10), 12);
    EXPECT_EQ(s.hincr_by("h", "new", -3), -3);
    EXPECT_EQ(s.hincr_by("h", "b", 1), std::nullopt);  // "x" is not an integer
    EXPECT_EQ(s.hget("h", "b"), "x");
    EXPECT_TRUE(s.hdel("h", "b"));
    EXPECT_FALSE(s.hdel("h", "b"));
    EXPECT_FALSE(s.hdel("absent", "b"));
    EXPECT_EQ(s.hgetall("h"), (std::map<std::string, std::string>{{"a", "12"}, {"new", "-3"}}));
}

// ---------------------------------------------------------------- sorted sets

TYPED_TEST(StoreTest, SortedSetsRankHighestFirstAndTiesInReverseMemberOrder) {
    auto& s = this->store();
    // Equal scores: ZREVRANGE gives members in reverse byte order (memcmp: "B" < "a" < "ab" <
    // "b" < "\xff").
    for (const char* m : {"a", "b", "ab", "B", "\xff"}) EXPECT_TRUE(s.zadd("z", m, 1));
    EXPECT_TRUE(s.zadd("z", "top", 2));
    EXPECT_TRUE(s.zadd("z", "low", 0.5));
    const Ranked all{{"top", 2}, {"\xff", 1}, {"b", 1},    {"ab", 1},
                     {"a", 1},   {"B", 1},    {"low", 0.5}};
    EXPECT_EQ(s.zrevrange("z", 0, -1), all);
    EXPECT_EQ(s.zrevrange("z", 1, 2), (Ranked{{"\xff", 1}, {"b", 1}}));
    EXPECT_EQ(s.zrevrange("z", -2, -1), (Ranked{{"B", 1}, {"low", 0.5}}));
    EXPECT_EQ(s.zrevrange("z", 5, 100), (Ranked{{"B", 1}, {"low", 0.5}}));
    EXPECT_EQ(s.zrevrange("z", -100, 0), (Ranked{{"top", 2}}));
    EXPECT_EQ(s.zrevrange("z", 7, 10), Ranked{});
    EXPECT_EQ(s.zrevrange("z", 3, 2), Ranked{});
    EXPECT_EQ(s.zrevrange("absent", 0, -1), Ranked{});
    for (std::size_t rank = 0; rank < all.size(); ++rank) {
        EXPECT_EQ(s.zrevrank("z", all[rank].first), static_cast<std::int64_t>(rank))
            << all[rank].first;
    }
    EXPECT_EQ(s.zrevrank("z", "nobody"), std::nullopt);
    EXPECT_EQ(s.zrevrank("absent", "a"), std::nullopt);

    EXPECT_TRUE(s.zadd("z", "low", 3));  // a new score moves the member
    EXPECT_EQ(s.zrevrank("z", "low"), 0);
    EXPECT_TRUE(s.zrem("z", "low"));
    EXPECT_FALSE(s.zrem("z", "low"));
    EXPECT_EQ(s.zscore("z", "low"), std::nullopt);
    EXPECT_EQ(s.zscore("z", "top"), 2.0);
    EXPECT_EQ(s.zrevrank("z", "top"), 0);
}

TYPED_TEST(StoreTest, SortedSetScoresAreExact) {
    auto& s = this->store();
    constexpr double k2p53 = 9007199254740992.0;  // 2^53
    for (double score : {0.1, 1.0 / 3.0, -2.5e-300, 1e300, k2p53 - 1, -0.75}) {
        EXPECT_TRUE(s.zadd("z", "m", score));
        EXPECT_EQ(s.zscore("z", "m"), score);
    }
    EXPECT_TRUE(s.zadd("z", "inf", std::numeric_limits<double>::infinity()));
    EXPECT_EQ(s.zscore("z", "inf"), std::numeric_limits<double>::infinity());
    EXPECT_FALSE(s.zadd("z", "nan", std::nan("")));
    EXPECT_EQ(s.zscore("z", "nan"), std::nullopt);

    // Integer increments stay exact up to 2^53.
    EXPECT_TRUE(s.zadd("z", "count", k2p53 - 10));
    for (int i = 1; i <= 9; ++i) EXPECT_EQ(s.zincr_by("z", "count", 1), k2p53 - 10 + i);
    EXPECT_EQ(s.zscore("z", "count"), k2p53 - 1);
    EXPECT_EQ(s.zincr_by("z", "fresh", 2.5), 2.5);

    // The week-star packing: count * 10^10 + (base - ts), first to reach a count ranks higher.
    const double base = 9'999'999'999.0;
    EXPECT_TRUE(s.zadd("board", "early", 0));
    EXPECT_TRUE(s.zadd("board", "late", 0));
    EXPECT_EQ(s.zincr_by("board", "early", 120 * 1e10 + (base - 1'700'000'000.0)),
              120 * 1e10 + (base - 1'700'000'000.0));
    EXPECT_EQ(s.zincr_by("board", "late", 120 * 1e10 + (base - 1'700'000'500.0)),
              120 * 1e10 + (base - 1'700'000'500.0));
    EXPECT_EQ(s.zrevrank("board", "early"), 0);
    EXPECT_EQ(s.zrevrank("board", "late"), 1);
}

// ---------------------------------------------------------------- sets

TYPED_TEST(StoreTest, SetsAddRemoveAndCount) {
    auto& s = this->store();
    EXPECT_EQ(s.scard("set"), 0);
    EXPECT_TRUE(s.sadd("set", {"a", "b", "c", "a"}));
    EXPECT_TRUE(s.sadd("set", {}));
    EXPECT_EQ(s.scard("set"), 3);
    EXPECT_TRUE(s.srem("set", {"a", "zz"}));
    EXPECT_FALSE(s.srem("set", {"a", "zz"}));
    EXPECT_FALSE(s.srem("set", {}));
    EXPECT_EQ(s.scard("set"), 2);
    auto page = s.sscan("set", "0", 10);
    ASSERT_TRUE(page);
    EXPECT_EQ(page->first, "0");
    EXPECT_EQ(std::set<std::string>(page->second.begin(), page->second.end()),
              (std::set<std::string>{"b", "c"}));
    auto absent = s.sscan("absent", "0", 10);
    ASSERT_TRUE(absent);
    EXPECT_EQ(absent->first, "0");
    EXPECT_TRUE(absent->second.empty());
}

TYPED_TEST(StoreTest, SscanVisitsEveryMemberOfTenThousand) {
    auto& s = this->store();
    constexpr int kMembers = 10000;
    std::set<std::string> expected;
    Strings batch;
    for (int i = 0; i < kMembers; ++i) {
        batch.push_back("user:" + std::to_string(i));
        expected.insert(batch.back());
        if (batch.size() == 1000) {
            ASSERT_TRUE(s.sadd("followers", batch));
            batch.clear();
        }
    }
    ASSERT_EQ(s.scard("followers"), kMembers);

    std::set<std::string> seen;
    std::string cursor = "0";
    int calls = 0;
    do {
        auto page = s.sscan("followers", cursor, 100);
        ASSERT_TRUE(page) << "cursor " << cursor;
        seen.insert(page->second.begin(), page->second.end());
        cursor = page->first;
        ASSERT_LT(++calls, kMembers) << "the scan does not end";
    } while (cursor != "0");
    EXPECT_EQ(seen, expected);
    EXPECT_GE(calls, kMembers / 200);  // in batches, not all at once
}

// ---------------------------------------------------------------- lists

TYPED_TEST(StoreTest, ListsKeepTheNewest) {
    auto& s = this->store();
    EXPECT_EQ(s.lrange("feed", 0, -1), Strings{});
    for (int i = 1; i <= 10; ++i) EXPECT_TRUE(s.lpush_trim("feed", std::to_string(i), 5));
    EXPECT_EQ(s.lrange("feed", 0, -1), (Strings{"10", "9", "8", "7", "6"}));
    EXPECT_EQ(s.lrange("feed", 1, 2), (Strings{"9", "8"}));
    EXPECT_EQ(s.lrange("feed", -2, -1), (Strings{"7", "6"}));
    EXPECT_EQ(s.lrange("feed", 3, 100), (Strings{"7", "6"}));
    EXPECT_EQ(s.lrange("feed", 5, 9), Strings{});
    EXPECT_TRUE(s.lpush_trim("huge", "x", std::numeric_limits<std::size_t>::max()));
    EXPECT_EQ(s.lrange("huge", 0, -1), Strings{"x"});
    EXPECT_TRUE(s.lpush_trim("feed", "11", 0));  // keep none: the list is gone
    EXPECT_EQ(s.lrange("feed", 0, -1), Strings{});
    EXPECT_TRUE(s.set_if_absent("feed", "free again"));
}

TYPED_TEST(StoreTest, ManyListsAtOnceCountWhatApplied) {
    auto& s = this->store();
    Strings keys;
    for (int i = 0; i < 2000; ++i) keys.push_back("recent:" + std::to_string(i));
    EXPECT_EQ(s.lpush_trim_many(keys, "a", 2), keys.size());
    EXPECT_EQ(s.lpush_trim_many(keys, "b", 2), keys.size());
    EXPECT_EQ(s.lpush_trim_many(keys, "c", 2), keys.size());
    EXPECT_EQ(s.lrange("recent:0", 0, -1), (Strings{"c", "b"}));
    EXPECT_EQ(s.lrange("recent:1999", 0, -1), (Strings{"c", "b"}));
    // A key of another type fails alone; the rest of the batch still applies.
    EXPECT_TRUE(s.set("str", "v"));
    EXPECT_EQ(s.lpush_trim_many({"recent:0", "str", "recent:1"}, "d", 2), 2u);
    EXPECT_EQ(s.lrange("recent:1", 0, -1), (Strings{"d", "c"}));
    EXPECT_EQ(s.get("str"), "v");
    EXPECT_EQ(s.lpush_trim_many({}, "x", 2), 0u);
}

// ---------------------------------------------------------------- types and keys

TYPED_TEST(StoreTest, WrongTypeFailsAndChangesNothing) {
    auto& s = this->store();
    EXPECT_TRUE(s.set("str", "v"));
    EXPECT_FALSE(s.hset("str", "f", "v"));
    EXPECT_EQ(s.hget("str", "f"), std::nullopt);
    EXPECT_EQ(s.hgetall("str"), std::nullopt);
    EXPECT_EQ(s.hincr_by("str", "f", 1), std::nullopt);
    EXPECT_FALSE(s.zadd("str", "m", 1));
    EXPECT_EQ(s.zincr_by("str", "m", 1), std::nullopt);
    EXPECT_EQ(s.zrevrange("str", 0, -1), std::nullopt);
    EXPECT_FALSE(s.sadd("str", {"m"}));
    EXPECT_EQ(s.scard("str"), std::nullopt);
    EXPECT_EQ(s.sscan("str", "0", 10), std::nullopt);
    EXPECT_FALSE(s.lpush_trim("str", "x", 5));
    EXPECT_EQ(s.lrange("str", 0, -1), std::nullopt);
    EXPECT_EQ(s.get("str"), "v");

    EXPECT_TRUE(s.zadd("zset", "m", 1));
    EXPECT_EQ(s.get("zset"), std::nullopt);
    EXPECT_TRUE(s.set("zset", "now a string"));  // SET replaces any type
    EXPECT_EQ(s.get("zset"), "now a string");
}

TYPED_TEST(StoreTest, EmptiedContainersLeaveNoKey) {
    auto& s = this->store();
    EXPECT_TRUE(s.hset("h", "f", "v"));
    EXPECT_TRUE(s.hdel("h", "f"));
    EXPECT_TRUE(s.zadd("z", "m", 1));
    EXPECT_TRUE(s.zrem("z", "m"));
    EXPECT_TRUE(s.sadd("s", {"m"}));
    EXPECT_TRUE(s.srem("s", {"m"}));
    for (const char* key : {"h", "z", "s"}) EXPECT_TRUE(s.set_if_absent(key, "x")) << key;
}

TYPED_TEST(StoreTest, PrefixesIsolatePlugins) {
    auto pk = this->backend_.store("plugin:pk:");
    auto rank = this->backend_.store("plugin:rank:");
    EXPECT_TRUE(pk->set("k", "pk's"));
    EXPECT_TRUE(rank->set("k", "rank's"));
    EXPECT_EQ(pk->get("k"), "pk's");
    EXPECT_EQ(rank->get("k"), "rank's");
    EXPECT_TRUE(pk->zadd("board", "u1", 5));
    EXPECT_EQ(rank->zrevrange("board", 0, -1), Ranked{});
    EXPECT_TRUE(pk->del("k"));
    EXPECT_EQ(rank->get("k"), "rank's");
    EXPECT_FALSE(pk->del("k"));
    // A key of one plugin is not reachable by writing the other's prefix into a key.
    EXPECT_EQ(pk->get("plugin:rank:k"), std::nullopt);
    auto whole = this->backend_.store("");
    EXPECT_EQ(whole->get("plugin:rank:k"), "rank's");
}

// ---------------------------------------------------------------- one backend only

TEST(MemoryStoreTest, SweepRemovesExpiredKeysOfEveryPrefix) {
    auto data = std::make_shared<MemoryStoreData>();
    MemoryStore a(data, "plugin:a:");
    MemoryStore b(data, "plugin:b:");
    EXPECT_TRUE(a.set("x", "1", 30ms));
    EXPECT_TRUE(b.hset("h", "f", "v"));
    EXPECT_TRUE(b.expire("h", 30ms));
    EXPECT_TRUE(b.set("kept", "1"));
    EXPECT_EQ(data->size(), 3u);
    std::this_thread::sleep_for(60ms);
    EXPECT_EQ(data->size(), 1u);
    EXPECT_EQ(a.sweep(), 2u);
    EXPECT_EQ(a.sweep(), 0u);
    EXPECT_EQ(b.get("kept"), "1");
}

TEST(MemoryStoreTest, ForeignSscanCursorIsRefused) {
    MemoryStore s("p:");
    EXPECT_TRUE(s.sadd("set", {"a"}));
    EXPECT_EQ(s.sscan("set", "12345", 10), std::nullopt);
}

TEST(RedisStoreTest, UnavailableRedisFailsPromptly) {
    lp::testing::RedisServer gone;
    redis::Client::Options o;
    o.host = gone.host();
    o.port = gone.port();
    gone.stop();
    redis::Client client(o);
    client.start();
    // A command timeout far above the bound each call must meet: "prompt" means the store knows
    // Redis is down and says so at once, not that it waits for the command to time out.
    constexpr auto kCommandTimeout = 6000ms;
    constexpr auto kPrompt = kCommandTimeout / 3;
    RedisStore s(client, "plugin:test:", kCommandTimeout);
    auto took = [](auto&& call) {
        const auto started = std::chrono::steady_clock::now();
        call();
        return std::chrono::steady_clock::now() - started;
    };
    EXPECT_LT(took([&] { EXPECT_EQ(s.get("k"), std::nullopt); }), kPrompt) << "get";
    EXPECT_LT(took([&] { EXPECT_FALSE(s.set("k", "v")); }), kPrompt) << "set";
    EXPECT_LT(took([&] { EXPECT_FALSE(s.compare_and_set("k", std::nullopt, "v")); }), kPrompt)
        << "compare_and_set";
    EXPECT_LT(took([&] { EXPECT_EQ(s.zrevrange("z", 0, -1), std::nullopt); }), kPrompt)
        << "zrevrange";
    EXPECT_LT(took([&] { EXPECT_EQ(s.incr_by("n", 1), std::nullopt); }), kPrompt) << "incr_by";
}

}  // namespace
}  // namespace lp::plugins
