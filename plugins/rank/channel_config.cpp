// plugins/rank/channel_config: see channel_config.hpp.
#include "plugins/rank/channel_config.hpp"

#include <algorithm>
#include <boost/json.hpp>

namespace lp::plugins::rank {
namespace json = boost::json;

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

const std::vector<std::string>* ChannelConfig::gifts_for(const std::string& week) const {
    const GiftList* found = nullptr;
    for (const auto& list : gift_lists) {
        if (list.from_week <= week) found = &list;  // "YYYY-Www" sorts as the weeks do
    }
    return found ? &found->gifts : nullptr;
}

bool ChannelConfig::counts(const std::string& week, const std::string& gift) const {
    const auto* gifts = gifts_for(week);
    return gifts && std::find(gifts->begin(), gifts->end(), gift) != gifts->end();
}

const GiftList* ChannelConfig::pending_after(const std::string& current) const {
    return !gift_lists.empty() && gift_lists.back().from_week > current ? &gift_lists.back()
                                                                        : nullptr;
}

void ChannelConfig::update(const std::optional<std::vector<std::string>>& gifts,
                           std::optional<bool> new_web, std::optional<bool> new_app,
                           IsoWeek current, std::int64_t now_ms) {
    const std::string now_week = current.key();
    if (gifts) {
        const auto* found = gifts_for(now_week);
        const std::optional<std::vector<std::string>> in_force =
            found ? std::optional(*found) : std::nullopt;
        // Whatever was waiting for a later week is superseded by this request.
        std::erase_if(gift_lists, [&](const GiftList& l) { return l.from_week > now_week; });
        if (!in_force) {
            gift_lists.push_back({now_week, *gifts});  // the first list: at once
        } else if (*in_force != *gifts) {
            gift_lists.push_back({next_week(current).key(), *gifts});
        }
        if (gift_lists.size() > kGiftListHistory) {
            gift_lists.erase(gift_lists.begin(),
                             gift_lists.begin() +
                                 static_cast<std::ptrdiff_t>(gift_lists.size() - kGiftListHistory));
        }
    }
    if (new_web) web = *new_web;
    if (new_app) app = *new_app;
    updated_ms = now_ms;
}

std::string ChannelConfig::to_json() const {
    json::object o;
    o["channel_id"] = channel;
    json::array lists;
    for (const auto& l : gift_lists) {
        json::array g;
        for (const auto& gift : l.gifts) g.emplace_back(gift);
        lists.emplace_back(json::object{{"from_week", l.from_week}, {"gifts", std::move(g)}});
    }
    o["gift_lists"] = std::move(lists);
    o["web"] = web;
    o["app"] = app;
    o["updated_ms"] = updated_ms;
    return json::serialize(o);
}

std::optional<ChannelConfig> ChannelConfig::from_json(const std::string& text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    ChannelConfig c;
    const auto* channel = o.if_contains("channel_id");
    const auto* lists = o.if_contains("gift_lists");
    if (!channel || !channel->is_string() || !lists || !lists->is_array()) return std::nullopt;
    c.channel = std::string(channel->as_string());
    for (const auto& l : lists->as_array()) {
        if (!l.is_object()) return std::nullopt;
        const auto* from = l.as_object().if_contains("from_week");
        const auto* gifts = l.as_object().if_contains("gifts");
        if (!from || !from->is_string() || !gifts || !gifts->is_array()) return std::nullopt;
        GiftList list{std::string(from->as_string()), {}};
        for (const auto& g : gifts->as_array()) {
            if (!g.is_string()) return std::nullopt;
            list.gifts.emplace_back(g.as_string());
        }
        c.gift_lists.push_back(std::move(list));
    }
    if (const auto* w = o.if_contains("web"); w && w->is_bool()) c.web = w->as_bool();
    if (const auto* a = o.if_contains("app"); a && a->is_bool()) c.app = a->as_bool();
    if (const auto* u = o.if_contains("updated_ms"); u && u->is_int64())
        c.updated_ms = u->as_int64();
    return c;
}

}  // namespace lp::plugins::rank
