// load-test/plugin_runs: see plugin_runs.hpp.
#include "load-test/plugin_runs.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <stdexcept>
#include <string_view>
#include <thread>

#include "load-test/api_publisher.hpp"
#include "load-test/kafka_gift_producer.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

using Clock = std::chrono::steady_clock;
using Shards = std::vector<std::unique_ptr<LoadShard>>;

constexpr std::uint64_t kMaxFollowersPerCall = 100000;  // the feed plugin's bulk limit
constexpr auto kPollStep = std::chrono::milliseconds(10);
constexpr auto kSettle = std::chrono::milliseconds(300);  // pushes unchanged this long: done
constexpr auto kTaskPollStep = std::chrono::milliseconds(100);
constexpr auto kAfterSetup = std::chrono::milliseconds(300);  // pk.state reaches the rooms

std::int64_t steady_ns() {
    return std::chrono::duration_cast<std::chrono::nanoseconds>(
               Clock::now().time_since_epoch())
        .count();
}

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double ms(std::uint64_t ns) {
    return double(ns) / 1e6;
}

// "p50=… p99=… max=…" and its JSON fields, with a name prefix.
std::string latency_text(const LatencyHistogram& h) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "p50=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f (%llu samples)",
                  ms(h.value_at(0.5)), ms(h.value_at(0.99)), ms(h.value_at(0.999)), ms(h.max()),
                  h.mean() / 1e6, static_cast<unsigned long long>(h.count()));
    return buf;
}
std::string latency_json(const std::string& prefix, const LatencyHistogram& h) {
    return ",\"" + prefix + "_samples\":" + num(h.count()) + ",\"" + prefix +
           "_p50_ms\":" + fmt("%.1f", ms(h.value_at(0.5))) + ",\"" + prefix +
           "_p99_ms\":" + fmt("%.1f", ms(h.value_at(0.99))) + ",\"" + prefix +
           "_p999_ms\":" + fmt("%.1f", ms(h.value_at(0.999))) + ",\"" + prefix +
           "_max_ms\":" + fmt("%.1f", ms(h.max())) + ",\"" + prefix +
           "_mean_ms\":" + fmt("%.2f", h.mean() / 1e6);
}

std::uint32_t logged_in(const Shards& shards) {
    std::uint32_t n = 0;
    for (const auto& s : shards) n += s->logged_in() - std::min(s->logged_in(), s->dropped());
    return n;
}

// floor(value × 10) for decimal text "D[.D...]": the pk plugin's points per event.
std::int64_t points_of(const std::string& value) {
    std::int64_t whole = 0, tenth = 0;
    std::size_t i = 0;
    // Bounded by the text's length.
    for (; i < value.size() && value[i] >= '0' && value[i] <= '9'; ++i)
        whole = whole * 10 + (value[i] - '0');
    if (i == 0) return -1;
    if (i < value.size() && value[i] == '.') {
        ++i;
        if (i < value.size() && value[i] >= '0' && value[i] <= '9') tenth = value[i++] - '0';
        while (i < value.size() && value[i] >= '0' && value[i] <= '9') ++i;
    }
    return i == value.size() ? whole * 10 + tenth : -1;
}

// The value of one sample of a Prometheus text page (`name{labels} value`); -1 when absent.
long long metric_value(const std::string& page, const std::string& series) {
    std::size_t at = page.find("\n" + series + " ");
    if (at == std::string::npos) return -1;
    return std::atoll(page.c_str() + at + 1 + series.size() + 1);
}

// feed: receive wall clock - the item's ts_ms over the sessions whose first feed.item was
// `item_id` (the plugin's publish time; ms resolution, so values read up to 1 ms high).
LatencyHistogram feed_ts_latency(const Shards& shards, std::uint64_t item_id) {
    LatencyHistogram h;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] == 0 || p.item_ids[c] != item_id || p.item_ts_ms[c] < 0) continue;
            const std::int64_t d = p.item_first_wall_ns[c] - p.item_ts_ms[c] * 1000000;
            h.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, d)));
        }
    }
    return h;
}

}  // namespace

