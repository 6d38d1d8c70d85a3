// tests/ack/redis_inbox_test: the two inbox stores, MemoryInbox and RedisInbox (against a real
// redis-server on a run-time port).
//
// What is pinned here: the same behavioural cases pass for both stores (typed tests), which is
// what "RedisInbox has MemoryInbox's semantics" means; then what only Redis has: another node
// sees the same inbox, key TTLs clean up abandoned inboxes, the stored layout, a Redis that is
// down or hangs makes append say so (and nothing crashes or hangs), payloads round-trip byte for
// byte, and a bounded throughput loop prints what one client achieves.
//
// Over 600 lines: the typed cases shared by both stores plus the Redis-only ones; splitting them
// would separate the two halves of "the same semantics".
#include "ack/redis_inbox.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <limits>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "ack/memory_inbox.hpp"
#include "internal.pb.h"
#include "redis/client.hpp"
#include "redis_server.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::ack {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using redis::Client;
using redis::Reply;

std::uint64_t now_ms() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

using lp::testing::eventually;

StoredMessage message(std::uint64_t id, std::uint64_t expires_at_ms = now_ms() + 60'000,
                      std::string payload = {}) {
    StoredMessage m;
    m.msg_id = id;
    m.type = "im.message";
    m.payload = payload.empty() ? "{\"n\":" + std::to_string(id) + "}" : std::move(payload);
    m.sent_at_ms = 1'700'000'000'000 + id;
    m.expires_at_ms = expires_at_ms;
    return m;
}

std::vector<std::uint64_t> ids_of(const std::vector<StoredMessage>& msgs) {
    std::vector<std::uint64_t> ids;
    for (const auto& m : msgs) ids.push_back(m.msg_id);
    return ids;
}

using Ids = std::vector<std::uint64_t>;

redis::Client::Options client_options(const lp::testing::RedisServer& server) {
    redis::Client::Options o;
    o.host = server.host();
    o.port = server.port();
    o.connect_timeout = 500ms;
    o.command_timeout = 1000ms;
    o.backoff_min = 20ms;
    o.backoff_max = 200ms;
    return o;
}

std::unique_ptr<redis::Client> connected_client(const lp::testing::RedisServer& server) {
    auto c = std::make_unique<redis::Client>(client_options(server));
    c->start();
    EXPECT_TRUE(eventually([&] { return c->connected(); })) << c->last_error();
    return c;
}

// ------------------------------------------------------------------------------- both stores

// How a typed test gets a fresh store of one kind. settle() returns once every asynchronous
// call made so far (RedisInbox::remove) has been applied and counted.
struct MemoryBackend {
    static void start_suite() {}
    static void stop_suite() {}
    std::unique_ptr<InboxStore> make(std::size_t cap, std::size_t share = 0) {
        return std::make_unique<MemoryInbox>(cap, share);
    }
    void settle() {}
};

struct RedisBackend {
    static inline lp::testing::RedisServer* server = nullptr;
    static inline redis::Client* client = nullptr;

    static void start_suite() {
        server = new lp::testing::RedisServer();
        client = connected_client(*server).release();
    }
    static void stop_suite() {
        delete client;
        delete server;
        client = nullptr;
        server = nullptr;
    }
    std::unique_ptr<InboxStore> make(std::size_t cap, std::size_t share = 0) {
        EXPECT_TRUE(client->command_sync({"FLUSHALL"}, 2s).ok());
        return std::make_unique<RedisInbox>(*client, cap, RedisInbox::Options{}, share);
    }
    // One connection, commands in order: a reply to this PING means everything before it ran,
    // and its callbacks (which count) ran before this one.
    void settle() { EXPECT_TRUE(client->command_sync({"PING"}, 2s).is_status("PONG")); }
};

template <class Backend>
class InboxBehaviourTest : public ::testing::Test {
protected:
    static void SetUpTestSuite() { Backend::start_suite(); }
    static void TearDownTestSuite() { Backend::stop_suite(); }

    InboxStore& store(std::size_t cap = 1000, std::size_t share = 0) {
        store_ = backend_.make(cap, share);
        return *store_;
    }
    void settle() { backend_.settle(); }

    Backend backend_;
    std::unique_ptr<InboxStore> store_;
};

struct BackendName {
    template <class T>
    static std::string GetName(int) {
        return std::is_same_v<T, MemoryBackend> ? "Memory" : "Redis";
    }
};
using Backends = ::testing::Types<MemoryBackend, RedisBackend>;
TYPED_TEST_SUITE(InboxBehaviourTest, Backends, BackendName);

TYPED_TEST(InboxBehaviourTest, LoadReturnsMessagesOldestFirst) {
    InboxStore& inbox = this->store();
    for (std::uint64_t id : {30, 10, 20}) EXPECT_TRUE(inbox.append(7, message(id)));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{30, 10, 20}));
    EXPECT_EQ(inbox.counters().stored, 3u);
}

