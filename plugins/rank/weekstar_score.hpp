// plugins/rank/weekstar_score: a gift count and the time it was reached, packed into one exact
// sorted-set score so that equal counts rank by who reached them first (domain.md, week-star).
//
//   score = count * 10^6 + (999,999 - t)
//
// t is the second of the week the count was reached (0 = Monday 00:00:00 local, at most
// 604,799 = Sunday 23:59:59), so the low six decimal digits hold 999,999 - t, which is in
// [395,200, 999,999]: an earlier t leaves a larger remainder and ranks higher among equal
// counts, and a larger count always wins because the remainder never reaches 10^6. Decimal,
// not bits, so that a score read in redis-cli shows the count in its leading digits.
//
// The bound: a double holds every integer up to 2^53 - 1 = 9,007,199,254,740,991 exactly. The
// largest score is count * 10^6 + 999,999 (t = 0), so count <= kMaxCount =
// (2^53 - 1 - 999,999) / 10^6 = 9,007,199,253 (about 9.0e9 gifts of one kind to one receiver
// in one week). One more would not fit for t = 0. Counts above it saturate at kMaxCount (the
// exact count is still kept beside the board); the static_asserts below and
// tests/plugins/rank_test.cpp check the bound at its extremes.
//
// Resolution: one second. Two receivers that reach the same count in the same second have the
// same score; the store then orders them by member bytes (Redis's rule for equal scores).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>

namespace lp::plugins::rank {

inline constexpr std::int64_t kExactLimit = (std::int64_t{1} << 53) - 1;  // 9,007,199,254,740,991
inline constexpr std::int64_t kTimeSlots = 1'000'000;                     // 10^6 > seconds per week
inline constexpr std::int64_t kSecondsPerWeek = 7 * 24 * 3600;            // 604,800
inline constexpr std::int64_t kMaxCount = (kExactLimit - (kTimeSlots - 1)) / kTimeSlots;

static_assert(kSecondsPerWeek <= kTimeSlots, "a week's seconds must fit in the time slots");
static_assert(kMaxCount == 9'007'199'253);
static_assert(kMaxCount * kTimeSlots + (kTimeSlots - 1) <= kExactLimit,
              "the largest score is exact");
static_assert((kMaxCount + 1) * kTimeSlots + (kTimeSlots - 1) > kExactLimit,
              "and the bound is tight");

// t: seconds since the week's start, clamped into the week.
constexpr std::int64_t pack_score(std::int64_t count, std::int64_t t) {
    count = std::clamp<std::int64_t>(count, 0, kMaxCount);
    t = std::clamp<std::int64_t>(t, 0, kSecondsPerWeek - 1);
    return count * kTimeSlots + (kTimeSlots - 1 - t);
}

constexpr std::int64_t count_of_score(std::int64_t score) {
    return score / kTimeSlots;
}
constexpr std::int64_t second_of_score(std::int64_t score) {
    return kTimeSlots - 1 - score % kTimeSlots;
}

// A score as the store returns it (a double holding an exact integer).
inline std::int64_t score_from_double(double score) {
    return static_cast<std::int64_t>(std::llround(score));
}

}  // namespace lp::plugins::rank
