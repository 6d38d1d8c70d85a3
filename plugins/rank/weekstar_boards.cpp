// plugins/rank/weekstar_boards: see weekstar_boards.hpp.
#include "plugins/rank/weekstar_boards.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <limits>

namespace lp::plugins::rank {
namespace json = boost::json;

namespace {

// Compare-and-set rounds before an add gives up: only writers to the same member race, so a
// handful is plenty even for the hottest receiver.
constexpr int kCasAttempts = 64;
// Rounds of "write the zset, re-read the count" before leaving it to the next writer.
constexpr int kPublishAttempts = 16;
constexpr std::size_t kScanPage = 500;
// A key never written, read to tell "absent" from "store down" after a get() returned nothing.
const std::string kProbeKey = "weekstar:probe";

struct CountState {
    std::int64_t count = 0;
    std::int64_t slot = 0;  // in the week's packing's slots
};

std::optional<CountState> parse_state(const std::string& text) {
    const auto colon = text.find(':');
    if (colon == std::string::npos) return std::nullopt;
    CountState s;
    const char* b = text.data();
    const char* e = b + text.size();
    auto r1 = std::from_chars(b, b + colon, s.count);
    auto r2 = std::from_chars(b + colon + 1, e, s.slot);
    if (r1.ec != std::errc() || r1.ptr != b + colon || r2.ec != std::errc() || r2.ptr != e) {
        return std::nullopt;
    }
    return s;
}

std::string state_text(CountState s) {
    return std::to_string(s.count) + ":" + std::to_string(s.slot);
}

json::value entry_member(const std::optional<BoardEntry>& e) {
    return e ? json::value(e->member) : json::value(nullptr);
}

}  // namespace

std::string Settlement::to_json(const BoardRef& board) const {
    json::object o;
    o["week"] = board.week;
    o["channel_id"] = board.channel;
    o["gift_id"] = board.gift;
    o["winner"] = entry_member(winner);
    o["score"] = winner ? winner->count : 0;
    o["top_supporter"] = entry_member(top_supporter);
    o["top_supporter_score"] = top_supporter ? top_supporter->count : 0;
    o["settled_at_ms"] = settled_ms;
    return json::serialize(o);
}

std::optional<Settlement> Settlement::from_json(const std::string& text) {
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) return std::nullopt;
    const auto& o = v.as_object();
    auto count = [&](const char* field) -> std::int64_t {
        const auto* f = o.if_contains(field);
        return f && f->is_int64()
                   ? f->as_int64()
                   : (f && f->is_uint64() ? static_cast<std::int64_t>(f->as_uint64()) : 0);
    };
    Settlement s;
    if (const auto* w = o.if_contains("winner"); w && w->is_string()) {
        s.winner = BoardEntry{std::string(w->as_string()), count("score"), 1};
    }
    if (const auto* t = o.if_contains("top_supporter"); t && t->is_string()) {
        s.top_supporter = BoardEntry{std::string(t->as_string()), count("top_supporter_score"), 1};
    }
    s.settled_ms = count("settled_at_ms");
    return s;
}

std::optional<std::optional<std::string>> WeekstarBoards::read(const std::string& key) {
    if (auto v = store_.get(key)) return std::optional<std::string>(std::move(*v));
    if (!store_.scard(kProbeKey)) return std::nullopt;  // the store does not answer
    return std::optional<std::string>();
}

std::optional<Packing> WeekstarBoards::packing_of(const std::string& week) {
    std::lock_guard lock(fine_mu_);
    if (!fine_since_) {
        auto since = read(kFineSinceKey);
        if (!since) return std::nullopt;
        if (!*since) {
            // First upgraded node on this store: 10 ms from this week if nothing counted in it
            // yet (no old node can be mid-week on its boards), else from the next week.
            const IsoWeek now = current_week_();
            const auto counted = store_.scard("weekstar:boards:" + now.key());
            if (!counted) return std::nullopt;
            const std::string first = *counted == 0 ? now.key() : next_week(now).key();
            store_.set_if_absent(kFineSinceKey, first);  // another node may have won: re-read
            since = read(kFineSinceKey);
            if (!since || !*since) return std::nullopt;
        }
        // A value that is not a week (hand-edited) means 10 ms for every week.
        fine_since_ = parse_iso_week(**since) ? std::move(**since) : std::string();
    }
    // "YYYY-Www" compares as text in time order.
    return week >= *fine_since_ ? kTenMs : kSecond;
}

WeekstarBoards::AddResult WeekstarBoards::add(const std::string& zset_key,
                                              const std::string& count_key,
                                              const std::string& member, std::int64_t count,
                                              std::int64_t slot, const Packing& packing,
                                              std::chrono::milliseconds keep) {
    std::string state;
    bool fresh = false;
    bool applied = false;
    for (int i = 0; i < kCasAttempts && !applied; ++i) {
        const auto current = read(count_key);
        if (!current) return AddResult::failed;
        // A record that does not parse (hand-edited, or written by a future version) restarts
        // from zero rather than blocking the board.
        const auto old = *current ? parse_state(**current) : std::nullopt;
        fresh = !old;
        CountState next{count, slot};
        if (old) {
            next.count = old->count > std::numeric_limits<std::int64_t>::max() - count
                             ? std::numeric_limits<std::int64_t>::max()
                             : old->count + count;
            next.slot = std::max(old->slot, slot);  // the count is reached at the later gift
        }
        state = state_text(next);
        applied = store_.compare_and_set(count_key, *current, state, keep);
    }
    if (!applied) return AddResult::failed;
    if (!publish(zset_key, count_key, member, std::move(state), packing)) {
        return AddResult::count_only;
    }
    // The zset's TTL is refreshed when a member joins it: cheap, and the last member to join
    // is never older than its week.
    if (fresh) store_.expire(zset_key, keep);
    return AddResult::added;
}

