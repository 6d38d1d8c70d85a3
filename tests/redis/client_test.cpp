// tests/router/redis_client_test: Client against a real redis-server on a run-time port.
//
// What is pinned here: replies of every shape come back intact and in order, commands are
// pipelined (many per round trip), scripts survive SCRIPT FLUSH, and when Redis restarts, is
// killed, hangs or the caller floods the queue, every callback still runs exactly once with a
// clear error, nothing hangs, and the same client works again once Redis is back.
//
// Over 600 lines: one suite for the one Redis client every module uses; its failure cases
// (restart, kill, hang, flood) each need their own server life cycle.
#include "redis/client.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <future>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <vector>

#include "redis_server.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::redis {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using Type = Reply::Type;

using lp::testing::eventually;

// on_state transitions, as seen by the hook.
class StateLog {
public:
    std::function<void(bool)> hook() {
        return [this](bool up) {
            std::lock_guard lk(mu_);
            events_.push_back(up);
        };
    }
    std::vector<bool> events() const {
        std::lock_guard lk(mu_);
        return events_;
    }
    std::size_t count(bool up) const {
        auto e = events();
        return static_cast<std::size_t>(std::count(e.begin(), e.end(), up));
    }

private:
    mutable std::mutex mu_;
    std::vector<bool> events_;
};

class RedisClientTest : public ::testing::Test {
protected:
    Client::Options options() const {
        Client::Options o;
        o.host = redis_.host();
        o.port = redis_.port();
        o.connect_timeout = 500ms;
        o.command_timeout = 1000ms;
        o.backoff_min = 20ms;
        o.backoff_max = 200ms;
        return o;
    }

    // A started client whose on_state goes to `states_`; connected when this returns.
    std::unique_ptr<Client> connected_client(Client::Options o) {
        auto c = std::make_unique<Client>(std::move(o));
        c->on_state(states_.hook());
        c->start();
        EXPECT_TRUE(eventually([&] { return c->connected(); })) << c->last_error();
        return c;
    }
    std::unique_ptr<Client> connected_client() { return connected_client(options()); }

    lp::testing::RedisServer redis_;
    StateLog states_;
};

TEST_F(RedisClientTest, SyncCommandsReturnTheReply) {
    auto c = connected_client();
    EXPECT_TRUE(c->command_sync({"SET", "k", "v"}, 2s).is_status("OK"));
    auto got = c->command_sync({"GET", "k"}, 2s);
    EXPECT_EQ(got.type, Type::String);
    EXPECT_EQ(got.str, "v");
    EXPECT_TRUE(c->command_sync({"GET", "missing"}, 2s).is_nil());
    EXPECT_EQ(c->command_sync({"DEL", "k"}, 2s).integer, 1);
    EXPECT_EQ(states_.events(), std::vector<bool>{true});
}

TEST_F(RedisClientTest, AsyncCallbackRunsOnTheIoThreadWithTheReply) {
    auto c = connected_client();
    std::promise<std::pair<Reply, std::thread::id>> done;
    c->command({"INCRBY", "n", "41"}, [&](const Reply& r) {
        done.set_value({r, std::this_thread::get_id()});
    });
    auto fut = done.get_future();
    ASSERT_EQ(fut.wait_for(2s), std::future_status::ready);
    auto [reply, thread] = fut.get();
    EXPECT_EQ(reply.type, Type::Integer);
    EXPECT_EQ(reply.integer, 41);
    EXPECT_NE(thread, std::this_thread::get_id());
}

