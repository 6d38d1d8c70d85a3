// app/log_format: see log_format.hpp.
#include "app/log_format.hpp"

#include <spdlog/pattern_formatter.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <cstdio>
#include <ctime>

namespace lp::app {

namespace {

// The length of the well-formed UTF-8 sequence at the start of `s`, or 0 (overlong forms,
// surrogates and code points above U+10FFFF are not well formed).
std::size_t utf8_sequence(std::string_view s) {
    const auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
    const unsigned char c = b(0);
    if (c < 0x80) return 1;
    std::size_t n = 0;
    unsigned char lo = 0x80, hi = 0xBF;
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (s.size() < n) return 0;
    if (b(1) < lo || b(1) > hi) return 0;
    for (std::size_t i = 2; i < n; ++i)
        if (b(i) < 0x80 || b(i) > 0xBF) return 0;
    return n;
}

class JsonFormatter final : public spdlog::formatter {
public:
    explicit JsonFormatter(std::string node) : node_(std::move(node)) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        std::string line;
        line.reserve(96 + msg.payload.size());
        line += "{\"ts\":\"";
        line += timestamp(msg.time);
        line += "\",\"level\":";
        const auto level = spdlog::level::to_string_view(msg.level);
        append_json_string(line, std::string_view(level.data(), level.size()));
        line += ",\"logger\":";
        append_json_string(line, std::string_view(msg.logger_name.data(), msg.logger_name.size()));
        line += ",\"node\":";
        append_json_string(line, node_);
        line += ",\"msg\":";
        append_json_string(line, std::string_view(msg.payload.data(), msg.payload.size()));
        line += "}\n";
        dest.append(line.data(), line.data() + line.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<JsonFormatter>(node_);
    }

private:
    // RFC 3339 in UTC with milliseconds.
    static std::string timestamp(spdlog::log_clock::time_point t) {
        const auto since = t.time_since_epoch();
        const auto secs = std::chrono::duration_cast<std::chrono::seconds>(since);
        const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(since - secs);
        const std::time_t tt = static_cast<std::time_t>(secs.count());
        std::tm tm{};
        gmtime_r(&tt, &tm);
        char buf[40];
        std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                      tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                      static_cast<int>(ms.count()));
        return buf;
    }

    std::string node_;
};

}  // namespace

void append_json_string(std::string& out, std::string_view text) {
    static constexpr char kHex[] = "0123456789abcdef";
    out += '"';
    while (!text.empty()) {
        const auto c = static_cast<unsigned char>(text.front());
        if (c >= 0x80) {
            const std::size_t n = utf8_sequence(text);
            if (n == 0) {
                out += "\\ufffd";
                text.remove_prefix(1);
            } else {
                out.append(text.substr(0, n));
                text.remove_prefix(n);
            }
            continue;
        }
        switch (c) {
            case '"':
                out += "\\\"";
                break;
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                if (c < 0x20 || c == 0x7F) {
                    out += "\\u00";
                    out += kHex[c >> 4];
                    out += kHex[c & 0xF];
                } else {
                    out += static_cast<char>(c);
                }
        }
        text.remove_prefix(1);
    }
    out += '"';
}

std::unique_ptr<spdlog::formatter> json_log_formatter(std::string node) {
    return std::make_unique<JsonFormatter>(std::move(node));
}

void apply_log_settings(const std::string& level, const std::string& format,
                        const std::string& node) {
    spdlog::set_level(spdlog::level::from_str(level));
    if (format == "json")
        spdlog::set_formatter(json_log_formatter(node));
    else
        spdlog::set_formatter(std::make_unique<spdlog::pattern_formatter>());
}

}  // namespace lp::app
