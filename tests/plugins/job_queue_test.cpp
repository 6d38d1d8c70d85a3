// tests/plugins/job_queue_test: delayed jobs, one behaviour suite run against MemoryJobQueue and
// against RedisJobQueue on a real redis-server (two RedisJobQueue instances on two clients
// stand for two nodes), then JobRunner end to end on the real clock.
//
// What is pinned here: a job is claimed at its due time and not before; scheduling an id again
// replaces it; cancel removes it; each due job goes to exactly one of several concurrent
// claimers; a claimed job not done() comes back after its TTR; done() with a stale token leaves
// the rescheduled job alone; the runner delivers within a tick of due and runs a job whose
// handler threw again after its TTR.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "plugins/host/job_runner.hpp"
#include "plugins/host/memory_job_queue.hpp"
#include "plugins/host/redis_job_queue.hpp"
#include "shared_redis.hpp"
#include "tests/integration/eventually.hpp"

namespace lp::plugins {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

using lp::testing::eventually;

// A wall clock that only moves when told to.
class ManualClock {
public:
    NowMs now_ms() {
        return [this] { return ms_.load(); };
    }
    std::int64_t now() const { return ms_.load(); }
    void advance(std::chrono::milliseconds d) { ms_ += d.count(); }

private:
    std::atomic<std::int64_t> ms_{1'700'000'000'000};
};

// ---------------------------------------------------------------- the two backends

// One process: both "nodes" are the same queue.
struct MemoryJobs {
    static constexpr const char* kName = "Memory";
    explicit MemoryJobs(NowMs now) : queue(std::move(now)) {}
    JobQueue& node_a() { return queue; }
    JobQueue& node_b() { return queue; }

    MemoryJobQueue queue;
};

// Two nodes: two clients, two queues over the same keys, on a flushed redis-server.
struct RedisJobs {
    static constexpr const char* kName = "Redis";
    explicit RedisJobs(NowMs now)
        : client_a(test::connected_client()),
          client_b(test::connected_client()),
          a(*client_a, kJobKeyPrefix, now, 2000ms),
          b(*client_b, kJobKeyPrefix, now, 2000ms) {
        test::flush_redis(*client_a);
    }
    JobQueue& node_a() { return a; }
    JobQueue& node_b() { return b; }

    std::unique_ptr<redis::Client> client_a, client_b;
    RedisJobQueue a, b;
};

struct BackendName {
    template <class T>
    static std::string GetName(int) {
        return T::kName;
    }
};
using Backends = ::testing::Types<MemoryJobs, RedisJobs>;

// Queues on a ManualClock.
template <class Backend>
class JobQueueTest : public ::testing::Test {
protected:
    ManualClock clock_;
    Backend backend_{clock_.now_ms()};
    JobQueue& q() { return backend_.node_a(); }
};
TYPED_TEST_SUITE(JobQueueTest, Backends, BackendName);

// Queues on the real clock, for JobRunner.
template <class Backend>
class JobRunnerTest : public ::testing::Test {
protected:
    Backend backend_{system_now_ms};
    JobQueue& q() { return backend_.node_a(); }
};
TYPED_TEST_SUITE(JobRunnerTest, Backends, BackendName);

// ---------------------------------------------------------------- the queue

TYPED_TEST(JobQueueTest, JobIsClaimedAtItsDueTimeAndNotBefore) {
    auto& q = this->q();
    const std::int64_t scheduled_at = this->clock_.now();
    ASSERT_TRUE(q.schedule("pk.invite", "room:7|42", 15000ms, R"({"from":1,"to":2})"));
    EXPECT_EQ(q.pending(), 1u);
    this->clock_.advance(14999ms);
    EXPECT_TRUE(q.claim(100, 30s).empty());
    this->clock_.advance(1ms);
    auto jobs = q.claim(100, 30s);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].topic, "pk.invite");
    EXPECT_EQ(jobs[0].id, "room:7|42");
    EXPECT_EQ(jobs[0].body, R"({"from":1,"to":2})");
    EXPECT_EQ(jobs[0].due_ms, scheduled_at + 15000);
    EXPECT_EQ(jobs[0].claimed_ms, scheduled_at + 15000);
    EXPECT_TRUE(q.claim(100, 30s).empty());  // reserved now
    EXPECT_EQ(q.pending(), 1u);              // reserved counts as pending
    q.done(jobs[0]);
    EXPECT_EQ(q.pending(), 0u);
}

