// plugins/rank/rank_plugin: see rank_plugin.hpp.
#include "plugins/rank/rank_plugin.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
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

constexpr std::string_view kRoutePrefix = "/v1/rank/";
constexpr std::int64_t kMaxFutureMs =
    24LL * 3600 * 1000;  // event clocks ahead of ours by more: rejected
constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 500;
constexpr int kConfigCasAttempts = 16;
constexpr std::size_t kMaxNotedBoards = 10000;
constexpr std::chrono::milliseconds kFlushTick{100};
constexpr std::chrono::milliseconds kMinReschedule{10};

sdk::Reply ok(const json::value& body) {
    return {200, {}, json::serialize(body)};
}

sdk::Reply error(int status, std::string message) {
    json::object body;
    body["error"] = message;
    body["code"] = status;
    return {status, std::move(message), json::serialize(body)};
}

// A channel or gift id becomes part of store keys: 1..64 of [A-Za-z0-9_.-] (no ':'), given as
// a JSON string or a non-negative integer.
bool valid_token(std::string_view s) {
    if (s.empty() || s.size() > 64) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_' || c == '-' || c == '.';
    });
}

std::optional<std::string> token_value(const json::value& v) {
    std::string s;
    if (v.is_string())
        s = std::string(v.as_string());
    else if (v.is_uint64())
        s = std::to_string(v.as_uint64());
    else if (v.is_int64() && v.as_int64() >= 0)
        s = std::to_string(v.as_int64());
    if (!valid_token(s)) return std::nullopt;
    return s;
}

std::optional<std::string> query_token(const std::map<std::string, std::string>& q,
                                       const char* name, std::optional<sdk::Reply>& err) {
    auto it = q.find(name);
    if (it == q.end() || it->second.empty()) {
        err = error(400, std::string("query parameter \"") + name + "\" is required");
        return std::nullopt;
    }
    if (!valid_token(it->second)) {
        err = error(400,
                    std::string("\"") + name + "\" must be 1..64 characters of A-Z a-z 0-9 _ . -");
        return std::nullopt;
    }
    return it->second;
}

std::optional<json::object> body_object(const std::string& body, std::optional<sdk::Reply>& err) {
    boost::system::error_code ec;
    auto value = json::parse(body, ec);
    if (ec) {
        err = error(400, "malformed JSON body: " + ec.message());
        return std::nullopt;
    }
    if (!value.is_object()) {
        err = error(400, "the body must be a JSON object");
        return std::nullopt;
    }
    return std::move(value.as_object());
}

json::object entry_json(const rank::BoardEntry& e) {
    json::object o;
    o["user_id"] = e.member;
    o["score"] = e.count;
    o["rank"] = e.rank;
    return o;
}

std::string config_key(const std::string& channel) {
    return "weekstar:config:" + channel;
}

json::array gifts_json(const std::vector<std::string>& gifts) {
    json::array a;
    for (const auto& g : gifts) a.emplace_back(g);
    return a;
}