TEST_F(RedisClientTest, TenThousandAsyncCommandsCompleteInOrderInFewBatches) {
    auto c = connected_client();
    constexpr int kCommands = 10000;
    const auto before = c->stats();
    std::vector<long long> seen;
    seen.reserve(kCommands);
    std::promise<void> all_done;
    const auto t0 = Clock::now();
    for (int i = 0; i < kCommands; ++i) {
        c->command({"INCR", "counter"}, [&, i](const Reply& r) {
            seen.push_back(r.type == Type::Integer ? r.integer : -1);  // only the I/O thread
            if (i == kCommands - 1) all_done.set_value();
        });
    }
    ASSERT_EQ(all_done.get_future().wait_for(10s), std::future_status::ready);
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    ASSERT_EQ(seen.size(), static_cast<std::size_t>(kCommands));
    for (int i = 0; i < kCommands; ++i) ASSERT_EQ(seen[i], i + 1) << "reply " << i;
    const auto after = c->stats();
    const auto commands = after.commands - before.commands;
    const auto batches = after.batches - before.batches;
    EXPECT_GE(commands, static_cast<std::uint64_t>(kCommands));
    EXPECT_LT(batches, commands / 10) << "not pipelined: " << batches << " round trips";
    EXPECT_EQ(after.errors, before.errors);
    std::printf("[ info ] %d INCR in %.1f ms, %llu round trips (%.0f commands/s)\n", kCommands,
                secs * 1e3, static_cast<unsigned long long>(batches), kCommands / secs);
}

TEST_F(RedisClientTest, RepliesOfEveryTypeAreCopiedIntact) {
    auto c = connected_client();
    const std::string binary("a\0b\r\nc", 6);
    ASSERT_TRUE(c->command_sync({"SET", "bin", binary}, 2s).ok());

    auto status = c->command_sync({"PING"}, 2s);
    EXPECT_EQ(status.type, Type::Status);
    EXPECT_EQ(status.str, "PONG");

    auto str = c->command_sync({"GET", "bin"}, 2s);
    EXPECT_EQ(str.type, Type::String);
    EXPECT_EQ(str.str, binary);

    auto integer = c->command_sync({"DECRBY", "neg", "7"}, 2s);
    EXPECT_EQ(integer.type, Type::Integer);
    EXPECT_EQ(integer.integer, -7);

    auto error = c->command_sync({"INCR", "bin"}, 2s);
    EXPECT_TRUE(error.is_error());
    EXPECT_FALSE(error.ok());
    EXPECT_EQ(error.str.rfind("ERR", 0), 0u) << error.str;

    auto unknown = c->command_sync({"NO-SUCH-COMMAND"}, 2s);
    EXPECT_TRUE(unknown.is_error());

    EXPECT_TRUE(c->command_sync({"GET", "nothing"}, 2s).is_nil());

    auto empty = c->command_sync({"LRANGE", "nothing", "0", "-1"}, 2s);
    EXPECT_EQ(empty.type, Type::Array);
    EXPECT_TRUE(empty.elements.empty());

    // Nested arrays with every element type, Lua false as a nil inside an array.
    auto nested = c->command_sync(
        {"EVAL", "return {1, 'two', {3, {'four', false}}, redis.status_reply('FINE'), {}}", "0"},
        2s);
    ASSERT_EQ(nested.type, Type::Array) << nested.str;
    ASSERT_EQ(nested.elements.size(), 5u);
    EXPECT_EQ(nested.elements[0].integer, 1);
    EXPECT_EQ(nested.elements[1].str, "two");
    const auto& inner = nested.elements[2];
    ASSERT_EQ(inner.type, Type::Array);
    ASSERT_EQ(inner.elements.size(), 2u);
    EXPECT_EQ(inner.elements[0].integer, 3);
    ASSERT_EQ(inner.elements[1].type, Type::Array);
    ASSERT_EQ(inner.elements[1].elements.size(), 2u);
    EXPECT_EQ(inner.elements[1].elements[0].str, "four");
    EXPECT_TRUE(inner.elements[1].elements[1].is_nil());
    EXPECT_TRUE(nested.elements[3].is_status("FINE"));
    EXPECT_EQ(nested.elements[4].type, Type::Array);
    EXPECT_TRUE(nested.elements[4].elements.empty());

    // A nil element from Redis itself (MGET of a missing key).
    auto mget = c->command_sync({"MGET", "bin", "nothing"}, 2s);
    ASSERT_EQ(mget.elements.size(), 2u);
    EXPECT_EQ(mget.elements[0].str, binary);
    EXPECT_TRUE(mget.elements[1].is_nil());
}

