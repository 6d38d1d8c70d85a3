// plugins/rank/iso_week: see iso_week.hpp.
#include "plugins/rank/iso_week.hpp"

#include <cctype>
#include <charconv>
#include <cstdio>

namespace lp::plugins::rank {

namespace {

std::int64_t floor_div(std::int64_t a, std::int64_t b) {
    std::int64_t q = a / b;
    if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
    return q;
}

// Monday = 0 ... Sunday = 6. 1970-01-01 (day 0) was a Thursday.
int iso_weekday0(std::int64_t day) {
    return static_cast<int>(day - 7 * floor_div(day + 3, 7) + 3);
}

bool read_int(std::string_view s, int& out) {
    if (s.empty()) return false;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && end == s.data() + s.size();
}

}  // namespace

std::string IsoWeek::key() const {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d-W%02d", year, week);
    return buf;
}

// Howard Hinnant's days_from_civil / civil_from_days (public domain), era-based.
std::int64_t days_from_civil(int year, int month, int day) {
    const std::int64_t y = static_cast<std::int64_t>(year) - (month <= 2 ? 1 : 0);
    const std::int64_t era = floor_div(y, 400);
    const std::int64_t yoe = y - era * 400;
    const std::int64_t mp = (month + 9) % 12;
    const std::int64_t doy = (153 * mp + 2) / 5 + day - 1;
    const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void civil_from_days(std::int64_t days, int& year, int& month, int& day) {
    const std::int64_t z = days + 719468;
    const std::int64_t era = floor_div(z, 146097);
    const std::int64_t doe = z - era * 146097;
    const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const std::int64_t mp = (5 * doy + 2) / 153;
    day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
    month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
    year = static_cast<int>(yoe + era * 400 + (month <= 2 ? 1 : 0));
}

IsoWeek iso_week_of_day(std::int64_t day) {
    // A week belongs to the year of its Thursday.
    const std::int64_t thursday = day - iso_weekday0(day) + 3;
    int y = 0, m = 0, d = 0;
    civil_from_days(thursday, y, m, d);
    const std::int64_t jan1 = days_from_civil(y, 1, 1);
    return {y, static_cast<int>((thursday - jan1) / 7 + 1)};
}

int iso_weeks_in_year(int year) {
    // December 28 is always in the year's last week.
    return iso_week_of_day(days_from_civil(year, 12, 28)).week;
}

std::int64_t monday_of(IsoWeek week) {
    // January 4 is always in week 1.
    const std::int64_t jan4 = days_from_civil(week.year, 1, 4);
    return jan4 - iso_weekday0(jan4) + 7 * static_cast<std::int64_t>(week.week - 1);
}

IsoWeek next_week(IsoWeek week) {
    return iso_week_of_day(monday_of(week) + 7);
}
IsoWeek previous_week(IsoWeek week) {
    return iso_week_of_day(monday_of(week) - 7);
}

std::optional<IsoWeek> parse_iso_week(std::string_view text) {
    if (text.size() != 8 || text[4] != '-' || (text[5] != 'W' && text[5] != 'w'))
        return std::nullopt;
    IsoWeek w;
    if (!read_int(text.substr(0, 4), w.year) || !read_int(text.substr(6, 2), w.week))
        return std::nullopt;
    if (w.year < 1970 || w.week < 1 || w.week > iso_weeks_in_year(w.year)) return std::nullopt;
    return w;
}

std::optional<std::int64_t> parse_utc_offset(std::string_view text) {
    if (text == "UTC" || text == "Z" || text == "GMT" || text == "utc") return 0;
    if (text.starts_with("UTC") || text.starts_with("GMT")) text.remove_prefix(3);
    if (text.size() < 2 || (text[0] != '+' && text[0] != '-')) return std::nullopt;
    const int sign = text[0] == '-' ? -1 : 1;
    text.remove_prefix(1);
    int hours = 0, minutes = 0;
    std::string_view h = text, m;
    if (auto colon = text.find(':'); colon != std::string_view::npos) {
        h = text.substr(0, colon);
        m = text.substr(colon + 1);
        if (m.size() != 2) return std::nullopt;
    } else if (text.size() == 4) {
        h = text.substr(0, 2);
        m = text.substr(2);
    }
    if (h.empty() || h.size() > 2 || !read_int(h, hours)) return std::nullopt;
    if (!m.empty() && !read_int(m, minutes)) return std::nullopt;
    if (minutes >= 60 || hours * 60 + minutes > 18 * 60) return std::nullopt;
    return sign * (static_cast<std::int64_t>(hours) * 3600 + minutes * 60LL) * 1000;
}

IsoWeek WeekCalendar::week_of(std::int64_t utc_ms) const {
    return iso_week_of_day(floor_div(utc_ms + offset_ms_, kMsPerDay));
}

std::int64_t WeekCalendar::start_ms(IsoWeek week) const {
    return monday_of(week) * kMsPerDay - offset_ms_;
}

}  // namespace lp::plugins::rank
