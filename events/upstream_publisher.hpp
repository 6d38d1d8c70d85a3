// events/upstream_publisher: client packets going upstream to business services on Kafka.
//
// What it is for: BIZ packets of the types in kafka.upstream_types (room.chat, plugin types
// marked upstream), once the gateway handled them, are published on kafka.upstream_topic for
// business services (moderation, analytics, ...). One record per packet:
//   key   = the data's "room_id" (a string as is, a number as its JSON text), else the user id:
//           a room's packets land on one partition, in order;
//   value = {"type", "user_id" (decimal string), "node", "ts_ms", "data"}, where "data" is the
//           packet's JSON (or, if it is not JSON, that text as a string).
//
// What it owns: the topic and the node id; it borrows the node's KafkaProducer, which must
// outlive it. What it must never do: block the caller (the gateway's loop): produce() only
// queues, and a full queue drops the record (counted by the producer).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "events/kafka_producer.hpp"

namespace lp::events {

struct UpstreamRecord {
    std::string key, value;
};

class UpstreamPublisher {
public:
    UpstreamPublisher(KafkaProducer& producer, std::string topic, std::string node_id)
        : producer_(&producer), topic_(std::move(topic)), node_id_(std::move(node_id)) {}

    // One client packet of `user_id`, handled at `ts_ms` (wall clock, ms). False when the
    // producer refused it (see KafkaProducer::produce).
    bool publish(std::uint64_t user_id, const std::string& type, const std::string& data_json,
                 std::uint64_t ts_ms) const;

    // The record publish() sends (no Kafka involved).
    static UpstreamRecord record(std::string_view node_id, std::uint64_t user_id,
                                 const std::string& type, const std::string& data_json,
                                 std::uint64_t ts_ms);

private:
    KafkaProducer* producer_;
    std::string topic_, node_id_;
};

}  // namespace lp::events
