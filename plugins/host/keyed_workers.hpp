// plugins/host/keyed_workers: a few threads that run plugin calls off the event loops.
//
// What it is for: a plugin's BIZ handler may wait on its store (a Redis round trip per call in
// cluster mode). On an event loop that wait would stall every session of the loop; here it
// stalls one worker. Work is sharded by a key (the user id): one user's calls run one at a
// time, in the order they came, so a client's pk.invite is handled before its next pk.get.
//
// Bounded: each worker queues at most `max_queue` tasks; submit() refuses beyond that (the
// caller answers "busy") rather than let a slow store grow memory without end. Counted.
//
// What it owns: its threads. stop() runs what is queued, then joins (idempotent).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace lp::plugins {

class KeyedWorkers {
public:
    struct Stats {
        std::uint64_t run = 0;       // tasks run
        std::uint64_t rejected = 0;  // refused: the key's worker had max_queue waiting
        std::uint64_t queued = 0;    // waiting now, all workers
    };

    // Throws std::invalid_argument for 0 threads or a max_queue of 0.
    KeyedWorkers(std::size_t threads, std::size_t max_queue);
    ~KeyedWorkers();  // stop()
    KeyedWorkers(const KeyedWorkers&) = delete;
    KeyedWorkers& operator=(const KeyedWorkers&) = delete;

    // Queues `task` on the worker of `key`. False (the task is dropped, not run) when that
    // worker's queue is full or the pool is stopping. An exception a task throws is swallowed.
    bool submit(std::uint64_t key, std::function<void()> task);
    void stop();
    Stats stats() const;
    std::size_t threads() const noexcept { return workers_.size(); }
    // The worker `key`'s tasks run on (a multiplicative hash: consecutive ids spread).
    std::size_t worker_of(std::uint64_t key) const noexcept {
        return static_cast<std::size_t>((key * 0x9E3779B97F4A7C15ULL) >> 32) % workers_.size();
    }

private:
    struct Worker {
        std::mutex mu;
        std::condition_variable wake;
        std::deque<std::function<void()>> queue;
        bool stopping = false;
        std::thread thread;
    };
    void run(Worker& w);

    const std::size_t max_queue_;
    std::vector<std::unique_ptr<Worker>> workers_;
    std::atomic<std::uint64_t> run_{0};
    std::atomic<std::uint64_t> rejected_{0};
    std::atomic<std::int64_t> queued_{0};
};

}  // namespace lp::plugins
