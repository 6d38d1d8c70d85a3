// plugins/host/job_runner: the thread that runs due delayed jobs.
//
// Every `tick` it claims up to `batch` due jobs (reserved for `ttr`), calls dispatch(job) for
// each in order and then done(job). A full batch is followed by another claim at once, so a
// backlog drains as fast as the handlers run; otherwise it sleeps a tick, so a job runs at most
// about one tick (plus the claim's round trip) after it is due.
//
// At least once: a job whose dispatch throws is counted as failed, reported through on_error
// and NOT done(): it stays reserved and runs again (here or on another node) when its TTR
// passes, and again after each failure, until a handler lets it through, it is cancelled or
// rescheduled, or it has failed `max_attempts` runs: then it is buried (removed, kept in the
// queue's dead letters, counted `dead`) instead of failing every TTR forever. The same happens to
// the jobs of a node that dies mid-batch. Handlers must be idempotent, and quick: one slow handler
// delays every job behind it, and a batch that runs longer than `ttr` gets its last jobs run twice.
//
// What it owns: its thread. dispatch and on_error run on it; neither may call stop().
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>

#include "plugins/host/defaults.hpp"
#include "plugins/host/job_queue.hpp"

namespace lp::plugins {

class JobRunner {
public:
    using Dispatch = std::function<void(const DueJob&)>;
    using OnError = std::function<void(const DueJob&, std::string_view what)>;

    struct Options {
        std::chrono::milliseconds tick = kDefaultJobTick;
        std::chrono::milliseconds ttr = kDefaultJobTtr;
        std::size_t batch = 100;
        // Runs of one schedule() before it is buried; 0 = no limit.
        std::uint32_t max_attempts = kDefaultJobMaxAttempts;
    };

    struct Stats {
        std::uint64_t claimed = 0;
        std::uint64_t done = 0;
        std::uint64_t failed = 0;      // dispatch threw; left reserved to run again after its TTR
        std::uint64_t dead = 0;        // failed its last allowed attempt: buried
        std::int64_t last_lag_ms = 0;  // claimed_ms - due_ms of the last job claimed
    };

    // Throws std::invalid_argument for a tick or ttr <= 0 or a batch of 0.
    JobRunner(JobQueue& queue, Dispatch dispatch, Options options, OnError on_error = {});
    JobRunner(JobQueue& queue, Dispatch dispatch)
        : JobRunner(queue, std::move(dispatch), Options{}) {}
    ~JobRunner();  // stop()
    JobRunner(const JobRunner&) = delete;
    JobRunner& operator=(const JobRunner&) = delete;

    // Starts the thread. Call once.
    void start();
    // Lets the batch being dispatched finish (its jobs are claimed: run now rather than after
    // their TTR) and joins the thread. Idempotent.
    void stop();

    Stats stats() const;

private:
    void run();
    // Claims and runs one batch; returns how many jobs it claimed.
    std::size_t run_batch();
    void report_failure(const DueJob& job, std::string_view what);

    JobQueue& queue_;
    const Dispatch dispatch_;
    const Options options_;
    const OnError on_error_;

    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread thread_;

    std::atomic<std::uint64_t> claimed_{0};
    std::atomic<std::uint64_t> done_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> dead_{0};
    std::atomic<std::int64_t> last_lag_ms_{0};
};

}  // namespace lp::plugins