TYPED_TEST(JobQueueTest, ClaimTakesTheOldestFirstUpToMax) {
    auto& q = this->q();
    for (int delay : {50, 40, 30, 20, 10}) {
        ASSERT_TRUE(
            q.schedule("t", "d" + std::to_string(delay), std::chrono::milliseconds(delay), ""));
    }
    ASSERT_TRUE(q.schedule("t", "now", -5ms, ""));  // a negative delay is due at once
    auto first = q.claim(3, 30s);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].id, "now");
    this->clock_.advance(50ms);
    auto jobs = q.claim(3, 30s);
    ASSERT_EQ(jobs.size(), 3u);
    EXPECT_EQ(jobs[0].id, "d10");
    EXPECT_EQ(jobs[1].id, "d20");
    EXPECT_EQ(jobs[2].id, "d30");
    auto rest = q.claim(100, 30s);
    ASSERT_EQ(rest.size(), 2u);
    EXPECT_EQ(rest[0].id, "d40");
    EXPECT_EQ(rest[1].id, "d50");
}

TYPED_TEST(JobQueueTest, SchedulingAnExistingIdReplacesIt) {
    auto& q = this->q();
    ASSERT_TRUE(q.schedule("pk.phase", "pk:1", 100ms, "scoring-ends"));
    ASSERT_TRUE(q.schedule("pk.phase", "pk:1", 500ms, "penalty-ends"));
    ASSERT_TRUE(q.schedule("other", "pk:1", 100ms, "same id, other topic"));
    EXPECT_EQ(q.pending(), 2u);
    this->clock_.advance(100ms);
    auto jobs = q.claim(100, 30s);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].topic, "other");
    this->clock_.advance(400ms);
    jobs = q.claim(100, 30s);
    ASSERT_EQ(jobs.size(), 1u);
    EXPECT_EQ(jobs[0].topic, "pk.phase");
    EXPECT_EQ(jobs[0].body, "penalty-ends");
}

TYPED_TEST(JobQueueTest, CancelRemovesAJobWhereverItIs) {
    auto& q = this->q();
    ASSERT_TRUE(q.schedule("t", "waiting", 100ms, ""));
    ASSERT_TRUE(q.schedule("t", "running", 0ms, ""));
    ASSERT_EQ(q.claim(100, 1s).size(), 1u);
    EXPECT_TRUE(q.cancel("t", "waiting"));
    EXPECT_TRUE(q.cancel("t", "running"));
    EXPECT_FALSE(q.cancel("t", "waiting"));
    EXPECT_FALSE(q.cancel("t", "never"));
    EXPECT_EQ(q.pending(), 0u);
    this->clock_.advance(10s);
    EXPECT_TRUE(q.claim(100, 1s).empty());
}

TYPED_TEST(JobQueueTest, TopicsThatCannotBeKeysAreRefused) {
    auto& q = this->q();
    EXPECT_FALSE(q.schedule("", "1", 0ms, ""));
    EXPECT_FALSE(q.schedule("pk:invite", "1", 0ms, ""));
    EXPECT_FALSE(q.schedule("pk|invite", "1", 0ms, ""));
    EXPECT_EQ(q.pending(), 0u);
}

