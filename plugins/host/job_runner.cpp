// plugins/host/job_runner: see job_runner.hpp.
#include "plugins/host/job_runner.hpp"

#include <exception>
#include <stdexcept>

namespace lp::plugins {

JobRunner::JobRunner(JobQueue& queue, Dispatch dispatch, Options options, OnError on_error)
    : queue_(queue),
      dispatch_(std::move(dispatch)),
      options_(options),
      on_error_(std::move(on_error)) {
    if (options_.tick.count() <= 0 || options_.ttr.count() <= 0 || options_.batch == 0) {
        throw std::invalid_argument("job runner: tick and ttr must be > 0, batch > 0");
    }
    if (!dispatch_) throw std::invalid_argument("job runner: no dispatch");
}

JobRunner::~JobRunner() {
    stop();
}

void JobRunner::start() {
    std::lock_guard lk(mu_);
    if (thread_.joinable() || stopping_) return;
    thread_ = std::thread([this] { run(); });
}

void JobRunner::stop() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

JobRunner::Stats JobRunner::stats() const {
    return Stats{claimed_.load(), done_.load(), failed_.load(), dead_.load(), last_lag_ms_.load()};
}

void JobRunner::run() {
    std::unique_lock lk(mu_);
    while (!stopping_) {
        lk.unlock();
        const std::size_t claimed = run_batch();
        lk.lock();
        // Claim again at once while there was work: a job that schedules its successor with
        // delay 0 (the feed's fan-out batches) must not wait a tick per step.
        if (claimed == 0) {
            wake_.wait_for(lk, options_.tick, [this] { return stopping_; });
        }
    }
}

void JobRunner::report_failure(const DueJob& job, std::string_view what) {
    failed_.fetch_add(1, std::memory_order_relaxed);
    // The last allowed attempt failed: bury it now rather than leave it to fail every TTR. A
    // queue that cannot bury (store down) leaves it reserved: it comes back after its TTR with
    // one more attempt counted, and is buried then.
    if (options_.max_attempts != 0 && job.attempts >= options_.max_attempts) {
        try {
            if (queue_.bury(job, std::string(what))) dead_.fetch_add(1, std::memory_order_relaxed);
        } catch (...) {
        }
    }
    if (!on_error_) return;
    try {
        on_error_(job, what);
    } catch (...) {  // a logger that throws must not take the runner down
    }
}

std::size_t JobRunner::run_batch() {
    std::vector<DueJob> jobs;
    try {
        jobs = queue_.claim(options_.batch, options_.ttr);
    } catch (...) {
        return 0;  // a queue that throws (out of memory) is retried next tick
    }
    claimed_.fetch_add(jobs.size(), std::memory_order_relaxed);
    for (const DueJob& job : jobs) {
        last_lag_ms_.store(job.claimed_ms - job.due_ms, std::memory_order_relaxed);
        try {
            dispatch_(job);
        } catch (const std::exception& e) {
            report_failure(job, e.what());
            continue;
        } catch (...) {
            report_failure(job, "unknown exception");
            continue;
        }
        queue_.done(job);
        done_.fetch_add(1, std::memory_order_relaxed);
    }
    return jobs.size();
}

}  // namespace lp::plugins
