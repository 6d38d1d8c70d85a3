// ack/delivery_metrics: the ack layer's Prometheus families — qos1 delivery (sends, retries,
// acks, messages put in the inbox, replays, the in-flight and waiting gauges) here, and the
// inbox stores' through InboxStore::write_metrics (defined in delivery_metrics.cpp, beside it).
//
// It owns the names, HELP texts and labels of those families; it reads DeliveryStats and the
// stores' counters and must never count anything itself.
#pragma once

namespace lp::codec {
class PromText;
}

namespace lp::ack {

struct DeliveryStats;

void write_metrics(codec::PromText& m, const DeliveryStats& d);

}  // namespace lp::ack