TYPED_TEST(JobQueueTest, ClaimedJobNotDoneReappearsAfterItsTtr) {
    auto& q = this->q();
    ASSERT_TRUE(q.schedule("ack.retry", "m1", 0ms, "body"));
    auto first = q.claim(100, 1000ms);
    ASSERT_EQ(first.size(), 1u);
    this->clock_.advance(999ms);
    EXPECT_TRUE(q.claim(100, 1000ms).empty());
    this->clock_.advance(1ms);
    auto again = this->backend_.node_b().claim(100, 1000ms);  // another node picks it up
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].id, "m1");
    EXPECT_EQ(again[0].body, "body");
    EXPECT_EQ(again[0].token, first[0].token);
    EXPECT_EQ(again[0].due_ms, first[0].claimed_ms + 1000);
    this->backend_.node_b().done(again[0]);
    q.done(first[0]);  // the first run finishing late changes nothing
    EXPECT_TRUE(eventually([&] { return q.pending() == 0; }));
    this->clock_.advance(10s);
    EXPECT_TRUE(q.claim(100, 1000ms).empty());
}

TYPED_TEST(JobQueueTest, DoneWithAStaleTokenKeepsTheRescheduledJob) {
    auto& q = this->q();
    ASSERT_TRUE(q.schedule("pk.invite", "i1", 0ms, "v1"));
    auto running = q.claim(100, 1000ms);
    ASSERT_EQ(running.size(), 1u);
    // While it runs, it is rescheduled (later, with a new body): no longer reserved.
    ASSERT_TRUE(q.schedule("pk.invite", "i1", 5000ms, "v2"));
    q.done(running[0]);
    EXPECT_EQ(q.pending(), 1u);
    this->clock_.advance(4999ms);  // past the old TTR, before the new due time
    EXPECT_TRUE(q.claim(100, 1000ms).empty());
    this->clock_.advance(1ms);
    auto next = q.claim(100, 1000ms);
    ASSERT_EQ(next.size(), 1u);
    EXPECT_EQ(next[0].body, "v2");
    EXPECT_NE(next[0].token, running[0].token);
    q.done(next[0]);
    EXPECT_EQ(q.pending(), 0u);
}

TYPED_TEST(JobQueueTest, AttemptsCountTheClaimsOfOneSchedule) {
    auto& q = this->q();
    ASSERT_TRUE(q.schedule("t", "a", 0ms, "b"));
    auto first = q.claim(10, 100ms);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].attempts, 1u);
    this->clock_.advance(100ms);
    auto second = this->backend_.node_b().claim(10, 100ms);  // its TTR passed: run again
    ASSERT_EQ(second.size(), 1u);
    EXPECT_EQ(second[0].attempts, 2u) << "attempts are counted across nodes";
    ASSERT_TRUE(q.schedule("t", "a", 0ms, "b2"));  // a new schedule starts over
    auto fresh = q.claim(10, 100ms);
    ASSERT_EQ(fresh.size(), 1u);
    EXPECT_EQ(fresh[0].attempts, 1u);
}

TYPED_TEST(JobQueueTest, BuryRemovesTheJobAndKeepsADeadLetter) {
    auto& q = this->q();
    ASSERT_TRUE(q.schedule("pk", "p1", 0ms, "{\"pk\":1}"));
    auto job = q.claim(10, 100ms);
    ASSERT_EQ(job.size(), 1u);
    const auto buried_at = this->clock_.now();
    EXPECT_TRUE(q.bury(job[0], "handler bug"));
    EXPECT_EQ(q.pending(), 0u);
    this->clock_.advance(1s);
    EXPECT_TRUE(q.claim(10, 100ms).empty()) << "a buried job never runs again";
    auto dead = q.dead(10);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].topic, "pk");
    EXPECT_EQ(dead[0].id, "p1");
    EXPECT_EQ(dead[0].body, "{\"pk\":1}");
    EXPECT_EQ(dead[0].error, "handler bug");
    EXPECT_EQ(dead[0].attempts, 1u);
    EXPECT_EQ(dead[0].buried_ms, buried_at);

    // Rescheduled while it ran: burying the old run keeps the new schedule.
    ASSERT_TRUE(q.schedule("pk", "p2", 0ms, "v1"));
    auto running = q.claim(10, 100ms);
    ASSERT_EQ(running.size(), 1u);
    ASSERT_TRUE(q.schedule("pk", "p2", 0ms, "v2"));
    EXPECT_FALSE(q.bury(running[0], "late"));
    EXPECT_EQ(q.pending(), 1u);
    EXPECT_EQ(q.dead(10).size(), 1u);
}