TYPED_TEST(InboxBehaviourTest, EveryFieldRoundTrips) {
    InboxStore& inbox = this->store();
    StoredMessage m = message(42, now_ms() + 90'000, R"({"text":"héllo"})");
    m.type = "pk.result";
    m.sent_at_ms = 1'712'345'678'901;
    m.sender = 77;
    ASSERT_TRUE(inbox.append(1, m));
    auto got = inbox.load(1, 10);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].msg_id, m.msg_id);
    EXPECT_EQ(got[0].type, m.type);
    EXPECT_EQ(got[0].payload, m.payload);
    EXPECT_EQ(got[0].sent_at_ms, m.sent_at_ms);
    EXPECT_EQ(got[0].expires_at_ms, m.expires_at_ms);
    EXPECT_EQ(got[0].sender, m.sender);
}

// ------------------------------------------------------------------ the senders' shares

StoredMessage from(std::uint64_t sender, std::uint64_t id,
                   std::uint64_t expires_at_ms = now_ms() + 60'000) {
    StoredMessage m = message(id, expires_at_ms);
    m.sender = sender;
    return m;
}

TYPED_TEST(InboxBehaviourTest, ASenderOverItsShareIsRefusedAndEarlierMessagesStay) {
    InboxStore& inbox = this->store(5, 2);
    EXPECT_TRUE(inbox.append(7, message(1)));  // an API push: no sender, no share
    EXPECT_EQ(inbox.append_checked(7, from(9, 2)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 3)), AppendResult::Stored);
    for (std::uint64_t id = 4; id < 40; ++id)
        EXPECT_EQ(inbox.append_checked(7, from(9, id)), AppendResult::ShareFull) << id;
    EXPECT_EQ(inbox.append_checked(7, from(9, 2)), AppendResult::Stored);   // a duplicate: fine
    EXPECT_EQ(inbox.append_checked(7, from(8, 50)), AppendResult::Stored);  // another sender
    EXPECT_EQ(inbox.append_checked(6, from(9, 60)), AppendResult::Stored);  // another inbox
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 2, 3, 50}));
    EXPECT_EQ(inbox.counters().share_full, 36u);
    EXPECT_EQ(inbox.counters().dropped_cap, 0u);
}

TYPED_TEST(InboxBehaviourTest, ARemovedMessageFreesItsSendersShare) {
    InboxStore& inbox = this->store(100, 2);
    EXPECT_EQ(inbox.append_checked(7, from(9, 1)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 2)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 3)), AppendResult::ShareFull);
    inbox.remove(7, {1});
    this->settle();
    EXPECT_EQ(inbox.append_checked(7, from(9, 3)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 4)), AppendResult::ShareFull);
}

TYPED_TEST(InboxBehaviourTest, AnExpiredMessageFreesItsSendersShare) {
    InboxStore& inbox = this->store(100, 2);
    EXPECT_EQ(inbox.append_checked(7, from(9, 1, now_ms() + 200)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 2)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 3)), AppendResult::ShareFull);
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{2}));  // prunes
    EXPECT_EQ(inbox.append_checked(7, from(9, 3)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 4)), AppendResult::ShareFull);
}

TYPED_TEST(InboxBehaviourTest, ACapDropFreesTheDroppedSendersShare) {
    InboxStore& inbox = this->store(3, 2);
    EXPECT_EQ(inbox.append_checked(7, from(9, 1)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(9, 2)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(8, 3)), AppendResult::Stored);
    EXPECT_EQ(inbox.append_checked(7, from(8, 4)), AppendResult::Stored);  // drops 1 (sender 9)
    EXPECT_EQ(inbox.append_checked(7, from(9, 5)), AppendResult::Stored);  // 9 holds 2, 5; drops 2
    EXPECT_EQ(inbox.append_checked(7, from(9, 6)), AppendResult::Stored);  // 9 holds 5, 6; drops 3
    EXPECT_EQ(inbox.append_checked(7, from(9, 7)), AppendResult::ShareFull);
    EXPECT_EQ(inbox.append_checked(7, from(8, 8)), AppendResult::Stored);  // 8 held only 4
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{5, 6, 8}));
}

TYPED_TEST(InboxBehaviourTest, AReStoreIsNeverRefusedButCountsTowardsTheShare) {
    InboxStore& inbox = this->store(100, 1);
    EXPECT_EQ(inbox.append_checked(7, from(9, 1)), AppendResult::Stored);
    EXPECT_TRUE(inbox.append(7, from(9, 2)));  // accepted earlier, back at a disconnect
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 2}));
    inbox.remove(7, {1});
    this->settle();
    EXPECT_EQ(inbox.append_checked(7, from(9, 3)), AppendResult::ShareFull);  // 2 still counts
    inbox.remove(7, {2});
    this->settle();
    EXPECT_EQ(inbox.append_checked(7, from(9, 3)), AppendResult::Stored);
}

