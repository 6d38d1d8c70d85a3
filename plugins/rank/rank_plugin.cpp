// plugins/rank/rank_plugin: see rank_plugin.hpp. Events, pushes and settlement here; the HTTP
// API in rank_http.cpp.
#include "plugins/rank/rank_plugin.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <limits>
#include <stdexcept>
#include <string_view>

#include "plugins/rank/weekstar_score.hpp"
#include "plugins/rank/zoneinfo.hpp"
#include "plugins/sdk/json_ids.hpp"
#include "plugins/sdk/wall_clock.hpp"

namespace lp::plugins {
namespace json = boost::json;
using rank::BoardRef;
using rank::ChannelConfig;
using rank::IsoWeek;
using rank::kMsPerWeek;

namespace {

constexpr std::int64_t kMaxFutureMs =
    24LL * 3600 * 1000;  // event clocks ahead of ours by more: rejected
constexpr std::size_t kMaxNotedBoards = 10000;
constexpr std::chrono::milliseconds kFlushTick{100};
constexpr std::chrono::milliseconds kMinReschedule{10};
constexpr int kTenMsVersion = rank::kTenMs.version;

}  // namespace

struct RankPlugin::Gift {
    std::string event_id;
    std::uint64_t room = 0;
    std::uint64_t anchor = 0;
    std::uint64_t sender = 0;
    std::string channel;
    std::string gift;
    std::int64_t count = 0;
    std::int64_t ts_ms = 0;

    // nullopt (with the reason in `why`) for an event that can never be applied.
    static std::optional<Gift> parse(const std::string& text, std::int64_t now_ms,
                                     std::string& why) {
        boost::system::error_code ec;
        auto v = json::parse(text, ec);
        if (ec || !v.is_object()) {
            why = "not a JSON object";
            return std::nullopt;
        }
        const auto& o = v.as_object();
        Gift g;
        const auto* event_id = o.if_contains("event_id");
        if (event_id && event_id->is_string())
            g.event_id = std::string(event_id->as_string());
        else if (event_id && (event_id->is_uint64() || event_id->is_int64()))
            g.event_id = json::serialize(*event_id);
        if (g.event_id.empty() || g.event_id.size() > 128) {
            why = "\"event_id\" is missing or longer than 128";
            return std::nullopt;
        }
        const auto id = [&](const char* name) -> std::optional<std::uint64_t> {
            const auto* f = o.if_contains(name);
            return f ? sdk::json_id(*f) : std::nullopt;
        };
        const auto token = [&](const char* name) -> std::optional<std::string> {
            const auto* f = o.if_contains(name);
            return f ? rank::token_value(*f) : std::nullopt;
        };
        auto anchor = id("anchor_id");
        auto sender = id("sender_id");
        auto channel = token("channel_id");
        auto gift = token("gift_id");
        if (!anchor || !sender || !channel || !gift) {
            why = "anchor_id, sender_id, channel_id and gift_id are required";
            return std::nullopt;
        }
        g.anchor = *anchor;
        g.sender = *sender;
        g.channel = std::move(*channel);
        g.gift = std::move(*gift);
        g.room = id("room_id").value_or(0);
        const auto* count = o.if_contains("count");
        if (count && count->is_int64())
            g.count = count->as_int64();
        else if (count && count->is_uint64())
            g.count = std::numeric_limits<std::int64_t>::max();  // saturates on the board
        if (g.count <= 0) {
            why = "\"count\" must be a positive integer";
            return std::nullopt;
        }
        g.ts_ms = now_ms;
        if (const auto* ts = o.if_contains("ts_ms"); ts && !ts->is_null()) {
            if (!ts->is_int64() || ts->as_int64() <= 0) {
                why = "\"ts_ms\" must be ms since the Unix epoch";
                return std::nullopt;
            }
            g.ts_ms = ts->as_int64();
        }
        return g;
    }
};

RankPlugin::RankPlugin(Clock clock) : clock_(clock ? std::move(clock) : Clock(sdk::wall_ms)) {}

RankPlugin::~RankPlugin() {
    stop();
}

std::vector<sdk::Route> RankPlugin::routes() const {
    return {{"POST", "/v1/rank/weekstar/config"},
            {"GET", "/v1/rank/weekstar/config"},
            {"GET", "/v1/rank/weekstar"},
            {"GET", "/v1/rank/weekstar/settled"}};
}

void RankPlugin::start(sdk::Context& ctx) {
    if (ctx.store == nullptr || ctx.jobs == nullptr || ctx.push == nullptr) {
        throw std::invalid_argument("rank: the context needs a store, delayed jobs and a pusher");
    }
    timezone_ = ctx.config_value("timezone", "UTC");
    auto offset = rank::parse_utc_offset(timezone_);
    if (!offset) {
        // A zone name: the fixed offset it keeps from now on (tzdata), if it keeps one.
        const auto zone = rank::zone_fixed_offset(
            timezone_, ctx.config_value("zoneinfo_dir", "/usr/share/zoneinfo"));
        if (!zone.offset_ms) {
            throw std::invalid_argument(
                "rank: plugins.rank.timezone \"" + timezone_ +
                "\" is not UTC, a fixed offset such as +08:00, or a zone without "
                "daylight saving: " +
                zone.why);
        }
        offset = zone.offset_ms;
    }
    calendar_ = rank::WeekCalendar(*offset);
    keep_weeks_ = std::clamp<std::int64_t>(ctx.config_int("keep_weeks", 5), 1, 520);
    event_ttl_s_ = std::clamp<std::int64_t>(ctx.config_int("event_ttl_s", 8LL * 24 * 3600), 3600,
                                            365LL * 24 * 3600);
    settle_delay_ms_ =
        std::clamp<std::int64_t>(ctx.config_int("settle_delay_ms", 0), 0, 3600LL * 1000);
    const auto interval =
        std::clamp<std::int64_t>(ctx.config_int("update_interval_ms", 500), 500, 60000);
    throttle_ = std::make_unique<rank::UpdateThrottle>(std::chrono::milliseconds(interval));
    ctx_ = &ctx;
    boards_ = std::make_unique<rank::WeekstarBoards>(
        *ctx.store, [this] { return calendar_.week_of(clock_()); });
    // Fix the week 10 ms ties start from now, at the upgrade (weekstar_boards.hpp, "Packing"),
    // before this node notes any board; a store that is down now decides it at the first gift.
    if (const auto p = boards_->packing_of(calendar_.week_of(clock_()).key()); p && ctx.log) {
        ctx.log->info(p->version == kTenMsVersion
                          ? "rank: week-star ties are ordered to 10 ms this week"
                          : "rank: this week's boards began before the upgrade and tie by the "
                            "second to its end; 10 ms ties from next week");
    }

    // The current week settles at its end; last week's settlement runs now in case no node was
    // up at the boundary (settling is idempotent: a settled board stays as it was).
    const IsoWeek now = calendar_.week_of(clock_());
    schedule_settlement(rank::previous_week(now), std::chrono::milliseconds(0));
    ensure_settlement(now);

    {
        std::lock_guard lock(mu_);
        stopping_ = false;
    }
    running_ = true;
    flusher_ = std::thread([this] { flusher_loop(); });
}

void RankPlugin::stop() {
    running_ = false;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (flusher_.joinable()) flusher_.join();
}

std::int64_t RankPlugin::steady_ms() const {
    using namespace std::chrono;
    return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

void RankPlugin::flusher_loop() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        wake_.wait_for(lock, kFlushTick, [this] { return stopping_; });
        if (stopping_) break;
        lock.unlock();
        flush_updates();
        lock.lock();
    }
}