TYPED_TEST(JobQueueTest, DeadLettersKeepTheNewestOnes) {
    auto& q = this->q();
    const std::size_t n = JobQueue::kDeadLetters + 5;
    for (std::size_t i = 0; i < n; ++i) ASSERT_TRUE(q.schedule("t", std::to_string(i), 0ms, ""));
    auto jobs = q.claim(n, 1000ms);
    ASSERT_EQ(jobs.size(), n);
    for (const auto& j : jobs) ASSERT_TRUE(q.bury(j, "x"));
    auto dead = q.dead(n);
    ASSERT_EQ(dead.size(), JobQueue::kDeadLetters);
    EXPECT_EQ(dead.front().id, jobs.back().id) << "newest first";
    EXPECT_EQ(dead.back().id, jobs[5].id) << "the oldest five dropped";
    EXPECT_EQ(q.dead(3).size(), 3u);
}

TYPED_TEST(JobQueueTest, EachDueJobIsClaimedByExactlyOneOfFourConcurrentClaimers) {
    constexpr int kJobs = 1000;
    std::vector<std::thread> schedulers;
    for (int t = 0; t < 4; ++t) {
        schedulers.emplace_back([&, t] {
            JobQueue& node = t % 2 == 0 ? this->backend_.node_a() : this->backend_.node_b();
            for (int i = t; i < kJobs; i += 4) {
                ASSERT_TRUE(node.schedule("t", std::to_string(i), 0ms, "b" + std::to_string(i)));
            }
        });
    }
    for (auto& t : schedulers) t.join();
    ASSERT_EQ(this->q().pending(), static_cast<std::size_t>(kJobs));

    std::mutex mu;
    std::map<std::string, int> claims;
    std::atomic<int> total{0};
    std::vector<std::thread> claimers;
    for (int t = 0; t < 4; ++t) {
        claimers.emplace_back([&, t] {
            JobQueue& node = t < 2 ? this->backend_.node_a() : this->backend_.node_b();
            const auto deadline = Clock::now() + 15s;
            while (total.load() < kJobs && Clock::now() < deadline) {
                auto jobs = node.claim(7, 30s);
                for (const auto& job : jobs) {
                    EXPECT_EQ(job.body, "b" + job.id);
                    node.done(job);
                }
                total += static_cast<int>(jobs.size());
                std::lock_guard lk(mu);
                for (const auto& job : jobs) claims[job.id]++;
            }
        });
    }
    for (auto& t : claimers) t.join();
    EXPECT_EQ(total.load(), kJobs);
    ASSERT_EQ(claims.size(), static_cast<std::size_t>(kJobs));
    for (const auto& [id, n] : claims) EXPECT_EQ(n, 1) << "job " << id;
    EXPECT_TRUE(eventually([&] { return this->q().pending() == 0; }));
}

// ---------------------------------------------------------------- the runner

struct Delivery {
    DueJob job;
    std::int64_t at_ms;
};

class DeliveryLog {
public:
    void add(const DueJob& job) {
        std::lock_guard lk(mu_);
        log_.push_back({job, system_now_ms()});
    }
    std::vector<Delivery> all() const {
        std::lock_guard lk(mu_);
        return log_;
    }
    std::size_t size() const {
        std::lock_guard lk(mu_);
        return log_.size();
    }

private:
    mutable std::mutex mu_;
    std::vector<Delivery> log_;
};