struct PluginRun::Phase {
    bool ran = false;
    std::string error;  // a set-up call that failed
    // the event source (gift, pk)
    const char* source = "";
    std::uint64_t sent = 0;      // produced / requests sent
    std::uint64_t accepted = 0;  // acknowledged by a broker / answered 2xx
    std::uint64_t failed = 0;
    std::uint64_t queue_full_waits = 0;
    std::int64_t first_send_ns = 0;
    std::int64_t last_send_ns = 0;
    std::string source_error;
    double client_cpu_pct = -1, server_cpu_pct = -1;
    double wait_s = 0;  // after the last event: until every event was seen (or progress stopped)
    bool complete = false;
    long long handled_before = -1, handled_after = -1;  // livepush_kafka_events_total{handled}
    // pk
    std::string pk_id;
    long long api_score = -1;  // anchor A's score from GET /v1/pk/{id} at the end
    std::int64_t points_per_event = 0;
    // feed
    double load_s = 0;
    std::uint64_t followers = 0;  // the anchor's followers after loading
    std::int64_t publish_ns = 0, answered_ns = 0;
    std::uint64_t item_id = 0;
    std::uint32_t online_sessions = 0;  // logged in when publishing
    bool task_done = false;
    long long created_ms = -1, finished_ms = -1, batches_done = -1, followers_done = -1,
              task_online = -1, task_total = -1;
    double task_wait_s = 0;
    // feed --feed-receive-only
    std::uint32_t connections = 0, login_failed = 0;  // at the ready line
    double waited_s = 0;                              // ready line → end of the wait
    const char* wait_end = "";                        // all / drained / limit
};

PluginRun::PluginRun(PluginRunOptions options, LoadOptions& load)
    : opts_(std::move(options)), load_(load), phase_(std::make_unique<Phase>()) {
    const bool gift = load.scenario == Scenario::Gift;
    const bool pk = load.scenario == Scenario::Pk;
    if (!gift && !pk && load.scenario != Scenario::Feed) {
        throw std::invalid_argument("not a plugin scenario");
    }
    load.plugin.latency_sample = opts_.latency_sample;
    if (load.scenario == Scenario::Feed) {
        if (opts_.api_port == 0 && !opts_.feed_receive_only) {
            throw std::invalid_argument("feed needs --api HOST:PORT (or --feed-receive-only)");
        }
        // Receive-only: the followers are another process's; checked when --follower-base and
        // --followers say which they are.
        const bool check_followers = !opts_.feed_receive_only || opts_.follower_base != 0;
        if (opts_.follower_base == 0) opts_.follower_base = load.user_base;
        const std::uint64_t last_user =
            load.user_base + std::uint64_t(load.connections - 1) * load.user_stride;
        if (check_followers && (load.user_base < opts_.follower_base ||
                                last_user >= opts_.follower_base + opts_.followers)) {
            std::printf(
                "warning: sessions' users %llu..%llu are not all among the followers %llu..%llu\n",
                static_cast<unsigned long long>(load.user_base),
                static_cast<unsigned long long>(last_user),
                static_cast<unsigned long long>(opts_.follower_base),
                static_cast<unsigned long long>(opts_.follower_base + opts_.followers - 1));
        }
        load.plugin.scenario = PluginScenario::Feed;
        return;
    }

    if (opts_.kafka_brokers.empty() && opts_.api_port == 0) {
        throw std::invalid_argument("gift and pk send events with --kafka BROKERS or --api");
    }
    if (pk && opts_.api_port == 0) throw std::invalid_argument("pk needs --api (to start the PK)");
    if (opts_.events == 0) opts_.events = gift ? 100000 : 20;
    if (opts_.gift_value.empty()) opts_.gift_value = "1.0";
    GiftEventSpec spec;
    spec.events = opts_.events;
    spec.run_id = static_cast<std::uint64_t>(wall_ms());
    spec.sender_base = opts_.sender_base;
    spec.senders = opts_.senders;
    spec.value = opts_.gift_value;
    if (gift) {
        spec.rooms = load.rooms;
        spec.room_base = load.room_base;
        spec.anchor_base = opts_.sender_base + opts_.senders + 1000;  // never logged in either
        load.plugin.scenario = PluginScenario::Gift;
    } else {
        // Connection 0 is anchor A in room room_base, connection 1 anchor B in room_base + 1;
        // every event scores for A.
        if (load.connections < 3) throw std::invalid_argument("pk needs --connections >= 3");
        load.rooms = 2;
        load.anchors = 2;
        spec.rooms = 1;
        spec.room_base = load.room_base;
        spec.anchor_base = load.user_base;
        spec.one_anchor = true;
        phase_->points_per_event = points_of(opts_.gift_value);
        if (phase_->points_per_event <= 0) {
            throw std::invalid_argument("pk needs a --gift-value of at least 0.1, as D.D");
        }
        load.plugin.scenario = PluginScenario::Pk;
        load.plugin.score_anchor = load.user_base;
        load.plugin.points_per_event = phase_->points_per_event;
    }
    plan_ = std::make_unique<GiftEventPlan>(spec);
    load.plugin.events = plan_.get();
}

PluginRun::~PluginRun() = default;

