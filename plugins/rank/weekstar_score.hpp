// plugins/rank/weekstar_score: a gift count and the time it was reached, packed into one exact
// sorted-set score so that equal counts rank by who reached them first (domain.md, week-star).
//
//   score = count * F + (F - 1 - slot)
//
// slot is the time slot of the week in which the count was reached (0 = Monday 00:00 local),
// F a power of ten above the number of slots in a week, so the low decimal digits hold
// F - 1 - slot: an earlier slot leaves a larger remainder and ranks higher among equal counts,
// and a larger count always wins because the remainder never reaches F. Decimal, not bits, so
// that a score read in redis-cli shows the count in its leading digits.
//
// Two packings (the week decides which one its boards use: weekstar_boards.hpp, "Packing"):
//   kTenMs  (current):  slot = 10 ms, 60,480,000 slots a week, F = 10^8.
//   kSecond (legacy):   slot = 1 s,  604,800 slots a week,    F = 10^6 (boards written before
//                       the upgrade to 10 ms; kept so a week in progress stays readable).
//
// The bound: a double holds every integer up to 2^53 - 1 = 9,007,199,254,740,991 exactly. The
// largest score is count * F + F - 1 (slot 0), so count <= max_count = (2^53 - 1 - (F - 1)) / F:
//   kTenMs:  90,071,991 (about 9.0e7 gifts of one kind to one receiver in one week: at the
//            reference platform's 500 gift events/s per node, each of count 1, 50 hours of
//            every gift a node sees going to one receiver);
//   kSecond: 9,007,199,253.
// One more would not fit at slot 0. Counts above it saturate at max_count (the exact count is
// still kept beside the board, and the board still shows max_count). Why 10^8 and not the
// tighter 60,480,000 (which would allow 148,928,571): the count stays readable in the leading
// digits, for 1.6x less headroom. Why not 1 ms: F = 10^9 leaves only 9,007,198.
// The static_asserts below and tests/plugins/weekstar_score_test.cpp check the bounds at their
// extremes, through a double and through the text Redis's ZSCORE answers.
//
// Resolution: 10 ms. Two receivers that reach the same count in the same 10 ms slot have the
// same score; the store then orders them by member bytes (Redis's rule for equal scores).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace lp::plugins::rank {

inline constexpr std::int64_t kExactLimit = (std::int64_t{1} << 53) - 1;  // 9,007,199,254,740,991
inline constexpr std::int64_t kMsPerScoreWeek = 7LL * 24 * 3600 * 1000;   // 604,800,000

struct Packing {
    std::int64_t ms_per_slot;  // 10 or 1000
    std::int64_t field;        // F: a power of ten above the slots of a week
    int version;               // 2 (10 ms) or 1 (seconds), as docs and logs name them

    constexpr std::int64_t week_slots() const { return kMsPerScoreWeek / ms_per_slot; }
    constexpr std::int64_t max_count() const { return (kExactLimit - (field - 1)) / field; }
    // The slot of a time given in ms since the week's start, clamped into the week.
    constexpr std::int64_t slot_of_ms(std::int64_t ms_into_week) const {
        return std::clamp<std::int64_t>(ms_into_week, 0, kMsPerScoreWeek - 1) / ms_per_slot;
    }
    constexpr std::int64_t pack(std::int64_t count, std::int64_t slot) const {
        count = std::clamp<std::int64_t>(count, 0, max_count());
        slot = std::clamp<std::int64_t>(slot, 0, week_slots() - 1);
        return count * field + (field - 1 - slot);
    }
    constexpr std::int64_t count_of(std::int64_t score) const { return score / field; }
    constexpr std::int64_t slot_of(std::int64_t score) const { return field - 1 - score % field; }
};

inline constexpr Packing kTenMs{10, 100'000'000, 2};
inline constexpr Packing kSecond{1000, 1'000'000, 1};

static_assert(kTenMs.week_slots() == 60'480'000 && kTenMs.week_slots() <= kTenMs.field,
              "a week's 10 ms slots fit in the low eight digits");
static_assert(kSecond.week_slots() == 604'800 && kSecond.week_slots() <= kSecond.field);
static_assert(kTenMs.max_count() == 90'071'991);
static_assert(kSecond.max_count() == 9'007'199'253);
static_assert(kTenMs.pack(kTenMs.max_count(), 0) == 9'007'199'199'999'999);
static_assert(kTenMs.pack(kTenMs.max_count(), 0) <= kExactLimit, "the largest score is exact");
static_assert((kTenMs.max_count() + 1) * kTenMs.field + (kTenMs.field - 1) > kExactLimit,
              "and the bound is tight");
static_assert(kSecond.pack(kSecond.max_count(), 0) <= kExactLimit);
static_assert((kSecond.max_count() + 1) * kSecond.field + (kSecond.field - 1) > kExactLimit);
static_assert(kTenMs.slot_of_ms(50) == 5 && kTenMs.slot_of_ms(kMsPerScoreWeek) == 60'479'999);

// A score as the store returns it (a double holding an exact integer).
inline std::int64_t score_from_double(double score) {
    return static_cast<std::int64_t>(std::llround(score));
}

}  // namespace lp::plugins::rank
