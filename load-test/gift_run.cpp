// load-test/gift_run: the gift scenario of PluginRun (plugin_runs.hpp): gift events (Kafka or
// POST /v1/gift/events) to gift.effect room pushes; every effect matched to its event.
#include <algorithm>
#include <cstdio>
#include <string>
#include <vector>

#include "load-test/api_publisher.hpp"
#include "load-test/plugin_run_phase.hpp"
#include "load-test/plugin_runs.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

// The value of one sample of a Prometheus text page (`name{labels} value`); -1 when absent.
long long metric_value(const std::string& page, const std::string& series) {
    std::size_t at = page.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::atoll(page.c_str() + at + 1 + series.size() + 1);
}

}  // namespace

void PluginRun::run_gift(const Shards& shards) {
    Phase& ph = *phase_;
    if (opts_.api_port != 0) {
        HttpAnswer m =
            http_call(opts_.api_host, opts_.api_port, opts_.api_key, "GET", "/metrics", {});
        ph.handled_before = metric_value(m.body, "livepush_kafka_events_total{result=\"handled\"}");
    }
    // Every room's members get every event of their room; the rooms are equal to within one.
    std::uint64_t members = sessions_up(shards);
    std::uint64_t per_event = members / load_.rooms;
    send_events(shards, per_event);
    if (opts_.api_port != 0) {
        HttpAnswer m =
            http_call(opts_.api_host, opts_.api_port, opts_.api_key, "GET", "/metrics", {});
        ph.handled_after = metric_value(m.body, "livepush_kafka_events_total{result=\"handled\"}");
    }
}

