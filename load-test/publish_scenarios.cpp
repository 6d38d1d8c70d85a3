// load-test/publish_scenarios: see publish_scenarios.hpp.
#include "load-test/publish_scenarios.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "load-test/api_publisher.hpp"
#include "load-test/process_stats.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

PublisherOptions publisher_options(const RunOptions& run) {
    PublisherOptions p;
    p.target = run.load.scenario == Scenario::Room ? PublishTarget::Room : PublishTarget::User;
    p.host = run.api_host;
    p.port = run.api_port;
    p.api_key = run.api_key;
    p.connections = run.api_connections;
    p.rate = run.rate;
    p.duration_s = run.duration_s;
    p.payload_bytes = run.payload_bytes;
    p.rooms = run.load.rooms;
    p.room_base = run.load.room_base;
    p.users = run.load.connections;
    p.user_base = run.load.user_base;
    p.random_users = run.random_users;
    return p;
}

// What the room / qos1 timeline measured besides the shards' and the publisher's own results.
struct PublishPhase {
    bool ran = false;
    std::uint32_t api_connected = 0;
    double client_cpu_pct = -1;  // this process, over the publishing window (of one core)
    double server_cpu_pct = -1;  // --server-pid, same window
    long server_rss_kib = -1;    // --server-pid, after the drain
    double drain_s = 0;          // how long the drain wait took
};

// Publishes for --duration-s while the shards measure, then waits up to --drain-s for the
// deliveries still on their way. Every wait is bounded.
PublishPhase run_publish_phase(const RunOptions& run, const Shards& shards,
                               ApiPublisher& publisher) {
    PublishPhase phase;
    phase.api_connected = publisher.connect();
    std::printf("api: %u/%u connections to %s:%u\n", phase.api_connected, run.api_connections,
                run.api_host.c_str(), run.api_port);
    if (phase.api_connected == 0) {
        std::printf("api: no connection to the push API: nothing to measure\n");
        return phase;
    }
    phase.ran = true;
    const bool qos1 = run.load.scenario == Scenario::Qos1;
    const CpuWindow cpu(run.server_pid);
    Clock::time_point start = Clock::now();
    for (auto& s : shards) s->start_measuring();
    publisher.start();

    // The publisher ends by itself after the window and its last answers (each bounded by the
    // request timeout); this deadline only backs that up.
    Clock::time_point limit = start + seconds_ms(run.duration_s + 7);
    Clock::time_point next_progress = start + std::chrono::seconds(1);
    // Bounded by `limit`.
    while (Clock::now() < limit && !publisher.finished()) {
        wait_until(std::min(next_progress, limit), [&] { return publisher.finished(); });
        if (Clock::now() >= next_progress) {
            std::printf("  t=%.0fs sent %llu, accepted %llu, received %llu%s\n",
                        std::chrono::duration<double>(Clock::now() - start).count(),
                        static_cast<unsigned long long>(publisher.sent()),
                        static_cast<unsigned long long>(publisher.accepted()),
                        static_cast<unsigned long long>(qos1 ? unique_ids_received(shards)
                                                             : pushes_received(shards)),
                        qos1 ? " msg_ids" : " pushes");
            std::fflush(stdout);
            next_progress += std::chrono::seconds(1);
        }
    }
    for (auto& s : shards) s->stop_measuring();
    Clock::time_point stopped = Clock::now();
    double window_s = std::chrono::duration<double>(stopped - start).count();
    cpu.finish(window_s, phase.client_cpu_pct, phase.server_cpu_pct);
    wait_measuring_stopped(shards, Clock::now() + std::chrono::seconds(5));

    // Drain: room pushes should reach every session the server counted at publish time; qos1
    // pushes each reach one session.
    std::uint64_t expected = publisher.sessions();
    auto all_arrived = [&] {
        return (qos1 ? unique_ids_received(shards) : pushes_received(shards)) >= expected;
    };
    Clock::time_point drain_start = Clock::now();
    wait_until(drain_start + seconds_ms(run.drain_s), all_arrived);
    phase.drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
    publisher.stop();
    if (run.server_pid > 0) phase.server_rss_kib = read_rss_kib(run.server_pid);
    return phase;
}