TYPED_TEST(JobRunnerTest, DeliversEachJobOnceWithinATickOfItsDueTime) {
    auto& q = this->q();
    DeliveryLog log;
    JobRunner runner(q, [&](const DueJob& job) { log.add(job); }, {.tick = 20ms});
    runner.start();
    constexpr int kJobs = 20;
    for (int i = 0; i < kJobs; ++i) {
        ASSERT_TRUE(q.schedule("t", std::to_string(i), std::chrono::milliseconds(40 + 10 * i), ""));
    }
    ASSERT_TRUE(eventually([&] { return log.size() >= kJobs; }));
    std::this_thread::sleep_for(50ms);  // nothing more comes
    runner.stop();

    std::set<std::string> ids;
    for (const auto& d : log.all()) {
        ids.insert(d.job.id);
        EXPECT_GE(d.at_ms, d.job.due_ms) << "job " << d.job.id << " ran before it was due";
        EXPECT_LE(d.at_ms - d.job.due_ms, 100) << "job " << d.job.id << " ran late";
    }
    EXPECT_EQ(ids.size(), static_cast<std::size_t>(kJobs));
    EXPECT_EQ(log.size(), static_cast<std::size_t>(kJobs));
    const auto stats = runner.stats();
    EXPECT_EQ(stats.claimed, static_cast<std::uint64_t>(kJobs));
    EXPECT_EQ(stats.done, static_cast<std::uint64_t>(kJobs));
    EXPECT_EQ(stats.failed, 0u);
    EXPECT_GE(stats.last_lag_ms, 0);
    EXPECT_LE(stats.last_lag_ms, 100);
    EXPECT_TRUE(eventually([&] { return q.pending() == 0; }));
}

TYPED_TEST(JobRunnerTest, AJobWhoseHandlerThrewRunsAgainAfterItsTtr) {
    auto& q = this->q();
    DeliveryLog log;
    std::atomic<int> errors{0};
    std::atomic<bool> fail{true};
    JobRunner runner(
        q,
        [&](const DueJob& job) {
            log.add(job);
            if (fail.exchange(false)) throw std::runtime_error("handler bug");
        },
        {.tick = 10ms, .ttr = 200ms},
        [&](const DueJob&, std::string_view what) {
            EXPECT_EQ(what, "handler bug");
            errors++;
        });
    runner.start();
    ASSERT_TRUE(q.schedule("t", "flaky", 0ms, "body"));
    ASSERT_TRUE(eventually([&] { return log.size() >= 2; }));
    std::this_thread::sleep_for(50ms);
    runner.stop();

    auto runs = log.all();
    ASSERT_EQ(runs.size(), 2u);
    EXPECT_EQ(runs[1].job.token, runs[0].job.token);
    // Due again exactly at the first claim's TTR deadline, and not claimed before it.
    EXPECT_EQ(runs[1].job.due_ms, runs[0].job.claimed_ms + 200);
    EXPECT_GE(runs[1].job.claimed_ms, runs[1].job.due_ms);
    EXPECT_EQ(errors.load(), 1);
    const auto stats = runner.stats();
    EXPECT_EQ(stats.claimed, 2u);
    EXPECT_EQ(stats.failed, 1u);
    EXPECT_EQ(stats.done, 1u);
    EXPECT_TRUE(eventually([&] { return q.pending() == 0; }));
}

TYPED_TEST(JobRunnerTest, AJobThatAlwaysFailsIsBuriedAfterItsLastAttempt) {
    auto& q = this->q();
    std::atomic<int> runs{0};
    std::atomic<int> last_attempt{0};
    JobRunner runner(q,
                     [&](const DueJob& job) {
                         runs++;
                         last_attempt = static_cast<int>(job.attempts);
                         throw std::runtime_error("poison");
                     },
                     {.tick = 10ms, .ttr = 50ms, .max_attempts = 3});
    runner.start();
    ASSERT_TRUE(q.schedule("t", "poison", 0ms, "body"));
    ASSERT_TRUE(eventually([&] { return runner.stats().dead == 1; }));
    std::this_thread::sleep_for(200ms);  // several TTRs: it must not run again
    runner.stop();
    EXPECT_EQ(runs.load(), 3);
    EXPECT_EQ(last_attempt.load(), 3);
    EXPECT_EQ(runner.stats().failed, 3u);
    EXPECT_EQ(q.pending(), 0u);
    auto dead = q.dead(10);
    ASSERT_EQ(dead.size(), 1u);
    EXPECT_EQ(dead[0].id, "poison");
    EXPECT_EQ(dead[0].error, "poison");
    EXPECT_EQ(dead[0].attempts, 3u);
}