bool PluginRun::before_connect() {
    if (load_.scenario != Scenario::Feed || opts_.skip_follower_load || opts_.feed_receive_only) {
        return true;
    }
    Phase& ph = *phase_;
    const auto start = Clock::now();
    std::string body;
    body.reserve(kMaxFollowersPerCall * 12 + 64);
    // Bounded by --followers, 100,000 per call.
    for (std::uint64_t at = 0; at < opts_.followers; at += kMaxFollowersPerCall) {
        const std::uint64_t end = std::min(opts_.followers, at + kMaxFollowersPerCall);
        body = "{\"anchor_id\":" + num(opts_.feed_anchor) + ",\"user_ids\":[";
        for (std::uint64_t i = at; i < end; ++i) {
            if (i != at) body += ',';
            body += std::to_string(opts_.follower_base + i);
        }
        body += "]}";
        HttpAnswer a = http_call(opts_.api_host, opts_.api_port, opts_.api_key, "POST",
                                 "/v1/feed/followers", std::move(body));
        if (a.status != 200) {
            ph.error = "POST /v1/feed/followers: " +
                       (a.status ? "HTTP " + std::to_string(a.status) + ": " + a.body : a.error);
            std::printf("feed: %s\n", ph.error.c_str());
            return false;
        }
        ph.followers = json_uint_after(a.body, "\"followers\"").value_or(0);
    }
    ph.load_s = std::chrono::duration<double>(Clock::now() - start).count();
    std::printf("feed: anchor %llu has %llu followers (loaded %llu ids in %.2f s)\n",
                static_cast<unsigned long long>(opts_.feed_anchor),
                static_cast<unsigned long long>(ph.followers),
                static_cast<unsigned long long>(opts_.followers), ph.load_s);
    std::fflush(stdout);
    return true;
}

void PluginRun::run(const Shards& shards) {
    switch (load_.scenario) {
        case Scenario::Gift:
            return run_gift(shards);
        case Scenario::Pk:
            return run_pk(shards);
        default:
            return opts_.feed_receive_only ? run_feed_receive_only(shards) : run_feed(shards);
    }
}

std::string PluginRun::report(const Shards& shards, bool& clean) {
    if (!phase_->ran) {
        clean = false;
        return ",\"error\":" + json_string(phase_->error);
    }
    switch (load_.scenario) {
        case Scenario::Gift:
            return report_gift(shards, clean);
        case Scenario::Pk:
            return report_pk(shards, clean);
        default:
            return opts_.feed_receive_only ? report_feed_receive_only(shards, clean)
                                           : report_feed(shards, clean);
    }
}

// ------------------------------------------------------------------ sending gift events