// What the sessions received, summed over the shards.
struct Received {
    LatencyHistogram latency;  // Push.sent_at_ms → receive
    std::uint64_t received = 0, measured_pushes = 0, unreadable = 0, other_room = 0;
    std::uint64_t unsequenced = 0;  // room.online counts (not counted as received)
    std::uint64_t seq_duplicates = 0, seq_gaps = 0, seq_missing = 0;
    std::uint64_t acked = 0, acked_measured = 0, ack_frames = 0, ack_required = 0;
    std::uint64_t id_duplicates = 0, wrong_client = 0, untracked = 0, unique_ids = 0;
    double measured_s = 0;
    std::vector<std::uint64_t> members;  // room: sessions per room when measuring began

    double per_s(std::uint64_t n) const { return measured_s > 0 ? double(n) / measured_s : 0.0; }
};

Received sum_received(const Shards& shards, std::uint32_t rooms) {
    Received v;
    v.members.assign(rooms, 0);
    for (const auto& s : shards) {
        const auto& r = s->results();
        v.latency.merge(r.delivery_latency);
        v.received += r.pushes;
        v.measured_pushes += r.pushes_measured;
        v.unreadable += r.pushes_unreadable;
        v.unsequenced += r.room_unsequenced;
        v.other_room += r.pushes_other_room;
        v.seq_duplicates += r.seq_duplicates;
        v.seq_gaps += r.seq_gaps;
        v.seq_missing += r.seq_missing;
        v.acked += r.acked_ids;
        v.acked_measured += r.acked_ids_measured;
        v.ack_frames += r.ack_frames;
        v.ack_required += r.ack_required;
        v.id_duplicates += r.id_duplicates;
        v.wrong_client += r.id_wrong_client;
        v.untracked += r.ids_untracked;
        v.unique_ids += r.received_ids.size();
        v.measured_s = std::max(v.measured_s, double(r.measured_ns) / 1e9);
        for (std::size_t k = 0; k < r.room_members.size() && k < v.members.size(); ++k) {
            v.members[k] += r.room_members[k];
        }
    }
    return v;
}

// What should have arrived, and what did.
struct Outcome {
    std::uint64_t expected = 0, lost = 0, unexpected = 0, duplicates = 0;
    std::uint64_t offline = 0, delivered = 0;
    std::uint64_t member_sum = 0;
};

// room: every accepted push reaches every member its room had when measuring began.
Outcome room_outcome(const Received& v, const PublisherResults& pub) {
    Outcome o;
    for (std::size_t r = 0; r < v.members.size(); ++r) {
        o.expected += pub.accepted_per_room[r] * v.members[r];
        o.member_sum += v.members[r];
    }
    o.duplicates = v.seq_duplicates;
    o.delivered = v.received - std::min(v.received, v.seq_duplicates + v.other_room + v.unreadable);
    o.lost = o.expected > o.delivered ? o.expected - o.delivered : 0;
    o.unexpected = o.delivered > o.expected ? o.delivered - o.expected : 0;
    return o;
}

// qos1: every push accepted for an online user reaches that user's session, by msg_id.
Outcome qos1_outcome(const Received& v, const PublisherResults& pub, const Shards& shards) {
    Outcome o;
    const std::uint32_t shard_count = static_cast<std::uint32_t>(shards.size());
    for (const AcceptedPush& a : pub.accepted_ids) {
        const auto& ids = shards[shard_of(a.user_index, shard_count)]->results().received_ids;
        const ReceivedIds::Entry* e = ids.find(a.msg_id);
        if (a.sessions == 0) {
            ++o.offline;  // went to the inbox: not expected now
            if (e) ++o.delivered;
            continue;
        }
        ++o.expected;
        if (e && e->client == index_in_shard(a.user_index, shard_count))
            ++o.delivered;
        else
            ++o.lost;
    }
    o.duplicates = v.id_duplicates;
    o.unexpected = v.unique_ids > o.delivered ? v.unique_ids - o.delivered : 0;
    return o;
}