TYPED_TEST(InboxBehaviourTest, AppendIgnoresAMsgIdAlreadyThere) {
    InboxStore& inbox = this->store();
    EXPECT_TRUE(inbox.append(7, message(1, now_ms() + 60'000, "first")));
    EXPECT_TRUE(inbox.append(7, message(2)));
    EXPECT_TRUE(inbox.append(7, message(1, now_ms() + 60'000, "second")));  // true: it is kept
    auto got = inbox.load(7, 100);
    EXPECT_EQ(ids_of(got), (Ids{1, 2}));
    EXPECT_EQ(got[0].payload, "first");
    EXPECT_EQ(inbox.counters().stored, 2u);
    EXPECT_EQ(inbox.counters().duplicates, 1u);
}

TYPED_TEST(InboxBehaviourTest, AppendManyStoresOneMessageForEveryUser) {
    InboxStore& inbox = this->store();
    std::vector<std::uint64_t> users;
    for (std::uint64_t u = 100; u < 1100; ++u) users.push_back(u);
    EXPECT_TRUE(inbox.append(150, message(9)));  // one of them has it already
    EXPECT_TRUE(inbox.append_many(users, message(9)).empty());
    EXPECT_TRUE(inbox.append_many({7}, message(9)).empty());
    EXPECT_EQ(ids_of(inbox.load(100, 10)), (Ids{9}));
    EXPECT_EQ(ids_of(inbox.load(150, 10)), (Ids{9})) << "once, not twice";
    EXPECT_EQ(ids_of(inbox.load(1099, 10)), (Ids{9}));
    this->settle();
    EXPECT_EQ(inbox.counters().stored, 1001u);
    EXPECT_EQ(inbox.counters().duplicates, 1u);
    EXPECT_TRUE(inbox.append_many({}, message(10)).empty());
}

TYPED_TEST(InboxBehaviourTest, NonemptyNamesTheUsersHoldingMessages) {
    InboxStore& inbox = this->store();
    EXPECT_TRUE(inbox.append(3, message(1)));
    EXPECT_TRUE(inbox.append(5, message(2)));
    EXPECT_TRUE(inbox.append(5, message(3)));
    std::vector<std::uint64_t> users;
    for (std::uint64_t u = 1; u <= 500; ++u) users.push_back(u);
    EXPECT_EQ(inbox.nonempty(users), (Ids{3, 5}));
    inbox.remove(3, {1});
    this->settle();
    EXPECT_EQ(inbox.nonempty(users), (Ids{5}));
    EXPECT_EQ(inbox.nonempty({}), Ids{});
}

TYPED_TEST(InboxBehaviourTest, AppendDropsTheOldestBeyondTheCap) {
    InboxStore& inbox = this->store(3);
    for (std::uint64_t id = 1; id <= 5; ++id) EXPECT_TRUE(inbox.append(7, message(id)));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{3, 4, 5}));
    EXPECT_EQ(inbox.size(7), 3u);
    EXPECT_EQ(inbox.counters().stored, 5u);
    EXPECT_EQ(inbox.counters().dropped_cap, 2u);
    // A msg_id dropped by the cap is no longer there: it is stored again.
    EXPECT_TRUE(inbox.append(7, message(1)));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{4, 5, 1}));
}

TYPED_TEST(InboxBehaviourTest, ACapOfZeroKeepsNothing) {
    InboxStore& inbox = this->store(0);
    EXPECT_TRUE(inbox.append(7, message(1)));
    EXPECT_TRUE(inbox.load(7, 100).empty());
    EXPECT_EQ(inbox.size(7), 0u);
    EXPECT_EQ(inbox.counters().stored, 1u);
    EXPECT_EQ(inbox.counters().dropped_cap, 1u);
}

TYPED_TEST(InboxBehaviourTest, ExpiredMessagesAreNeverReturned) {
    InboxStore& inbox = this->store();
    const auto now = now_ms();
    EXPECT_TRUE(inbox.append(7, message(1, now + 60'000)));
    EXPECT_TRUE(inbox.append(7, message(2, now + 500)));  // expires behind a live one
    EXPECT_TRUE(inbox.append(7, message(3, 0)));          // never expires
    EXPECT_TRUE(inbox.append(7, message(4, now + 500)));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 2, 3, 4}));
    std::this_thread::sleep_for(600ms);
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 3}));
    EXPECT_EQ(inbox.size(7), 2u);
    EXPECT_EQ(inbox.counters().expired, 2u);
}

