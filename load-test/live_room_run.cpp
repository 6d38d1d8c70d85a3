// load-test/live_room_run: see live_room_run.hpp.
#include "load-test/live_room_run.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include "load-test/api_publisher.hpp"
#include "load-test/clocks.hpp"
#include "load-test/process_stats.hpp"
#include "load-test/report.hpp"

namespace lp::load {
namespace {

constexpr auto kProgressStill = std::chrono::milliseconds(700);

// What the timeline measured besides the shards' books.
struct LivePhase {
    bool ran = false;
    std::uint32_t api_connected = 0;
    double client_cpu_pct = -1, server_cpu_pct = -1;
    double window_s = 0, drain_s = 0;
    bool sending_complete = false;  // every shard wrote every due request in time
};

class LiveRoomRun final : public ScenarioRun {
public:
    explicit LiveRoomRun(RunOptions& run) : run_(run) {
        const double gifts = std::ceil(run.gift_rate * run.duration_s);
        clock_ = std::make_unique<LiveGiftClock>(static_cast<std::uint64_t>(gifts),
                                                 static_cast<std::uint64_t>(wall_ms()));
        run.load.live.gifts = clock_.get();
        run.load.live.latency_sample = run.load.latency_sample;
    }

    void print_plan() const override {
        const LoadOptions& l = run_.load;
        std::printf(
            "live-room: room %llu, %u viewers, %u senders: room.chat %.0f/s, room.like %.0f/s; "
            "gift.effect (class high) %.1f/s via POST /v1/push/room on %s:%u; %.1f s\n",
            static_cast<unsigned long long>(l.room_base), l.connections, l.senders, l.chat_rate,
            l.like_rate, run_.gift_rate, run_.api_host.c_str(), run_.api_port, run_.duration_s);
    }

    void prepare() override {
        PublisherOptions p;
        p.target = PublishTarget::Custom;
        p.host = run_.api_host;
        p.port = run_.api_port;
        p.api_key = run_.api_key;
        p.connections =
            std::max<std::uint32_t>(1, std::min<std::uint32_t>(run_.api_connections, 2));
        p.path = "/v1/push/room";
        p.requests = clock_->size();
        p.rate = run_.gift_rate > 0 ? run_.gift_rate : 1;
        p.duration_s = run_.duration_s;
        const std::string head = "{\"room_id\":" + std::to_string(run_.load.room_base) +
                                 ",\"type\":\"gift.effect\",\"class\":\"high\",\"payload\":"
                                 "{\"live_gift\":";
        const std::string run_id = std::to_string(clock_->run_id());
        LiveGiftClock* clock = clock_.get();
        p.write_body = [head, run_id, clock](std::uint64_t i, std::string& body) {
            body = head + std::to_string(i) + ",\"run\":" + run_id + "}}";
            clock->stamp(i, steady_ns());
        };
        publisher_ = std::make_unique<ApiPublisher>(p);
    }