// Prints the publisher's lines; returns its JSON fields (with `measured_s` among them, where
// the report has always had it).
std::string report_publisher(const RunOptions& run, const PublisherResults& pub,
                             const PublishPhase& phase, const Received& v) {
    // The publisher.
    // Behind: requests fell due that the publisher never got to send (every connection busy).
    // A request due in the window's last moments may miss it on a busy connection: 0.1% slack.
    double published_per_s = v.per_s(pub.accepted);
    double sent_per_s = run.duration_s > 0 ? double(pub.sent) / run.duration_s : 0;
    bool behind = pub.due - pub.sent > pub.due / 1000 + phase.api_connected;
    std::printf(
        "publisher: %llu due, %llu sent, %llu accepted (%.0f/s of %.0f/s asked), %llu "
        "rejected, %llu without answer, %u/%u API connections\n",
        static_cast<unsigned long long>(pub.due), static_cast<unsigned long long>(pub.sent),
        static_cast<unsigned long long>(pub.accepted), published_per_s, run.rate,
        static_cast<unsigned long long>(pub.rejected), static_cast<unsigned long long>(pub.failed),
        phase.api_connected, run.api_connections);
    if (behind) {
        std::printf(
            "publisher: could not keep --rate: sent %.0f/s of %.0f/s asked, %llu due "
            "requests never sent (one request in flight per connection: %u connections, "
            "HTTP request p50 %.2f ms, p99 %.2f ms)\n",
            sent_per_s, run.rate, static_cast<unsigned long long>(pub.due - pub.sent),
            phase.api_connected, ms(pub.request_latency.value_at(0.5)),
            ms(pub.request_latency.value_at(0.99)));
    }
    if (!pub.first_error.empty())
        std::printf("publisher: first error: %s\n", pub.first_error.c_str());
    std::string statuses_json = "{";
    for (const auto& [status, n] : pub.statuses) {
        if (statuses_json.size() > 1) statuses_json += ",";
        statuses_json += "\"" + std::to_string(status) + "\":" + num(n);
    }
    statuses_json += "}";

    return ",\"api_connections\":" + std::to_string(phase.api_connected) +
           ",\"rate\":" + fmt("%.1f", run.rate) +
           ",\"payload_bytes\":" + std::to_string(run.payload_bytes) +
           ",\"measured_s\":" + fmt("%.3f", v.measured_s) + ",\"due\":" + num(pub.due) +
           ",\"sent\":" + num(pub.sent) + ",\"accepted\":" + num(pub.accepted) +
           ",\"rejected\":" + num(pub.rejected) + ",\"api_failed\":" + num(pub.failed) +
           ",\"api_statuses\":" + statuses_json +
           ",\"api_first_error\":" + json_string(pub.first_error) +
           ",\"sent_per_s\":" + fmt("%.1f", sent_per_s) +
           ",\"published_per_s\":" + fmt("%.1f", published_per_s) +
           ",\"publisher_behind\":" + (behind ? "true" : "false");
}

