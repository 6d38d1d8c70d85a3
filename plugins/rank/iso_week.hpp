// plugins/rank/iso_week: ISO 8601 week numbers in a fixed-offset time zone.
//
// What it is for: week-star boards are keyed by ISO year and week ("2026-W53"), and a week ends
// at Sunday 24:00 in the server's time zone. ISO weeks start on Monday; week 1 is the week
// holding the year's first Thursday, so the ISO year differs from the calendar year around New
// Year: 2024-12-30 is 2025-W01, 2026-12-31 is 2026-W53, 2027-01-04 is 2027-W01.
//
// Time zones: UTC or a fixed offset ("+08:00", "-05:30", "+0800", "+08", "UTC+08:00");
// parse_utc_offset() refuses anything else, so a typo never silently means UTC. Zone names
// without daylight saving ("Asia/Shanghai") become their offset through zoneinfo.hpp.
//
// Pure functions on integers (days and milliseconds since the Unix epoch), no clock, no state.
#pragma once

#include <compare>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lp::plugins::rank {

inline constexpr std::int64_t kMsPerDay = 86'400'000;
inline constexpr std::int64_t kMsPerWeek = 7 * kMsPerDay;

struct IsoWeek {
    int year = 1970;
    int week = 1;  // 1..52 or 53

    std::string key() const;  // "YYYY-Www"
    auto operator<=>(const IsoWeek&) const = default;
};

// Days since 1970-01-01 of a proleptic Gregorian date, and back.
std::int64_t days_from_civil(int year, int month, int day);
void civil_from_days(std::int64_t days, int& year, int& month, int& day);

// The ISO week holding `day` (days since the epoch, local calendar).
IsoWeek iso_week_of_day(std::int64_t day);
// Weeks in an ISO year: 53 when it starts on a Thursday, or on a Wednesday in a leap year.
int iso_weeks_in_year(int year);
// The Monday of `week` (days since the epoch, local calendar).
std::int64_t monday_of(IsoWeek week);

IsoWeek next_week(IsoWeek week);
IsoWeek previous_week(IsoWeek week);
// "YYYY-Www" (W in either case); nullopt unless it names a week that exists (W53 only in a
// 53-week year).
std::optional<IsoWeek> parse_iso_week(std::string_view text);

// "UTC", "Z", "GMT" or a fixed offset; the offset in ms east of UTC (at most 18 h either way).
std::optional<std::int64_t> parse_utc_offset(std::string_view text);

// A time zone with a fixed offset: where weeks start and end.
class WeekCalendar {
public:
    explicit WeekCalendar(std::int64_t offset_ms = 0) : offset_ms_(offset_ms) {}

    IsoWeek week_of(std::int64_t utc_ms) const;
    // Monday 00:00 local of `week`, as ms since the epoch (UTC).
    std::int64_t start_ms(IsoWeek week) const;
    // Sunday 24:00 local of `week` = the next week's start.
    std::int64_t end_ms(IsoWeek week) const { return start_ms(week) + kMsPerWeek; }
    std::int64_t offset_ms() const { return offset_ms_; }

private:
    std::int64_t offset_ms_;
};

}  // namespace lp::plugins::rank
