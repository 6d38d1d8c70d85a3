// plugins/host/event_bus: the SDK's Events for the node. With Kafka brokers configured, a
// published event goes to Kafka (and comes back through the cluster's consumer group, handled
// once per cluster); without, it goes to the in-process bus: a worker thread hands it to every
// local plugin consuming the topic. Either way a plugin's publish never runs another plugin's
// handler on its own stack.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "plugins/sdk/plugin.hpp"

namespace lp::plugins {

class EventBus final : public sdk::Events {
public:
    using Dispatch =
        std::function<void(const std::string&, const std::string&, const std::string&)>;
    using Produce = std::function<bool(const std::string&, const std::string&, const std::string&)>;
    explicit EventBus(std::size_t max_queue = 100000) : max_queue_(max_queue) {}
    ~EventBus() override { stop(); }

    // Local dispatch target (the plugin host) and, in Kafka mode, the producer.
    void attach(Dispatch local, Produce kafka = {});
    void start();
    void stop();
    bool publish(const std::string& topic, const std::string& key,
                 const std::string& value_json) override;
    std::uint64_t dropped() const noexcept { return dropped_; }

private:
    struct Event {
        std::string topic, key, value;
    };
    Dispatch local_;
    Produce kafka_;
    std::size_t max_queue_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::deque<Event> queue_;
    std::thread worker_;
    bool running_ = false;
    std::uint64_t dropped_ = 0;
};

}  // namespace lp::plugins