// Prints the receivers' lines.
void print_receivers(const RunOptions& run, const PublisherResults& pub, const PublishPhase& phase,
                     const Received& v, const Outcome& o) {
    const LoadOptions& opts = run.load;
    const bool qos1 = opts.scenario == Scenario::Qos1;
    // The receivers.
    if (!qos1) {
        std::printf(
            "room: %llu members in %u room(s); expected %llu deliveries, received %llu "
            "(%.0f/s in the %.2f s window), lost %llu, duplicates %llu, gaps %llu "
            "(%llu seqs skipped)\n",
            static_cast<unsigned long long>(o.member_sum), opts.rooms,
            static_cast<unsigned long long>(o.expected),
            static_cast<unsigned long long>(v.received), v.per_s(v.measured_pushes), v.measured_s,
            static_cast<unsigned long long>(o.lost), static_cast<unsigned long long>(o.duplicates),
            static_cast<unsigned long long>(v.seq_gaps),
            static_cast<unsigned long long>(v.seq_missing));
        if (pub.sessions != o.expected) {
            std::printf("room: the API counted %llu receiving sessions over all accepted pushes\n",
                        static_cast<unsigned long long>(pub.sessions));
        }
    } else {
        std::printf(
            "qos1: %llu accepted for online users, %llu received, lost %llu, duplicates "
            "%llu, at the wrong session %llu, unknown ids %llu; acked %llu ids in %llu "
            "ACKs (%.0f ids/s in the %.2f s window)\n",
            static_cast<unsigned long long>(o.expected),
            static_cast<unsigned long long>(o.delivered), static_cast<unsigned long long>(o.lost),
            static_cast<unsigned long long>(o.duplicates),
            static_cast<unsigned long long>(v.wrong_client),
            static_cast<unsigned long long>(o.unexpected), static_cast<unsigned long long>(v.acked),
            static_cast<unsigned long long>(v.ack_frames), v.per_s(v.acked_measured), v.measured_s);
        if (o.offline) {
            std::printf("qos1: %llu pushes found their user offline (stored in the inbox)\n",
                        static_cast<unsigned long long>(o.offline));
        }
        if (v.untracked) {
            std::printf("qos1: %llu msg_ids not tracked (table full)\n",
                        static_cast<unsigned long long>(v.untracked));
        }
    }
    if (v.unsequenced) {
        std::printf("room.online (unsequenced) pushes %llu, not counted above\n",
                    static_cast<unsigned long long>(v.unsequenced));
    }
    if (v.unreadable || v.other_room) {
        std::printf("unreadable PUSH bodies %llu, PUSH for another room %llu\n",
                    static_cast<unsigned long long>(v.unreadable),
                    static_cast<unsigned long long>(v.other_room));
    }
    std::printf(
        "latency ms (receive - Push.sent_at_ms; 1 ms resolution, reads up to 1 ms high; "
        "%llu samples, 1 in %u): p50=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f\n",
        static_cast<unsigned long long>(v.latency.count()), opts.latency_sample,
        ms(v.latency.value_at(0.5)), ms(v.latency.value_at(0.99)), ms(v.latency.value_at(0.999)),
        ms(v.latency.max()), v.latency.mean() / 1e6);
    std::printf("api request ms: p50=%.2f p99=%.2f max=%.2f\n",
                ms(pub.request_latency.value_at(0.5)), ms(pub.request_latency.value_at(0.99)),
                ms(pub.request_latency.max()));
    std::printf("cpu: load tool %.0f%% of a core", phase.client_cpu_pct);
    if (phase.server_cpu_pct >= 0) std::printf(", server %.0f%%", phase.server_cpu_pct);
    if (phase.server_rss_kib >= 0) std::printf("; server VmRSS %ld KiB", phase.server_rss_kib);
    std::printf(" (drain wait %.2f s)\n", phase.drain_s);
}

