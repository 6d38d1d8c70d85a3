// events/kafka_metrics: the Kafka clients' families of /metrics (in and out), written through
// codec::PromText. Families without HELP were published so: they stay so (empty help).
#pragma once

#include "codec/prometheus_text.hpp"
#include "events/kafka_context.hpp"

namespace lp::events {

void write_metrics(codec::PromText& m, const KafkaStats& ks);

}  // namespace lp::events