void PluginRun::send_events(const Shards& shards, std::uint64_t deliveries_per_event) {
    Phase& ph = *phase_;
    GiftEventPlan& plan = *plan_;
    std::unique_ptr<KafkaGiftProducer> producer;
    std::unique_ptr<ApiPublisher> publisher;
    if (!opts_.kafka_brokers.empty()) {
        ph.source = "kafka";
        KafkaProducerOptions k;
        k.brokers = opts_.kafka_brokers;
        k.topic = opts_.kafka_topic;
        k.rate = opts_.rate;
        k.linger_ms = opts_.kafka_linger_ms;
        producer = std::make_unique<KafkaGiftProducer>(k, plan);
    } else {
        ph.source = "http";
        PublisherOptions p;
        p.target = PublishTarget::Custom;
        p.host = opts_.api_host;
        p.port = opts_.api_port;
        p.api_key = opts_.api_key;
        p.connections = opts_.api_connections;
        p.path = "/v1/gift/events";
        p.requests = plan.size();
        // Rate 0: every request due at once; the window only ends when the events do.
        p.rate = opts_.rate > 0 ? opts_.rate : 1e9;
        p.duration_s = double(plan.size()) / p.rate + 3600;
        p.write_body = [&plan](std::uint64_t i, std::string& body) {
            plan.write_event(i, wall_ms(), body);
            plan.stamp_sent(i, steady_ns());
        };
        publisher = std::make_unique<ApiPublisher>(p);
        if (publisher->connect() == 0) {
            ph.error = "no connection to the API " + opts_.api_host + ":" +
                       std::to_string(opts_.api_port);
            std::printf("%s\n", ph.error.c_str());
            return;
        }
    }
    ph.ran = true;
    auto sent = [&] { return producer ? producer->produced() : publisher->sent(); };
    auto accepted = [&] { return producer ? producer->delivered() : publisher->accepted(); };
    auto source_done = [&] { return producer ? producer->finished() : publisher->finished(); };

    long long server_ticks_0 = opts_.server_pid > 0 ? read_cpu_ticks(opts_.server_pid) : -1;
    const double cpu_0 = own_cpu_s();
    const auto start = Clock::now();
    for (auto& s : shards) s->start_measuring();
    if (producer)
        producer->start();
    else
        publisher->start();

    // Until every event was sent and seen (and its deliveries settled), or nothing moved for
    // --drain-s. Bounded: each event is sent and seen once, and once everything was seen, the
    // settling gets --drain-s at most.
    std::uint64_t last_seen = 0, last_pushes = 0, last_sent = 0;
    auto last_progress = Clock::now();
    auto next_report = start + std::chrono::seconds(1);
    std::optional<Clock::time_point> sending_done, all_seen;
    const auto drain = std::chrono::milliseconds(static_cast<long>(opts_.drain_s * 1000));
    for (;;) {
        std::this_thread::sleep_for(kPollStep);
        const auto now = Clock::now();
        const std::uint64_t seen = plan.distinct_seen(), pushes = pushes_received(shards),
                            s = sent();
        if (seen != last_seen || pushes != last_pushes || s != last_sent) {
            last_progress = now;
            last_seen = seen;
            last_pushes = pushes;
            last_sent = s;
        }
        if (!sending_done && source_done()) sending_done = now;
        if (now >= next_report) {
            std::printf("  t=%.0fs sent %llu, acked %llu, events seen %llu, pushes %llu\n",
                        std::chrono::duration<double>(now - start).count(),
                        static_cast<unsigned long long>(s),
                        static_cast<unsigned long long>(accepted()),
                        static_cast<unsigned long long>(seen),
                        static_cast<unsigned long long>(pushes));
            std::fflush(stdout);
            next_report += std::chrono::seconds(1);
        }
        if (sending_done) {
            const std::uint64_t want = accepted();
            const bool all = seen >= want && pushes >= want * deliveries_per_event;
            if (all && !all_seen) all_seen = now;
            if (all && (now - last_progress >= kSettle || now - *all_seen >= drain)) {
                ph.complete = true;
                break;
            }
            if (!all && now - last_progress >= drain) break;
        } else if (now - last_progress >= drain + std::chrono::seconds(30)) {
            break;  // the source is stuck (brokers gone, API not answering)
        }
    }
    for (auto& s : shards) s->stop_measuring();
    const auto stopped = Clock::now();
    ph.wait_s = sending_done ? std::chrono::duration<double>(stopped - *sending_done).count() : 0;
    const double window_s = std::chrono::duration<double>(stopped - start).count();
    ph.client_cpu_pct = window_s > 0 ? (own_cpu_s() - cpu_0) / window_s * 100 : 0;
    long long server_ticks_1 = opts_.server_pid > 0 ? read_cpu_ticks(opts_.server_pid) : -1;
    if (server_ticks_0 >= 0 && server_ticks_1 >= 0 && window_s > 0) {
        ph.server_cpu_pct = double(server_ticks_1 - server_ticks_0) /
                            double(sysconf(_SC_CLK_TCK)) / window_s * 100;
    }
    if (producer) {
        producer->stop();
        const KafkaProducerResults& r = producer->results();
        ph.sent = r.produced;
        ph.accepted = r.delivered;
        ph.failed = r.failed;
        ph.queue_full_waits = r.queue_full_waits;
        ph.first_send_ns = r.first_produce_ns;
        ph.last_send_ns = r.last_produce_ns;
        ph.source_error = r.first_error;
    } else {
        publisher->stop();
        const PublisherResults& r = publisher->results();
        ph.sent = r.sent;
        ph.accepted = r.accepted;
        ph.failed = r.failed + r.rejected;
        ph.first_send_ns = plan.size() ? plan.sent_ns(0) : 0;
        ph.last_send_ns = ph.first_send_ns + r.window_ns;
        ph.source_error = r.first_error;
    }
}

// ------------------------------------------------------------------ gift

