// ack/delivery_metrics: see delivery_metrics.hpp.
#include "ack/delivery_metrics.hpp"

#include <cstdint>

#include "ack/inbox_store.hpp"
#include "ack/qos_delivery.hpp"
#include "ack/redis_inbox.hpp"
#include "codec/prometheus_text.hpp"

namespace lp::ack {

void write_metrics(codec::PromText& m, const DeliveryStats& d) {
    m.counter("livepush_qos1_sent_total", "qos1 messages sent (first attempt)", d.sent.load());
    m.counter("livepush_qos1_retries_total", "qos1 resends", d.retries.load());
    m.counter("livepush_acks_total", "acked in-flight messages", d.acked.load());
    m.counter("livepush_acks_late_total",
              "acks for messages retried out of the window to the inbox", d.late_acks.load());
    m.counter("livepush_acks_unknown_total",
              "acked ids the session did not hold (ignored, no store work)", d.unknown_acks.load());
    const char* to_inbox = "qos1 messages put in the inbox";
    m.counter("livepush_qos1_to_inbox_total", to_inbox, d.offline.load(), "reason=\"offline\"");
    m.counter("livepush_qos1_to_inbox_total", to_inbox, d.disconnected.load(),
              "reason=\"disconnected\"");
    m.counter("livepush_qos1_to_inbox_total", to_inbox, d.exhausted.load(),
              "reason=\"max_attempts\"");
    m.counter("livepush_qos1_expired_total", "qos1 messages dropped at their TTL",
              d.expired.load());
    m.counter("livepush_qos1_replayed_total", "inbox messages replayed at login",
              d.replayed.load());
    m.counter("livepush_qos1_resynced_total",
              "inbox messages queued to online sessions after a node left", d.resynced.load());
    m.gauge("livepush_qos1_inflight", "qos1 messages in flight", d.inflight.load());
    m.gauge("livepush_qos1_waiting", "qos1 messages waiting behind full windows", d.waiting.load());
    m.counter("livepush_qos1_waiting_overflow_total",
              "qos1 messages over delivery.waiting_max, left to the inbox",
              d.waiting_overflow.load());
    m.counter("livepush_qos1_replays_async_total", "login inbox loads run off the event loop",
              d.replays_async.load());
}

void InboxStore::write_metrics(codec::PromText& m) const {
    const auto ic = counters();
    m.gauge("livepush_inbox_messages", "messages in inboxes", static_cast<std::int64_t>(ic.size));
    m.gauge("livepush_inbox_users", "users with a non-empty inbox",
            static_cast<std::int64_t>(ic.users));
    m.counter("livepush_inbox_dropped_total", "inbox messages dropped", ic.dropped_cap,
              "reason=\"cap\"");
    m.counter("livepush_inbox_dropped_total", "inbox messages dropped", ic.expired,
              "reason=\"expired\"");
    m.counter("livepush_inbox_removed_total", "inbox messages removed by acks", ic.removed);
    m.counter("livepush_inbox_share_full_total",
              "im.send refused: the sender's share of the inbox was full", ic.share_full);
}

void RedisInbox::write_metrics(codec::PromText& m) const {
    InboxStore::write_metrics(m);
    const auto rs = stats();
    const char* help =
        "inbox operations Redis did not complete (accepted messages are never among them: append "
        "failures are refused with 503)";
    m.counter("livepush_inbox_redis_failures_total", help, rs.append_failures, "op=\"append\"");
    m.counter("livepush_inbox_redis_failures_total", help, rs.load_failures, "op=\"load\"");
    m.counter("livepush_inbox_redis_failures_total", help, rs.size_failures, "op=\"size\"");
    m.counter("livepush_inbox_redis_failures_total", help, rs.remove_failures, "op=\"remove\"");
    m.counter("livepush_inbox_redis_failures_total", help, rs.sweep_failures, "op=\"sweep\"");
    m.counter("livepush_inbox_corrupt_total", "stored inbox messages that did not parse (skipped)",
              rs.corrupt);
    m.counter("livepush_inbox_sweep_passes_total", "full SCAN passes over the inboxes",
              rs.sweep_passes);
}

}  // namespace lp::ack
