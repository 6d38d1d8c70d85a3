// tests/router/room_state_cache_test: the node's copy of a room's state (room_state_cache.hpp)
// and the memory store under it: bounds checked with the write, one version counter per room,
// messages seen while the store read is out merged by version (deletes too), nothing kept for
// rooms nobody here watches, and idle rooms without members dropped by the sweep.
#include "router/room_state_cache.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <functional>
#include <vector>

namespace {

using lp::router::MemoryRoomStateStore;
using lp::router::RoomStateCache;
using lp::router::RoomStateSnapshot;
using lp::router::RoomStateStore;
using lp::router::RoomStateWrite;
using S = RoomStateWrite::Status;

RoomStateWrite set(RoomStateStore& s, std::uint64_t room, const std::string& key,
                   const std::string& value, std::uint32_t max_keys = 8,
                   std::uint64_t max_bytes = 1000) {
    RoomStateWrite out;
    s.set(room, key, value, {max_keys, max_bytes}, [&](RoomStateWrite w) { out = w; });
    return out;
}

TEST(MemoryRoomStateStore, OneCounterPerRoomAndTheBoundsWithTheWrite) {
    MemoryRoomStateStore s;
    EXPECT_EQ(set(s, 1, "a", "1", 2).version, 1u);
    EXPECT_EQ(set(s, 1, "b", "2", 2).version, 2u);
    EXPECT_EQ(set(s, 2, "a", "1", 2).version, 1u) << "another room, its own counter";
    EXPECT_EQ(set(s, 1, "c", "3", 2).status, S::TooManyKeys);
    EXPECT_EQ(set(s, 1, "a", "11", 2).version, 3u) << "a key already there may change";
    EXPECT_EQ(set(s, 1, "b", std::string(999, 'x'), 2).status, S::TooManyBytes)
        << "2 + 999 bytes over 1000";
    RoomStateWrite del;
    s.erase(1, "a", [&](RoomStateWrite w) { del = w; });
    EXPECT_EQ(del.version, 4u);
    s.erase(1, "a", [&](RoomStateWrite w) { del = w; });
    EXPECT_EQ(del.status, S::Absent);
    RoomStateSnapshot snap;
    s.get(1, [&](RoomStateSnapshot r) { snap = r; });
    EXPECT_EQ(snap.version, 4u);
    ASSERT_EQ(snap.items.size(), 1u);
    EXPECT_EQ(snap.items["b"].version, 2u);
}

// A store whose reads answer when the test says.
class HeldStore final : public RoomStateStore {
public:
    void set(std::uint64_t, const std::string&, const std::string&, lp::router::RoomStateBounds,
             std::function<void(RoomStateWrite)>) override {}
    void erase(std::uint64_t, const std::string&, std::function<void(RoomStateWrite)>) override {}
    void get(std::uint64_t, std::function<void(RoomStateSnapshot)> done) override {
        reads.push_back(std::move(done));
    }
    std::vector<std::function<void(RoomStateSnapshot)>> reads;
};

std::string change(const std::string& key, const std::string& value, std::uint64_t version) {
    return R"({"key":")" + key + R"(","value":)" + value + R"(,"version":)" +
           std::to_string(version) + "}";
}

TEST(RoomStateCache, MessagesSeenWhileLoadingMergeByVersionWithTheRead) {
    HeldStore store;
    RoomStateCache cache(store);
    cache.observe(5, change("x", "1", 1));
    EXPECT_EQ(cache.rooms(), 0u) << "nothing kept for a room nobody here watches";

    int answered = 0;
    cache.ensure(5, false, [&](bool ok) { answered += ok ? 1 : 100; });
    cache.ensure(5, false, [&](bool ok) { answered += ok ? 1 : 100; });
    ASSERT_EQ(store.reads.size(), 1u) << "one read for both enters";
    EXPECT_FALSE(cache.ready(5));
    cache.observe(5, change("title", R"("new")", 7));  // newer than the read
    cache.observe(5, change("gone", "null", 8));       // deleted after the read
    cache.observe(5, change("old", R"("older")", 2));  // the read has a newer one

    RoomStateSnapshot read;
    read.version = 6;
    read.items["title"] = {R"("stale")", 5};
    read.items["gone"] = {"1", 4};
    read.items["old"] = {R"("kept")", 6};
    store.reads[0](read);
    EXPECT_EQ(answered, 2);
    ASSERT_TRUE(cache.ready(5));
    auto snap = cache.snapshot(5);
    ASSERT_TRUE(snap);
    EXPECT_EQ(boost::json::serialize(*snap),
              R"({"old":{"value":"kept","version":6},"title":{"value":"new","version":7}})");

    // Ready: later changes apply by version, a late older one changes nothing.
    cache.observe(5, change("title", R"("newest")", 9));
    cache.observe(5, change("title", R"("late")", 3));
    EXPECT_EQ(cache.snapshot(5)->at("title").at("value").as_string(), "newest");
}

TEST(RoomStateCache, AFailedReadAnswersFalseAndTheNextEnterReadsAgain) {
    HeldStore store;
    RoomStateCache cache(store);
    bool result = true;
    cache.ensure(6, false, [&](bool ok) { result = ok; });
    RoomStateSnapshot down;
    down.ok = false;
    store.reads[0](down);
    EXPECT_FALSE(result);
    EXPECT_FALSE(cache.snapshot(6));
    cache.ensure(6, false, [](bool) {});
    EXPECT_EQ(store.reads.size(), 2u);
}

TEST(RoomStateCache, TheSweepDropsIdleRoomsWithoutMembers) {
    MemoryRoomStateStore store;
    RoomStateCache cache(store);
    cache.ensure(7, false, [](bool) {});
    cache.ensure(8, false, [](bool) {});
    EXPECT_EQ(cache.rooms(), 2u);
    cache.sweep([](std::uint64_t room) { return room == 8; }, std::chrono::seconds(0));
    EXPECT_EQ(cache.rooms(), 1u);
    EXPECT_TRUE(cache.ready(8));
    cache.sweep([](std::uint64_t) { return false; }, std::chrono::hours(1));
    EXPECT_EQ(cache.rooms(), 1u) << "used within the idle time: kept";
}

}  // namespace
