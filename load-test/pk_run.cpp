// load-test/pk_run: the pk scenario of PluginRun (plugin_runs.hpp): a PK between two anchors
// started through the API, gift events for anchor A, and each event → the first pk.score that
// shows it, at every viewer; the final score checked against the API's.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "load-test/api_publisher.hpp"
#include "load-test/plugin_run_phase.hpp"
#include "load-test/plugin_runs.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

constexpr auto kAfterSetup = std::chrono::milliseconds(300);  // pk.state reaches the rooms

}  // namespace

void PluginRun::run_pk(const Shards& shards) {
    Phase& ph = *phase_;
    const std::uint64_t a = load_.user_base, b = load_.user_base + 1;
    const std::uint64_t room_a = load_.room_base, room_b = load_.room_base + 1;
    auto call = [&](const std::string& method, const std::string& target,
                    const std::string& body) -> std::optional<std::string> {
        HttpAnswer r =
            http_call(opts_.api_host, opts_.api_port, opts_.api_key, method, target, body);
        if (r.status == 200) return r.body;
        ph.error = method + " " + target + ": " + failure_text(r);
        std::printf("pk: %s\n", ph.error.c_str());
        return std::nullopt;
    };
    for (std::uint64_t anchor : {a, b}) {
        if (!call("POST", "/v1/pk/whitelist", "{\"anchor_id\":" + num(anchor) + "}")) return;
    }
    auto invited = call("POST", "/v1/pk/invite",
                        "{\"from_anchor\":" + num(a) + ",\"from_room\":" + num(room_a) +
                            ",\"to_anchor\":" + num(b) + ",\"to_room\":" + num(room_b) + "}");
    if (!invited) return;
    auto id = json_uint_after(*invited, "\"pk_id\"");
    if (!id) {
        ph.error = "no pk_id in the invite's answer: " + *invited;
        return;
    }
    ph.pk_id = num(*id);
    if (!call("POST", "/v1/pk/" + ph.pk_id + "/accept", "{}")) return;
    std::printf(
        "pk: %s scoring: anchor %llu (room %llu) vs %llu (room %llu); %llu events of "
        "value %s = %lld points each\n",
        ph.pk_id.c_str(), static_cast<unsigned long long>(a),
        static_cast<unsigned long long>(room_a), static_cast<unsigned long long>(b),
        static_cast<unsigned long long>(room_b), static_cast<unsigned long long>(plan_->size()),
        opts_.gift_value.c_str(), static_cast<long long>(ph.points_per_event));
    std::fflush(stdout);
    std::this_thread::sleep_for(kAfterSetup);

    send_events(shards, 0);

    if (auto view = call("GET", "/v1/pk/" + ph.pk_id, {})) {
        std::size_t scores = view->find("\"scores\":{");
        auto score = scores == std::string::npos
                         ? std::nullopt
                         : json_uint_after(*view, "\"" + num(a) + "\":", scores);
        ph.api_score = score ? static_cast<long long>(*score) : -1;
    }
    // Frees the anchors for the next run against the same node.
    call("POST", "/v1/pk/" + ph.pk_id + "/close", "{}");
}