TYPED_TEST(InboxBehaviourTest, AFarFutureExpiryIsKept) {
    InboxStore& inbox = this->store();
    const std::uint64_t far = std::numeric_limits<std::uint64_t>::max();
    EXPECT_TRUE(inbox.append(7, message(1, far)));
    EXPECT_TRUE(inbox.append(7, message(2)));
    auto got = inbox.load(7, 100);
    EXPECT_EQ(ids_of(got), (Ids{1, 2}));
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0].expires_at_ms, far);
    EXPECT_EQ(inbox.size(7), 2u);
}

TYPED_TEST(InboxBehaviourTest, SizePrunesExpiredMessages) {
    InboxStore& inbox = this->store();
    const auto now = now_ms();
    EXPECT_TRUE(inbox.append(7, message(1, now + 500)));
    EXPECT_TRUE(inbox.append(7, message(2, now + 60'000)));
    EXPECT_EQ(inbox.size(7), 2u);
    std::this_thread::sleep_for(600ms);
    EXPECT_EQ(inbox.size(7), 1u);
    EXPECT_EQ(inbox.counters().expired, 1u);
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{2}));
    EXPECT_EQ(inbox.counters().expired, 1u);  // counted once
}

TYPED_TEST(InboxBehaviourTest, LoadLeavesMessagesUntilTheyAreRemoved) {
    InboxStore& inbox = this->store();
    for (std::uint64_t id = 1; id <= 3; ++id) EXPECT_TRUE(inbox.append(7, message(id)));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 2, 3}));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 2, 3}));
    EXPECT_EQ(inbox.size(7), 3u);
}

TYPED_TEST(InboxBehaviourTest, RemoveDeletesOnlyTheGivenIds) {
    InboxStore& inbox = this->store();
    for (std::uint64_t id = 1; id <= 5; ++id) EXPECT_TRUE(inbox.append(7, message(id)));
    inbox.remove(7, {2, 4, 4, 99});  // a repeated id and one that is not there
    inbox.remove(7, {});
    inbox.remove(8, {1});  // another user's inbox: nothing there
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 3, 5}));
    EXPECT_EQ(inbox.size(7), 3u);
    this->settle();
    EXPECT_EQ(inbox.counters().removed, 2u);
    inbox.remove(7, {1, 3, 5});
    EXPECT_TRUE(inbox.load(7, 100).empty());
    EXPECT_EQ(inbox.size(7), 0u);
    this->settle();
    EXPECT_EQ(inbox.counters().removed, 5u);
}

TYPED_TEST(InboxBehaviourTest, ARemovedMsgIdCanBeStoredAgain) {
    InboxStore& inbox = this->store();
    EXPECT_TRUE(inbox.append(7, message(1)));
    EXPECT_TRUE(inbox.append(7, message(2)));
    inbox.remove(7, {1});
    EXPECT_TRUE(inbox.append(7, message(1)));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{2, 1}));
    EXPECT_EQ(inbox.counters().stored, 3u);
    EXPECT_EQ(inbox.counters().duplicates, 0u);
}

TYPED_TEST(InboxBehaviourTest, LoadReturnsAtMostMaxOldestFirst) {
    InboxStore& inbox = this->store();
    for (std::uint64_t id = 1; id <= 5; ++id) EXPECT_TRUE(inbox.append(7, message(id)));
    EXPECT_EQ(ids_of(inbox.load(7, 2)), (Ids{1, 2}));
    EXPECT_EQ(ids_of(inbox.load(7, 5)), (Ids{1, 2, 3, 4, 5}));
    EXPECT_TRUE(inbox.load(7, 0).empty());
    EXPECT_EQ(ids_of(inbox.load(7, static_cast<std::size_t>(-1))), (Ids{1, 2, 3, 4, 5}));
}

TYPED_TEST(InboxBehaviourTest, UnknownUserHasAnEmptyInbox) {
    InboxStore& inbox = this->store();
    EXPECT_TRUE(inbox.load(12345, 100).empty());
    EXPECT_EQ(inbox.size(12345), 0u);
    inbox.remove(12345, {1, 2});
    this->settle();
    EXPECT_EQ(inbox.counters().removed, 0u);
}

TYPED_TEST(InboxBehaviourTest, UsersAreIsolated) {
    InboxStore& inbox = this->store(2);
    EXPECT_TRUE(inbox.append(1, message(10)));
    EXPECT_TRUE(inbox.append(2, message(10)));  // the same msg_id for another user is no duplicate
    EXPECT_TRUE(inbox.append(2, message(20)));
    EXPECT_TRUE(inbox.append(2, message(30)));  // user 2 over its cap; user 1 untouched
    inbox.remove(1, {20});
    EXPECT_EQ(ids_of(inbox.load(1, 100)), (Ids{10}));
    EXPECT_EQ(ids_of(inbox.load(2, 100)), (Ids{20, 30}));
    EXPECT_EQ(inbox.size(1), 1u);
    EXPECT_EQ(inbox.size(2), 2u);
    this->settle();
    EXPECT_EQ(inbox.counters().duplicates, 0u);
    EXPECT_EQ(inbox.counters().dropped_cap, 1u);
    EXPECT_EQ(inbox.counters().removed, 0u);
}