TEST_F(RedisClientTest, ReplyHiredisCannotParseBreaksOnlyThatConnection) {
    auto c = connected_client();
    // hiredis 0.14 refuses arrays nested deeper than 7: a protocol error mid-stream.
    auto deep = c->command_sync({"EVAL", "return {{{{{{{{{1}}}}}}}}}", "0"}, 2s);
    ASSERT_TRUE(deep.is_error());
    EXPECT_EQ(deep.str, kErrDisconnected);
    EXPECT_NE(c->last_error().find("nested"), std::string::npos) << c->last_error();
    ASSERT_TRUE(eventually([&] { return c->command_sync({"PING"}, 1s).ok(); }));
    EXPECT_EQ(states_.events(), (std::vector<bool>{true, false, true}));
    EXPECT_GE(c->stats().reconnects, 1u);
}

TEST_F(RedisClientTest, EvalRunsScriptsAndSurvivesScriptFlush) {
    auto c = connected_client();
    const Script add("return redis.call('INCRBY', KEYS[1], ARGV[1])");
    EXPECT_EQ(add.sha1.size(), 40u);

    auto first = c->eval_sync(add, {"s"}, {"5"}, 2s);
    EXPECT_EQ(first.integer, 5) << first.str;
    // The first use loaded it (sent as EVAL); Redis files it under our locally computed SHA1.
    auto exists = c->command_sync({"SCRIPT", "EXISTS", add.sha1}, 2s);
    ASSERT_EQ(exists.elements.size(), 1u);
    EXPECT_EQ(exists.elements[0].integer, 1);
    EXPECT_EQ(c->eval_sync(add, {"s"}, {"1"}, 2s).integer, 6);

    ASSERT_TRUE(c->command_sync({"SCRIPT", "FLUSH"}, 2s).ok());
    EXPECT_EQ(c->eval_sync(add, {"s"}, {"1"}, 2s).integer, 7);
    EXPECT_EQ(c->stats().script_reloads, 1u);

    // NOSCRIPT in the middle of a pipelined batch: callbacks still run in order, one each.
    ASSERT_TRUE(c->command_sync({"SCRIPT", "FLUSH"}, 2s).ok());
    std::vector<std::string> order;
    std::promise<void> done;
    c->eval(add, {"s"}, {"10"},
            [&](const Reply& r) { order.push_back("eval1=" + std::to_string(r.integer)); });
    c->command({"GET", "s"}, [&](const Reply& r) { order.push_back("get=" + r.str); });
    c->eval(add, {"s"}, {"100"},
            [&](const Reply& r) { order.push_back("eval2=" + std::to_string(r.integer)); });
    c->command({"PING"}, [&](const Reply&) { done.set_value(); });
    ASSERT_EQ(done.get_future().wait_for(2s), std::future_status::ready);
    ASSERT_EQ(order.size(), 3u);
    EXPECT_EQ(order[0], "eval1=17");
    // The GET ran before the retried EVAL when both were in one batch (documented trade-off).
    EXPECT_TRUE(order[1] == "get=17" || order[1] == "get=7") << order[1];
    EXPECT_EQ(order[2], "eval2=117");
    EXPECT_EQ(c->stats().errors, 0u);

    // A broken script is an ordinary error reply, not a retry loop.
    auto bad = c->eval_sync(Script("this is not lua"), {}, {}, 2s);
    EXPECT_TRUE(bad.is_error());
    EXPECT_TRUE(c->command_sync({"PING"}, 2s).ok());
}