void RankPlugin::flush_updates() {
    if (!throttle_) return;
    push_updates(throttle_->due(steady_ms()));
}

// ---------------------------------------------------------------- events

void RankPlugin::on_event(const std::string& topic, const std::string& key,
                          const std::string& value_json) {
    if (topic != kEventTopic) return;
    // Stopped: hand the event back (retried elsewhere) rather than drop it.
    if (!running_) throw std::runtime_error("rank: stopped; the event is left for a retry");
    std::string why;
    const auto gift = Gift::parse(value_json, clock_(), why);
    if (!gift) {
        // Can never succeed: log and let it through (a throw would retry it forever).
        if (ctx_->metrics) ctx_->metrics->count("bad_events");
        if (ctx_->log) ctx_->log->warn("rank: skipping a gift event: " + why);
        return;
    }
    on_gift(*gift);
}

std::string RankPlugin::describe_event(const std::string& topic, const std::string& value_json) {
    if (topic != kEventTopic || !running_) return {};
    json::object out;
    const auto verdict = [&](bool counted, std::string reason) {
        out["weekstar"] = counted;
        if (!reason.empty()) out["reason"] = std::move(reason);
        return json::serialize(out);
    };
    std::string why;
    const std::int64_t now = clock_();
    const auto g = Gift::parse(value_json, now, why);
    if (!g) return verdict(false, "not a week-star gift event: " + why);
    if (g->ts_ms > now + kMaxFutureMs) return verdict(false, "ts_ms is more than a day ahead");
    const IsoWeek week = calendar_.week_of(g->ts_ms);
    const std::string week_key = week.key();
    out["week"] = week_key;
    if (calendar_.end_ms(week) + keep_weeks_ * kMsPerWeek <= now)
        return verdict(false, "week " + week_key + " ended more than plugins.rank.keep_weeks (" +
                                  std::to_string(keep_weeks_) + ") weeks ago; its board is gone");
    const auto config = load_config(g->channel);
    if (!config) return verdict(false, "the store is unavailable; the event is retried");
    if (!*config)
        return verdict(false, "channel " + g->channel +
                                  " has no week-star config (POST /v1/rank/weekstar/config)");
    if (!(*config)->counts(week_key, g->gift))
        return verdict(false, "gift " + g->gift + " is not a week-star gift of channel " +
                                  g->channel + " in week " + week_key);
    if (now >= calendar_.end_ms(week) + settle_delay_ms_)
        return verdict(true,
                       "week " + week_key +
                           " is settled already: counted on its board, no rank.update pushed");
    return verdict(true, {});
}

