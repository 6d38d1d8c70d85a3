// load-test/report: the small text and JSON helpers livepush-load's reports share (the
// transport scenarios in livepush_load.cpp, the plugin scenarios in plugin_runs.cpp).
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "load-test/load_shard.hpp"

namespace lp::load {

inline std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

inline std::string num(std::uint64_t v) { return std::to_string(v); }

// CPU time (user + system) this process has used, in seconds.
inline double own_cpu_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

// `text` as a JSON string literal, quotes included.
inline std::string json_string(std::string_view text) {
    std::string out = "\"";
    for (char ch : text) {
        auto u = static_cast<unsigned char>(ch);
        if (ch == '"' || ch == '\\') {
            out += '\\';
            out += ch;
        } else if (u < 0x20) {
            char esc[8];
            std::snprintf(esc, sizeof esc, "\\u%04x", u);
            out += esc;
        } else {
            out += ch;
        }
    }
    return out + "\"";
}

inline std::uint64_t pushes_received(const std::vector<std::unique_ptr<LoadShard>>& shards) {
    std::uint64_t n = 0;
    for (const auto& s : shards) n += s->pushes_received();
    return n;
}

}  // namespace lp::load
