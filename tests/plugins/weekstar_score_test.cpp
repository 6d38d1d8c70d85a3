// tests/plugins/weekstar_score_test: the week-star score packings and the upgrade between them.
//   - kTenMs (10 ms slots, F = 10^8) and the legacy kSecond (1 s, F = 10^6): the largest score
//     is an exact double, survives the text Redis's ZSCORE answers, and one more count would not
//     fit; ties go to the earlier slot at the extremes; 50 ms apart orders, one slot ties.
//   - WeekstarBoards on the host's real MemoryStore: which packing a week gets (fine_since), a
//     week in progress at upgrade time shared by an old node and a new one, and what an old
//     node still running in a 10 ms week does (weekstar_boards.hpp, "Packing").
// (The plugin end to end: rank_test.cpp; Redis itself: plugin_cluster_test.cpp.)
#include "plugins/rank/weekstar_score.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <vector>

#include "plugins/host/memory_store.hpp"
#include "plugins/rank/iso_week.hpp"
#include "plugins/rank/weekstar_boards.hpp"

namespace lp::plugins {
namespace {

using namespace lp::plugins::rank;
using namespace std::chrono_literals;

constexpr std::int64_t kTwo53 = std::int64_t{1} << 53;

// What Redis 7.0 answers to ZSCORE for a score (addReplyDouble: "%.17g"), and the shortest
// round-trip text later versions (fpconv_dtoa) may answer; parsed back as a client does.
std::string redis_text_17g(double d) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.17g", d);
    return buf;
}
std::string shortest_text(double d) {
    char buf[64];
    auto r = std::to_chars(buf, buf + sizeof buf, d);
    return std::string(buf, r.ptr);
}
double parse(const std::string& text) {
    return std::strtod(text.c_str(), nullptr);
}

// ---------------------------------------------------------------- the packings

TEST(WeekstarScoreTest, TheLargestTenMsScoreIsExactThroughADoubleAndZscoreText) {
    EXPECT_EQ(kTenMs.week_slots(), 60'480'000);
    EXPECT_EQ(kTenMs.max_count(), 90'071'991);
    const std::int64_t top = kTenMs.pack(kTenMs.max_count(), 0);
    EXPECT_EQ(top, 9'007'199'199'999'999);
    EXPECT_LT(top, kTwo53);
    // One more count at slot 0 would pass 2^53 - 1: the bound is tight.
    EXPECT_GT((kTenMs.max_count() + 1) * kTenMs.field + (kTenMs.field - 1), kTwo53 - 1);
    // Past 2^53 doubles stop being exact (why the bound matters).
    EXPECT_EQ(static_cast<double>(kTwo53), static_cast<double>(kTwo53 + 1));

    const double d = static_cast<double>(top);
    EXPECT_EQ(static_cast<std::int64_t>(d), top);
    EXPECT_EQ(redis_text_17g(d), "9007199199999999") << "the count shows in the leading digits";
    EXPECT_EQ(score_from_double(parse(redis_text_17g(d))), top);
    EXPECT_EQ(score_from_double(parse(shortest_text(d))), top);
    EXPECT_EQ(kTenMs.count_of(score_from_double(parse(redis_text_17g(d)))), 90'071'991);
    EXPECT_EQ(kTenMs.slot_of(score_from_double(parse(redis_text_17g(d)))), 0);
}

TEST(WeekstarScoreTest, EveryExtremeRoundTripsInBothPackings) {
    for (const Packing& p : {kTenMs, kSecond}) {
        const std::int64_t last = p.week_slots() - 1;
        for (std::int64_t count :
             {std::int64_t{0}, std::int64_t{1}, p.max_count() - 1, p.max_count()}) {
            for (std::int64_t slot : {std::int64_t{0}, std::int64_t{1}, last - 1, last}) {
                const std::int64_t packed = p.pack(count, slot);
                ASSERT_LT(packed, kTwo53);
                const double back = parse(redis_text_17g(static_cast<double>(packed)));
                EXPECT_EQ(score_from_double(back), packed)
                    << p.version << ":" << count << "@" << slot;
                EXPECT_EQ(p.count_of(score_from_double(back)), count);
                EXPECT_EQ(p.slot_of(score_from_double(back)), slot);
            }
        }
    }
    EXPECT_EQ(kSecond.pack(kSecond.max_count(), 0), 9'007'199'253'999'999);
}

TEST(WeekstarScoreTest, TiesGoToTheEarlierSlotEvenAtTheExtremes) {
    auto d = [](std::int64_t count, std::int64_t slot) {
        return static_cast<double>(kTenMs.pack(count, slot));
    };
    const std::int64_t last = kTenMs.week_slots() - 1;
    for (std::int64_t count : {std::int64_t{1}, kTenMs.max_count()}) {
        EXPECT_GT(d(count, 0), d(count, 1));
        EXPECT_GT(d(count, last - 1), d(count, last));
        EXPECT_GT(d(count, 0), d(count, last));
    }
    // A higher count always wins, even reached at the week's last slot against the first.
    EXPECT_GT(d(kTenMs.max_count(), last), d(kTenMs.max_count() - 1, 0));
    EXPECT_GT(d(2, last), d(1, 0));
    // Counts beyond the bound saturate instead of overflowing into inexact doubles.
    EXPECT_EQ(kTenMs.pack(kTenMs.max_count() + 1000, 5), kTenMs.pack(kTenMs.max_count(), 5));
    EXPECT_LT(kTenMs.pack(std::numeric_limits<std::int64_t>::max(), 0), kTwo53);
}

TEST(WeekstarScoreTest, FiftyMsApartIsTwoSlotsApartAndOneSlotIsTenMs) {
    // ms into the week -> slot: 50 ms apart are 5 slots apart, in the same second.
    EXPECT_EQ(kTenMs.slot_of_ms(7'000), 700);
    EXPECT_EQ(kTenMs.slot_of_ms(7'050), 705);
    EXPECT_GT(kTenMs.pack(3, kTenMs.slot_of_ms(7'000)), kTenMs.pack(3, kTenMs.slot_of_ms(7'050)));
    EXPECT_EQ(kTenMs.slot_of_ms(7'009), 700);  // one slot: a tie
    EXPECT_EQ(kTenMs.slot_of_ms(7'010), 701);
    // The legacy packing could not tell them apart.
    EXPECT_EQ(kSecond.pack(3, kSecond.slot_of_ms(7'000)),
              kSecond.pack(3, kSecond.slot_of_ms(7'050)));
    // Times outside the week clamp into it.
    EXPECT_EQ(kTenMs.slot_of_ms(-5), 0);
    EXPECT_EQ(kTenMs.slot_of_ms(kMsPerScoreWeek + 5), kTenMs.week_slots() - 1);
}

// ---------------------------------------------------------------- the upgrade

const IsoWeek kW10{2026, 10};
const IsoWeek kW11{2026, 11};

// A node before the upgrade, as it wrote a board: "count:second" and kSecond scores.
void old_node_add(sdk::Store& store, const BoardRef& b, const std::string& member,
                  std::int64_t count, std::int64_t second) {
    store.sadd("weekstar:boards:" + b.week, {b.channel + ":" + b.gift});
    const auto key = WeekstarBoards::count_key(b, member);
    for (;;) {
        const auto current = store.get(key);
        std::int64_t c = count, s = second;
        if (current) {
            const auto colon = current->find(':');
            c += std::int64_t{std::atoll(current->substr(0, colon).c_str())};
            s = std::max<std::int64_t>(s, std::atoll(current->substr(colon + 1).c_str()));
        }
        const std::string next = std::to_string(c) + ":" + std::to_string(s);
        if (store.compare_and_set(key, current, next, 1h)) {
            store.zadd(WeekstarBoards::realtime_key(b), member,
                       static_cast<double>(kSecond.pack(c, s)));
            return;
        }
    }
}

std::vector<std::pair<std::string, std::int64_t>> board_of(WeekstarBoards& boards,
                                                           const BoardRef& b) {
    const auto p = boards.packing_of(b.week);
    EXPECT_TRUE(p);
    std::vector<std::pair<std::string, std::int64_t>> out;
    const auto top = boards.top(WeekstarBoards::realtime_key(b), 10, *p);
    EXPECT_TRUE(top);
    for (const auto& e : *top) out.emplace_back(e.member, e.count);
    return out;
}
using Board = std::vector<std::pair<std::string, std::int64_t>>;

TEST(WeekstarPackingTest, AFreshStorePacksTheCurrentWeekAtTenMs) {
    MemoryStore store("plugin:rank:");
    WeekstarBoards boards(store, [] { return kW10; });
    EXPECT_EQ(boards.packing_of(kW10.key())->version, 2);
    EXPECT_EQ(boards.packing_of(kW11.key())->version, 2);
    EXPECT_EQ(boards.packing_of("2026-W09")->version, 1) << "weeks before fine_since: seconds";
    EXPECT_EQ(*store.get(WeekstarBoards::kFineSinceKey), "2026-W10");
    // Decided once per store: a node whose clock says W11 reads W10.
    WeekstarBoards later(store, [] { return kW11; });
    EXPECT_EQ(later.packing_of(kW10.key())->version, 2);
}

TEST(WeekstarPackingTest, AWeekInProgressAtTheUpgradeStaysInSecondsWhileOldAndNewNodesShareIt) {
    MemoryStore store("plugin:rank:");
    const BoardRef b{kW10.key(), "music", "rose"};
    // Before the upgrade, old nodes counted this week: 1 reached 5 at second 100.
    old_node_add(store, b, "1", 5, 100);
    // The first upgraded node starts mid-week: 10 ms from next week on.
    WeekstarBoards boards(store, [] { return kW10; });
    const auto p = boards.packing_of(b.week);
    ASSERT_TRUE(p);
    EXPECT_EQ(p->version, 1);
    EXPECT_EQ(*store.get(WeekstarBoards::kFineSinceKey), "2026-W11");
    EXPECT_EQ(boards.packing_of(kW11.key())->version, 2);

    // The rolling upgrade: the new node and an old node write the same board, interleaved.
    const auto add = [&](const std::string& member, std::int64_t count, std::int64_t ms) {
        ASSERT_EQ(boards.add(WeekstarBoards::realtime_key(b), WeekstarBoards::count_key(b, member),
                             member, count, p->slot_of_ms(ms), *p, 1h),
                  WeekstarBoards::AddResult::added);
    };
    add("2", 5, 50'250);                  // 2 reaches 5 at second 50: ahead of 1
    old_node_add(store, b, "1", 1, 200);  // 1: 6 at second 200
    add("1", 1, 300'700);                 // 1: 7 at second 300 (new node, in seconds)
    old_node_add(store, b, "2", 2, 250);  // 2: 7 at second 250: reached 7 first
    EXPECT_EQ(board_of(boards, b), (Board{{"2", 7}, {"1", 7}}));
    EXPECT_EQ(*store.get(WeekstarBoards::count_key(b, "1")), "7:300") << "old nodes read it";
    EXPECT_EQ(*store.get(WeekstarBoards::count_key(b, "2")), "7:250");
    // Every score is the old packing: an old node reading the board sees the same.
    EXPECT_EQ(score_from_double(*store.zscore(WeekstarBoards::realtime_key(b), "1")),
              kSecond.pack(7, 300));
}

TEST(WeekstarPackingTest, AnOldNodeStillRunningInATenMsWeekKeepsCountsExactAndOrderHeals) {
    MemoryStore store("plugin:rank:");
    WeekstarBoards boards(store, [] { return kW10; });
    const BoardRef b{kW10.key(), "music", "rose"};
    const auto p = *boards.packing_of(b.week);
    ASSERT_EQ(p.version, 2);
    const auto add = [&](const std::string& member, std::int64_t count, std::int64_t ms) {
        ASSERT_EQ(boards.add(WeekstarBoards::realtime_key(b), WeekstarBoards::count_key(b, member),
                             member, count, p.slot_of_ms(ms), p, 1h),
                  WeekstarBoards::AddResult::added);
    };
    add("1", 3, 7'000);
    add("2", 3, 7'050);
    EXPECT_EQ(board_of(boards, b), (Board{{"1", 3}, {"2", 3}}));
    // A straggler of the old version counts 2 more for "1" at second 9: the count key stays
    // exact (it reads "3:700" as count 3, slot 700), but its seconds-packed score sinks "1".
    old_node_add(store, b, "1", 2, 9);
    EXPECT_EQ(*store.get(WeekstarBoards::count_key(b, "1")), "5:700");
    EXPECT_EQ(board_of(boards, b), (Board{{"2", 3}, {"1", 0}}))
        << "documented: below its count until a new node counts it again";
    // The next gift through an upgraded node rewrites the score from the exact count.
    add("1", 1, 9'500);
    EXPECT_EQ(board_of(boards, b), (Board{{"1", 6}, {"2", 3}}));
    EXPECT_EQ(*store.get(WeekstarBoards::count_key(b, "1")), "6:950");
}

}  // namespace
}  // namespace lp::plugins