std::string PluginRun::report_gift(const Shards& shards, bool& clean) {
    const Phase& ph = *phase_;
    const GiftEventPlan& plan = *plan_;
    LatencyHistogram latency;
    std::vector<std::uint64_t> members(load_.rooms, 0);
    std::vector<std::uint64_t> deliveries(plan.size(), 0);
    std::uint64_t effects = 0, unmatched = 0, other = 0, seq_gaps = 0, seq_dups = 0;
    std::int64_t last_ns = 0;
    for (const auto& s : shards) {
        const ShardResults& r = s->results();
        const PluginReceiver& p = r.plugin;
        latency.merge(p.latency);
        effects += p.matched;
        unmatched += p.unmatched;
        other += p.other_types;
        seq_gaps += r.seq_gaps;
        seq_dups += r.seq_duplicates;
        last_ns = std::max(last_ns, p.last_ns);
        for (std::size_t k = 0; k < r.room_members.size() && k < members.size(); ++k)
            members[k] += r.room_members[k];
        for (std::size_t i = 0; i < p.deliveries.size(); ++i) deliveries[i] += p.deliveries[i];
    }
    std::uint64_t distinct = 0, expected = 0, missing = 0, duplicates = 0, delivered = 0;
    std::uint64_t events_missing = 0;
    // Bounded by --events.
    for (std::uint64_t i = 0; i < plan.size(); ++i) {
        if (plan.sent_ns(i) == 0) continue;  // never sent
        const std::uint64_t want = members[plan.room_index_of(i)];
        const std::uint64_t got = deliveries[i];
        expected += want;
        delivered += got;
        if (got > 0) ++distinct;
        if (got == 0 && want > 0) ++events_missing;
        if (got < want) missing += want - got;
        if (got > want) duplicates += got - want;
    }
    const double e2e_s = last_ns > ph.first_send_ns ? double(last_ns - ph.first_send_ns) / 1e9 : 0;
    const double send_s =
        ph.last_send_ns > ph.first_send_ns ? double(ph.last_send_ns - ph.first_send_ns) / 1e9 : 0;
    const double events_per_s = e2e_s > 0 ? double(distinct) / e2e_s : 0;
    const double send_per_s = send_s > 0 ? double(ph.sent) / send_s : 0;
    std::uint64_t member_sum = 0;
    for (auto m : members) member_sum += m;
    if (missing || duplicates || unmatched || ph.failed || distinct < ph.accepted) clean = false;

    std::printf("gift: %llu events sent via %s (%.0f/s over %.2f s), %llu acked, %llu failed%s%s\n",
                static_cast<unsigned long long>(ph.sent), ph.source, send_per_s, send_s,
                static_cast<unsigned long long>(ph.accepted),
                static_cast<unsigned long long>(ph.failed),
                ph.source_error.empty() ? "" : "; first error: ", ph.source_error.c_str());
    std::printf(
        "gift: %llu distinct events seen by a session, %llu with no effect at all; %llu "
        "members in %u rooms\n",
        static_cast<unsigned long long>(distinct), static_cast<unsigned long long>(events_missing),
        static_cast<unsigned long long>(member_sum), load_.rooms);
    std::printf(
        "gift: effects expected %llu, delivered %llu, missing %llu, duplicates %llu, foreign "
        "%llu, other pushes %llu; room_seq gaps %llu, repeats %llu\n",
        static_cast<unsigned long long>(expected), static_cast<unsigned long long>(delivered),
        static_cast<unsigned long long>(missing), static_cast<unsigned long long>(duplicates),
        static_cast<unsigned long long>(unmatched), static_cast<unsigned long long>(other),
        static_cast<unsigned long long>(seq_gaps), static_cast<unsigned long long>(seq_dups));
    std::printf(
        "gift: end to end %.0f events/s (%llu events from first send to last effect, %.3f s; "
        "%.0f effects/s); last effect %.2f s after the last send\n",
        events_per_s, static_cast<unsigned long long>(distinct), e2e_s,
        e2e_s > 0 ? double(delivered) / e2e_s : 0,
        last_ns > ph.last_send_ns ? double(last_ns - ph.last_send_ns) / 1e9 : 0);
    std::printf("gift: send → effect latency ms: %s, 1 in %u\n", latency_text(latency).c_str(),
                opts_.latency_sample);
    if (ph.handled_before >= 0 && ph.handled_after >= 0) {
        std::printf("gift: node's livepush_kafka_events_total{result=\"handled\"} +%lld\n",
                    ph.handled_after - ph.handled_before);
    }
    std::printf("cpu: load tool %.0f%% of a core", ph.client_cpu_pct);
    if (ph.server_cpu_pct >= 0) std::printf(", server %.0f%%", ph.server_cpu_pct);
    std::printf(" (%s)\n", ph.complete ? "complete" : "gave up waiting");

    return ",\"source\":\"" + std::string(ph.source) + "\",\"rate\":" + fmt("%.1f", opts_.rate) +
           ",\"events\":" + num(plan.size()) + ",\"sent\":" + num(ph.sent) +
           ",\"acked\":" + num(ph.accepted) + ",\"send_failed\":" + num(ph.failed) +
           ",\"send_s\":" + fmt("%.3f", send_s) + ",\"send_per_s\":" + fmt("%.1f", send_per_s) +
           ",\"queue_full_waits\":" + num(ph.queue_full_waits) +
           ",\"source_error\":" + json_string(ph.source_error) +
           ",\"rooms\":" + std::to_string(load_.rooms) + ",\"members\":" + num(member_sum) +
           ",\"distinct_seen\":" + num(distinct) +
           ",\"events_without_effect\":" + num(events_missing) +
           ",\"effects_expected\":" + num(expected) + ",\"effects_delivered\":" + num(delivered) +
           ",\"missing\":" + num(missing) + ",\"duplicates\":" + num(duplicates) +
           ",\"foreign\":" + num(unmatched) + ",\"other_pushes\":" + num(other) +
           ",\"gaps\":" + num(seq_gaps) + ",\"e2e_s\":" + fmt("%.3f", e2e_s) +
           ",\"events_per_s\":" + fmt("%.1f", events_per_s) +
           ",\"effects_per_s\":" + fmt("%.1f", e2e_s > 0 ? double(delivered) / e2e_s : 0) +
           latency_json("latency", latency) +
           ",\"latency_sample_every\":" + std::to_string(opts_.latency_sample) +
           ",\"kafka_handled_delta\":" + std::to_string(ph.handled_after - ph.handled_before) +
           ",\"client_cpu_pct\":" + fmt("%.1f", ph.client_cpu_pct) +
           ",\"server_cpu_pct\":" + fmt("%.1f", ph.server_cpu_pct) +
           ",\"complete\":" + (ph.complete ? "true" : "false");
}

}  // namespace lp::load
