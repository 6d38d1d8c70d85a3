// tests/redis/sentinel_wait_test: redis::Client's sentinel mode and WAIT, against real
// redis-server and redis-sentinel processes on run-time ports.
//
// What is pinned here: replicated commands are confirmed by one WAIT per round trip and turned
// into "WAIT ..." errors when too few replicas acknowledge (plain commands never are); with
// wait_replicas 0 they are plain; the client finds the master through a sentinel, reports its
// address and replica count, follows a failover the sentinel makes (the old master demoted:
// ROLE / READONLY) to the new master with on_state down then up; and with no sentinel answering
// it says so instead of connecting anywhere.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "redis/client.hpp"
#include "redis_server.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::redis {
namespace {

using namespace std::chrono_literals;
using lp::testing::eventually;
using lp::testing::RedisServer;

const Script kIncr("return redis.call('INCR', KEYS[1])");

Reply one_shot(std::uint16_t port, std::vector<std::string> args) {
    Client::Options o;
    o.port = port;
    o.health_check_interval = 0ms;
    Client c(o);
    c.start();
    eventually([&] { return c.connected(); }, 2000ms);
    return c.command_sync(std::move(args), 3000ms);
}

std::string field(const Reply& r, const std::string& name) {
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        if (r.elements[i].str == name) return r.elements[i + 1].str;
    return {};
}

std::unique_ptr<RedisServer> replica_of(const RedisServer& master) {
    auto r = std::make_unique<RedisServer>(
        std::vector<std::string>{"--replicaof", "127.0.0.1", std::to_string(master.port()),
                                 "--repl-diskless-sync-delay", "0"});
    EXPECT_TRUE(eventually(
        [&] {
            return one_shot(master.port(), {"INFO", "replication"}).str.find("state=online") !=
                   std::string::npos;
        },
        10000ms))
        << "the replica did not sync";
    return r;
}

// One redis-sentinel monitoring `master` as mymaster, quorum 1, its config in its own dir.
class Sentinel {
public:
    explicit Sentinel(const RedisServer& master) {
        dir_ = (std::filesystem::temp_directory_path() / "livepush-sentinel-XXXXXX").string();
        if (!::mkdtemp(dir_.data())) throw std::runtime_error("mkdtemp failed");
        const std::string conf = dir_ + "/sentinel.conf";
        std::ofstream(conf) << "sentinel monitor mymaster 127.0.0.1 " << master.port() << " 1\n"
                            << "sentinel down-after-milliseconds mymaster 1000\n"
                            << "sentinel failover-timeout mymaster 5000\n";
        server_ = std::make_unique<RedisServer>(std::vector<std::string>{"--sentinel"},
                                                std::vector<std::string>{conf});
    }
    ~Sentinel() {
        server_.reset();
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    std::uint16_t port() const { return server_->port(); }
    // The sentinel has seen the replica itself (INFO from it: a failover may promote it).
    bool knows_a_healthy_replica() const {
        const Reply r = one_shot(port(), {"SENTINEL", "replicas", "mymaster"});
        return r.elements.size() == 1 && field(r.elements[0], "flags") == "slave" &&
               field(r.elements[0], "master-link-status") == "ok";
    }

private:
    std::string dir_;
    std::unique_ptr<RedisServer> server_;
};

Client::Options direct(const RedisServer& r, std::size_t wait_replicas,
                       std::chrono::milliseconds wait_timeout = 200ms) {
    Client::Options o;
    o.host = r.host();
    o.port = r.port();
    o.wait_replicas = wait_replicas;
    o.wait_timeout = wait_timeout;
    return o;
}

// Full syncs start at once (Redis 7 waits 5 s for more replicas by default).
std::vector<std::string> master_args() {
    return {"--repl-diskless-sync-delay", "0"};
}

TEST(RedisWait, AReplicaConfirmsReplicatedCommands) {
    RedisServer master(master_args());
    auto replica = replica_of(master);
    Client c(direct(master, 1, 3000ms));  // generous: the machine may be busy
    c.start();
    ASSERT_TRUE(eventually([&] { return c.connected(); }, 5000ms));
    Reply r = c.eval_replicated_sync(kIncr, {"lp:test:{w}"}, {}, 8000ms);
    ASSERT_EQ(r.type, Reply::Type::Integer) << r.str;
    EXPECT_EQ(r.integer, 1);
    auto s = c.stats();
    EXPECT_EQ(s.wait_failures, 0u);
    EXPECT_GE(s.waits, 1u);
    // What WAIT confirmed is on the replica already.
    EXPECT_EQ(one_shot(replica->port(), {"GET", "lp:test:{w}"}).str, "1");
}

TEST(RedisWait, TooFewReplicasTurnsEveryReplicatedReplyIntoAnError) {
    RedisServer master;  // no replica
    Client c(direct(master, 1));
    // Queued before start(): all in the first round trip, confirmed (here: refused) by one WAIT.
    constexpr int kN = 20;
    std::mutex mu;
    std::vector<Reply> replies;
    for (int i = 0; i < kN; ++i) {
        c.eval_replicated(kIncr, {"lp:test:{n}"}, {}, [&](const Reply& r) {
            std::lock_guard lk(mu);
            replies.push_back(r);
        });
    }
    c.start();
    ASSERT_TRUE(eventually(
        [&] {
            std::lock_guard lk(mu);
            return replies.size() == kN;
        },
        5000ms));
    for (const auto& r : replies) {
        ASSERT_TRUE(r.is_error());
        EXPECT_TRUE(r.str.starts_with(kErrWaitPrefix)) << r.str;
    }
    auto s = c.stats();
    EXPECT_EQ(s.wait_failures, static_cast<std::uint64_t>(kN));
    EXPECT_EQ(s.waits, 1u) << "one WAIT per round trip";
    // Plain commands on the same client are not subject to WAIT.
    EXPECT_TRUE(c.command_sync({"SET", "lp:test:{p}", "x"}, 2000ms).is_status("OK"));
    EXPECT_EQ(c.eval_sync(kIncr, {"lp:test:{n}"}, {}, 2000ms).integer, kN + 1)
        << "the refused writes did happen on the master: they are not known to be replicated";
    EXPECT_EQ(c.stats().waits, 1u);
}

TEST(RedisWait, ZeroReplicasIsAPlainEval) {
    RedisServer master;
    Client c(direct(master, 0));
    c.start();
    EXPECT_EQ(c.eval_replicated_sync(kIncr, {"lp:test:{z}"}, {}, 2000ms).integer, 1);
    EXPECT_EQ(c.stats().waits, 0u);
}

TEST(RedisSentinel, FindsTheMasterAndFollowsAFailover) {
    RedisServer master(master_args());
    auto replica = replica_of(master);
    Sentinel sentinel(master);
    ASSERT_TRUE(eventually([&] { return sentinel.knows_a_healthy_replica(); }, 15000ms));

    Client::Options o;
    o.port = 1;  // unused in sentinel mode
    o.sentinels = {{"127.0.0.1", sentinel.port()}};
    o.health_check_interval = 200ms;
    o.backoff_max = 500ms;
    Client c(o);
    std::mutex mu;
    std::vector<bool> states;
    c.on_state([&](bool up) {
        std::lock_guard lk(mu);
        states.push_back(up);
    });
    c.start();
    ASSERT_TRUE(eventually([&] { return c.connected(); }, 5000ms)) << c.last_error();
    const std::string old_master = "127.0.0.1:" + std::to_string(master.port());
    const std::string new_master = "127.0.0.1:" + std::to_string(replica->port());
    EXPECT_EQ(c.stats().master, old_master);
    EXPECT_EQ(c.stats().replicas, 1);
    EXPECT_TRUE(c.command_sync({"SET", "lp:test:{f}", "before"}, 2000ms).is_status("OK"));

    // A failover the sentinel makes at once: the replica is promoted, the old master demoted
    // (it stays up, as a replica: only its ROLE or a READONLY answer says it is not the master).
    ASSERT_TRUE(one_shot(sentinel.port(), {"SENTINEL", "FAILOVER", "mymaster"}).is_status("OK"));
    ASSERT_TRUE(eventually(
        [&] {
            return c.stats().master == new_master && c.connected() &&
                   c.command_sync({"SET", "lp:test:{f}", "after"}, 1000ms).is_status("OK");
        },
        15000ms))
        << "master " << c.stats().master << ", last error " << c.last_error();
    EXPECT_EQ(c.stats().master_changes, 1u);
    EXPECT_GE(c.stats().stale_master_drops + c.stats().reconnects, 1u);
    EXPECT_EQ(one_shot(replica->port(), {"GET", "lp:test:{f}"}).str, "after");
    std::lock_guard lk(mu);
    ASSERT_GE(states.size(), 3u);
    EXPECT_TRUE(states[0]);
    EXPECT_FALSE(states[1]) << "callers are told the connection went down";
    EXPECT_TRUE(states.back()) << "and up again, so they re-register";
}

// The master named by the sentinels turns into a replica under the client (no connection
// closed): the next write's READONLY (or the idle ROLE check) drops the connection, and the
// reconnect refuses a server whose ROLE is not master until it is one again.
TEST(RedisSentinel, ADemotedMasterIsDroppedAndNotReconnectedTo) {
    RedisServer master(master_args());
    auto replica = replica_of(master);
    Sentinel sentinel(master);
    ASSERT_TRUE(eventually([&] { return sentinel.knows_a_healthy_replica(); }, 15000ms));
    Client::Options o;
    o.sentinels = {{"127.0.0.1", sentinel.port()}};
    o.health_check_interval = 100ms;
    o.backoff_max = 200ms;
    Client c(o);
    c.start();
    ASSERT_TRUE(eventually([&] { return c.connected(); }, 5000ms)) << c.last_error();
    ASSERT_TRUE(one_shot(master.port(), {"REPLICAOF", "127.0.0.1", std::to_string(replica->port())})
                    .is_status("OK"));
    c.command({"SET", "lp:test:{d}", "x"});  // READONLY now, unless a ROLE check came first
    ASSERT_TRUE(eventually([&] { return c.stats().stale_master_drops >= 1; }, 5000ms));
    ASSERT_TRUE(eventually(
        [&] { return c.last_error().find("its ROLE is slave") != std::string::npos; }, 5000ms))
        << c.last_error();
    EXPECT_FALSE(c.connected());
    ASSERT_TRUE(one_shot(master.port(), {"REPLICAOF", "NO", "ONE"}).is_status("OK"));
    EXPECT_TRUE(eventually([&] { return c.connected(); }, 5000ms)) << c.last_error();
}

TEST(RedisSentinel, NoSentinelAnsweringMeansNoConnection) {
    RedisServer decoy;  // a Redis the client must never fall back to
    Client::Options o;
    o.host = decoy.host();
    o.port = decoy.port();
    o.sentinels = {{"127.0.0.1", 1}};
    o.backoff_max = 200ms;
    Client c(o);
    c.start();
    ASSERT_TRUE(eventually([&] { return c.stats().sentinel_failures >= 2; }, 5000ms));
    EXPECT_FALSE(c.connected());
    EXPECT_NE(c.last_error().find("no sentinel named a master for mymaster"), std::string::npos)
        << c.last_error();
    EXPECT_TRUE(c.command_sync({"PING"}, 1000ms).is_error());
}

}  // namespace
}  // namespace lp::redis
