// plugins/host/event_bus: see event_bus.hpp.
#include "plugins/host/event_bus.hpp"

namespace lp::plugins {

void EventBus::attach(Dispatch local, Produce kafka) {
    local_ = std::move(local);
    kafka_ = std::move(kafka);
}

void EventBus::start() {
    std::lock_guard lock(mu_);
    if (running_) return;
    running_ = true;
    worker_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (true) {
            cv_.wait(lock, [&] { return !queue_.empty() || !running_; });
            if (queue_.empty() && !running_) return;
            Event e = std::move(queue_.front());
            queue_.pop_front();
            lock.unlock();
            if (local_) local_(e.topic, e.key, e.value);
            lock.lock();
        }
    });
}

void EventBus::stop() {
    {
        std::lock_guard lock(mu_);
        if (!running_) return;
        running_ = false;
    }
    cv_.notify_all();
    if (worker_.joinable()) worker_.join();
}

bool EventBus::publish(const std::string& topic, const std::string& key,
                       const std::string& value_json) {
    if (kafka_) return kafka_(topic, key, value_json);
    std::lock_guard lock(mu_);
    if (queue_.size() >= max_queue_) {
        ++dropped_;
        return false;
    }
    queue_.push_back({topic, key, value_json});
    cv_.notify_one();
    return true;
}

}  // namespace lp::plugins