void RankPlugin::on_gift(const Gift& g) {
    auto& metrics = ctx_->metrics;
    const std::int64_t now = clock_();
    if (g.ts_ms > now + kMaxFutureMs) {
        if (metrics) metrics->count("bad_events");
        if (ctx_->log)
            ctx_->log->warn("rank: skipping gift event " + g.event_id +
                            ": ts_ms is more than a day ahead");
        return;
    }
    const IsoWeek week = calendar_.week_of(g.ts_ms);
    const std::int64_t expires_ms = calendar_.end_ms(week) + keep_weeks_ * kMsPerWeek;
    if (expires_ms <= now) {
        if (metrics) metrics->count("stale_events");  // its board is gone (keep_weeks)
        return;
    }
    const std::string week_key = week.key();
    const auto config = load_config(g.channel);
    // Throwing hands the event back to its source (Kafka retries it) instead of losing it.
    if (!config)
        throw std::runtime_error("rank: the store is unavailable (reading the channel config)");
    if (!*config || !(*config)->counts(week_key, g.gift)) {
        if (metrics)
            metrics->count("ignored_events");  // not a week-star gift of that channel that week
        return;
    }

    const BoardRef board{week_key, g.channel, g.gift};
    const std::chrono::milliseconds keep(expires_ms - now);
    // Before noting the board: the first upgraded node decides fine_since from whether the
    // week's boards are empty (weekstar_boards.hpp, "Packing").
    const auto packing = boards_->packing_of(week_key);
    if (!packing) throw std::runtime_error("rank: the store is unavailable (reading the packing)");
    const std::int64_t slot = packing->slot_of_ms(g.ts_ms - calendar_.start_ms(week));
    {
        std::unique_lock lock(mu_);
        if (!noted_boards_.count(board.id())) {
            lock.unlock();
            if (!boards_->note_board(board, keep))
                throw std::runtime_error("rank: the store is unavailable (noting a board)");
            lock.lock();
            if (noted_boards_.size() >= kMaxNotedBoards) noted_boards_.clear();
            noted_boards_.insert(board.id());
        }
    }
    ensure_settlement(week);

    const std::string receiver = std::to_string(g.anchor);
    const std::string sender = std::to_string(g.sender);
    const std::string mark = "weekstar:event:" + g.event_id;
    const bool receiver_ok = apply_once(mark + ":r", rank::WeekstarBoards::realtime_key(board),
                                        rank::WeekstarBoards::count_key(board, receiver), receiver,
                                        g.count, slot, *packing, keep);
    const bool supporter_ok =
        apply_once(mark + ":s", rank::WeekstarBoards::supporters_key(board, receiver),
                   rank::WeekstarBoards::support_count_key(board, receiver, sender), sender,
                   g.count, slot, *packing, keep);
    if (!receiver_ok || !supporter_ok) {
        throw std::runtime_error("rank: the store failed applying gift event " + g.event_id +
                                 "; a retry applies what is missing, once");
    }
    if (metrics) metrics->count("counted_events");
    if (now >= calendar_.end_ms(week) + settle_delay_ms_) {
        if (metrics) metrics->count("late_events");  // counted, but its week is settled already
        return;                                      // and rooms show this week's boards
    }
    const auto& cfg = **config;
    if (g.room != 0 && (cfg.web || cfg.app)) {
        push_updates(throttle_->offer(
            rank::RankUpdate{week_key, g.channel, g.gift, g.anchor, g.room, cfg.web, cfg.app},
            steady_ms()));
    }
}