// Prints the room / qos1 results and returns their JSON fields (each with a leading comma).
// `clean` becomes false when pushes were refused, unanswered, lost or duplicated.
std::string report_publish(const RunOptions& run, const Shards& shards, const PublisherResults& pub,
                           const PublishPhase& phase, bool& clean) {
    const LoadOptions& opts = run.load;
    const bool qos1 = opts.scenario == Scenario::Qos1;
    const Received v = sum_received(shards, opts.rooms);
    const Outcome o = qos1 ? qos1_outcome(v, pub, shards) : room_outcome(v, pub);
    if (o.lost || o.duplicates || v.wrong_client || v.other_room || pub.accepted == 0 ||
        pub.rejected || pub.failed) {
        clean = false;
    }
    std::string json = report_publisher(run, pub, phase, v);
    print_receivers(run, pub, phase, v, o);
    json += ",\"deliveries\":" + num(v.measured_pushes) +
            ",\"deliveries_per_s\":" + fmt("%.1f", v.per_s(v.measured_pushes)) +
            ",\"expected\":" + num(o.expected) + ",\"received\":" + num(v.received) +
            ",\"delivered\":" + num(o.delivered) + ",\"lost\":" + num(o.lost) +
            ",\"duplicates\":" + num(o.duplicates) + ",\"unexpected\":" + num(o.unexpected) +
            ",\"unreadable\":" + num(v.unreadable);
    if (!qos1) {
        json += ",\"rooms\":" + std::to_string(opts.rooms) + ",\"members\":" + num(o.member_sum) +
                ",\"api_sessions\":" + num(pub.sessions) + ",\"other_room\":" + num(v.other_room) +
                ",\"gaps\":" + num(v.seq_gaps) + ",\"seq_missing\":" + num(v.seq_missing);
    } else {
        json += ",\"acked\":" + num(v.acked) +
                ",\"acked_per_s\":" + fmt("%.1f", v.per_s(v.acked_measured)) +
                ",\"ack_frames\":" + num(v.ack_frames) +
                ",\"ack_required\":" + num(v.ack_required) +
                ",\"wrong_session\":" + num(v.wrong_client) + ",\"offline\":" + num(o.offline) +
                ",\"untracked\":" + num(v.untracked) + ",\"target_order\":\"" +
                (run.random_users ? "random" : "rr") + "\"";
    }
    json += ",\"latency_samples\":" + num(v.latency.count()) +
            ",\"latency_sample_every\":" + std::to_string(opts.latency_sample) +
            ",\"p50_ms\":" + fmt("%.1f", ms(v.latency.value_at(0.5))) +
            ",\"p99_ms\":" + fmt("%.1f", ms(v.latency.value_at(0.99))) +
            ",\"p999_ms\":" + fmt("%.1f", ms(v.latency.value_at(0.999))) +
            ",\"max_ms\":" + fmt("%.1f", ms(v.latency.max())) +
            ",\"mean_ms\":" + fmt("%.2f", v.latency.mean() / 1e6) +
            ",\"api_p50_ms\":" + fmt("%.3f", ms(pub.request_latency.value_at(0.5))) +
            ",\"api_p99_ms\":" + fmt("%.3f", ms(pub.request_latency.value_at(0.99))) +
            ",\"client_cpu_pct\":" + fmt("%.1f", phase.client_cpu_pct) +
            ",\"server_cpu_pct\":" + fmt("%.1f", phase.server_cpu_pct) +
            ",\"server_rss_kib\":" + std::to_string(phase.server_rss_kib) +
            ",\"drain_s\":" + fmt("%.2f", phase.drain_s);
    return json;
}

class PublishRun final : public ScenarioRun {
public:
    explicit PublishRun(const RunOptions& run) : run_(run) {}

    void print_plan() const override {
        std::printf(
            "publisher: api=%s:%u connections=%u rate=%.0f/s duration=%.1fs payload=%u bytes%s\n",
            run_.api_host.c_str(), run_.api_port, run_.api_connections, run_.rate, run_.duration_s,
            run_.payload_bytes,
            run_.load.scenario == Scenario::Room
                ? (" rooms=" + std::to_string(run_.load.rooms)).c_str()
                : (run_.random_users ? " targets=random" : " targets=round-robin"));
    }

    void prepare() override {
        publisher_ = std::make_unique<ApiPublisher>(publisher_options(run_));
    }

    void run(const Shards& shards) override {
        phase_ = run_publish_phase(run_, shards, *publisher_);
    }

    std::string report(const Shards& shards, const ShardSum&, std::uint32_t, bool& clean) override {
        if (!phase_.ran) {
            clean = false;
            return {};
        }
        return report_publish(run_, shards, publisher_->results(), phase_, clean);
    }

private:
    const RunOptions& run_;
    std::unique_ptr<ApiPublisher> publisher_;
    PublishPhase phase_;
};

}  // namespace

std::unique_ptr<ScenarioRun> make_publish_run(const RunOptions& run) {
    return std::make_unique<PublishRun>(run);
}

}  // namespace lp::load
