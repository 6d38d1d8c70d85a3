// plugins/rank/rank_http: the rank plugin's HTTP API (see rank_plugin.hpp "Out: HTTP"):
// the channel config (POST/GET /v1/rank/weekstar/config), a board with my rank
// (GET /v1/rank/weekstar) and a settled week (GET /v1/rank/weekstar/settled). Split from
// rank_plugin.cpp, which keeps the events, the pushes and the settlement: requests only read
// boards (and write the channel config), they never count.
#include <algorithm>
#include <boost/json.hpp>
#include <string_view>

#include "plugins/rank/rank_plugin.hpp"
#include "plugins/sdk/json_ids.hpp"
#include "plugins/sdk/json_reply.hpp"

namespace lp::plugins {
namespace json = boost::json;
using rank::BoardRef;
using rank::ChannelConfig;
using rank::IsoWeek;

namespace {

constexpr std::string_view kRoutePrefix = "/v1/rank/";
constexpr std::size_t kDefaultLimit = 50;
constexpr std::size_t kMaxLimit = 500;
constexpr int kConfigCasAttempts = 16;

std::optional<std::string> query_token(const std::map<std::string, std::string>& q,
                                       const char* name, std::optional<sdk::Reply>& err) {
    auto it = q.find(name);
    if (it == q.end() || it->second.empty()) {
        err = sdk::json_error(400, std::string("query parameter \"") + name + "\" is required");
        return std::nullopt;
    }
    if (!rank::valid_token(it->second)) {
        err = sdk::json_error(
            400, std::string("\"") + name + "\" must be 1..64 characters of A-Z a-z 0-9 _ . -");
        return std::nullopt;
    }
    return it->second;
}

json::object entry_json(const rank::BoardEntry& e) {
    json::object o;
    o["user_id"] = e.member;
    o["score"] = e.count;
    o["rank"] = e.rank;
    return o;
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

sdk::Reply RankPlugin::on_http(const sdk::HttpRequest& req) {
    if (!running_) return sdk::json_error(503, "the rank plugin is not running");
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
    return sdk::json_error(404, "no such rank route: " + req.method + " " + req.path);
}

sdk::Reply RankPlugin::post_config(const std::string& body) {
    std::optional<sdk::Reply> err;
    auto obj = sdk::json_body_object(body, err);
    if (!obj) return *err;
    const auto* channel_v = obj->if_contains("channel_id");
    const auto channel = channel_v ? rank::token_value(*channel_v) : std::nullopt;
    if (!channel)
        return sdk::json_error(400,
                               "\"channel_id\" is required: 1..64 characters of A-Z a-z 0-9 _ . -");

    std::optional<std::vector<std::string>> gifts;
    if (const auto* g = obj->if_contains("gifts"); g && !g->is_null()) {
        if (!g->is_array()) return sdk::json_error(400, "\"gifts\" must be an array of gift ids");
        if (g->as_array().size() > rank::kMaxWeekstarGifts) {
            return sdk::json_error(400, "\"gifts\" holds " + std::to_string(g->as_array().size()) +
                                            " gifts; a channel has at most 4 week-star gifts");
        }
        gifts.emplace();
        for (const auto& v : g->as_array()) {
            auto id = rank::token_value(v);
            if (!id)
                return sdk::json_error(
                    400, "every gift id must be 1..64 characters of A-Z a-z 0-9 _ . -");
            if (std::find(gifts->begin(), gifts->end(), *id) != gifts->end()) {
                return sdk::json_error(400, "gift \"" + *id + "\" is listed twice");
            }
            gifts->push_back(std::move(*id));
        }
    }
    std::optional<bool> web, app;
    for (auto [name, out] : {std::pair{"web", &web}, std::pair{"app", &app}}) {
        if (const auto* v = obj->if_contains(name); v && !v->is_null()) {
            if (!v->is_bool())
                return sdk::json_error(400, std::string("\"") + name + "\" must be true or false");
            *out = v->as_bool();
        }
    }

    auto& store = *ctx_->store;
    const std::int64_t now = clock_();
    const IsoWeek week = calendar_.week_of(now);
    for (int attempt = 0; attempt < kConfigCasAttempts; ++attempt) {
        const auto current = boards_->read(rank::config_key(*channel));
        if (!current) return sdk::json_error(503, "the store is unavailable");
        std::optional<ChannelConfig> config;
        if (*current) config = ChannelConfig::from_json(**current);
        if (!config) {
            if (!gifts)
                return sdk::json_error(400, "\"gifts\" is required in a channel's first config");
            config = ChannelConfig{};
            config->channel = *channel;
        }
        config->update(gifts, web, app, week, now);
        if (store.compare_and_set(rank::config_key(*channel), *current, config->to_json())) {
            if (ctx_->metrics) ctx_->metrics->count("config_updates");
            return sdk::json_ok(config_view(*config, week.key()));
        }
    }
    return sdk::json_error(
        503, "the channel's config kept changing under this request, or the store failed; retry");
}

sdk::Reply RankPlugin::get_config(const std::map<std::string, std::string>& query) {
    std::optional<sdk::Reply> err;
    const auto channel = query_token(query, "channel", err);
    if (!channel) return *err;
    const auto config = load_config(*channel);
    if (!config) return sdk::json_error(503, "the store is unavailable");
    if (!*config) return sdk::json_error(404, "channel " + *channel + " has no week-star config");
    return sdk::json_ok(config_view(**config, calendar_.week_of(clock_()).key()));
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
        if (!w)
            return sdk::json_error(400, "\"week\" must be an ISO week like 2026-W05 (and exist)");
        week = *w;
    }
    std::size_t limit = kDefaultLimit;
    if (auto it = query.find("limit"); it != query.end()) {
        const auto n = sdk::decimal_u64(it->second);
        if (!n || *n == 0 || *n > kMaxLimit)
            return sdk::json_error(400, "\"limit\" must be 1..500");
        limit = *n;
    }
    std::optional<std::uint64_t> user;
    if (auto it = query.find("user"); it != query.end()) {
        user = sdk::decimal_u64(it->second);
        if (!user || *user == 0)
            return sdk::json_error(400, "\"user\" must be a positive integer id");
    }
    if (auto it = query.find("platform"); it != query.end()) {
        const std::string& platform = it->second;
        if (platform != "web" && platform != "app")
            return sdk::json_error(400, "\"platform\" must be web or app");
        const auto config = load_config(*channel);
        if (!config) return sdk::json_error(503, "the store is unavailable");
        if (*config && !(platform == "web" ? (*config)->web : (*config)->app)) {
            return sdk::json_error(403, "the week-star board of channel " + *channel +
                                            " is switched off for " + platform);
        }
    }

    const BoardRef board{week.key(), *channel, *gift};
    const auto key = rank::WeekstarBoards::realtime_key(board);
    const auto packing = boards_->packing_of(board.week);
    if (!packing) return sdk::json_error(503, "the store is unavailable");
    const auto entries = boards_->top(key, limit, *packing);
    if (!entries) return sdk::json_error(503, "the store is unavailable");
    json::object out;
    out["week"] = board.week;
    out["channel_id"] = board.channel;
    out["gift_id"] = board.gift;
    json::array list;
    for (const auto& e : *entries) list.push_back(entry_json(e));
    out["entries"] = std::move(list);
    if (user) {
        const auto me = boards_->entry_of(key, std::to_string(*user), *packing);
        if (!me) return sdk::json_error(503, "the store is unavailable");
        json::object m;
        m["user_id"] = std::to_string(*user);
        // Not on the board: rank null, score 0.
        m["rank"] = *me ? json::value((*me)->rank) : json::value(nullptr);
        m["score"] = *me ? (*me)->count : 0;
        out["me"] = std::move(m);
    }
    return sdk::json_ok(out);
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
        if (!w)
            return sdk::json_error(400, "\"week\" must be an ISO week like 2026-W05 (and exist)");
        week = *w;
    }
    const BoardRef board{week.key(), *channel, *gift};
    const auto settled = boards_->settled(board);
    if (!settled) return sdk::json_error(503, "the store is unavailable");
    if (*settled) return {200, {}, (*settled)->to_json(board)};
    const auto week_done = boards_->week_settled(board.week);
    if (!week_done) return sdk::json_error(503, "the store is unavailable");
    if (*week_done) {
        // The week is settled and this board counted nothing: no winner.
        return {200, {}, rank::Settlement{}.to_json(board)};
    }
    return sdk::json_error(404, "week " + board.week +
                                    " is not settled yet (it settles at Sunday 24:00 " + timezone_ +
                                    ")");
}

}  // namespace lp::plugins
