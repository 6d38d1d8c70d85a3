// load-test/kafka_gift_producer: sends a run's gift events to Kafka, as the wallet service of
// design.md section 6 would (the gift and pk scenarios of livepush-load with --kafka).
//
// One librdkafka producer on a thread of its own: event i is due at start + i / rate (rate 0:
// all at once, as fast as librdkafka takes them), keyed by its room id (so one room's events
// stay in order on one partition), with batching on (linger) and acks=1. Each event's send time
// is stamped into the plan just before it is handed to librdkafka, so the latency a receiver
// measures includes the linger and the broker round trip. A full local queue makes the thread
// wait for delivery reports, which is the producer's back-pressure; the results say how many
// events were acknowledged by the brokers and how many failed. The only librdkafka translation
// unit of livepush-load.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "load-test/gift_events.hpp"

namespace lp::load {

struct KafkaProducerOptions {
    std::string brokers;  // host:port[,host:port...]
    std::string topic = "gift";
    double rate = 0;  // events per second; 0 = as fast as possible
    std::uint32_t linger_ms = 5;
    std::uint32_t flush_timeout_ms = 30000;  // for the last deliveries after the last produce
};

struct KafkaProducerResults {
    std::uint64_t produced = 0;   // handed to librdkafka
    std::uint64_t delivered = 0;  // acknowledged by a broker
    std::uint64_t failed = 0;     // delivery failed (message timeout, broker error)
    std::uint64_t queue_full_waits = 0;
    std::int64_t first_produce_ns = 0;  // steady clock
    std::int64_t last_produce_ns = 0;
    std::int64_t last_delivery_ns = 0;
    std::string first_error;
};

class KafkaGiftProducer {
public:
    // Throws std::runtime_error when librdkafka refuses the configuration.
    KafkaGiftProducer(KafkaProducerOptions options, GiftEventPlan& plan);
    ~KafkaGiftProducer();
    KafkaGiftProducer(const KafkaGiftProducer&) = delete;
    KafkaGiftProducer& operator=(const KafkaGiftProducer&) = delete;

    void start();  // the thread produces every event of the plan, then flushes
    bool finished() const noexcept;
    std::uint64_t produced() const noexcept;               // live, relaxed
    std::uint64_t delivered() const noexcept;              // live, relaxed
    void stop();                                           // early if still producing; joins
    const KafkaProducerResults& results() const noexcept;  // after stop()

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lp::load