TEST_F(RedisClientTest, RedisRestartMidRunFailsFastAndTheSameClientRecovers) {
    // A backoff longer than the fail-fast bound below: failing fast must not mean "at the next
    // reconnect attempt".
    auto o = options();
    o.backoff_min = 500ms;
    o.backoff_max = 1000ms;
    auto c = connected_client(o);
    std::atomic<bool> producing{true};
    std::atomic<int> issued{0}, answered{0}, ok{0}, disconnected{0}, other{0};
    std::thread producer([&] {
        while (producing) {
            ++issued;
            c->command({"INCR", "load"}, [&](const Reply& r) {
                if (r.ok()) {
                    ++ok;
                } else if (r.str == kErrDisconnected) {
                    ++disconnected;
                } else {
                    ++other;
                }
                ++answered;
            });
            std::this_thread::sleep_for(200us);
        }
    });
    ASSERT_TRUE(eventually([&] { return ok > 100; }));

    redis_.stop();
    ASSERT_TRUE(eventually([&] { return states_.count(false) == 1; }));
    // The outage: a caller gets its answer at once, it does not wait for Redis.
    for (int i = 0; i < 5; ++i) {
        const auto t0 = Clock::now();
        auto r = c->command_sync({"GET", "load"}, 5s);
        EXPECT_EQ(r.str, kErrDisconnected);
        EXPECT_LT(Clock::now() - t0, 250ms);
        std::this_thread::sleep_for(30ms);
    }
    EXPECT_FALSE(c->connected());
    redis_.start();  // same port, empty data

    ASSERT_TRUE(eventually([&] { return states_.count(true) == 2; })) << c->last_error();
    const int ok_after_restart = ok;
    ASSERT_TRUE(eventually([&] { return ok > ok_after_restart + 100; }));
    producing = false;
    producer.join();
    ASSERT_TRUE(eventually([&] { return answered == issued; })) << answered << "/" << issued;
    EXPECT_GT(disconnected, 0);
    EXPECT_EQ(other, 0);
    EXPECT_EQ(states_.events(), (std::vector<bool>{true, false, true}));
    EXPECT_TRUE(c->command_sync({"SET", "after", "1"}, 2s).ok());
    EXPECT_EQ(c->stats().reconnects, 1u);
}

TEST_F(RedisClientTest, RedisKilledWithSigkillAndStartedAgain) {
    auto c = connected_client();
    ASSERT_TRUE(c->command_sync({"SET", "k", "v"}, 2s).ok());
    redis_.kill9();
    const auto t0 = Clock::now();
    auto during = c->command_sync({"GET", "k"}, 5s);
    EXPECT_EQ(during.str, kErrDisconnected);
    EXPECT_LT(Clock::now() - t0, 500ms);
    redis_.start();
    ASSERT_TRUE(eventually([&] { return c->command_sync({"PING"}, 1s).ok(); })) << c->last_error();
    EXPECT_TRUE(c->command_sync({"GET", "k"}, 2s).is_nil());  // a new, empty Redis
    EXPECT_EQ(states_.events(), (std::vector<bool>{true, false, true}));
}

TEST_F(RedisClientTest, WritingToADeadServerDoesNotRaiseSigpipe) {
    // The test process does not ignore SIGPIPE: a write to the dead socket would kill it.
    auto c = connected_client();
    redis_.kill9();
    const std::string big(8 << 20, 'x');  // more than the socket buffers: several write()s
    for (int i = 0; i < 3; ++i) {
        EXPECT_TRUE(c->command_sync({"SET", "big", big}, 5s).is_error());
    }
    EXPECT_FALSE(c->connected());
    redis_.start();
    ASSERT_TRUE(eventually([&] {
        return c->command_sync({"SET", "big", big}, 5s).ok();
    })) << c->last_error();
}

TEST_F(RedisClientTest, IdleClientNoticesARestartThroughItsHealthCheck) {
    auto o = options();
    o.health_check_interval = 50ms;
    auto c = connected_client(o);
    redis_.restart();
    // No command issued: the idle PING finds the dead connection and reconnects.
    ASSERT_TRUE(eventually([&] { return states_.count(true) == 2; })) << c->last_error();
    EXPECT_EQ(states_.events(), (std::vector<bool>{true, false, true}));
}

TEST_F(RedisClientTest, HungServerTimesOutThenRecovers) {
    auto o = options();
    o.command_timeout = 500ms;
    auto c = connected_client(o);
    std::promise<Reply> slept;
    const auto t0 = Clock::now();
    c->command({"DEBUG", "SLEEP", "2"}, [&](const Reply& r) { slept.set_value(r); });
    auto fut = slept.get_future();
    ASSERT_EQ(fut.wait_for(3s), std::future_status::ready);
    auto r = fut.get();
    const auto took = Clock::now() - t0;
    EXPECT_EQ(r.str, kErrTimeout);
    EXPECT_GE(took, 450ms);
    EXPECT_LT(took, 1500ms);
    ASSERT_TRUE(eventually([&] { return c->command_sync({"PING"}, 1s).ok(); }, 6000ms))
        << c->last_error();
    EXPECT_EQ(states_.events().front(), true);
    EXPECT_EQ(states_.count(false), 1u);
    EXPECT_EQ(states_.events().back(), true);
}