TYPED_TEST(JobRunnerTest, DrainsABacklogInFullBatchesWithoutWaitingATickBetween) {
    auto& q = this->q();
    DeliveryLog log;
    constexpr int kJobs = 250;
    for (int i = 0; i < kJobs; ++i) ASSERT_TRUE(q.schedule("t", std::to_string(i), 0ms, ""));
    JobRunner runner(q, [&](const DueJob& job) { log.add(job); }, {.tick = 1000ms, .batch = 100});
    runner.start();
    // Three claims (100, 100, 50) back to back: well before a second tick.
    EXPECT_TRUE(eventually([&] { return log.size() == kJobs; }, 900ms));
    runner.stop();
    EXPECT_EQ(runner.stats().done, static_cast<std::uint64_t>(kJobs));
}

TEST(JobRunnerOptionsTest, NonsenseOptionsAreRefused) {
    MemoryJobQueue q;
    auto noop = [](const DueJob&) {};
    EXPECT_THROW(JobRunner(q, noop, {.tick = 0ms}), std::invalid_argument);
    EXPECT_THROW(JobRunner(q, noop, {.ttr = -1ms}), std::invalid_argument);
    EXPECT_THROW(JobRunner(q, noop, {.batch = 0}), std::invalid_argument);
    EXPECT_THROW(JobRunner(q, JobRunner::Dispatch{}), std::invalid_argument);
}

// ---------------------------------------------------------------- the {jobs} hash tag

// Jobs scheduled by nodes before the hash tag (keys lp:jobs:...) are not lost by the rename: the
// first node to start moves them, due times, reservations, attempts and dead letters included,
// and a job the new keys already hold (rescheduled meanwhile) wins.
TEST(RedisJobQueueKeys, LegacyJobsMoveUnderTheHashTagAndKeepTheirState) {
    ManualClock clock;
    auto client = test::connected_client();
    test::flush_redis(*client);
    RedisJobQueue legacy(*client, kLegacyJobKeyPrefix, clock.now_ms(), 2000ms);
    RedisJobQueue tagged(*client, kJobKeyPrefix, clock.now_ms(), 2000ms);
    EXPECT_EQ(std::string(kJobKeyPrefix), "lp:{jobs}:") << "one slot for every job key";

    ASSERT_TRUE(legacy.schedule("gift", "later", 60s, "L"));
    ASSERT_TRUE(legacy.schedule("gift", "running", 0ms, "R"));
    ASSERT_TRUE(legacy.schedule("gift", "dead", 0ms, "D"));
    ASSERT_TRUE(legacy.schedule("gift", "both", 60s, "old"));
    auto claimed = legacy.claim(10, 30s);  // "running" and "dead" are now reserved
    ASSERT_EQ(claimed.size(), 2u);
    const auto dead_it = std::find_if(claimed.begin(), claimed.end(),
                                      [](const DueJob& j) { return j.id == "dead"; });
    ASSERT_NE(dead_it, claimed.end());
    ASSERT_TRUE(legacy.bury(*dead_it, "boom"));
    ASSERT_TRUE(tagged.schedule("gift", "both", 60s, "new"));

    EXPECT_EQ(tagged.adopt_legacy(), 2) << "later and running; not both (the tagged one wins)";
    EXPECT_EQ(tagged.adopt_legacy(), 0) << "nothing left to move";
    EXPECT_EQ(legacy.pending(), 0u);
    EXPECT_EQ(client
                  ->command_sync({"EXISTS", "lp:jobs:pool", "lp:jobs:due", "lp:jobs:reserved",
                                  "lp:jobs:seq", "lp:jobs:attempts", "lp:jobs:dead"},
                                 2000ms)
                  .integer,
              0)
        << "the legacy keys are gone";
    EXPECT_EQ(tagged.pending(), 3u);
    ASSERT_EQ(tagged.dead(10).size(), 1u);
    EXPECT_EQ(tagged.dead(10)[0].id, "dead");

    // The reservation moved: "running" is not due again until its TTR passes, then it is, with
    // its attempt counted.
    EXPECT_TRUE(tagged.claim(10, 30s).empty());
    clock.advance(31s);
    auto again = tagged.claim(10, 30s);
    ASSERT_EQ(again.size(), 1u);
    EXPECT_EQ(again[0].id, "running");
    EXPECT_EQ(again[0].body, "R");
    EXPECT_EQ(again[0].attempts, 2u);

    // Due times moved, the tagged copy of "both" won, and new tokens never repeat a moved one.
    clock.advance(60s);
    auto later = tagged.claim(10, 30s);
    ASSERT_EQ(later.size(), 3u);  // later, both, and running again (its TTR passed)
    std::map<std::string, DueJob> by_id;
    for (const auto& j : later) by_id[j.id] = j;
    EXPECT_EQ(by_id["later"].body, "L");
    EXPECT_EQ(by_id["both"].body, "new");
    ASSERT_TRUE(tagged.schedule("gift", "fresh", 0ms, "F"));
    auto fresh = tagged.claim(10, 30s);
    ASSERT_EQ(fresh.size(), 1u);
    EXPECT_GT(fresh[0].token, by_id["later"].token);
    EXPECT_GT(fresh[0].token, again[0].token);
}

