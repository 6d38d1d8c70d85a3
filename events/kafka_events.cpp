// events/kafka_events: see kafka_events.hpp.
#include "events/kafka_events.hpp"

#include <utility>

namespace lp::events {

KafkaEvents::KafkaEvents(KafkaOptions opts, Handler handler, FirstTime first_time, Forget forget)
    : ctx_(std::move(opts)), producer_(ctx_) {
    if (handler) {
        consumer_ = std::make_unique<KafkaConsumer>(ctx_, std::move(handler), std::move(first_time),
                                                    std::move(forget));
    }
}

KafkaEvents::~KafkaEvents() {
    stop();
}

void KafkaEvents::start() {
    if (consumer_) consumer_->start();
    producer_.start();
}

void KafkaEvents::stop() {
    producer_.refuse_new();
    if (consumer_) consumer_->request_stop();  // commits and closes meanwhile
    producer_.stop();
    if (consumer_) consumer_->stop();
}

bool KafkaEvents::brokers_up() const {
    return ctx_.stats().brokers_up.load(std::memory_order_relaxed) > 0;
}

}  // namespace lp::events
