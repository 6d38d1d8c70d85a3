// events/kafka_metrics: see kafka_metrics.hpp.
#include "events/kafka_metrics.hpp"

namespace lp::events {

void write_metrics(codec::PromText& m, const KafkaStats& ks) {
    m.counter("livepush_kafka_events_total", {}, ks.handled.load(), "result=\"handled\"");
    m.counter("livepush_kafka_events_total", {}, ks.handler_failures.load(), "result=\"failed\"");
    m.counter("livepush_kafka_events_total", {}, ks.duplicates.load(), "result=\"duplicate\"");
    m.counter("livepush_kafka_events_total", {}, ks.invalid_json.load(), "result=\"invalid\"");
    m.counter("livepush_kafka_produced_total", {}, ks.produced.load());
    m.counter("livepush_kafka_produce_failures_total", {}, ks.produce_failures.load());
    m.counter("livepush_kafka_broker_down_total", {}, ks.broker_down_events.load());
    m.gauge("livepush_kafka_brokers_up", {}, ks.brokers_up.load());
    m.gauge("livepush_kafka_assigned_partitions", "partitions this node consumes now",
            ks.assigned_partitions.load());
    m.counter("livepush_kafka_offset_resets_total",
              "consumer positions out of range: events lost to retention were skipped",
              ks.offset_resets.load());
    m.gauge("livepush_kafka_consumer_lag",
            "messages between the consumed partitions' ends and this group's committed offsets, "
            "summed over the partitions this node consumes (librdkafka statistics)",
            ks.consumer_lag.load());
}

}  // namespace lp::events
