// tests/router/moderation_store_test: both moderation stores (memory, and Redis against a real
// redis-server on a run-time port) keep the same rules: timed entries leave when their end
// passes (on the room's next read, no sweep), until-lifted ones stay, a list is bounded by
// max_entries for new users (an existing one may be moved), unban lifts a shadow ban, meta and
// switches round-trip. The Redis store's change log names the rooms changed since the last
// read, and says "all" when it cannot (first read, trimmed log); its sorted sets expire with
// their last timed entry.
#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>

#include "redis/client.hpp"
#include "router/memory_moderation_store.hpp"
#include "router/redis_moderation_store.hpp"
#include "tests/integration/eventually.hpp"
#include "tests/integration/redis_server.hpp"

namespace {

using namespace std::chrono_literals;
using lp::router::ModAction;
using lp::router::ModChange;
using lp::router::ModerationStore;
using lp::router::ModState;
using lp::testing::eventually;

struct Result {
    ModerationStore::Status status = ModerationStore::Status::Unavailable;
    ModState state;
};

Result load(ModerationStore& s, std::uint64_t room, std::uint64_t now) {
    std::promise<Result> p;
    s.load(room, now, [&](ModerationStore::Status st, ModState m) { p.set_value({st, m}); });
    return p.get_future().get();
}

Result apply(ModerationStore& s, std::uint64_t room, ModChange c, std::uint64_t now) {
    std::promise<Result> p;
    s.apply(room, c, now, [&](ModerationStore::Status st, ModState m) { p.set_value({st, m}); });
    return p.get_future().get();
}

ModChange change(ModAction a, std::uint64_t user = 0, std::uint64_t until = 0) {
    ModChange c;
    c.action = a;
    c.user = user;
    c.until_ms = until;
    return c;
}

struct Backend {
    std::unique_ptr<lp::testing::RedisServer> server;
    std::unique_ptr<lp::redis::Client> client;
    std::unique_ptr<ModerationStore> make(bool redis, std::size_t max_entries,
                                          std::size_t log_max = 10000) {
        if (!redis) return std::make_unique<lp::router::MemoryModerationStore>(max_entries);
        if (!server) {
            server = std::make_unique<lp::testing::RedisServer>();
            lp::redis::Client::Options o;
            o.host = server->host();
            o.port = server->port();
            client = std::make_unique<lp::redis::Client>(o);
            client->start();
            EXPECT_TRUE(eventually([&] { return client->connected(); }));
        }
        return std::make_unique<lp::router::RedisModerationStore>(*client, max_entries, log_max);
    }
};

class ModerationStores : public ::testing::TestWithParam<bool> {
protected:
    Backend backend;
};

// The stores take `now` from the caller; the tests move it forward by hand. It starts at the
// wall clock: Redis expires whole keys (PEXPIREAT) on its own clock.
const std::uint64_t kNow =
    static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());

TEST_P(ModerationStores, TimedEntriesLeaveWhenTheirEndPassesUntilLiftedOnesStay) {
    auto store = backend.make(GetParam(), 100);
    ASSERT_EQ(apply(*store, 7, change(ModAction::Mute, 1, kNow + 1000), kNow).status,
              ModerationStore::Status::Ok);
    apply(*store, 7, change(ModAction::Mute, 2, 0), kNow);
    apply(*store, 7, change(ModAction::Ban, 3, kNow + 5000), kNow);
    auto r = load(*store, 7, kNow + 999);
    EXPECT_EQ(r.state.muted.size(), 2u);
    r = load(*store, 7, kNow + 1000);
    ASSERT_EQ(r.state.muted.size(), 1u) << "the one-second mute is over";
    EXPECT_EQ(r.state.muted[0].first, 2u);
    EXPECT_EQ(r.state.muted[0].second, 0u) << "until unmuted";
    EXPECT_EQ(r.state.banned.size(), 1u);
    EXPECT_TRUE(load(*store, 7, kNow + 6000).state.banned.empty());
    EXPECT_TRUE(load(*store, 8, kNow).state.muted.empty()) << "rooms are apart";
}

