// plugins/rank/zoneinfo: a named time zone ("Asia/Shanghai") as the fixed offset it keeps.
//
// What it is for: operators write the zone's name, not its offset. The standard library here
// (libstdc++ 12) has no tz database, so this reads the system's (tzdata, /usr/share/zoneinfo):
// a TZif file (RFC 8536) of version 2 or later ends with a POSIX TZ string that rules every time
// after its last transition ("CST-8": UTC+8 for ever). A zone whose string has no daylight-saving
// part keeps one offset from now on, which is all week boundaries need. A zone with daylight
// saving ("CET-1CEST,M3.5.0,M10.5.0/3") is refused: its weeks would start at a different UTC
// hour in summer, which a fixed-offset calendar cannot express; such a zone needs an offset
// chosen on purpose.
//
// What it must never do: read outside `dir` (the name is checked before any path is built).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lp::plugins::rank {

struct ZoneOffset {
    std::optional<std::int64_t> offset_ms;  // east of UTC; nullopt when refused
    std::string why;                        // when refused: what is wrong
};

// The POSIX TZ string's offset, if it has no daylight-saving part ("CST-8" → +8 h,
// "<+0530>-5:30" → +5:30, "UTC0" → 0).
ZoneOffset posix_tz_fixed_offset(std::string_view tz);

// The zone `name` ("Asia/Shanghai") under `dir`.
ZoneOffset zone_fixed_offset(std::string_view name, const std::string& dir = "/usr/share/zoneinfo");

}  // namespace lp::plugins::rank
