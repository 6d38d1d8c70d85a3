// events/rdkafka_conf: the librdkafka configuration and callbacks the producer and the consumer
// share. Internal to events/: only kafka_producer.cpp and kafka_consumer.cpp include it.
//
// Why the C API of librdkafka (not rdkafkacpp): the mock cluster the tests use is C only; the
// C API gives the bounded close (rd_kafka_consumer_close_queue) and bounded commit
// (rd_kafka_commit_queue) stop() needs, and it hands messages over without a wrapper object
// per message. Ownership is kept in unique_ptrs with the C destroy functions (below).
//
// What it owns: the settings both clients get (brokers, client id, statistics, reconnect
// backoff) and the callbacks both install (log, error, statistics), which feed the
// KafkaContext's log, counters and broker view. librdkafka calls them from its own threads.
// What it must never do: hold per-client state (that is each client's own), or throw from a
// callback (librdkafka's threads would die with it).
#pragma once

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "events/kafka_context.hpp"

namespace lp::events::detail {

struct KafkaDeleter {
    void operator()(rd_kafka_t* rk) const { rd_kafka_destroy(rk); }
};
struct ConfDeleter {
    void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct ListDeleter {
    void operator()(rd_kafka_topic_partition_list_t* list) const {
        rd_kafka_topic_partition_list_destroy(list);
    }
};
struct QueueDeleter {
    void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
struct ErrorDeleter {
    void operator()(rd_kafka_error_t* e) const { rd_kafka_error_destroy(e); }
};
using KafkaPtr = std::unique_ptr<rd_kafka_t, KafkaDeleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using ListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, ListDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using ErrorPtr = std::unique_ptr<rd_kafka_error_t, ErrorDeleter>;

inline ListPtr new_list(int size) {
    return ListPtr(rd_kafka_topic_partition_list_new(size));
}

inline int to_ms(std::chrono::milliseconds d) {
    return static_cast<int>(std::clamp<std::chrono::milliseconds::rep>(d.count(), 0, 1 << 30));
}

// "topic[partition]" or "topic[partition]@offset", for log lines.
std::string tp_name(std::string_view topic, std::int32_t partition, std::int64_t offset = -1);

// What librdkafka's callbacks get as their opaque: each client's state derives from it, so
// the shared callbacks find the context and a client's own callbacks find the client.
struct RdKafkaClient {
    explicit RdKafkaClient(KafkaContext& c) : ctx(c) {}
    KafkaContext& ctx;
};

// Sets one property; throws std::runtime_error ("kafka: name=value: why") when refused.
void set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value);

// The settings and callbacks (log, error, statistics) both clients share, with `client` as the
// opaque. The caller adds its own, then the options' rdkafka_config last (see apply_extra).
ConfPtr base_conf(RdKafkaClient& client);

// The options' extra librdkafka properties (security.protocol, sasl.*): they override ours.
void apply_extra(rd_kafka_conf_t* conf, const KafkaOptions& opt);

}  // namespace lp::events::detail