// The config as the API shows it: the list in force this week and the one waiting, if any.
json::object config_view(const ChannelConfig& c, const std::string& week) {
    json::object o;
    o["channel_id"] = c.channel;
    const auto* gifts = c.gifts_for(week);
    o["gifts"] = gifts ? gifts_json(*gifts) : json::array{};
    if (const auto* pending = c.pending_after(week)) {
        o["next_gifts"] = gifts_json(pending->gifts);
        o["next_from_week"] = pending->from_week;
    }
    o["web"] = c.web;
    o["app"] = c.app;
    o["week"] = week;
    return o;
}

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
            return f ? token_value(*f) : std::nullopt;
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
            g.count = rank::kMaxCount;  // beyond int64: saturates anyway
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
        const auto zone = rank::zone_fixed_offset(timezone_, ctx.config_value("zoneinfo_dir", "/usr/share/zoneinfo"));
        if (!zone.offset_ms) {
            throw std::invalid_argument("rank: plugins.rank.timezone \"" + timezone_ +
                                        "\" is not UTC, a fixed offset such as +08:00, or a zone without "
                                        "daylight saving: " + zone.why);
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
    boards_ = std::make_unique<rank::WeekstarBoards>(*ctx.store);

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
        return verdict(false, "channel " + g->channel + " has no week-star config (POST /v1/rank/weekstar/config)");
    if (!(*config)->counts(week_key, g->gift))
        return verdict(false, "gift " + g->gift + " is not a week-star gift of channel " + g->channel +
                                  " in week " + week_key);
    if (now >= calendar_.end_ms(week) + settle_delay_ms_)
        return verdict(true, "week " + week_key + " is settled already: counted on its board, no rank.update pushed");
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
    const std::int64_t second = (g.ts_ms - calendar_.start_ms(week)) / 1000;
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
                                        g.count, second, keep);
    const bool supporter_ok =
        apply_once(mark + ":s", rank::WeekstarBoards::supporters_key(board, receiver),
                   rank::WeekstarBoards::support_count_key(board, receiver, sender), sender,
                   g.count, second, keep);
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
                            std::int64_t count, std::int64_t second,
                            std::chrono::milliseconds keep) {
    auto& store = *ctx_->store;
    // The mark goes first: a replayed event never counts twice. The price: a node dying
    // between the mark and the count loses that one gift (never-double over never-lose).
    if (store.set_if_absent(mark, "1", std::chrono::seconds(event_ttl_s_))) {
        using R = rank::WeekstarBoards::AddResult;
        switch (boards_->add(zset_key, count_key, member, count, second, keep)) {
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
    return boards_->republish(zset_key, count_key, member);
}

void RankPlugin::push_updates(const std::vector<rank::RankUpdate>& updates) {
    for (const auto& u : updates) {
        const BoardRef board{u.week, u.channel, u.gift};
        const auto entry = boards_->entry_of(rank::WeekstarBoards::realtime_key(board),
                                             std::to_string(u.receiver));
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

// ---------------------------------------------------------------- HTTP

sdk::Reply RankPlugin::on_http(const sdk::HttpRequest& req) {
    if (!running_) return error(503, "the rank plugin is not running");
    std::string_view path = req.path;
    if (path.starts_with(kRoutePrefix)) path.remove_prefix(kRoutePrefix.size());
    if (path == "weekstar/config") {
        if (req.method == "POST") return post_config(req.body);
        if (req.method == "GET") return get_config(req.query);
    } else if (req.method == "GET" && path == "weekstar") {
        return get_board(req.query);
    } else if (req.method == "GET" && path == "weekstar/settled") {
        return get_settled(req.query);
    }
    return error(404, "no such rank route: " + req.method + " " + req.path);
}

std::optional<std::optional<ChannelConfig>> RankPlugin::load_config(const std::string& channel) {
    const auto text = boards_->read(config_key(channel));
    if (!text) return std::nullopt;
    if (!*text) return std::optional<ChannelConfig>();
    auto config = ChannelConfig::from_json(**text);
    if (!config) {
        if (ctx_->log) ctx_->log->error("rank: the config of channel " + channel + " is corrupt");
        return std::optional<ChannelConfig>();
    }
    return std::optional<ChannelConfig>(std::move(*config));
}

sdk::Reply RankPlugin::post_config(const std::string& body) {
    std::optional<sdk::Reply> err;
    auto obj = body_object(body, err);
    if (!obj) return *err;
    const auto* channel_v = obj->if_contains("channel_id");
    const auto channel = channel_v ? token_value(*channel_v) : std::nullopt;
    if (!channel)
        return error(400, "\"channel_id\" is required: 1..64 characters of A-Z a-z 0-9 _ . -");

    std::optional<std::vector<std::string>> gifts;
    if (const auto* g = obj->if_contains("gifts"); g && !g->is_null()) {
        if (!g->is_array()) return error(400, "\"gifts\" must be an array of gift ids");
        if (g->as_array().size() > rank::kMaxWeekstarGifts) {
            return error(400, "\"gifts\" holds " + std::to_string(g->as_array().size()) +
                                  " gifts; a channel has at most 4 week-star gifts");
        }
        gifts.emplace();
        for (const auto& v : g->as_array()) {
            auto id = token_value(v);
            if (!id)
                return error(400, "every gift id must be 1..64 characters of A-Z a-z 0-9 _ . -");
            if (std::find(gifts->begin(), gifts->end(), *id) != gifts->end()) {
                return error(400, "gift \"" + *id + "\" is listed twice");
            }
            gifts->push_back(std::move(*id));
        }
    }
    std::optional<bool> web, app;
    for (auto [name, out] : {std::pair{"web", &web}, std::pair{"app", &app}}) {
        if (const auto* v = obj->if_contains(name); v && !v->is_null()) {
            if (!v->is_bool())
                return error(400, std::string("\"") + name + "\" must be true or false");
            *out = v->as_bool();
        }
    }

    auto& store = *ctx_->store;
    const std::int64_t now = clock_();
    const IsoWeek week = calendar_.week_of(now);
    for (int attempt = 0; attempt < kConfigCasAttempts; ++attempt) {
        const auto current = boards_->read(config_key(*channel));
        if (!current) return error(503, "the store is unavailable");
        std::optional<ChannelConfig> config;
        if (*current) config = ChannelConfig::from_json(**current);
        if (!config) {
            if (!gifts) return error(400, "\"gifts\" is required in a channel's first config");
            config = ChannelConfig{};
            config->channel = *channel;
        }
        config->update(gifts, web, app, week, now);
        if (store.compare_and_set(config_key(*channel), *current, config->to_json())) {
            if (ctx_->metrics) ctx_->metrics->count("config_updates");
            return ok(config_view(*config, week.key()));
        }
    }
    return error(
        503, "the channel's config kept changing under this request, or the store failed; retry");
}

sdk::Reply RankPlugin::get_config(const std::map<std::string, std::string>& query) {
    std::optional<sdk::Reply> err;
    const auto channel = query_token(query, "channel", err);
    if (!channel) return *err;
    const auto config = load_config(*channel);
    if (!config) return error(503, "the store is unavailable");
    if (!*config) return error(404, "channel " + *channel + " has no week-star config");
    return ok(config_view(**config, calendar_.week_of(clock_()).key()));
}

sdk::Reply RankPlugin::get_board(const std::map<std::string, std::string>& query) {
    std::optional<sdk::Reply> err;
    const auto channel = query_token(query, "channel", err);
    if (!channel) return *err;
    const auto gift = query_token(query, "gift", err);
    if (!gift) return *err;
    IsoWeek week = calendar_.week_of(clock_());
    if (auto it = query.find("week"); it != query.end()) {
        const auto w = rank::parse_iso_week(it->second);
        if (!w) return error(400, "\"week\" must be an ISO week like 2026-W05 (and exist)");
        week = *w;
    }
    std::size_t limit = kDefaultLimit;
    if (auto it = query.find("limit"); it != query.end()) {
        const auto n = sdk::decimal_u64(it->second);
        if (!n || *n == 0 || *n > kMaxLimit) return error(400, "\"limit\" must be 1..500");
        limit = *n;
    }
    std::optional<std::uint64_t> user;
    if (auto it = query.find("user"); it != query.end()) {
        user = sdk::decimal_u64(it->second);
        if (!user || *user == 0) return error(400, "\"user\" must be a positive integer id");
    }
    if (auto it = query.find("platform"); it != query.end()) {
        const std::string& platform = it->second;
        if (platform != "web" && platform != "app")
            return error(400, "\"platform\" must be web or app");
        const auto config = load_config(*channel);
        if (!config) return error(503, "the store is unavailable");
        if (*config && !(platform == "web" ? (*config)->web : (*config)->app)) {
            return error(403, "the week-star board of channel " + *channel +
                                  " is switched off for " + platform);
        }
    }

    const BoardRef board{week.key(), *channel, *gift};
    const auto key = rank::WeekstarBoards::realtime_key(board);
    const auto entries = boards_->top(key, limit);
    if (!entries) return error(503, "the store is unavailable");
    json::object out;
    out["week"] = board.week;
    out["channel_id"] = board.channel;
    out["gift_id"] = board.gift;
    json::array list;
    for (const auto& e : *entries) list.push_back(entry_json(e));
    out["entries"] = std::move(list);
    if (user) {
        const auto me = boards_->entry_of(key, std::to_string(*user));
        if (!me) return error(503, "the store is unavailable");
        json::object m;
        m["user_id"] = std::to_string(*user);
        // Not on the board: rank null, score 0.
        m["rank"] = *me ? json::value((*me)->rank) : json::value(nullptr);
        m["score"] = *me ? (*me)->count : 0;
        out["me"] = std::move(m);
    }
    return ok(out);
}

sdk::Reply RankPlugin::get_settled(const std::map<std::string, std::string>& query) {
    std::optional<sdk::Reply> err;
    const auto channel = query_token(query, "channel", err);
    if (!channel) return *err;
    const auto gift = query_token(query, "gift", err);
    if (!gift) return *err;
    IsoWeek week = rank::previous_week(calendar_.week_of(clock_()));
    if (auto it = query.find("week"); it != query.end()) {
        const auto w = rank::parse_iso_week(it->second);
        if (!w) return error(400, "\"week\" must be an ISO week like 2026-W05 (and exist)");
        week = *w;
    }
    const BoardRef board{week.key(), *channel, *gift};
    const auto settled = boards_->settled(board);
    if (!settled) return error(503, "the store is unavailable");
    if (*settled) return {200, {}, (*settled)->to_json(board)};
    const auto week_done = boards_->week_settled(board.week);
    if (!week_done) return error(503, "the store is unavailable");
    if (*week_done) {
        // The week is settled and this board counted nothing: no winner.
        return {200, {}, rank::Settlement{}.to_json(board)};
    }
    return error(404, "week " + board.week + " is not settled yet (it settles at Sunday 24:00 " +
                          timezone_ + ")");
}

std::unique_ptr<sdk::Plugin> make_rank_plugin() {
    return std::make_unique<RankPlugin>();
}

}  // namespace lp::plugins
