// plugins/rank/channel_config: one channel's week-star settings and when each took effect.
//
// What it is for: a channel has up to 4 week-star gifts and a board switch per platform (web,
// app). The rules (domain.md): a channel's first gift list counts at once; a later change of the
// list counts from the next week, so a running week is never judged by two lists; the switches
// act at once. Keeping the lists with the week each starts in ("from_week") answers "which gifts
// count in week W" for any recent W, including a late event of last week after a change.
//
// What it owns: the rules and the text format (JSON). It never touches the store.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "plugins/rank/iso_week.hpp"

namespace lp::plugins::rank {

inline constexpr std::size_t kMaxWeekstarGifts = 4;
// Gift lists kept: enough to judge the weeks a board lives (keep_weeks) after several changes.
inline constexpr std::size_t kGiftListHistory = 16;

// A channel or gift id becomes part of store keys: 1..64 of [A-Za-z0-9_.-] (no ':'), given as
// a JSON string or a non-negative integer.
bool valid_token(std::string_view s);
std::optional<std::string> token_value(const boost::json::value& v);
// Where a channel's config lives in the store.
inline std::string config_key(const std::string& channel) {
    return "weekstar:config:" + channel;
}

struct GiftList {
    std::string from_week;  // "YYYY-Www": the first week it counts in
    std::vector<std::string> gifts;
};

struct ChannelConfig {
    std::string channel;
    std::vector<GiftList> gift_lists;  // ascending from_week
    bool web = true;
    bool app = true;
    std::int64_t updated_ms = 0;

    // The gifts that count in `week`; nullptr before the channel's first config.
    const std::vector<std::string>* gifts_for(const std::string& week) const;
    bool counts(const std::string& week, const std::string& gift) const;
    // The list scheduled to start after `current`, if any.
    const GiftList* pending_after(const std::string& current) const;

    // Applies one config request made during week `current`. Absent fields keep their value.
    // The first gift list counts from `current`; a different later one from the week after it
    // (replacing a change already waiting for that week; re-sending the list in force cancels a
    // waiting change).
    void update(const std::optional<std::vector<std::string>>& gifts, std::optional<bool> web,
                std::optional<bool> app, IsoWeek current, std::int64_t now_ms);

    std::string to_json() const;
    static std::optional<ChannelConfig> from_json(const std::string& text);
};

}  // namespace lp::plugins::rank
