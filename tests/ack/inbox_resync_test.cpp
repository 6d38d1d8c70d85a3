// tests/ack/inbox_resync: the re-check thread a node runs when a peer leaves. Requests made while
// a re-check runs fold into exactly one more run; stop() waits for the running re-check; a
// re-check that throws leaves the thread waiting for the next request.
#include "ack/inbox_resync.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <thread>

#include "tests/integration/eventually.hpp"

namespace lp::ack {
namespace {

using lp::testing::eventually;
using namespace std::chrono_literals;

// A re-check that counts its runs and holds each one until the test lets it finish.
class HeldRecheck {
public:
    std::size_t operator()() {
        std::unique_lock lock(mu_);
        ++started_;
        cv_.wait(lock, [&] { return permits_ > 0; });
        --permits_;
        ++finished_;
        return 0;
    }
    void let_finish(int n = 1) {
        {
            std::lock_guard lock(mu_);
            permits_ += n;
        }
        cv_.notify_all();
    }
    int started() {
        std::lock_guard lock(mu_);
        return started_;
    }
    int finished() {
        std::lock_guard lock(mu_);
        return finished_;
    }

private:
    std::mutex mu_;
    std::condition_variable cv_;
    int permits_ = 0;
    int started_ = 0;
    int finished_ = 0;
};

TEST(InboxResync, OneRequestMakesOneRun) {
    HeldRecheck recheck;
    recheck.let_finish(100);
    InboxResync resync([&] { return recheck(); });
    resync.request();
    ASSERT_TRUE(eventually([&] { return recheck.finished() == 1; }));
    resync.stop();
    EXPECT_EQ(recheck.started(), 1);
}

TEST(InboxResync, RequestsDuringARunFoldIntoOneMoreRun) {
    HeldRecheck recheck;
    InboxResync resync([&] { return recheck(); });
    resync.request();
    ASSERT_TRUE(eventually([&] { return recheck.started() == 1; }));
    for (int i = 0; i < 5; ++i) resync.request();  // peers leaving while the first re-check runs
    recheck.let_finish();
    ASSERT_TRUE(eventually([&] { return recheck.started() == 2; }))
        << "requests made during a run were lost: no run after it";
    // From here on nothing holds a run: a third run, if one were queued, would start at once.
    recheck.let_finish(100);
    ASSERT_TRUE(eventually([&] { return recheck.finished() >= 2; }));
    std::this_thread::sleep_for(
        200ms);  // room for a wrongly queued run (a correct one never fails)
    resync.stop();
    EXPECT_EQ(recheck.started(), 2)
        << "five requests during one run must make one more run, not five";
}

TEST(InboxResync, StopWaitsForTheRunningRecheck) {
    HeldRecheck recheck;
    InboxResync resync([&] { return recheck(); });
    resync.request();
    ASSERT_TRUE(eventually([&] { return recheck.started() == 1; }));
    std::atomic<int> finished_when_stopped{-1};
    std::thread stopper([&] {
        resync.stop();
        finished_when_stopped = recheck.finished();
    });
    std::this_thread::sleep_for(100ms);  // room for a stop() that returns without joining
    recheck.let_finish(100);
    stopper.join();
    EXPECT_EQ(finished_when_stopped.load(), 1)
        << "stop() returned while a re-check was still running";
    resync.request();  // after stop: nothing runs, nothing breaks
    resync.stop();     // idempotent
    EXPECT_EQ(recheck.started(), 1);
}

TEST(InboxResync, AThrowingRecheckLeavesTheThreadWaiting) {
    std::atomic<int> runs{0};
    InboxResync resync([&]() -> std::size_t {
        if (++runs == 1) throw std::runtime_error("redis down");
        return 3;
    });
    resync.request();
    ASSERT_TRUE(eventually([&] { return runs.load() == 1; }));
    resync.request();
    EXPECT_TRUE(eventually([&] { return runs.load() == 2; }))
        << "the thread died with the exception";
}

}  // namespace
}  // namespace lp::ack