TEST_P(ModerationStores, ANewUserBeyondMaxEntriesIsRefusedAnExistingOneMayMove) {
    auto store = backend.make(GetParam(), 2);
    apply(*store, 9, change(ModAction::Mute, 1, 0), kNow);
    apply(*store, 9, change(ModAction::Mute, 2, 0), kNow);
    auto r = apply(*store, 9, change(ModAction::Mute, 3, 0), kNow);
    EXPECT_EQ(r.status, ModerationStore::Status::Full);
    EXPECT_EQ(r.state.muted.size(), 2u);
    EXPECT_EQ(apply(*store, 9, change(ModAction::Mute, 2, kNow + 60000), kNow).status,
              ModerationStore::Status::Ok);
    EXPECT_EQ(apply(*store, 9, change(ModAction::Ban, 3, 0), kNow).status,
              ModerationStore::Status::Ok)
        << "each list has its own bound";
}

TEST_P(ModerationStores, UnbanLiftsBanAndShadowBanAndSwitchesAndMetaRoundTrip) {
    auto store = backend.make(GetParam(), 100);
    apply(*store, 11, change(ModAction::Ban, 5, 0), kNow);
    apply(*store, 11, change(ModAction::ShadowBan, 5, 0), kNow);
    auto r = apply(*store, 11, change(ModAction::Unban, 5), kNow);
    EXPECT_TRUE(r.state.banned.empty());
    EXPECT_TRUE(r.state.shadow.empty());
    ModChange on = change(ModAction::MuteAll);
    on.on = true;
    apply(*store, 11, on, kNow);
    ModChange slow = change(ModAction::SlowMode);
    slow.interval_s = 5;
    apply(*store, 11, slow, kNow);
    ModChange meta = change(ModAction::Meta);
    meta.anchor = 100;
    meta.moderators = {102, 101};
    apply(*store, 11, meta, kNow);
    r = load(*store, 11, kNow);
    EXPECT_TRUE(r.state.mute_all);
    EXPECT_EQ(r.state.slow_mode_s, 5u);
    EXPECT_EQ(r.state.anchor, 100u);
    EXPECT_EQ(r.state.moderators, (std::vector<std::uint64_t>{101, 102})) << "sorted";
}

INSTANTIATE_TEST_SUITE_P(MemoryAndRedis, ModerationStores, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Redis" : "Memory"; });

std::pair<std::vector<std::uint64_t>, bool> changed(ModerationStore& s) {
    std::promise<std::pair<std::vector<std::uint64_t>, bool>> p;
    s.changed([&](std::vector<std::uint64_t> rooms, bool all) { p.set_value({rooms, all}); });
    return p.get_future().get();
}

TEST(RedisModerationStore, TheChangeLogNamesTheRoomsChangedOrSaysAllWhenItCannot) {
    Backend b;
    auto writer = b.make(true, 100, /*log_max=*/3);
    auto reader = b.make(true, 100, 3);
    EXPECT_TRUE(changed(*reader).second) << "a first read reloads everything cached";
    apply(*writer, 21, change(ModAction::Mute, 1, 0), kNow);
    apply(*writer, 22, change(ModAction::Mute, 1, 0), kNow);
    apply(*writer, 21, change(ModAction::Unmute, 1), kNow);
    auto c = changed(*reader);
    EXPECT_FALSE(c.second);
    EXPECT_EQ(c.first, (std::vector<std::uint64_t>{21, 22})) << "each room once";
    c = changed(*reader);
    EXPECT_TRUE(c.first.empty() && !c.second) << "nothing new";
    for (int i = 0; i < 5; ++i) apply(*writer, 30 + i, change(ModAction::Mute, 1, 0), kNow);
    EXPECT_TRUE(changed(*reader).second) << "more changes than the log keeps: reload all";
}

TEST(RedisModerationStore, ASortedSetOfTimedEntriesExpiresWithItsLastEnd) {
    Backend b;
    auto store = b.make(true, 100);
    const auto now =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::system_clock::now().time_since_epoch())
                                       .count());
    apply(*store, 41, change(ModAction::Mute, 1, now + 60000), now);
    auto ttl = b.client->command_sync({"PTTL", "lp:{room:41}:muted"}, 2s);
    EXPECT_GT(ttl.integer, 0) << "timed entries only: the key expires with the last one";
    apply(*store, 41, change(ModAction::Mute, 2, 0), now);
    ttl = b.client->command_sync({"PTTL", "lp:{room:41}:muted"}, 2s);
    EXPECT_EQ(ttl.integer, -1) << "an until-unmuted entry keeps the key";
}

}  // namespace