void PluginRun::run_gift(const Shards& shards) {
    Phase& ph = *phase_;
    if (opts_.api_port != 0) {
        HttpAnswer m = http_call(opts_.api_host, opts_.api_port, opts_.api_key, "GET", "/metrics", {});
        ph.handled_before = metric_value(m.body, "livepush_kafka_events_total{result=\"handled\"}");
    }
    // Every room's members get every event of their room; the rooms are equal to within one.
    std::uint64_t members = logged_in(shards);
    std::uint64_t per_event = members / load_.rooms;
    send_events(shards, per_event);
    if (opts_.api_port != 0) {
        HttpAnswer m = http_call(opts_.api_host, opts_.api_port, opts_.api_key, "GET", "/metrics", {});
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

    std::printf(
        "gift: %llu events sent via %s (%.0f/s over %.2f s), %llu acked, %llu failed%s%s\n",
        static_cast<unsigned long long>(ph.sent), ph.source, send_per_s, send_s,
        static_cast<unsigned long long>(ph.accepted), static_cast<unsigned long long>(ph.failed),
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
           ",\"source_error\":" + json_string(ph.source_error) + ",\"rooms\":" +
           std::to_string(load_.rooms) + ",\"members\":" + num(member_sum) +
           ",\"distinct_seen\":" + num(distinct) + ",\"events_without_effect\":" +
           num(events_missing) + ",\"effects_expected\":" + num(expected) +
           ",\"effects_delivered\":" + num(delivered) + ",\"missing\":" + num(missing) +
           ",\"duplicates\":" + num(duplicates) + ",\"foreign\":" + num(unmatched) +
           ",\"other_pushes\":" + num(other) + ",\"gaps\":" + num(seq_gaps) +
           ",\"e2e_s\":" + fmt("%.3f", e2e_s) + ",\"events_per_s\":" + fmt("%.1f", events_per_s) +
           ",\"effects_per_s\":" + fmt("%.1f", e2e_s > 0 ? double(delivered) / e2e_s : 0) +
           latency_json("latency", latency) + ",\"latency_sample_every\":" +
           std::to_string(opts_.latency_sample) +
           ",\"kafka_handled_delta\":" + std::to_string(ph.handled_after - ph.handled_before) +
           ",\"client_cpu_pct\":" + fmt("%.1f", ph.client_cpu_pct) +
           ",\"server_cpu_pct\":" + fmt("%.1f", ph.server_cpu_pct) +
           ",\"complete\":" + (ph.complete ? "true" : "false");
}

// ------------------------------------------------------------------ pk

void PluginRun::run_pk(const Shards& shards) {
    Phase& ph = *phase_;
    const std::uint64_t a = load_.user_base, b = load_.user_base + 1;
    const std::uint64_t room_a = load_.room_base, room_b = load_.room_base + 1;
    auto call = [&](const std::string& method, const std::string& target,
                    const std::string& body) -> std::optional<std::string> {
        HttpAnswer r = http_call(opts_.api_host, opts_.api_port, opts_.api_key, method, target, body);
        if (r.status == 200) return r.body;
        ph.error = method + " " + target + ": " +
                   (r.status ? "HTTP " + std::to_string(r.status) + ": " + r.body : r.error);
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
    std::printf("pk: %s scoring: anchor %llu (room %llu) vs %llu (room %llu); %llu events of "
                "value %s = %lld points each\n",
                ph.pk_id.c_str(), static_cast<unsigned long long>(a),
                static_cast<unsigned long long>(room_a), static_cast<unsigned long long>(b),
                static_cast<unsigned long long>(room_b),
                static_cast<unsigned long long>(plan_->size()), opts_.gift_value.c_str(),
                static_cast<long long>(ph.points_per_event));
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
    viewers = logged_in(shards);
    std::uint64_t never_seen = 0;
    for (std::uint64_t k = 0; k < plan.size(); ++k) {
        std::int64_t sent = plan.sent_ns(k);
        if (sent == 0) continue;
        if (first_seen[k] == 0) {
            ++never_seen;
            continue;
        }
        first_viewer.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, first_seen[k] - sent)));
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
           ",\"send_failed\":" + num(ph.failed) + ",\"points_per_event\":" +
           std::to_string(ph.points_per_event) + ",\"score_expected\":" + std::to_string(expected) +
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

// ------------------------------------------------------------------ feed

void PluginRun::run_feed(const Shards& shards) {
    Phase& ph = *phase_;
    ph.online_sessions = logged_in(shards);
    long long server_ticks_0 = opts_.server_pid > 0 ? read_cpu_ticks(opts_.server_pid) : -1;
    const double cpu_0 = own_cpu_s();
    for (auto& s : shards) s->start_measuring();
    const auto start = Clock::now();
    ph.publish_ns = steady_ns();
    HttpAnswer pub = http_call(opts_.api_host, opts_.api_port, opts_.api_key, "POST",
                               "/v1/feed/publish",
                               "{\"anchor_id\":" + num(opts_.feed_anchor) +
                                   ",\"item\":{\"kind\":\"live\",\"title\":\"livepush-load\"}}");
    ph.answered_ns = steady_ns();
    if (pub.status != 200) {
        ph.error = "POST /v1/feed/publish: " +
                   (pub.status ? "HTTP " + std::to_string(pub.status) + ": " + pub.body : pub.error);
        std::printf("feed: %s\n", ph.error.c_str());
        for (auto& s : shards) s->stop_measuring();
        return;
    }
    ph.ran = true;
    ph.item_id = json_uint_after(pub.body, "\"item_id\"").value_or(0);
    std::printf("feed: published item %llu to %llu followers (answered in %.2f ms); %u sessions "
                "online\n",
                static_cast<unsigned long long>(ph.item_id),
                static_cast<unsigned long long>(json_uint_after(pub.body, "\"followers\"").value_or(0)),
                double(ph.answered_ns - ph.publish_ns) / 1e6, ph.online_sessions);
    std::fflush(stdout);

    // Until the task is done and every online session has its push (or pushes stopped coming
    // for --drain-s after the task ended); bounded by --task-wait-s.
    const std::string task_path = "/v1/feed/tasks/" + num(ph.item_id);
    const auto limit = start + std::chrono::milliseconds(static_cast<long>(opts_.task_wait_s * 1000));
    const auto drain = std::chrono::milliseconds(static_cast<long>(opts_.drain_s * 1000));
    auto next_poll = start;
    auto next_report = start + std::chrono::seconds(1);
    std::uint64_t last_pushes = 0;
    auto last_progress = Clock::now();
    std::string task;
    // Bounded by `limit`.
    while (Clock::now() < limit) {
        std::this_thread::sleep_for(kPollStep);
        const auto now = Clock::now();
        const std::uint64_t pushes = pushes_received(shards);
        if (pushes != last_pushes) {
            last_pushes = pushes;
            last_progress = now;
        }
        if (!ph.task_done && now >= next_poll) {
            HttpAnswer t = http_call(opts_.api_host, opts_.api_port, opts_.api_key, "GET", task_path, {});
            if (t.status == 200) {
                task = t.body;
                ph.task_done = task.find("\"done\":true") != std::string::npos;
                if (ph.task_done) {
                    ph.task_wait_s = std::chrono::duration<double>(Clock::now() - start).count();
                }
            }
            next_poll = now + kTaskPollStep;
        }
        if (now >= next_report) {
            std::printf("  t=%.0fs feed.item pushes %llu of %u sessions; task %s\n",
                        std::chrono::duration<double>(now - start).count(),
                        static_cast<unsigned long long>(pushes), ph.online_sessions, task.c_str());
            std::fflush(stdout);
            next_report += std::chrono::seconds(1);
        }
        if (ph.task_done && pushes >= ph.online_sessions && now - last_progress >= kSettle) break;
        if (ph.task_done && now - last_progress >= drain) break;
    }
    for (auto& s : shards) s->stop_measuring();
    const double window_s = std::chrono::duration<double>(Clock::now() - start).count();
    ph.client_cpu_pct = window_s > 0 ? (own_cpu_s() - cpu_0) / window_s * 100 : 0;
    long long server_ticks_1 = opts_.server_pid > 0 ? read_cpu_ticks(opts_.server_pid) : -1;
    if (server_ticks_0 >= 0 && server_ticks_1 >= 0 && window_s > 0) {
        ph.server_cpu_pct = double(server_ticks_1 - server_ticks_0) /
                            double(sysconf(_SC_CLK_TCK)) / window_s * 100;
    }
    ph.complete = ph.task_done;
    auto field = [&](const char* key) {
        auto v = json_uint_after(task, key);
        return v ? static_cast<long long>(*v) : -1LL;
    };
    ph.created_ms = field("\"created_ms\"");
    ph.finished_ms = field("\"finished_ms\"");
    ph.batches_done = field("\"batches_done\"");
    ph.followers_done = field("\"followers_done\"");
    ph.task_online = field("\"online\"");
    ph.task_total = field("\"total\"");
}

std::string PluginRun::report_feed(const Shards& shards, bool& clean) {
    const Phase& ph = *phase_;
    LatencyHistogram latency;
    std::uint64_t received = 0, twice = 0, extra = 0, wrong_item = 0, unreadable = 0, other = 0;
    std::int64_t last_ns = 0;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        unreadable += p.unmatched;
        other += p.other_types;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] == 0) continue;
            ++received;
            if (p.items[c] > 1) {
                ++twice;
                extra += p.items[c] - 1u;
            }
            if (p.item_ids[c] != ph.item_id) ++wrong_item;
            const std::int64_t t = p.item_first_ns[c];
            last_ns = std::max(last_ns, t);
            latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, t - ph.publish_ns)));
        }
    }
    const std::uint64_t missing =
        ph.online_sessions > received ? ph.online_sessions - received : 0;
    if (missing || twice || wrong_item || unreadable || !ph.task_done) clean = false;
    const double to_last_s = last_ns > ph.publish_ns ? double(last_ns - ph.publish_ns) / 1e9 : 0;
    const long long fanout_ms =
        ph.finished_ms > 0 && ph.created_ms > 0 ? ph.finished_ms - ph.created_ms : -1;

    std::printf("feed: item %llu: %llu of %u online sessions got feed.item, missing %llu, "
                "duplicates %llu (%llu sessions), another item %llu, unreadable %llu\n",
                static_cast<unsigned long long>(ph.item_id),
                static_cast<unsigned long long>(received), ph.online_sessions,
                static_cast<unsigned long long>(missing), static_cast<unsigned long long>(extra),
                static_cast<unsigned long long>(twice), static_cast<unsigned long long>(wrong_item),
                static_cast<unsigned long long>(unreadable));
    const LatencyHistogram ts_latency = feed_ts_latency(shards, ph.item_id);
    std::printf("feed: publish → last feed.item %.3f s; publish → each session's feed.item ms: %s\n",
                to_last_s, latency_text(latency).c_str());
    std::printf("feed: item ts_ms → each session's feed.item (wall clock) ms: %s\n",
                latency_text(ts_latency).c_str());
    std::printf("feed: task %s: %lld followers in %lld batches, %lld online; fan-out "
                "(finished_ms - created_ms) %lld ms%s\n",
                ph.task_done ? "done" : "NOT done", ph.followers_done, ph.batches_done,
                ph.task_online, fanout_ms,
                ph.task_done ? "" : " (gave up waiting: --task-wait-s)");
    std::printf("cpu: load tool %.0f%% of a core", ph.client_cpu_pct);
    if (ph.server_cpu_pct >= 0) std::printf(", server %.0f%%", ph.server_cpu_pct);
    std::printf("\n");

    return ",\"feed_mode\":\"publish\",\"anchor\":" + num(opts_.feed_anchor) +
           ",\"followers\":" + num(ph.followers) +
           ",\"follower_load_s\":" + fmt("%.3f", ph.load_s) + ",\"item_id\":" + num(ph.item_id) +
           ",\"publish_answer_ms\":" + fmt("%.3f", double(ph.answered_ns - ph.publish_ns) / 1e6) +
           ",\"online_sessions\":" + std::to_string(ph.online_sessions) +
           ",\"received\":" + num(received) + ",\"missing\":" + num(missing) +
           ",\"duplicates\":" + num(extra) + ",\"wrong_item\":" + num(wrong_item) +
           ",\"unreadable\":" + num(unreadable) + ",\"other_pushes\":" + num(other) +
           ",\"to_last_push_s\":" + fmt("%.3f", to_last_s) + latency_json("latency", latency) +
           latency_json("ts_latency", ts_latency) +
           ",\"task_done\":" + (ph.task_done ? "true" : "false") +
           ",\"task_total\":" + std::to_string(ph.task_total) +
           ",\"task_followers_done\":" + std::to_string(ph.followers_done) +
           ",\"task_batches\":" + std::to_string(ph.batches_done) +
           ",\"task_online\":" + std::to_string(ph.task_online) +
           ",\"fanout_ms\":" + std::to_string(fanout_ms) +
           ",\"client_cpu_pct\":" + fmt("%.1f", ph.client_cpu_pct) +
           ",\"server_cpu_pct\":" + fmt("%.1f", ph.server_cpu_pct);
}

