// load-test/plugin_runs: see plugin_runs.hpp. The scenarios' set-up and dispatch, and the
// sending of gift events that gift and pk share; each scenario's timeline and report is in its
// own file (gift_run.cpp, pk_run.cpp, feed_run.cpp).
#include "load-test/plugin_runs.hpp"

#include <chrono>
#include <cstdio>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>

#include "load-test/api_publisher.hpp"
#include "load-test/clocks.hpp"
#include "load-test/kafka_gift_producer.hpp"
#include "load-test/plugin_run_phase.hpp"
#include "load-test/process_stats.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

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

}  // namespace

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
void PluginRun::print_plan() const {
    if (load_.scenario == Scenario::Feed) return;
    std::printf("events: %s rate=%.0f/s%s rooms=%u\n",
                opts_.kafka_brokers.empty() ? "POST /v1/gift/events"
                                            : ("kafka " + opts_.kafka_brokers).c_str(),
                opts_.rate, opts_.rate > 0 ? "" : " (as fast as possible)", load_.rooms);
}

bool PluginRun::before_connect() {
    if (load_.scenario != Scenario::Feed || opts_.skip_follower_load || opts_.feed_receive_only) {
        return true;
    }
    return load_followers();
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

std::string PluginRun::report(const Shards& shards, const ShardSum&, std::uint32_t logged_in,
                              bool& clean) {
    if (logged_in == 0) {
        clean = false;
        return {};
    }
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
            ph.error =
                "no connection to the API " + opts_.api_host + ":" + std::to_string(opts_.api_port);
            std::printf("%s\n", ph.error.c_str());
            return;
        }
    }
    ph.ran = true;
    auto sent = [&] { return producer ? producer->produced() : publisher->sent(); };
    auto accepted = [&] { return producer ? producer->delivered() : publisher->accepted(); };
    auto source_done = [&] { return producer ? producer->finished() : publisher->finished(); };

    const CpuWindow cpu(opts_.server_pid);
    const auto start = Clock::now();
    for (auto& s : shards) s->start_measuring();
    if (producer)
        producer->start();
    else
        publisher->start();

    // Until every event was sent and seen (and its deliveries settled), or nothing moved for
    // --drain-s. Bounded: each event is sent and seen once, and once everything was seen, the
    // settling gets --drain-s at most.
    ProgressClock progress(0, Clock::now());  // of events seen + pushes + sent: each only grows
    auto next_report = start + std::chrono::seconds(1);
    std::optional<Clock::time_point> sending_done, all_seen;
    const auto drain = seconds_ms(opts_.drain_s);
    for (;;) {
        std::this_thread::sleep_for(kPollStep);
        const auto now = Clock::now();
        const std::uint64_t seen = plan.distinct_seen(), pushes = pushes_received(shards),
                            s = sent();
        progress.note(seen + pushes + s, now);
        if (!sending_done && source_done()) sending_done = now;
        if (now >= next_report) {
            std::printf(
                "  t=%.0fs sent %llu, acked %llu, events seen %llu, pushes %llu\n",
                std::chrono::duration<double>(now - start).count(),
                static_cast<unsigned long long>(s), static_cast<unsigned long long>(accepted()),
                static_cast<unsigned long long>(seen), static_cast<unsigned long long>(pushes));
            std::fflush(stdout);
            next_report += std::chrono::seconds(1);
        }
        if (sending_done) {
            const std::uint64_t want = accepted();
            const bool all = seen >= want && pushes >= want * deliveries_per_event;
            if (all && !all_seen) all_seen = now;
            if (all && (progress.still_for(now) >= kSettle || now - *all_seen >= drain)) {
                ph.complete = true;
                break;
            }
            if (!all && progress.still_for(now) >= drain) break;
        } else if (progress.still_for(now) >= drain + std::chrono::seconds(30)) {
            break;  // the source is stuck (brokers gone, API not answering)
        }
    }
    for (auto& s : shards) s->stop_measuring();
    const auto stopped = Clock::now();
    ph.wait_s = sending_done ? std::chrono::duration<double>(stopped - *sending_done).count() : 0;
    const double window_s = std::chrono::duration<double>(stopped - start).count();
    cpu.finish(window_s, ph.client_cpu_pct, ph.server_cpu_pct);
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

}  // namespace lp::load
