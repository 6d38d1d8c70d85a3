// load-test/live_room_receiver: see live_room_receiver.hpp.
#include "load-test/live_room_receiver.hpp"

#include <algorithm>

#include "load-test/gift_events.hpp"

namespace lp::load {
namespace {

// The number after `"text":"c` in a room.chat payload ({"from":"U","text":"c<n> ...",...}).
std::optional<std::uint32_t> own_number(std::string_view payload) noexcept {
    constexpr std::string_view key = "\"text\":\"c";
    std::size_t at = payload.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    std::size_t i = at + key.size();
    std::uint64_t n = 0;
    std::size_t digits = 0;
    // Bounded: at most 10 digits.
    for (; i < payload.size() && digits < 10 && payload[i] >= '0' && payload[i] <= '9'; ++i) {
        n = n * 10 + std::uint64_t(payload[i] - '0');
        ++digits;
    }
    if (digits == 0 || n > kSeqNumberMask) return std::nullopt;
    return static_cast<std::uint32_t>(n);
}

}  // namespace

MsgClass class_of_type(std::string_view type) noexcept {
    if (type == "room.chat") return MsgClass::Normal;
    if (type == "gift.effect" || type == "room.state" || type == "pk.score") return MsgClass::High;
    if (type == "room.likes") return MsgClass::Low;
    if (type == "room.notice") return MsgClass::Critical;
    return MsgClass::Other;
}

const char* name_of(MsgClass c) noexcept {
    switch (c) {
        case MsgClass::Critical:
            return "critical";
        case MsgClass::High:
            return "high";
        case MsgClass::Normal:
            return "normal";
        case MsgClass::Low:
            return "low";
        default:
            return "other";
    }
}

void LiveRoomReceiver::prepare(const LiveRoomCheckOptions& options,
                               std::vector<std::uint64_t> users) {
    opts_ = options;
    if (opts_.latency_sample == 0) opts_.latency_sample = 1;
    users_ = std::move(users);
    viewers.assign(users_.size(), LiveViewer{});
    words_ = opts_.gifts ? (opts_.gifts->size() + 63) / 64 : 0;
    gift_bits_.assign(users_.size() * words_, 0);
}

void LiveRoomReceiver::on_push(std::uint32_t conn, const PushFields& f, std::int64_t now_ns,
                               std::int64_t wall_ns) {
    LiveViewer& v = viewers[conn];
    const MsgClass c = class_of_type(f.type);
    ++v.by_class[static_cast<std::size_t>(c)];
    if (f.type == "gift.effect") {
        on_gift(v, conn, f, now_ns);
    } else if (c == MsgClass::Normal) {
        on_chat(v, conn, f, wall_ns);
    } else if (c == MsgClass::Low && f.type == "room.likes") {
        on_likes(v, f);
    }
}

void LiveRoomReceiver::on_gift(LiveViewer& v, std::uint32_t conn, const PushFields& f,
                               std::int64_t now_ns) {
    const auto gift = json_uint_after(f.payload, "\"live_gift\"");
    const auto run = json_uint_after(f.payload, "\"run\"");
    if (!opts_.gifts || !gift || !run || *run != opts_.gifts->run_id() ||
        *gift >= opts_.gifts->size()) {
        ++gifts_foreign;
        return;
    }
    std::uint64_t& word = gift_bits_[std::size_t(conn) * words_ + *gift / 64];
    const std::uint64_t bit = std::uint64_t(1) << (*gift % 64);
    if (word & bit) {
        ++v.gift_duplicates;
        return;
    }
    word |= bit;
    ++v.gifts_seen;
    const std::int64_t sent = opts_.gifts->sent_ns(*gift);
    if (sent == 0) {
        ++gifts_unstamped;
        return;
    }
    high_latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, now_ns - sent)));
}

void LiveRoomReceiver::on_chat(LiveViewer& v, std::uint32_t conn, const PushFields& f,
                               std::int64_t wall_ns) {
    if (f.sent_at_ms != 0 && wall_ns != 0 && ++latency_countdown_ >= opts_.latency_sample) {
        latency_countdown_ = 0;
        const std::int64_t latency = wall_ns - std::int64_t(f.sent_at_ms) * 1000000;
        normal_latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency)));
    }
    if (v.own_sent == 0) return;  // not a sender: nothing of its own to find
    const auto from = json_uint_after(f.payload, "\"from\"");
    if (!from || *from != users_[conn]) return;
    const auto n = own_number(f.payload);
    if (!n) return;
    if (*n < v.own_next) {
        ++v.own_out_of_order;  // a repeat, or one overtaken by a later one
        return;
    }
    ++v.own_seen;
    v.own_next = *n + 1;
}