// ------------------------------------------------------------------ feed, receive only

void PluginRun::run_feed_receive_only(const Shards& shards) {
    Phase& ph = *phase_;
    ph.ran = true;
    ph.online_sessions = logged_in(shards);
    ph.connections = load_.connections;
    for (const auto& s : shards) ph.login_failed += s->failed();
    for (auto& s : shards) s->start_measuring();
    // The line a script waits for before it starts the publishing process.
    std::printf("ready: feed receive-only, %u of %u sessions logged in (%u failed); waiting up "
                "to %.0f s for feed.item\n",
                ph.online_sessions, ph.connections, ph.login_failed, opts_.task_wait_s);
    std::fflush(stdout);

    // Until every session has a push and none came for kSettle, or --drain-s without progress
    // after the first push; bounded by --task-wait-s from the ready line.
    const auto start = Clock::now();
    const auto limit =
        start + std::chrono::milliseconds(static_cast<long>(opts_.task_wait_s * 1000));
    const auto drain = std::chrono::milliseconds(static_cast<long>(opts_.drain_s * 1000));
    auto next_report = start + std::chrono::seconds(10);
    std::uint64_t last_pushes = pushes_received(shards);  // none expected before the publish
    auto last_progress = start;
    bool pushing = false;
    ph.wait_end = "limit";
    // Bounded by `limit`.
    while (Clock::now() < limit) {
        std::this_thread::sleep_for(kPollStep);
        const auto now = Clock::now();
        const std::uint64_t pushes = pushes_received(shards);
        if (pushes != last_pushes) {
            last_pushes = pushes;
            last_progress = now;
            if (!pushing) next_report = now + std::chrono::seconds(1);
            pushing = true;
        }
        if (now >= next_report) {
            std::printf("  t=%.0fs feed.item pushes %llu of %u sessions\n",
                        std::chrono::duration<double>(now - start).count(),
                        static_cast<unsigned long long>(pushes), ph.online_sessions);
            std::fflush(stdout);
            next_report = now + (pushing ? std::chrono::seconds(1) : std::chrono::seconds(10));
        }
        if (pushes >= ph.online_sessions && now - last_progress >= kSettle) {
            ph.wait_end = "all";
            break;
        }
        if (pushing && now - last_progress >= drain) {
            ph.wait_end = "drained";
            break;
        }
    }
    for (auto& s : shards) s->stop_measuring();
    ph.waited_s = std::chrono::duration<double>(Clock::now() - start).count();
    ph.complete = std::string_view(ph.wait_end) == "all";
}