bool WeekstarBoards::publish(const std::string& zset_key, const std::string& count_key,
                             const std::string& member, std::string state, const Packing& packing) {
    for (int i = 0; i < kPublishAttempts; ++i) {
        const auto s = parse_state(state);
        if (!s) return false;
        if (!store_.zadd(zset_key, member, static_cast<double>(packing.pack(s->count, s->slot)))) {
            return false;
        }
        // A writer that advanced the count after ours may have written its zset score before
        // ours landed: if the count moved on, write the newer state too. The last writer in
        // time always re-reads a count at least as new as every zadd before it.
        auto latest = store_.get(count_key);
        if (!latest || *latest == state) return true;
        state = std::move(*latest);
    }
    return true;
}

bool WeekstarBoards::republish(const std::string& zset_key, const std::string& count_key,
                               const std::string& member, const Packing& packing) {
    const auto current = read(count_key);
    if (!current) return false;
    if (!*current) return true;  // expired with its week: nothing to show
    return publish(zset_key, count_key, member, **current, packing);
}

bool WeekstarBoards::note_board(const BoardRef& b, std::chrono::milliseconds keep) {
    const std::string key = "weekstar:boards:" + b.week;
    if (!store_.sadd(key, {b.channel + ":" + b.gift})) return false;
    store_.expire(key, keep);
    return true;
}

std::optional<std::vector<BoardEntry>> WeekstarBoards::top(const std::string& zset_key,
                                                           std::size_t n, const Packing& packing) {
    if (n == 0) return std::vector<BoardEntry>{};
    const auto range = store_.zrevrange(zset_key, 0, static_cast<std::int64_t>(n) - 1);
    if (!range) return std::nullopt;
    std::vector<BoardEntry> out;
    out.reserve(range->size());
    for (const auto& [member, score] : *range) {
        out.push_back({member, packing.count_of(score_from_double(score)),
                       static_cast<std::int64_t>(out.size()) + 1});
    }
    return out;
}

std::optional<std::optional<BoardEntry>> WeekstarBoards::entry_of(const std::string& zset_key,
                                                                  const std::string& member,
                                                                  const Packing& packing) {
    const auto score = store_.zscore(zset_key, member);
    if (!score) {
        // Not a member, or the store is down: zrevrange of one element tells them apart.
        if (!store_.zrevrange(zset_key, 0, 0)) return std::nullopt;
        return std::optional<BoardEntry>();
    }
    const auto rank = store_.zrevrank(zset_key, member);
    if (!rank) return std::nullopt;
    return std::optional<BoardEntry>(
        BoardEntry{member, packing.count_of(score_from_double(*score)), *rank + 1});
}

std::optional<Settlement> WeekstarBoards::settle(const BoardRef& b, std::int64_t now_ms) {
    const auto key = settled_key(b);
    const auto existing = read(key);
    if (!existing) return std::nullopt;
    if (*existing) return Settlement::from_json(**existing);

    const auto packing = packing_of(b.week);
    if (!packing) return std::nullopt;
    Settlement s;
    s.settled_ms = now_ms;
    const auto winner = top(realtime_key(b), 1, *packing);
    if (!winner) return std::nullopt;
    if (!winner->empty()) {
        s.winner = winner->front();
        const auto supporter = top(supporters_key(b, s.winner->member), 1, *packing);
        if (!supporter) return std::nullopt;
        if (!supporter->empty()) s.top_supporter = supporter->front();
    }
    // First settlement wins: a second run (a re-run job, another node) keeps the first result.
    if (store_.set_if_absent(key, s.to_json(b))) return s;
    const auto again = read(key);
    if (!again || !*again) return std::nullopt;
    return Settlement::from_json(**again);
}

bool WeekstarBoards::settle_week(const std::string& week, std::int64_t now_ms) {
    // A settled week stays as it was settled: a late event that created a board after the
    // settlement (and scheduled this job again) does not add a winner afterwards.
    const auto done = week_settled(week);
    if (!done) return false;
    if (*done) return true;
    const std::string boards_key = "weekstar:boards:" + week;
    std::string cursor = "0";
    do {
        const auto page = store_.sscan(boards_key, cursor, kScanPage);
        if (!page) return false;
        for (const auto& channel_gift : page->second) {
            const auto colon = channel_gift.find(':');
            if (colon == std::string::npos) continue;
            BoardRef b{week, channel_gift.substr(0, colon), channel_gift.substr(colon + 1)};
            if (!settle(b, now_ms)) return false;
        }
        cursor = page->first;
    } while (cursor != "0");
    return store_.set("weekstar:settled_week:" + week, std::to_string(now_ms));
}

std::optional<std::optional<Settlement>> WeekstarBoards::settled(const BoardRef& b) {
    const auto text = read(settled_key(b));
    if (!text) return std::nullopt;
    if (!*text) return std::optional<Settlement>();
    auto s = Settlement::from_json(**text);
    if (!s) return std::nullopt;
    return std::optional<Settlement>(std::move(*s));
}

std::optional<bool> WeekstarBoards::week_settled(const std::string& week) {
    const auto text = read("weekstar:settled_week:" + week);
    if (!text) return std::nullopt;
    return text->has_value();
}

}  // namespace lp::plugins::rank