void LiveRoomReceiver::on_likes(LiveViewer& v, const PushFields& f) {
    const auto total = json_uint_after(f.payload, "\"total\"");
    if (!total) return;
    const auto delta = json_uint_after(f.payload, "\"delta\"");
    ++v.likes_pushes;
    if (v.likes_base == UINT64_MAX) {
        v.likes_base = delta && *delta <= *total ? *total - *delta : *total;
    } else if (*total < v.likes_last_total) {
        ++v.likes_regressions;
        return;  // the last total stays the highest seen
    }
    v.likes_last_total = *total;
}

void LiveRoomReceiver::on_chat_result(std::uint32_t conn, std::uint32_t,
                                      std::int32_t code) noexcept {
    ++chat_answers;
    if (code == 0) {
        ++chat_accepted;
        ++viewers[conn].own_accepted;
    } else if (code == kRateLimited) {
        ++chat_rate_limited;
    } else {
        ++chat_refused;
        if (chat_first_refusal == 0) chat_first_refusal = code;
    }
}

void LiveRoomReceiver::on_like_result(std::uint32_t m, std::int32_t code) noexcept {
    ++like_answers;
    if (code == 0) {
        ++likes_accepted;
        like_count_accepted += like_count_of(m);
    } else if (code == kUnknownBizType) {
        ++likes_unsupported;
    } else {
        ++likes_refused;
        if (like_first_refusal == 0) like_first_refusal = code;
    }
}

LiveRoomSummary summarize(const std::vector<const LiveRoomReceiver*>& shards,
                          std::uint64_t gifts_accepted, std::uint64_t like_count_accepted) {
    LiveRoomSummary s;
    s.gifts_accepted = gifts_accepted;
    std::array<std::vector<std::uint32_t>, kMsgClasses> counts;
    // The room's total before the run: the lowest base any viewer saw (a viewer whose first
    // likes push was shed sees a later one first, with a higher base).
    std::uint64_t base = UINT64_MAX;
    for (const LiveRoomReceiver* r : shards) {
        for (const LiveViewer& v : r->viewers) {
            if (v.likes_pushes) base = std::min(base, v.likes_base);
        }
    }
    s.likes_base = base == UINT64_MAX ? 0 : base;
    s.likes_expected = s.likes_base + like_count_accepted;
    s.likes_last_min = UINT64_MAX;
    for (const LiveRoomReceiver* r : shards) {
        for (const LiveViewer& v : r->viewers) {
            ++s.viewers;
            for (std::size_t c = 0; c < kMsgClasses; ++c) {
                counts[c].push_back(v.by_class[c]);
                s.sum[c] += v.by_class[c];
            }
            if (v.gifts_seen < gifts_accepted) {
                s.gifts_lost += gifts_accepted - v.gifts_seen;
                ++s.viewers_missing_gifts;
            }
            s.gift_duplicates += v.gift_duplicates;
            if (v.own_sent) {
                ++s.senders;
                s.own_sent += v.own_sent;
                s.own_accepted += v.own_accepted;
                s.own_seen += v.own_seen;
                s.own_out_of_order += v.own_out_of_order;
                if (v.own_seen < v.own_accepted) {
                    s.own_missing += v.own_accepted - v.own_seen;
                    ++s.senders_missing_own;
                }
            }
            s.likes_regressions += v.likes_regressions;
            if (v.likes_pushes == 0) continue;
            ++s.viewers_with_likes;
            s.likes_last_min = std::min(s.likes_last_min, v.likes_last_total);
            s.likes_last_max = std::max(s.likes_last_max, v.likes_last_total);
            if (v.likes_last_total == s.likes_expected)
                ++s.viewers_at_expected;
            else if (v.likes_last_total < s.likes_expected)
                ++s.viewers_below_expected;
            else
                ++s.viewers_above_expected;
        }
    }
    if (s.viewers_with_likes == 0) s.likes_last_min = 0;
    for (std::size_t c = 0; c < kMsgClasses; ++c) {
        std::vector<std::uint32_t>& v = counts[c];
        if (v.empty()) continue;
        std::sort(v.begin(), v.end());
        s.min[c] = v.front();
        s.max[c] = v.back();
        s.median[c] = v[v.size() / 2];
    }
    return s;
}

}  // namespace lp::load