std::string PluginRun::report_pk(const Shards& shards, bool& clean) {
    const Phase& ph = *phase_;
    const GiftEventPlan& plan = *plan_;
    LatencyHistogram at_viewers, first_viewer;
    std::vector<std::int64_t> first_seen(plan.size(), 0);
    std::uint64_t score_pushes = 0, unmatched = 0, regressions = 0, max_score = 0;
    std::uint64_t full = 0, viewers = 0, seq_gaps = 0;
    for (const auto& s : shards) {
        const ShardResults& r = s->results();
        const PluginReceiver& p = r.plugin;
        at_viewers.merge(p.latency);
        score_pushes += p.matched;
        unmatched += p.unmatched;
        regressions += p.regressions;
        seq_gaps += r.seq_gaps;
        max_score = std::max(max_score, p.max_score);
        for (std::uint32_t c : p.covered) {
            if (c == plan.size()) ++full;
        }
        for (std::size_t k = 0; k < p.first_seen_ns.size(); ++k) {
            std::int64_t t = p.first_seen_ns[k];
            if (t != 0 && (first_seen[k] == 0 || t < first_seen[k])) first_seen[k] = t;
        }
    }
    viewers = sessions_up(shards);
    std::uint64_t never_seen = 0;
    for (std::uint64_t k = 0; k < plan.size(); ++k) {
        std::int64_t sent = plan.sent_ns(k);
        if (sent == 0) continue;
        if (first_seen[k] == 0) {
            ++never_seen;
            continue;
        }
        first_viewer.record(
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, first_seen[k] - sent)));
    }
    const long long expected = static_cast<long long>(ph.accepted) * ph.points_per_event;
    const bool score_ok = static_cast<long long>(max_score) == expected &&
                          (ph.api_score < 0 || ph.api_score == expected);
    if (!score_ok || full != viewers || regressions || unmatched || ph.failed) clean = false;

    std::printf("pk: %llu events sent via %s at %.0f/s asked, %llu acked, %llu failed%s%s\n",
                static_cast<unsigned long long>(ph.sent), ph.source, opts_.rate,
                static_cast<unsigned long long>(ph.accepted),
                static_cast<unsigned long long>(ph.failed),
                ph.source_error.empty() ? "" : "; first error: ", ph.source_error.c_str());
    std::printf(
        "pk: %llu pk.score pushes read (%llu unreadable), scores going down %llu, room_seq gaps "
        "%llu; %llu of %llu sessions saw the final score\n",
        static_cast<unsigned long long>(score_pushes), static_cast<unsigned long long>(unmatched),
        static_cast<unsigned long long>(regressions), static_cast<unsigned long long>(seq_gaps),
        static_cast<unsigned long long>(full), static_cast<unsigned long long>(viewers));
    std::printf("pk: score expected %lld, highest pushed %llu, GET /v1/pk/%s %lld: %s\n", expected,
                static_cast<unsigned long long>(max_score), ph.pk_id.c_str(), ph.api_score,
                score_ok ? "equal" : "DIFFERENT");
    std::printf("pk: event → pk.score showing it, first viewer, ms: %s%s\n",
                latency_text(first_viewer).c_str(),
                never_seen ? (", " + num(never_seen) + " never shown").c_str() : "");
    std::printf("pk: event → pk.score showing it, every viewer, ms: %s\n",
                latency_text(at_viewers).c_str());
    std::printf("cpu: load tool %.0f%% of a core", ph.client_cpu_pct);
    if (ph.server_cpu_pct >= 0) std::printf(", server %.0f%%", ph.server_cpu_pct);
    std::printf(" (%s)\n", ph.complete ? "complete" : "gave up waiting");

    return ",\"source\":\"" + std::string(ph.source) + "\",\"rate\":" + fmt("%.1f", opts_.rate) +
           ",\"pk_id\":" + json_string(ph.pk_id) + ",\"events\":" + num(plan.size()) +
           ",\"sent\":" + num(ph.sent) + ",\"acked\":" + num(ph.accepted) +
           ",\"send_failed\":" + num(ph.failed) +
           ",\"points_per_event\":" + std::to_string(ph.points_per_event) +
           ",\"score_expected\":" + std::to_string(expected) +
           ",\"score_max_pushed\":" + num(max_score) +
           ",\"score_api\":" + std::to_string(ph.api_score) +
           ",\"score_ok\":" + (score_ok ? "true" : "false") +
           ",\"score_pushes\":" + num(score_pushes) + ",\"unreadable\":" + num(unmatched) +
           ",\"regressions\":" + num(regressions) + ",\"gaps\":" + num(seq_gaps) +
           ",\"sessions\":" + num(viewers) + ",\"sessions_final\":" + num(full) +
           ",\"never_shown\":" + num(never_seen) + latency_json("first_viewer", first_viewer) +
           latency_json("viewers", at_viewers) +
           ",\"client_cpu_pct\":" + fmt("%.1f", ph.client_cpu_pct) +
           ",\"server_cpu_pct\":" + fmt("%.1f", ph.server_cpu_pct) +
           ",\"complete\":" + (ph.complete ? "true" : "false");
}

}  // namespace lp::load