TEST_F(RedisClientTest, PausedServerTimesOutThenRecovers) {
    auto o = options();
    o.command_timeout = 300ms;
    auto c = connected_client(o);
    redis_.pause();  // SIGSTOP: the socket stays open, nothing answers
    auto r = c->command_sync({"PING"}, 3s);
    EXPECT_EQ(r.str, kErrTimeout);
    redis_.resume();
    ASSERT_TRUE(eventually([&] { return c->command_sync({"PING"}, 1s).ok(); })) << c->last_error();
}

// livepush_redis_round_trip_seconds: each answered batch is one sample; a paused Redis shows
// as round trips in the slow buckets, and the one that timed out is not a sample at all.
TEST_F(RedisClientTest, RoundTripsAreTimedAndASlowRedisShowsInTheSlowBuckets) {
    auto o = options();
    o.health_check_interval = 0ms;  // only our commands make round trips
    auto c = connected_client(o);
    for (int i = 0; i < 5; ++i) ASSERT_TRUE(c->command_sync({"PING"}, 2s).ok());
    auto s = c->stats();
    EXPECT_EQ(s.round_trips.count, s.batches);
    EXPECT_GE(s.round_trips.count, 5u);
    EXPECT_GT(s.round_trips.seconds_sum, 0.0);
    std::uint64_t in_buckets = 0;
    for (auto n : s.round_trips.counts) in_buckets += n;
    EXPECT_EQ(in_buckets, s.round_trips.count);

    // Paused for ~150 ms under a 1 s command timeout: the PING is answered late.
    redis_.pause();
    std::thread resume([&] {
        std::this_thread::sleep_for(150ms);
        redis_.resume();
    });
    EXPECT_TRUE(c->command_sync({"PING"}, 3s).ok());
    resume.join();
    auto after = c->stats().round_trips;
    EXPECT_EQ(after.count, s.round_trips.count + 1);
    // The new sample is above 0.1 s: bucket (0.1, 0.25] or later.
    const auto slow_from =
        static_cast<std::size_t>(std::find(lp::redis::RoundTrips::kBounds.begin(),
                                           lp::redis::RoundTrips::kBounds.end(), 0.25) -
                                 lp::redis::RoundTrips::kBounds.begin());
    std::uint64_t slow_before = 0, slow_after = 0;
    for (std::size_t i = slow_from; i < after.counts.size(); ++i) {
        slow_before += s.round_trips.counts[i];
        slow_after += after.counts[i];
    }
    EXPECT_EQ(slow_after, slow_before + 1);
    EXPECT_GE(after.seconds_sum - s.round_trips.seconds_sum, 0.1);
}

TEST_F(RedisClientTest, StopFailsPendingCommandsWithStopped) {
    auto c = connected_client();
    std::promise<Reply> in_flight;
    c->command({"DEBUG", "SLEEP", "0.3"}, [&](const Reply& r) { in_flight.set_value(r); });
    ASSERT_TRUE(eventually([&] { return c->stats().queue_depth == 0; }));
    std::this_thread::sleep_for(50ms);  // the sleep is on the wire now
    constexpr int kPending = 100;
    std::atomic<int> stopped{0}, calls{0};
    for (int i = 0; i < kPending; ++i) {
        c->command({"GET", "x"}, [&](const Reply& r) {
            ++calls;
            if (r.str == kErrStopped) ++stopped;
        });
    }
    EXPECT_EQ(c->stats().queue_depth, static_cast<std::uint64_t>(kPending));
    c->stop();
    // The batch on the wire finished normally, everything still queued failed.
    auto fut = in_flight.get_future();
    ASSERT_EQ(fut.wait_for(0s), std::future_status::ready);
    EXPECT_TRUE(fut.get().is_status("OK"));
    EXPECT_EQ(calls, kPending);
    EXPECT_EQ(stopped, kPending);

    bool late_called = false;
    c->command({"GET", "x"}, [&](const Reply& r) { late_called = r.str == kErrStopped; });
    EXPECT_TRUE(late_called);
    EXPECT_EQ(c->command_sync({"GET", "x"}, 1s).str, kErrStopped);
    c->stop();  // idempotent
}

