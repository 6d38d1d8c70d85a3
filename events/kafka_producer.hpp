// events/kafka_producer: the node's Kafka producer (events out: the plugins' events for other
// nodes, client packets going upstream to business services).
//
// Delivery: keyed (same key → same partition → ordered; murmur2, the partition a Java producer
// picks for that key; an empty key spreads). The producer is idempotent, so librdkafka's own
// retries neither duplicate nor reorder.
//
// Brokers down: start() never waits for a broker and never throws because of one. produce()
// buffers up to `max_produce_queue` messages locally (delivered when brokers return, or failed
// after `message_timeout`). The counters (produced, produce_failures, produce_queue_full) and
// the broker view are the KafkaContext's, shared with the node's consumer.
//
// Threads: one poll thread (delivery reports). produce() may be called from any thread, a
// consumer's handler included.
//
// What it owns: the librdkafka producer handle and its poll thread.
// What it must never do: crash or block start() because of the brokers, block produce() (a full
// local queue refuses at once), or outlive its KafkaContext.
#pragma once

#include <memory>
#include <string>

#include "events/kafka_context.hpp"

namespace lp::events {

class KafkaProducer {
public:
    // Throws std::runtime_error when librdkafka refuses the configuration; never for an
    // unreachable broker. Messages produced before start() are buffered.
    explicit KafkaProducer(KafkaContext& ctx);
    ~KafkaProducer();  // stop()
    KafkaProducer(const KafkaProducer&) = delete;
    KafkaProducer& operator=(const KafkaProducer&) = delete;

    void start();  // the poll thread; never throws for an unreachable broker
    // produce() refuses from here on (counted as produce_failures); stop() still delivers what
    // is queued. Cheap, never blocks.
    void refuse_new();
    // Bounded: flushes for at most flush_timeout; what is still unsent is dropped and counted.
    // Idempotent.
    void stop();
    // Async produce. False when the local queue is full (produce_queue_full), after stop(), or
    // when librdkafka refuses the message.
    bool produce(const std::string& topic, const std::string& key, const std::string& value);

private:
    struct State;  // the librdkafka handle and the poll thread (in the .cpp)
    std::unique_ptr<State> s_;
};

}  // namespace lp::events
