// plugins/host/keyed_workers: see keyed_workers.hpp.
#include "plugins/host/keyed_workers.hpp"

#include <stdexcept>

namespace lp::plugins {

KeyedWorkers::KeyedWorkers(std::size_t threads, std::size_t max_queue) : max_queue_(max_queue) {
    if (threads == 0 || max_queue == 0)
        throw std::invalid_argument("keyed workers: threads and max_queue must be > 0");
    workers_.reserve(threads);
    for (std::size_t i = 0; i < threads; ++i) workers_.push_back(std::make_unique<Worker>());
    for (auto& w : workers_) w->thread = std::thread([this, raw = w.get()] { run(*raw); });
}

KeyedWorkers::~KeyedWorkers() {
    stop();
}

bool KeyedWorkers::submit(std::uint64_t key, std::function<void()> task) {
    Worker& w = *workers_[worker_of(key)];
    {
        std::lock_guard lk(w.mu);
        if (w.stopping || w.queue.size() >= max_queue_) {
            rejected_.fetch_add(1, std::memory_order_relaxed);
            return false;
        }
        w.queue.push_back(std::move(task));
    }
    queued_.fetch_add(1, std::memory_order_relaxed);
    w.wake.notify_one();
    return true;
}

void KeyedWorkers::run(Worker& w) {
    std::unique_lock lk(w.mu);
    for (;;) {
        w.wake.wait(lk, [&] { return w.stopping || !w.queue.empty(); });
        if (w.queue.empty()) return;  // stopping, and everything queued has run
        auto task = std::move(w.queue.front());
        w.queue.pop_front();
        lk.unlock();
        queued_.fetch_sub(1, std::memory_order_relaxed);
        try {
            task();
        } catch (...) {  // the caller's task guards its own errors; a worker must not die
        }
        run_.fetch_add(1, std::memory_order_relaxed);
        lk.lock();
    }
}

void KeyedWorkers::stop() {
    for (auto& w : workers_) {
        {
            std::lock_guard lk(w->mu);
            w->stopping = true;
        }
        w->wake.notify_all();
    }
    for (auto& w : workers_) {
        if (w->thread.joinable()) w->thread.join();
    }
}

KeyedWorkers::Stats KeyedWorkers::stats() const {
    const auto q = queued_.load(std::memory_order_relaxed);
    return Stats{run_.load(std::memory_order_relaxed), rejected_.load(std::memory_order_relaxed),
                 static_cast<std::uint64_t>(q < 0 ? 0 : q)};
}

}  // namespace lp::plugins