TYPED_TEST(InboxBehaviourTest, SweepDropsExpiredMessagesOfEveryUserAndCountsWhatIsLeft) {
    InboxStore& inbox = this->store();
    const auto now = now_ms();
    for (std::uint64_t user : {1, 2}) {
        EXPECT_TRUE(inbox.append(user, message(100 + user, now + 200)));
        EXPECT_TRUE(inbox.append(user, message(200 + user, now + 60'000)));
    }
    std::this_thread::sleep_for(300ms);
    inbox.sweep(now_ms());
    // RedisInbox sweeps asynchronously.
    EXPECT_TRUE(eventually([&] { return inbox.counters().expired == 2; }))
        << inbox.counters().expired;
    EXPECT_TRUE(eventually([&] {
        return inbox.counters().size == 2 && inbox.counters().users == 2;
    })) << inbox.counters().size
        << " messages, " << inbox.counters().users << " users";
    EXPECT_EQ(ids_of(inbox.load(1, 100)), (Ids{201}));
    EXPECT_EQ(ids_of(inbox.load(2, 100)), (Ids{202}));
    EXPECT_EQ(inbox.counters().expired, 2u);
}

// ------------------------------------------------------------------------------- Redis only

class RedisInboxTest : public ::testing::Test {
protected:
    RedisInboxTest() : client_(connected_client(redis_)) {}

    RedisInbox::Options options() const {
        RedisInbox::Options o;
        o.timeout = 300ms;
        return o;
    }
    redis::Reply cmd(std::vector<std::string> args) {
        return client_->command_sync(std::move(args), 2s);
    }

    lp::testing::RedisServer redis_;
    std::unique_ptr<redis::Client> client_;
};

TEST_F(RedisInboxTest, ASecondNodeSeesTheSameInbox) {
    auto other_client = connected_client(redis_);
    RedisInbox node_a(*client_, 1000, options());
    RedisInbox node_b(*other_client, 1000, options());

    for (std::uint64_t id = 1; id <= 3; ++id) ASSERT_TRUE(node_a.append(7, message(id)));
    EXPECT_TRUE(node_b.append(7, message(2)));  // stored by node A: a duplicate for node B too
    EXPECT_EQ(ids_of(node_b.load(7, 100)), (Ids{1, 2, 3}));
    EXPECT_EQ(node_b.counters().duplicates, 1u);

    node_b.remove(7, {1, 3});
    EXPECT_TRUE(eventually([&] { return node_a.size(7) == 1; }));
    EXPECT_EQ(ids_of(node_a.load(7, 100)), (Ids{2}));
    EXPECT_TRUE(eventually([&] { return node_b.counters().removed == 2; }));
    EXPECT_EQ(node_a.counters().removed, 0u);  // each node counts what it did
}

TEST_F(RedisInboxTest, StoresAListOfIdsAHashOfProtobufMessagesAndAnExpiryIndex) {
    RedisInbox inbox(*client_, 1000, options());
    const auto keys = inbox.keys_of(42);
    EXPECT_EQ(keys.ids, "lp:inbox:{42}");
    EXPECT_EQ(keys.messages, "lp:inbox:{42}:m");
    EXPECT_EQ(keys.expiry, "lp:inbox:{42}:exp");

    const auto expires = now_ms() + 60'000;
    ASSERT_TRUE(inbox.append(42, message(5, expires)));
    ASSERT_TRUE(inbox.append(42, message(6, 0)));

    auto list = cmd({"LRANGE", keys.ids, "0", "-1"});
    ASSERT_EQ(list.elements.size(), 2u);
    EXPECT_EQ(list.elements[0].str, "5");
    EXPECT_EQ(list.elements[1].str, "6");

    auto stored = cmd({"HGET", keys.messages, "5"});
    ASSERT_EQ(stored.type, redis::Reply::Type::String);
    livepush::internal::v1::InboxMessage pb;
    ASSERT_TRUE(pb.ParseFromString(stored.str));
    EXPECT_EQ(pb.msg_id(), 5u);
    EXPECT_EQ(pb.type(), "im.message");
    EXPECT_EQ(pb.expires_at_ms(), expires);
    EXPECT_EQ(stored.str, RedisInbox::encode(message(5, expires)));

    EXPECT_EQ(cmd({"ZSCORE", keys.expiry, "5"}).str, std::to_string(expires));
    EXPECT_TRUE(cmd({"ZSCORE", keys.expiry, "6"}).is_nil());  // never expires: not indexed
}

TEST_F(RedisInboxTest, KeepsEachSendersShareInAHashInStepWithTheMessages) {
    RedisInbox inbox(*client_, 1000, options(), 10);
    const auto keys = inbox.keys_of(42);
    EXPECT_EQ(keys.senders, "lp:inbox:{42}:s");
    StoredMessage a = message(5), b = message(6), api = message(7);
    a.sender = b.sender = 9;
    ASSERT_EQ(inbox.append_checked(42, a), AppendResult::Stored);
    ASSERT_EQ(inbox.append_checked(42, b), AppendResult::Stored);
    ASSERT_EQ(inbox.append_checked(42, api), AppendResult::Stored);
    EXPECT_EQ(cmd({"HGET", keys.senders, "c9"}).str, "2");
    EXPECT_EQ(cmd({"HGET", keys.senders, "m5"}).str, "9");
    EXPECT_TRUE(cmd({"HGET", keys.senders, "m7"}).is_nil());  // no sender: not counted
    EXPECT_EQ(cmd({"TTL", keys.senders}).integer > 0, true);  // leaves with the inbox
    inbox.remove(42, {5, 6});
    EXPECT_TRUE(eventually([&] { return cmd({"HLEN", keys.senders}).integer == 0; }));
}

TEST_F(RedisInboxTest, KeysLiveAsLongAsTheLatestMessage) {
    RedisInbox inbox(*client_, 1000, options());
    const auto keys = inbox.keys_of(7);
    auto pttl = [&](const std::string& key) { return cmd({"PTTL", key}).integer; };
    auto all_near = [&](long long want) {
        for (const auto& key : {keys.ids, keys.messages, keys.expiry}) {
            long long got = pttl(key);
            if (got > want || got < want - 5'000) {
                ADD_FAILURE() << key << " PTTL " << got << ", want about " << want;
            }
        }
    };
    ASSERT_TRUE(inbox.append(7, message(1, now_ms() + 60'000)));
    all_near(60'000);
    ASSERT_TRUE(inbox.append(7, message(2, now_ms() + 600'000)));
    all_near(600'000);
    ASSERT_TRUE(inbox.append(7, message(3, now_ms() + 30'000)));  // a shorter one: no shorter TTL
    all_near(600'000);
    ASSERT_TRUE(inbox.append(7, message(4, 0)));  // never expires: neither do the keys
    EXPECT_EQ(pttl(keys.ids), -1);
    EXPECT_EQ(pttl(keys.messages), -1);
    EXPECT_EQ(pttl(keys.expiry), -1);
    inbox.remove(7, {4});
    ASSERT_TRUE(inbox.append(7, message(5, now_ms() + 60'000)));  // TTL back, from what is held
    all_near(600'000);
}

TEST_F(RedisInboxTest, AnAbandonedInboxLeavesRedisByItself) {
    RedisInbox inbox(*client_, 1000, options());
    const auto keys = inbox.keys_of(7);
    ASSERT_TRUE(inbox.append(7, message(1, now_ms() + 150)));
    ASSERT_TRUE(inbox.append(7, message(2, now_ms() + 250)));
    EXPECT_EQ(cmd({"EXISTS", keys.ids, keys.messages, keys.expiry}).integer, 3);
    EXPECT_TRUE(eventually(
        [&] {
            return cmd({"EXISTS", keys.ids, keys.messages, keys.expiry}).integer == 0;
        },
        3s));
    EXPECT_TRUE(inbox.load(7, 100).empty());
}

TEST_F(RedisInboxTest, ALargeBinaryPayloadRoundTripsByteForByte) {
    RedisInbox inbox(*client_, 1000, options());
    StoredMessage m = message(1);
    m.payload.resize(64 * 1024);
    for (std::size_t i = 0; i < m.payload.size(); ++i) {
        m.payload[i] = static_cast<char>((i * 131 + 7) & 0xff);  // every byte value, NULs too
    }
    m.payload.replace(0, 4, "\xff\xfe\xc0\x80");  // not UTF-8
    m.type = std::string("bin\0\xff\x80type", 10);
    ASSERT_TRUE(inbox.append(7, m));
    ASSERT_TRUE(inbox.append(7, message(2)));
    auto got = inbox.load(7, 100);
    ASSERT_EQ(got.size(), 2u);
    EXPECT_EQ(got[0].type, m.type);
    EXPECT_TRUE(got[0].payload == m.payload) << "payload differs";
    EXPECT_EQ(got[1].msg_id, 2u);
}

TEST_F(RedisInboxTest, AppendFailsWhileRedisIsDownAndWorksOnceItIsBack) {
    RedisInbox inbox(*client_, 1000, options());
    ASSERT_TRUE(inbox.append(7, message(1)));

    redis_.kill9();
    ASSERT_TRUE(eventually([&] { return !client_->connected(); }));
    const auto t0 = Clock::now();
    EXPECT_FALSE(inbox.append(7, message(2)));
    EXPECT_LT(Clock::now() - t0, 1s);
    EXPECT_EQ(inbox.append_many({7, 8, 9}, message(2)), (std::vector<std::uint64_t>{7, 8, 9}))
        << "every user it could not store for";
    EXPECT_TRUE(inbox.load(7, 100).empty());
    EXPECT_EQ(inbox.size(7), 0u);
    inbox.remove(7, {1});
    inbox.sweep(now_ms());
    EXPECT_TRUE(eventually([&] { return inbox.stats().remove_failures == 1; }));
    EXPECT_TRUE(eventually([&] { return inbox.stats().sweep_failures == 1; }));
    auto st = inbox.stats();
    EXPECT_EQ(st.append_failures, 4u);
    EXPECT_EQ(st.load_failures, 1u);
    EXPECT_EQ(st.size_failures, 1u);

    redis_.start();  // a fresh Redis: what was stored before the crash is gone (no persistence)
    EXPECT_TRUE(eventually([&] { return inbox.append(7, message(3)); }));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{3}));
    inbox.sweep(now_ms());  // the sweep resumes
    EXPECT_TRUE(eventually([&] { return inbox.stats().sweep_passes == 1; }));
    EXPECT_EQ(inbox.counters().size, 1u);
}

TEST_F(RedisInboxTest, AppendGivesUpWithinItsTimeoutWhenRedisHangs) {
    RedisInbox inbox(*client_, 1000, options());  // 300 ms
    ASSERT_TRUE(inbox.append(7, message(1)));
    redis_.pause();
    const auto t0 = Clock::now();
    EXPECT_FALSE(inbox.append(7, message(2)));
    const auto took = Clock::now() - t0;
    EXPECT_GE(took, 250ms);
    EXPECT_LT(took, 1000ms);
    const auto t1 = Clock::now();
    EXPECT_TRUE(inbox.load(7, 100).empty());
    EXPECT_LT(Clock::now() - t1, 1000ms);
    redis_.resume();
    // The client drops the hung connection and reconnects; the timed-out append may have landed.
    EXPECT_TRUE(eventually([&] { return inbox.append(7, message(3)); }));
    auto ids = ids_of(inbox.load(7, 100));
    ASSERT_GE(ids.size(), 2u);
    EXPECT_EQ(ids.front(), 1u);
    EXPECT_EQ(ids.back(), 3u);
}

TEST_F(RedisInboxTest, ACorruptStoredValueIsSkippedAndCounted) {
    RedisInbox inbox(*client_, 1000, options());
    const auto keys = inbox.keys_of(7);
    ASSERT_TRUE(inbox.append(7, message(1)));
    ASSERT_TRUE(cmd({"RPUSH", keys.ids, "2"}).ok());
    ASSERT_TRUE(cmd({"HSET", keys.messages, "2", std::string("\x0a\xff\xff\xff", 4)}).ok());
    ASSERT_TRUE(inbox.append(7, message(3)));
    EXPECT_EQ(ids_of(inbox.load(7, 100)), (Ids{1, 3}));
    EXPECT_EQ(inbox.stats().corrupt, 1u);
    inbox.remove(7, {2});  // an ack still clears it
    EXPECT_EQ(inbox.size(7), 2u);
}

TEST_F(RedisInboxTest, SweepWalksEveryInboxAcrossSeveralCalls) {
    RedisInbox::Options o = options();
    o.sweep_keys_per_call = 10;
    RedisInbox inbox(*client_, 1000, o);
    for (std::uint64_t user = 1; user <= 200; ++user)
        ASSERT_TRUE(inbox.append(user, message(user)));
    ASSERT_TRUE(inbox.append(1, message(1000)));
    const auto t0 = Clock::now();
    int calls = 0;
    while (inbox.stats().sweep_passes == 0 && Clock::now() - t0 < 10s) {
        inbox.sweep(now_ms());
        ++calls;
        std::this_thread::sleep_for(2ms);
    }
    ASSERT_EQ(inbox.stats().sweep_passes, 1u);
    EXPECT_GT(calls, 5);
    EXPECT_EQ(inbox.counters().users, 200u);
    EXPECT_EQ(inbox.counters().size, 201u);
    EXPECT_EQ(inbox.stats().sweep_failures, 0u);
}

TEST_F(RedisInboxTest, RejectsAKeyPrefixThatWouldBreakTheHashTagOrTheSweep) {
    RedisInbox::Options o = options();
    o.key_prefix = "lp:{inbox}:";
    EXPECT_THROW(RedisInbox(*client_, 10, o), std::invalid_argument);
    o.key_prefix = "lp:inbox*:";
    EXPECT_THROW(RedisInbox(*client_, 10, o), std::invalid_argument);
    o.key_prefix = "staging:inbox:";
    RedisInbox staging(*client_, 10, o);
    ASSERT_TRUE(staging.append(7, message(1)));
    EXPECT_EQ(cmd({"EXISTS", "staging:inbox:{7}"}).integer, 1);
}

// Not a benchmark: a bounded loop that prints what one client does on this machine, with
// loose floors so a regression by orders of magnitude fails.
TEST_F(RedisInboxTest, ThroughputInABoundedLoop) {
    // Every call must succeed, on a machine whose other builds starve this process and its
    // redis-server: the fixture's bounds (300 ms per inbox call, a connection taken for hung
    // after 1 s without an answer; made for the timeout tests) are not what is measured here.
    // Starved, the one load of 12.8 MB below took over a second to start answering, the
    // client dropped the connection and the load came back empty. So the calls get patient
    // bounds and the rates below judge the speed.
    redis::Client::Options patient_client_options = client_options(redis_);
    patient_client_options.command_timeout = 10s;
    redis::Client patient_client(patient_client_options);
    patient_client.start();
    ASSERT_TRUE(eventually([&] { return patient_client.connected(); }))
        << patient_client.last_error();
    RedisInbox::Options patient = options();
    patient.timeout = 5s;
    RedisInbox inbox(patient_client, 1000, patient);
    constexpr int kMessages = 2000;
    const std::string payload(200, 'x');
    auto rate = [](int n, Clock::duration d) {
        return n / std::chrono::duration<double>(d).count();
    };

    auto t0 = Clock::now();
    for (int i = 1; i <= kMessages; ++i) {
        ASSERT_TRUE(inbox.append(static_cast<std::uint64_t>(i % 100),
                                 message(i, now_ms() + 60'000, payload)));
    }
    const double append_one_thread = rate(kMessages, Clock::now() - t0);

    constexpr int kThreads = 4;
    std::atomic<int> failed{0};
    t0 = Clock::now();
    {
        std::vector<std::jthread> threads;
        for (int t = 0; t < kThreads; ++t) {
            threads.emplace_back([&, t] {
                for (int i = 0; i < kMessages / kThreads; ++i) {
                    auto id = static_cast<std::uint64_t>(100'000 + t * kMessages + i);
                    if (!inbox.append(id % 100, message(id, now_ms() + 60'000, payload))) ++failed;
                }
            });
        }
    }
    const double append_four_threads = rate(kMessages, Clock::now() - t0);
    EXPECT_EQ(failed.load(), 0);

    constexpr int kLoads = 500;
    std::size_t loaded = 0;
    t0 = Clock::now();
    for (int i = 0; i < kLoads; ++i)
        loaded += inbox.load(static_cast<std::uint64_t>(i % 100), 40).size();
    const double loads = rate(kLoads, Clock::now() - t0);
    EXPECT_EQ(loaded, static_cast<std::size_t>(kLoads) * 40);

    t0 = Clock::now();
    for (int i = 1; i <= kMessages; ++i)
        inbox.remove(static_cast<std::uint64_t>(i % 100), {static_cast<std::uint64_t>(i)});
    ASSERT_TRUE(patient_client.command_sync({"PING"}, 10s).ok());  // all removes applied
    const double removes = rate(kMessages, Clock::now() - t0);
    EXPECT_EQ(inbox.counters().removed, static_cast<std::uint64_t>(kMessages));
    EXPECT_EQ(inbox.stats().remove_failures, 0u);

    // The worst case of a login: a full replay of large messages, in one blocking call.
    RedisInbox big_inbox(patient_client, 1000, patient);
    const std::string big_payload(64 * 1024, 'b');
    for (std::uint64_t id = 1; id <= 200; ++id) {
        ASSERT_TRUE(big_inbox.append(555, message(id, now_ms() + 60'000, big_payload)));
    }
    t0 = Clock::now();
    EXPECT_EQ(big_inbox.load(555, 1000).size(), 200u);
    const double big_load_ms = std::chrono::duration<double, std::milli>(Clock::now() - t0).count();

    std::printf(
        "[ info ] append %.0f/s (1 thread), %.0f/s (%d threads); load of 40 %.0f/s "
        "(%.0f msgs/s); remove (async) %.0f/s; one load of 200 x 64 KiB %.1f ms\n",
        append_one_thread, append_four_threads, kThreads, loads, loads * 40, removes, big_load_ms);
    EXPECT_GT(append_one_thread, 200.0);
    EXPECT_GT(loads, 100.0);
    EXPECT_GT(removes, 1000.0);
}

}  // namespace
}  // namespace lp::ack