TEST_F(RedisClientTest, DestroyingAnUnstartedClientFailsItsQueue) {
    bool called = false;
    {
        Client c(options());
        c.command({"PING"}, [&](const Reply& r) { called = r.str == kErrStopped; });
    }
    EXPECT_TRUE(called);
}

TEST_F(RedisClientTest, QueueOverMaxQueueIsRefusedAtOnce) {
    auto o = options();
    o.max_queue = 10;
    auto c = connected_client(o);
    std::promise<void> slept;
    c->command({"DEBUG", "SLEEP", "0.3"}, [&](const Reply&) { slept.set_value(); });
    ASSERT_TRUE(eventually([&] { return c->stats().queue_depth == 0; }));
    std::this_thread::sleep_for(50ms);

    std::atomic<int> ok{0};
    int full = 0;
    for (int i = 0; i < 25; ++i) {
        bool refused_inline = false;
        c->command({"INCR", "q"}, [&](const Reply& r) {
            if (r.str == kErrQueueFull) {
                refused_inline = true;  // runs before command() returns, on this thread
            } else if (r.ok()) {
                ++ok;
            }
        });
        if (refused_inline) ++full;
    }
    EXPECT_EQ(full, 15);
    EXPECT_EQ(c->stats().rejected, 15u);
    EXPECT_EQ(c->stats().queue_depth, 10u);
    ASSERT_EQ(slept.get_future().wait_for(2s), std::future_status::ready);
    ASSERT_TRUE(eventually([&] { return ok == 10; }));
    EXPECT_EQ(c->command_sync({"GET", "q"}, 2s).str, "10");
}