std::string PluginRun::report_feed_receive_only(const Shards& shards, bool& clean) {
    Phase& ph = *phase_;
    // The item: the one most sessions got (this process does not publish it; a session with
    // another one, or two, counts as wrong or duplicated).
    std::map<std::uint64_t, std::uint64_t> by_item;
    std::uint64_t unreadable = 0, other = 0;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        unreadable += p.unmatched;
        other += p.other_types;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] != 0) ++by_item[p.item_ids[c]];
        }
    }
    std::uint64_t most = 0;
    for (const auto& [id, n] : by_item) {
        if (n > most) {
            most = n;
            ph.item_id = id;
        }
    }
    std::uint64_t received = 0, twice = 0, extra = 0, wrong_item = 0, no_ts = 0;
    std::int64_t first_ns = 0, last_ns = 0, item_ts_ms = -1;
    for (const auto& s : shards) {
        const PluginReceiver& p = s->results().plugin;
        for (std::size_t c = 0; c < p.items.size(); ++c) {
            if (p.items[c] == 0) continue;
            ++received;
            if (p.items[c] > 1) {
                ++twice;
                extra += p.items[c] - 1u;
            }
            if (p.item_ids[c] != ph.item_id) {
                ++wrong_item;
                continue;
            }
            if (p.item_ts_ms[c] < 0) ++no_ts;
            if (item_ts_ms < 0) item_ts_ms = p.item_ts_ms[c];
            const std::int64_t t = p.item_first_ns[c];
            if (first_ns == 0 || t < first_ns) first_ns = t;
            last_ns = std::max(last_ns, t);
        }
    }
    const LatencyHistogram ts_latency = feed_ts_latency(shards, ph.item_id);
    const std::uint64_t missing =
        ph.online_sessions > received ? ph.online_sessions - received : 0;
    if (missing || twice || wrong_item || unreadable || no_ts || received == 0) clean = false;
    const double first_to_last_s = last_ns > first_ns ? double(last_ns - first_ns) / 1e9 : 0;

    std::printf("feed (receive-only): item %llu (ts_ms %lld): %llu of %u online sessions got "
                "feed.item, missing %llu, duplicates %llu (%llu sessions), another item %llu, "
                "unreadable %llu, no ts_ms %llu\n",
                static_cast<unsigned long long>(ph.item_id), static_cast<long long>(item_ts_ms),
                static_cast<unsigned long long>(received), ph.online_sessions,
                static_cast<unsigned long long>(missing), static_cast<unsigned long long>(extra),
                static_cast<unsigned long long>(twice), static_cast<unsigned long long>(wrong_item),
                static_cast<unsigned long long>(unreadable), static_cast<unsigned long long>(no_ts));
    std::printf("feed (receive-only): item ts_ms → each session's feed.item (wall clock) ms: %s\n",
                latency_text(ts_latency).c_str());
    std::printf("feed (receive-only): first → last feed.item here %.3f s; waited %.1f s after "
                "ready (%s)\n",
                first_to_last_s, ph.waited_s,
                std::string_view(ph.wait_end) == "all"       ? "every session had a push"
                : std::string_view(ph.wait_end) == "drained" ? "gave up: --drain-s without progress"
                                                             : "gave up: --task-wait-s");

    return ",\"feed_mode\":\"receive_only\",\"item_id\":" + num(ph.item_id) +
           ",\"item_ts_ms\":" + std::to_string(item_ts_ms) +
           ",\"online_sessions\":" + std::to_string(ph.online_sessions) +
           ",\"received\":" + num(received) + ",\"missing\":" + num(missing) +
           ",\"duplicates\":" + num(extra) + ",\"wrong_item\":" + num(wrong_item) +
           ",\"unreadable\":" + num(unreadable) + ",\"no_ts_ms\":" + num(no_ts) +
           ",\"other_pushes\":" + num(other) + latency_json("ts_latency", ts_latency) +
           ",\"first_to_last_push_s\":" + fmt("%.3f", first_to_last_s) +
           ",\"waited_s\":" + fmt("%.3f", ph.waited_s) + ",\"wait_end\":\"" + ph.wait_end + "\"";
}

}  // namespace lp::load