    void run(const Shards& shards) override;
    std::string report(const Shards& shards, const ShardSum& sum, std::uint32_t logged_in,
                       bool& clean) override;

private:
    RunOptions& run_;
    std::unique_ptr<LiveGiftClock> clock_;
    std::unique_ptr<ApiPublisher> publisher_;
    LivePhase phase_;
};

std::uint64_t live_requests(const Shards& shards) {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += s->live_requests();
    return n;
}

std::uint64_t live_answers(const Shards& shards) {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += s->live_answers();
    return n;
}

bool all_sent(const Shards& shards) {
    for (const auto& s : shards) {
        if (!s->sending_done()) return false;
    }
    return true;
}

void LiveRoomRun::run(const Shards& shards) {
    phase_.api_connected = publisher_->connect();
    std::printf("api: %u connections to %s:%u\n", phase_.api_connected, run_.api_host.c_str(),
                run_.api_port);
    if (phase_.api_connected == 0) {
        std::printf("api: no connection to the push API: nothing to measure\n");
        return;
    }
    phase_.ran = true;
    const CpuWindow cpu(run_.server_pid);
    const Clock::time_point start = Clock::now();
    for (auto& s : shards) s->start_measuring();
    publisher_->start();
    for (auto& s : shards) s->start_sending(run_.duration_s);

    // Sending: the publisher and every shard end by themselves after the window; this deadline
    // only backs them up.
    const Clock::time_point limit = start + seconds_ms(run_.duration_s + 7);
    Clock::time_point next_progress = start + std::chrono::seconds(1);
    auto sending_over = [&] { return publisher_->finished() && all_sent(shards); };
    // Bounded by `limit`.
    while (Clock::now() < limit && !sending_over()) {
        wait_until(std::min(next_progress, limit), sending_over);
        if (Clock::now() >= next_progress) {
            std::printf(
                "  t=%.0fs chats+likes sent %llu, answered %llu; gifts sent %llu, "
                "accepted %llu; pushes received %llu\n",
                std::chrono::duration<double>(Clock::now() - start).count(),
                static_cast<unsigned long long>(live_requests(shards)),
                static_cast<unsigned long long>(live_answers(shards)),
                static_cast<unsigned long long>(publisher_->sent()),
                static_cast<unsigned long long>(publisher_->accepted()),
                static_cast<unsigned long long>(pushes_received(shards)));
            std::fflush(stdout);
            next_progress += std::chrono::seconds(1);
        }
    }
    phase_.sending_complete = sending_over();
    phase_.window_s = std::chrono::duration<double>(Clock::now() - start).count();
    cpu.finish(phase_.window_s, phase_.client_cpu_pct, phase_.server_cpu_pct);

    // Drain: the last likes aggregate comes up to room.likes_interval_ms after the last like;
    // wait until the pushes and answers stand still, within --drain-s.
    const Clock::time_point drain_start = Clock::now();
    const Clock::time_point drain_limit = drain_start + seconds_ms(run_.drain_s);
    ProgressClock progress(pushes_received(shards) + live_answers(shards), drain_start);
    // The last likes aggregate (room.likes_interval_ms, default 1 s) may still be on its way.
    const Clock::time_point earliest = drain_start + std::chrono::milliseconds(1500);
    // Bounded by drain_limit.
    while (Clock::now() < drain_limit) {
        sleep_until(std::min(drain_limit, Clock::now() + std::chrono::milliseconds(50)));
        const Clock::time_point now = Clock::now();
        progress.note(pushes_received(shards) + live_answers(shards), now);
        if (now >= earliest && progress.still_for(now) >= kProgressStill) break;
    }
    phase_.drain_s = std::chrono::duration<double>(Clock::now() - drain_start).count();
    for (auto& s : shards) s->stop_measuring();
    wait_measuring_stopped(shards, Clock::now() + std::chrono::seconds(5));
    publisher_->stop();
}

// "min/median/max" of one class over the viewers.
std::string spread(const LiveRoomSummary& s, MsgClass c) {
    const auto k = static_cast<std::size_t>(c);
    return std::to_string(s.min[k]) + "/" + std::to_string(s.median[k]) + "/" +
           std::to_string(s.max[k]);
}

std::string LiveRoomRun::report(const Shards& shards, const ShardSum&, std::uint32_t, bool& clean) {
    if (!phase_.ran) {
        clean = false;
        return {};
    }
    const PublisherResults& pub = publisher_->results();
    std::vector<const LiveRoomReceiver*> books;
    LatencyHistogram high, normal;
    std::uint64_t chat_answers = 0, chat_ok = 0, chat_limited = 0, chat_refused = 0;
    std::uint64_t likes_sent = 0, like_answers = 0, likes_ok = 0, like_counts = 0;
    std::uint64_t likes_unsupported = 0, likes_refused = 0, foreign = 0, not_sent = 0;
    std::uint64_t gaps = 0, shed = 0, repeats = 0, unsequenced = 0;
    std::int32_t chat_first = 0, like_first = 0;
    double measured_s = 0;
    for (const auto& s : shards) {
        const ShardResults& r = s->results();
        const LiveRoomReceiver& b = r.live;
        books.push_back(&b);
        high.merge(b.high_latency);
        normal.merge(b.normal_latency);
        chat_answers += b.chat_answers;
        chat_ok += b.chat_accepted;
        chat_limited += b.chat_rate_limited;
        chat_refused += b.chat_refused;
        if (!chat_first) chat_first = b.chat_first_refusal;
        likes_sent += b.likes_sent;
        like_answers += b.like_answers;
        likes_ok += b.likes_accepted;
        like_counts += b.like_count_accepted;
        likes_unsupported += b.likes_unsupported;
        likes_refused += b.likes_refused;
        if (!like_first) like_first = b.like_first_refusal;
        foreign += b.gifts_foreign;
        not_sent += r.live_not_sent;
        gaps += r.seq_gaps;
        shed += r.seq_missing;
        repeats += r.seq_duplicates;
        unsequenced += r.room_unsequenced;
        measured_s = std::max(measured_s, double(r.measured_ns) / 1e9);
    }
    const LiveRoomSummary s = summarize(books, pub.accepted, like_counts);
    const bool likes_supported = likes_unsupported == 0 || likes_ok > 0;
    // Rates over the sending window: what arrives in the drain was sent in it.
    const double per_s = phase_.window_s > 0 ? 1.0 / phase_.window_s : 0;
    const auto per_viewer_s = [&](MsgClass c) {
        const auto k = static_cast<std::size_t>(c);
        return s.viewers ? double(s.sum[k]) / double(s.viewers) * per_s : 0.0;
    };

    std::printf(
        "viewers: %llu; room messages per viewer, min/median/max (mean per s of the "
        "%.1f s sending window):\n",
        static_cast<unsigned long long>(s.viewers), phase_.window_s);
    for (MsgClass c :
         {MsgClass::Critical, MsgClass::High, MsgClass::Normal, MsgClass::Low, MsgClass::Other}) {
        std::printf("  %-8s %s (%.1f/s)%s\n", name_of(c), spread(s, c).c_str(), per_viewer_s(c),
                    c == MsgClass::Other ? " (room.online and types outside the table)" : "");
    }
    std::printf(
        "  room_seq gaps %llu (%llu seqs not delivered: shed by the budget, not loss), "
        "repeats %llu, unsequenced (room.online, room.likes) %llu\n",
        static_cast<unsigned long long>(gaps), static_cast<unsigned long long>(shed),
        static_cast<unsigned long long>(repeats), static_cast<unsigned long long>(unsequenced));
    std::printf(
        "gifts: %llu sent, %llu accepted by the API; lost %llu (%llu viewers missing any), "
        "duplicates %llu, foreign %llu\n",
        static_cast<unsigned long long>(pub.sent), static_cast<unsigned long long>(pub.accepted),
        static_cast<unsigned long long>(s.gifts_lost),
        static_cast<unsigned long long>(s.viewers_missing_gifts),
        static_cast<unsigned long long>(s.gift_duplicates),
        static_cast<unsigned long long>(foreign));
    std::printf("high (gift) latency ms, API send → receive: %s\n", latency_text(high).c_str());
    std::printf("normal (room.chat) latency ms, Push.sent_at_ms → receive: %s\n",
                latency_text(normal).c_str());
    std::printf(
        "chat: %llu senders sent %llu, answered %llu: accepted %llu, RATE_LIMITED %llu, "
        "other refusals %llu%s; not sent (session closed or not reading) %llu\n",
        static_cast<unsigned long long>(s.senders), static_cast<unsigned long long>(s.own_sent),
        static_cast<unsigned long long>(chat_answers), static_cast<unsigned long long>(chat_ok),
        static_cast<unsigned long long>(chat_limited),
        static_cast<unsigned long long>(chat_refused),
        chat_first ? (" (first code " + std::to_string(chat_first) + ")").c_str() : "",
        static_cast<unsigned long long>(not_sent));
    std::printf(
        "own messages: %llu accepted, %llu seen back by their senders, %llu missing "
        "(%llu senders missing any), %llu out of order\n",
        static_cast<unsigned long long>(s.own_accepted),
        static_cast<unsigned long long>(s.own_seen), static_cast<unsigned long long>(s.own_missing),
        static_cast<unsigned long long>(s.senders_missing_own),
        static_cast<unsigned long long>(s.own_out_of_order));
    if (likes_sent == 0) {
        std::printf("likes: none sent (--like-rate 0)\n");
    } else if (!likes_supported) {
        std::printf(
            "likes: not supported by server (room.like answered UNKNOWN_BIZ_TYPE %llu "
            "times)\n",
            static_cast<unsigned long long>(likes_unsupported));
    } else {
        std::printf(
            "likes: %llu sent, %llu accepted (counts %llu), refused %llu%s; total before "
            "%llu, expected last total %llu\n",
            static_cast<unsigned long long>(likes_sent), static_cast<unsigned long long>(likes_ok),
            static_cast<unsigned long long>(like_counts),
            static_cast<unsigned long long>(likes_refused),
            like_first ? (" (first code " + std::to_string(like_first) + ")").c_str() : "",
            static_cast<unsigned long long>(s.likes_base),
            static_cast<unsigned long long>(s.likes_expected));
        std::printf(
            "likes: %llu viewers got room.likes; last total min %llu max %llu; at the "
            "expected total %llu, below %llu, above %llu; totals going down %llu\n",
            static_cast<unsigned long long>(s.viewers_with_likes),
            static_cast<unsigned long long>(s.likes_last_min),
            static_cast<unsigned long long>(s.likes_last_max),
            static_cast<unsigned long long>(s.viewers_at_expected),
            static_cast<unsigned long long>(s.viewers_below_expected),
            static_cast<unsigned long long>(s.viewers_above_expected),
            static_cast<unsigned long long>(s.likes_regressions));
    }
    std::printf("cpu: load tool %.0f%% of a core", phase_.client_cpu_pct);
    if (phase_.server_cpu_pct >= 0) std::printf(", server %.0f%%", phase_.server_cpu_pct);
    std::printf(" over the %.1f s sending window (drain %.2f s)%s\n", phase_.window_s,
                phase_.drain_s, phase_.sending_complete ? "" : "; sending did not finish in time");

    if (s.gifts_lost || s.gift_duplicates || foreign || s.own_missing || s.own_out_of_order ||
        pub.accepted == 0 || pub.rejected || pub.failed || chat_ok == 0 || s.likes_regressions ||
        (likes_supported && s.viewers_at_expected != s.viewers_with_likes) ||
        !phase_.sending_complete) {
        clean = false;
    }

    std::string json =
        ",\"room_id\":" + num(run_.load.room_base) + ",\"senders\":" + num(s.senders) +
        ",\"chat_rate\":" + fmt("%.1f", run_.load.chat_rate) +
        ",\"like_rate\":" + fmt("%.1f", run_.load.like_rate) +
        ",\"gift_rate\":" + fmt("%.1f", run_.gift_rate) +
        ",\"measured_s\":" + fmt("%.3f", measured_s) + ",\"viewers\":" + num(s.viewers);
    for (MsgClass c :
         {MsgClass::Critical, MsgClass::High, MsgClass::Normal, MsgClass::Low, MsgClass::Other}) {
        const auto k = static_cast<std::size_t>(c);
        const std::string n = name_of(c);
        json += ",\"" + n + "_min\":" + num(s.min[k]) + ",\"" + n +
                "_median\":" + num(s.median[k]) + ",\"" + n + "_max\":" + num(s.max[k]) + ",\"" +
                n + "_per_viewer_s\":" + fmt("%.2f", per_viewer_s(c));
    }
    json += ",\"seq_gaps\":" + num(gaps) + ",\"seq_shed\":" + num(shed) +
            ",\"seq_repeats\":" + num(repeats) + ",\"unsequenced\":" + num(unsequenced) +
            ",\"gifts_sent\":" + num(pub.sent) + ",\"gifts_accepted\":" + num(pub.accepted) +
            ",\"gifts_lost\":" + num(s.gifts_lost) +
            ",\"viewers_missing_gifts\":" + num(s.viewers_missing_gifts) +
            ",\"gift_duplicates\":" + num(s.gift_duplicates) +
            ",\"gifts_foreign\":" + num(foreign) + latency_json("high", high) +
            latency_json("normal", normal) + ",\"chat_sent\":" + num(s.own_sent) +
            ",\"chat_accepted\":" + num(chat_ok) + ",\"chat_rate_limited\":" + num(chat_limited) +
            ",\"chat_refused\":" + num(chat_refused) + ",\"not_sent\":" + num(not_sent) +
            ",\"own_seen\":" + num(s.own_seen) + ",\"own_missing\":" + num(s.own_missing) +
            ",\"senders_missing_own\":" + num(s.senders_missing_own) +
            ",\"own_out_of_order\":" + num(s.own_out_of_order) +
            ",\"likes_supported\":" + (likes_supported ? "true" : "false") +
            ",\"likes_sent\":" + num(likes_sent) + ",\"like_answers\":" + num(like_answers) +
            ",\"likes_accepted\":" + num(likes_ok) +
            ",\"like_count_accepted\":" + num(like_counts) +
            ",\"likes_refused\":" + num(likes_refused) + ",\"likes_base\":" + num(s.likes_base) +
            ",\"likes_expected\":" + num(s.likes_expected) +
            ",\"viewers_with_likes\":" + num(s.viewers_with_likes) +
            ",\"viewers_at_expected\":" + num(s.viewers_at_expected) +
            ",\"likes_last_min\":" + num(s.likes_last_min) +
            ",\"likes_last_max\":" + num(s.likes_last_max) +
            ",\"likes_regressions\":" + num(s.likes_regressions) +
            ",\"client_cpu_pct\":" + fmt("%.1f", phase_.client_cpu_pct) +
            ",\"server_cpu_pct\":" + fmt("%.1f", phase_.server_cpu_pct) +
            ",\"window_s\":" + fmt("%.3f", phase_.window_s) +
            ",\"drain_s\":" + fmt("%.2f", phase_.drain_s) +
            ",\"complete\":" + (phase_.sending_complete ? "true" : "false");
    return json;
}

}  // namespace

std::unique_ptr<ScenarioRun> make_live_room_run(RunOptions& run) {
    return std::make_unique<LiveRoomRun>(run);
}

}  // namespace lp::load