bool RankPlugin::apply_once(const std::string& mark, const std::string& zset_key,
                            const std::string& count_key, const std::string& member,
                            std::int64_t count, std::int64_t slot, const rank::Packing& packing,
                            std::chrono::milliseconds keep) {
    auto& store = *ctx_->store;
    // The mark goes first: a replayed event never counts twice. The price: a node dying
    // between the mark and the count loses that one gift (never-double over never-lose).
    if (store.set_if_absent(mark, "1", std::chrono::seconds(event_ttl_s_))) {
        using R = rank::WeekstarBoards::AddResult;
        switch (boards_->add(zset_key, count_key, member, count, slot, packing, keep)) {
            case R::added:
                return true;
            case R::count_only:
                return false;  // counted; the retry (a duplicate now) rewrites the zset
            case R::failed:
                store.del(mark);  // nothing changed: let the retry count it
                return false;
        }
    }
    const auto existing = boards_->read(mark);
    if (!existing || !*existing) return false;  // the store failed (or the mark just expired)
    if (ctx_->metrics && mark.ends_with(":r")) ctx_->metrics->count("duplicate_events");
    // A duplicate: the count is in; make sure the zset shows it (heals a count_only add).
    return boards_->republish(zset_key, count_key, member, packing);
}

void RankPlugin::push_updates(const std::vector<rank::RankUpdate>& updates) {
    for (const auto& u : updates) {
        const BoardRef board{u.week, u.channel, u.gift};
        const auto packing = boards_->packing_of(u.week);
        if (!packing) continue;
        const auto entry = boards_->entry_of(rank::WeekstarBoards::realtime_key(board),
                                             std::to_string(u.receiver), *packing);
        if (!entry || !*entry) continue;
        json::object payload;
        payload["week"] = u.week;
        payload["channel_id"] = u.channel;
        payload["gift_id"] = u.gift;
        payload["user_id"] = std::to_string(u.receiver);
        payload["rank"] = (*entry)->rank;
        payload["score"] = (*entry)->count;
        payload["web"] = u.web;
        payload["app"] = u.app;
        sdk::PushOptions opts;  // qos0: the next update supersedes a lost one
        ctx_->push->to_room(u.room, kPushType, json::serialize(payload), opts);
        if (ctx_->metrics) ctx_->metrics->count("rank_updates");
    }
}

// ---------------------------------------------------------------- settlement

std::chrono::milliseconds RankPlugin::until_settlement(const IsoWeek& week) const {
    return std::chrono::milliseconds(
        std::max<std::int64_t>(0, calendar_.end_ms(week) + settle_delay_ms_ - clock_()));
}

void RankPlugin::schedule_settlement(const IsoWeek& week, std::chrono::milliseconds delay) {
    const std::string w = week.key();
    if (!ctx_->jobs->schedule(kJobTopic, "settle-" + w, delay, w) && ctx_->log) {
        ctx_->log->error("rank: could not schedule the settlement of " + w +
                         " (job queue unavailable)");
    }
}

void RankPlugin::ensure_settlement(const IsoWeek& week) {
    // Once per week per process: scheduling an existing job id just replaces it with the same
    // time, so other nodes doing the same is harmless.
    const std::string w = week.key();
    {
        std::lock_guard lock(mu_);
        if (!scheduled_weeks_.insert(w).second) return;
    }
    schedule_settlement(week, until_settlement(week));
}

void RankPlugin::on_job(const std::string& topic, const std::string& id, const std::string& body) {
    if (topic != kJobTopic) return;
    const auto week = rank::parse_iso_week(body);
    if (!week) {
        if (ctx_->log) ctx_->log->error("rank: dropping job " + id + " with a bad week: " + body);
        return;
    }
    const auto wait = until_settlement(*week);
    if (wait.count() > 0) {
        // Early: this node's clock is behind the one that claimed it. Come back at the boundary
        // (rescheduling our own id while it runs keeps the new time).
        schedule_settlement(*week, std::max(wait, kMinReschedule));
        return;
    }
    if (!boards_->settle_week(week->key(), clock_())) {
        throw std::runtime_error("rank: the store failed settling " + week->key() +
                                 "; it runs again after its TTR");
    }
    if (ctx_->metrics) ctx_->metrics->count("weeks_settled");
    if (ctx_->log) ctx_->log->info("rank: settled week " + week->key());
    const IsoWeek next = rank::next_week(*week);
    {
        std::lock_guard lock(mu_);
        scheduled_weeks_.insert(next.key());
    }
    schedule_settlement(next, until_settlement(next));
}

// ---------------------------------------------------------------- channel config (HTTP:
// rank_http.cpp)

std::optional<std::optional<ChannelConfig>> RankPlugin::load_config(const std::string& channel) {
    const auto text = boards_->read(rank::config_key(channel));
    if (!text) return std::nullopt;
    if (!*text) return std::optional<ChannelConfig>();
    auto config = ChannelConfig::from_json(**text);
    if (!config) {
        if (ctx_->log) ctx_->log->error("rank: the config of channel " + channel + " is corrupt");
        return std::optional<ChannelConfig>();
    }
    return std::optional<ChannelConfig>(std::move(*config));
}

std::unique_ptr<sdk::Plugin> make_rank_plugin() {
    return std::make_unique<RankPlugin>();
}

}  // namespace lp::plugins
