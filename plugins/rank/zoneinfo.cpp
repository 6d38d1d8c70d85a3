// plugins/rank/zoneinfo: see zoneinfo.hpp.
#include "plugins/rank/zoneinfo.hpp"

#include <cctype>
#include <fstream>
#include <iterator>

namespace lp::plugins::rank {

namespace {

ZoneOffset refused(std::string why) {
    return {std::nullopt, std::move(why)};
}

// [+|-]hh[:mm[:ss]] at `at`; seconds west of UTC (POSIX's sign), advancing `at`.
std::optional<std::int64_t> posix_offset(std::string_view s, std::size_t& at) {
    int sign = 1;
    if (at < s.size() && (s[at] == '+' || s[at] == '-')) sign = s[at++] == '-' ? -1 : 1;
    std::int64_t parts[3] = {0, 0, 0};
    for (int part = 0; part < 3; ++part) {
        if (part > 0) {
            if (at >= s.size() || s[at] != ':') break;
            ++at;
        }
        const std::size_t start = at;
        while (at < s.size() && std::isdigit(static_cast<unsigned char>(s[at])) && at - start < 3) {
            parts[part] = parts[part] * 10 + (s[at] - '0');
            ++at;
        }
        if (at == start) return std::nullopt;
    }
    if (parts[0] > 24 || parts[1] > 59 || parts[2] > 59) return std::nullopt;
    return sign * (parts[0] * 3600 + parts[1] * 60 + parts[2]);
}

bool safe_zone_name(std::string_view name) {
    if (name.empty() || name.size() > 64 || name.front() == '/' ||
        name.find("..") != std::string_view::npos)
        return false;
    for (char c : name) {
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '_' && c != '-' &&
            c != '+')
            return false;
    }
    return true;
}

}  // namespace

ZoneOffset posix_tz_fixed_offset(std::string_view tz) {
    std::size_t at = 0;
    if (!tz.empty() && tz[0] == '<') {  // <+0530>: a quoted abbreviation
        at = tz.find('>');
        if (at == std::string_view::npos)
            return refused("bad TZ string \"" + std::string(tz) + "\"");
        ++at;
    } else {
        while (at < tz.size() && std::isalpha(static_cast<unsigned char>(tz[at]))) ++at;
        if (at < 3) return refused("bad TZ string \"" + std::string(tz) + "\"");
    }
    const auto west_s = posix_offset(tz, at);
    if (!west_s) return refused("bad TZ string \"" + std::string(tz) + "\"");
    if (at != tz.size()) {
        return refused("it has daylight saving (\"" + std::string(tz) +
                       "\"): weeks would start at another UTC hour in summer; use a fixed offset "
                       "such as +01:00");
    }
    return {-*west_s * 1000, {}};
}

ZoneOffset zone_fixed_offset(std::string_view name, const std::string& dir) {
    if (!safe_zone_name(name)) return refused("\"" + std::string(name) + "\" is not a zone name");
    const std::string path = dir + "/" + std::string(name);
    std::ifstream in(path, std::ios::binary);
    if (!in)
        return refused("no zone \"" + std::string(name) + "\" in " + dir +
                       " (is tzdata installed?)");
    std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (data.size() < 44 || data.compare(0, 4, "TZif") != 0)
        return refused(path + " is not a TZif file");
    if (data[4] < '2')
        return refused(path + " is a version 1 TZif file (no TZ string); update tzdata");
    // The footer: "\n" TZ "\n" at the very end.
    if (data.back() != '\n') return refused(path + " has no TZ string footer");
    const auto start = data.rfind('\n', data.size() - 2);
    if (start == std::string::npos) return refused(path + " has no TZ string footer");
    const std::string tz = data.substr(start + 1, data.size() - start - 2);
    if (tz.empty())
        return refused(std::string(name) + " has no rule for the future (empty TZ string)");
    return posix_tz_fixed_offset(tz);
}

}  // namespace lp::plugins::rank