TEST_F(RedisClientTest, QueueOverMaxQueueBytesIsRefusedAtOnceAndCounted) {
    auto o = options();
    o.max_queue_bytes = 10'000;  // ten 1 KB values (and their short names) fit, not eleven
    auto c = connected_client(o);
    std::promise<void> slept;
    c->command({"DEBUG", "SLEEP", "0.3"}, [&](const Reply&) { slept.set_value(); });
    ASSERT_TRUE(eventually([&] { return c->stats().queue_depth == 0; }));
    std::this_thread::sleep_for(50ms);

    const std::string value(990, 'v');
    std::atomic<int> ok{0};
    int full = 0;
    for (int i = 0; i < 25; ++i) {
        bool refused_inline = false;
        c->command({"APPEND", "b", value}, [&](const Reply& r) {
            if (r.str == kErrQueueBytes) {
                refused_inline = true;  // runs before command() returns, on this thread
            } else if (r.ok()) {
                ++ok;
            }
        });
        if (refused_inline) ++full;
    }
    EXPECT_EQ(full, 15);
    EXPECT_EQ(c->stats().rejected_bytes, 15u);
    EXPECT_EQ(c->stats().rejected, 15u);
    EXPECT_LE(c->stats().queue_bytes, 10'000u);
    EXPECT_GT(c->stats().queue_bytes, 9'000u);
    ASSERT_EQ(slept.get_future().wait_for(2s), std::future_status::ready);
    ASSERT_TRUE(eventually([&] { return ok == 10; }));
    EXPECT_EQ(c->stats().queue_bytes, 0u);
    // Room again once the queue drained.
    EXPECT_TRUE(c->command_sync({"APPEND", "b", value}, 2s).ok());
}

TEST_F(RedisClientTest, NeverConnectedClientFailsFast) {
    Client::Options o = options();
    o.backoff_min = 500ms;
    o.backoff_max = 1000ms;
    redis_.stop();  // nothing listens on the port
    Client c(o);
    c.on_state(states_.hook());
    c.start();
    for (int i = 0; i < 3; ++i) {
        const auto t0 = Clock::now();
        EXPECT_EQ(c.command_sync({"PING"}, 5s).str, kErrDisconnected);
        EXPECT_LT(Clock::now() - t0, 250ms);
    }
    EXPECT_FALSE(c.connected());
    EXPECT_NE(c.last_error().find("refused"), std::string::npos) << c.last_error();
    EXPECT_TRUE(states_.events().empty());
    // It connects by itself once Redis shows up.
    redis_.start();
    ASSERT_TRUE(eventually([&] { return c.connected(); }));
    EXPECT_TRUE(c.command_sync({"PING"}, 2s).ok());
    EXPECT_EQ(states_.events(), std::vector<bool>{true});
}

TEST_F(RedisClientTest, CallbacksThatThrowAreCountedAndOthersStillRun) {
    auto c = connected_client();
    c->on_state([](bool) { throw std::runtime_error("hook bug"); });
    c->command({"PING"}, [](const Reply&) { throw std::runtime_error("caller bug"); });
    c->command({"PING"}, [&](const Reply&) {
        c->command_sync({"PING"}, 1s);  // a sync call on the I/O thread: a programmer error
    });
    EXPECT_TRUE(c->command_sync({"PING"}, 2s).ok());
    EXPECT_EQ(c->stats().callback_exceptions, 2u);
    // on_state throwing does not stop the reconnect either.
    redis_.restart();
    ASSERT_TRUE(eventually([&] { return c->command_sync({"PING"}, 1s).ok(); }));
    EXPECT_EQ(c->stats().callback_exceptions, 4u);  // + hook(false), hook(true)
}

TEST_F(RedisClientTest, ConnectionStateCommandsAreRefused) {
    auto c = connected_client();
    for (std::vector<std::string> cmd : std::vector<std::vector<std::string>>{
             {"SUBSCRIBE", "ch"}, {"multi"}, {"SELECT", "1"}, {"client", "reply", "off"}, {}}) {
        auto r = c->command_sync(cmd, 1s);
        EXPECT_TRUE(r.is_error());
        EXPECT_EQ(r.str.rfind("refused", 0), 0u) << r.str;
    }
    EXPECT_EQ(c->stats().rejected, 5u);
    EXPECT_TRUE(c->command_sync({"PING"}, 1s).ok());
}

TEST_F(RedisClientTest, ConcurrentCallersEachSeeTheirOwnOrder) {
    auto c = connected_client();
    constexpr int kThreads = 4;
    constexpr int kEach = 2000;
    std::vector<std::thread> callers;
    std::atomic<int> out_of_order{0}, done{0};
    for (int t = 0; t < kThreads; ++t) {
        callers.emplace_back([&, t] {
            auto key = "per-thread-" + std::to_string(t);
            auto last = std::make_shared<long long>(0);
            for (int i = 0; i < kEach; ++i) {
                c->command({"INCR", key}, [&, last](const Reply& r) {
                    if (r.integer != *last + 1) ++out_of_order;
                    *last = r.integer;
                    ++done;
                });
            }
        });
    }
    for (auto& t : callers) t.join();
    ASSERT_TRUE(eventually([&] { return done == kThreads * kEach; }));
    EXPECT_EQ(out_of_order, 0);
}

class RedisClientAuthTest : public ::testing::Test {
protected:
    lp::testing::RedisServer redis_{{"--requirepass", "s3cret"}};
};

TEST_F(RedisClientAuthTest, AuthAndSelectAfterEveryConnect) {
    Client::Options o;
    o.port = redis_.port();
    o.password = "s3cret";
    o.db = 3;
    o.backoff_min = 20ms;
    Client c(o);
    c.start();
    ASSERT_TRUE(eventually([&] { return c.connected(); })) << c.last_error();
    ASSERT_TRUE(c.command_sync({"SET", "in3", "yes"}, 2s).ok());
    EXPECT_EQ(c.command_sync({"CLIENT", "INFO"}, 2s).str.find(" db=3 ") != std::string::npos, true);

    redis_.restart();  // the new connection must AUTH and SELECT again
    ASSERT_TRUE(eventually([&] {
        return c.command_sync({"SET", "again", "1"}, 1s).ok();
    })) << c.last_error();
    EXPECT_NE(c.command_sync({"CLIENT", "INFO"}, 2s).str.find(" db=3 "), std::string::npos);

    Client::Options wrong = o;
    wrong.password = "nope";
    Client bad(wrong);
    bad.start();
    ASSERT_TRUE(eventually([&] { return !bad.last_error().empty(); }));
    EXPECT_FALSE(bad.connected());
    EXPECT_NE(bad.last_error().find("AUTH failed"), std::string::npos) << bad.last_error();
    EXPECT_EQ(bad.last_error().find("nope"), std::string::npos)
        << "the password must not be in errors";
    EXPECT_GT(bad.stats().auth_failures, 0u);
    EXPECT_EQ(bad.command_sync({"PING"}, 1s).str, kErrDisconnected);
    EXPECT_EQ(c.stats().auth_failures, 0u);
}

// A Redis 6+ ACL user (and the default user switched off, so nothing works without AUTH).
class RedisClientAclTest : public ::testing::Test {
protected:
    lp::testing::RedisServer redis_{{"--user", "livepush", "on", ">acl-pass-1", "~*", "&*", "+@all",
                                     "--user", "default", "off"}};
    Client::Options opts(std::string user, std::string password) {
        Client::Options o;
        o.port = redis_.port();
        o.username = std::move(user);
        o.password = std::move(password);
        o.backoff_min = 20ms;
        return o;
    }
};

TEST_F(RedisClientAclTest, AclUserAuthenticatesOnEveryConnect) {
    Client c(opts("livepush", "acl-pass-1"));
    c.start();
    ASSERT_TRUE(eventually([&] { return c.connected(); })) << c.last_error();
    EXPECT_EQ(c.command_sync({"ACL", "WHOAMI"}, 2s).str, "livepush");
    redis_.restart();
    ASSERT_TRUE(eventually([&] {
        return c.command_sync({"ACL", "WHOAMI"}, 1s).str == "livepush";
    })) << c.last_error();
    EXPECT_EQ(c.stats().auth_failures, 0u);
}

TEST_F(RedisClientAclTest, WrongUserPasswordOrNoneIsAnAuthFailure) {
    for (auto [user, pass] :
         {std::pair{"livepush", "wrong"}, std::pair{"nobody", "acl-pass-1"}, std::pair{"", ""}}) {
        Client c(opts(user, pass));
        c.start();
        ASSERT_TRUE(eventually([&] { return c.stats().auth_failures > 0; }))
            << user << ": " << c.last_error();
        EXPECT_FALSE(c.connected());
    }
}

TEST(RedisClientOptions, NonsenseIsRefusedAtConstruction) {
    Client::Options o;
    o.batch_limit = 0;
    EXPECT_THROW(Client{o}, std::invalid_argument);
    o = {};
    o.backoff_min = 10s;
    o.backoff_max = 1s;
    EXPECT_THROW(Client{o}, std::invalid_argument);
    o = {};
    o.command_timeout = 0ms;
    EXPECT_THROW(Client{o}, std::invalid_argument);
}

TEST(ScriptSha1, MatchesRedis) {
    // sha1("return 1"), as SCRIPT LOAD reports it.
    EXPECT_EQ(Script("return 1").sha1, "e0e1f9fabfc9d4800c877a703b823ac0578ff8db");
}

// Throughput, bounded: as many SETs as fit in ~1 s (at most 300k), no callback work.
TEST_F(RedisClientTest, PipelinedThroughput) {
    auto o = options();
    o.max_queue = 1'000'000;
    auto c = connected_client(o);
    std::atomic<int> answered{0};
    constexpr int kMax = 300000;
    const auto t0 = Clock::now();
    int sent = 0;
    while (sent < kMax && Clock::now() - t0 < 1s) {
        for (int i = 0; i < 1000; ++i, ++sent) {
            c->command({"SET", "t" + std::to_string(i), "v"}, [&](const Reply&) { ++answered; });
        }
    }
    ASSERT_TRUE(eventually([&] { return answered == sent; }, 20s));
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    const auto s = c->stats();
    std::printf("[ info ] %d pipelined SETs in %.0f ms: %.0f commands/s, %.1f per round trip\n",
                sent, secs * 1e3, sent / secs, static_cast<double>(s.commands) / s.batches);
    EXPECT_EQ(s.errors, 0u);
}

}  // namespace
}  // namespace lp::redis
