// events/kafka_events: one node's Kafka link: a producer, a consumer when there is a handler,
// and the KafkaContext they share (options, counters, broker view).
//
// What it is for: the node publishes (the plugins' events, client packets going upstream) and
// consumes (the plugins' event topics, once per cluster) over one configured Kafka; an operator
// sees one set of livepush_kafka_* counters for both. The rules of each direction are in
// kafka_producer.hpp and kafka_consumer.hpp; this class only builds the pair and stops it in
// the right order: the producer's flush and the consumer's final commit and group leave run at
// the same time, so stop() takes max(flush_timeout, close_timeout), not their sum.
//
// What it owns: the KafkaContext, the KafkaProducer and the optional KafkaConsumer.
// What it must never do: know what the events mean (handlers and dedupe are the caller's
// callbacks; the node wires them to the plugins).
#pragma once

#include <memory>
#include <string>

#include "events/kafka_consumer.hpp"
#include "events/kafka_context.hpp"
#include "events/kafka_producer.hpp"

namespace lp::events {

class KafkaEvents {
public:
    using Handler = KafkaConsumer::Handler;
    using FirstTime = KafkaConsumer::FirstTime;
    using Forget = KafkaConsumer::Forget;

    // Throws std::invalid_argument for options that make no sense (see KafkaContext) and
    // std::runtime_error when librdkafka refuses the configuration. Never for an unreachable
    // broker. Without a handler it only produces. The producer works from here on: messages
    // produced before start() are buffered.
    KafkaEvents(KafkaOptions opts, Handler handler, FirstTime first_time = {}, Forget forget = {});
    ~KafkaEvents();  // stop()
    KafkaEvents(const KafkaEvents&) = delete;
    KafkaEvents& operator=(const KafkaEvents&) = delete;

    void start();  // consumer thread + producer poll thread; never throws for an unreachable broker
    // Bounded: flushes the producer for at most flush_timeout (2 s) while the consumer commits
    // and leaves the group within close_timeout (3 s); what is still unsent is dropped and
    // counted. Idempotent. Never from the handler (it would wait for its own thread).
    void stop();
    // See KafkaProducer::produce. Any thread, the handler included.
    bool produce(const std::string& topic, const std::string& key, const std::string& value) {
        return producer_.produce(topic, key, value);
    }
    KafkaProducer& producer() noexcept { return producer_; }
    const KafkaStats& stats() const noexcept { return ctx_.stats(); }
    bool brokers_up() const;

private:
    // Declared in this order: the clients go before the context their callbacks use.
    KafkaContext ctx_;
    KafkaProducer producer_;
    std::unique_ptr<KafkaConsumer> consumer_;  // null without a handler
};

}  // namespace lp::events
