// events/kafka_context: see kafka_context.hpp.
#include "events/kafka_context.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <utility>

namespace lp::events {

namespace {

void stderr_log(int level, std::string_view line) {
    static constexpr const char* kNames[] = {"emerg", "alert",  "crit", "error",
                                             "warn",  "notice", "info", "debug"};
    std::string out = "[kafka] ";
    out += kNames[std::clamp(level, 0, 7)];
    out += ' ';
    out += line;
    out += '\n';
    std::fwrite(out.data(), 1, out.size(), stderr);  // one write: lines from threads stay whole
}

}  // namespace

KafkaContext::KafkaContext(KafkaOptions opts) {
    using std::chrono::milliseconds;
    if (opts.brokers.empty()) throw std::invalid_argument("kafka: no brokers");
    if (opts.topics.empty()) opts.topics = {"gift"};
    if (opts.retry_backoff_min <= milliseconds::zero() ||
        opts.retry_backoff_min > opts.retry_backoff_max) {
        throw std::invalid_argument("kafka: need 0 < retry_backoff_min <= retry_backoff_max");
    }
    if (opts.max_produce_queue == 0) throw std::invalid_argument("kafka: max_produce_queue is 0");
    if (opts.commit_interval <= milliseconds::zero()) {
        throw std::invalid_argument("kafka: commit_interval must be > 0");
    }
    opt_ = std::move(opts);
}

void KafkaContext::log(int level, std::string_view line) const {
    if (opt_.log) {
        opt_.log(level, line);
    } else {
        stderr_log(level, line);
    }
}

void KafkaContext::brokers_seen_up(bool producer_side, std::set<std::int32_t> up) {
    std::lock_guard lock(mu_);
    ClientBrokers& b = producer_side ? producer_brokers_ : consumer_brokers_;
    if (!up.empty()) b.all_down = false;
    b.up = std::move(up);
    update_brokers_up();
}

void KafkaContext::all_brokers_down(bool producer_side) {
    std::lock_guard lock(mu_);
    ClientBrokers& b = producer_side ? producer_brokers_ : consumer_brokers_;
    b.all_down = true;
    b.up.clear();
    update_brokers_up();
}

bool KafkaContext::transport_error(bool producer_side) {
    std::lock_guard lock(mu_);
    return !(producer_side ? producer_brokers_ : consumer_brokers_).all_down;
}

void KafkaContext::update_brokers_up() {
    std::set<std::int32_t> all = producer_brokers_.up;
    all.insert(consumer_brokers_.up.begin(), consumer_brokers_.up.end());
    stats_.brokers_up.store(static_cast<std::int64_t>(all.size()), std::memory_order_relaxed);
}

}  // namespace lp::events