// ---------------------------------------------------------------- throughput (reported, not
// asserted)

template <class F>
double per_second(int n, F&& f) {
    const auto started = Clock::now();
    f();
    const std::chrono::duration<double> took = Clock::now() - started;
    return n / took.count();
}

TEST(RedisJobQueueThroughput, ScheduleAndClaim) {
    auto client = test::connected_client();
    test::flush_redis(*client);
    RedisJobQueue q(*client, kJobKeyPrefix, system_now_ms, 5000ms);
    constexpr int kJobs = 10000;
    const double schedule_one_thread = per_second(2000, [&] {
        for (int i = 0; i < 2000; ++i)
            ASSERT_TRUE(q.schedule("t", "s" + std::to_string(i), 0ms, "body"));
    });
    const double schedule_four_threads = per_second(kJobs, [&] {
        std::vector<std::thread> threads;
        for (int t = 0; t < 4; ++t) {
            threads.emplace_back([&, t] {
                for (int i = t; i < kJobs; i += 4) q.schedule("t", std::to_string(i), 0ms, "body");
            });
        }
        for (auto& t : threads) t.join();
    });
    ASSERT_EQ(q.pending(), static_cast<std::size_t>(kJobs + 2000));
    int claimed = 0;
    const double claim_and_done = per_second(kJobs + 2000, [&] {
        for (;;) {
            auto jobs = q.claim(100, 30s);
            if (jobs.empty()) break;
            for (const auto& job : jobs) q.done(job);
            claimed += static_cast<int>(jobs.size());
        }
    });
    EXPECT_EQ(claimed, kJobs + 2000);
    EXPECT_TRUE(eventually([&] { return q.pending() == 0; }));
    std::printf(
        "RedisJobQueue: schedule %.0f/s (1 thread), %.0f/s (4 threads); "
        "claim(100) + done %.0f jobs/s\n",
        schedule_one_thread, schedule_four_threads, claim_and_done);
    RecordProperty("schedule_per_s_1_thread", static_cast<int>(schedule_one_thread));
    RecordProperty("schedule_per_s_4_threads", static_cast<int>(schedule_four_threads));
    RecordProperty("claim_done_per_s", static_cast<int>(claim_and_done));
}

}  // namespace
}  // namespace lp::plugins
