// load-test/report: the small text and JSON helpers livepush-load's reports share (the run's
// common part in run_report.cpp, each scenario family's in its own file). Formatting only: never
// reads a shard or a clock.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

#include "load-test/latency_histogram.hpp"

namespace lp::load {

inline std::string fmt(const char* format, double v) {
    char buf[64];
    std::snprintf(buf, sizeof buf, format, v);
    return buf;
}

inline std::string num(std::uint64_t v) {
    return std::to_string(v);
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

inline double ms(std::uint64_t ns) {
    return double(ns) / 1e6;
}

// A latency histogram of ns in ms: "p50=… p99=… p999=… max=… mean=… (N samples)".
inline std::string latency_text(const LatencyHistogram& h) {
    char buf[160];
    std::snprintf(buf, sizeof buf, "p50=%.1f p99=%.1f p999=%.1f max=%.1f mean=%.1f (%llu samples)",
                  ms(h.value_at(0.5)), ms(h.value_at(0.99)), ms(h.value_at(0.999)), ms(h.max()),
                  h.mean() / 1e6, static_cast<unsigned long long>(h.count()));
    return buf;
}
// The same as JSON fields PREFIX_samples, PREFIX_p50_ms, ... (each with a leading comma).
inline std::string latency_json(const std::string& prefix, const LatencyHistogram& h) {
    return ",\"" + prefix + "_samples\":" + num(h.count()) + ",\"" + prefix +
           "_p50_ms\":" + fmt("%.1f", ms(h.value_at(0.5))) + ",\"" + prefix +
           "_p99_ms\":" + fmt("%.1f", ms(h.value_at(0.99))) + ",\"" + prefix +
           "_p999_ms\":" + fmt("%.1f", ms(h.value_at(0.999))) + ",\"" + prefix +
           "_max_ms\":" + fmt("%.1f", ms(h.max())) + ",\"" + prefix +
           "_mean_ms\":" + fmt("%.2f", h.mean() / 1e6);
}

}  // namespace lp::load
