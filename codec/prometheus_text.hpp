// codec/prometheus_text: the one writer of the Prometheus text exposition format (0.0.4) in the
// tree. Every module's stats write their own families through it; nobody else writes "# TYPE".
//
// What it owns: the HELP and TYPE lines (once per family, before its first sample), label-value
// escaping, number formatting and the histogram's cumulative buckets.
// What it must never do: reorder samples. A family's samples must be written together (the
// format requires it); callers keep each family in one place.
// An empty `help` writes no HELP line (HELP is optional in the format; the families that were
// published without one keep their exposition unchanged).
#pragma once

#include <charconv>
#include <cstdint>
#include <set>
#include <span>
#include <string>
#include <string_view>

namespace lp::codec {

class PromText {
public:
    void counter(std::string_view name, std::string_view help, std::uint64_t v, std::string_view labels = {}) {
        sample(name, help, "counter", std::to_string(v), labels);
    }
    void gauge(std::string_view name, std::string_view help, std::int64_t v, std::string_view labels = {}) {
        sample(name, help, "gauge", std::to_string(v), labels);
    }
    void gauge_f64(std::string_view name, std::string_view help, double v, std::string_view labels = {}) {
        sample(name, help, "gauge", number(v), labels);
    }
    // A histogram from per-bucket (not cumulative) counts: counts.size() == bounds.size() + 1,
    // the last one being the +Inf bucket.
    void histogram(std::string_view name, std::string_view help, std::span<const double> bounds,
                   std::span<const std::uint64_t> counts, double sum, std::uint64_t count) {
        describe(name, help, "histogram");
        std::uint64_t cumulative = 0;
        const std::string bucket = std::string(name) + "_bucket";
        for (std::size_t i = 0; i < counts.size(); ++i) {
            cumulative += counts[i];
            line(bucket, "le=\"" + (i < bounds.size() ? number(bounds[i]) : std::string("+Inf")) + "\"",
                 std::to_string(cumulative));
        }
        line(std::string(name) + "_sum", {}, number(sum));
        line(std::string(name) + "_count", {}, std::to_string(count));
    }

    // `key="value"` with the value escaped as the format requires (\\, \", \n).
    static std::string label(std::string_view key, std::string_view value) {
        std::string out(key);
        out += "=\"";
        for (char c : value) {
            if (c == '\\' || c == '"') out += '\\';
            if (c == '\n') {
                out += "\\n";
                continue;
            }
            out += c;
        }
        out += '"';
        return out;
    }

    std::string take() { return std::move(out_); }

private:
    static std::string number(double v) {
        char buf[32];
        auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest form that reads back the same
        return std::string(buf, r.ptr);
    }
    void describe(std::string_view name, std::string_view help, std::string_view type) {
        if (!described_.insert(std::string(name)).second) return;
        if (!help.empty()) {
            out_ += "# HELP ";
            out_ += name;
            out_ += ' ';
            out_ += help;
            out_ += '\n';
        }
        out_ += "# TYPE ";
        out_ += name;
        out_ += ' ';
        out_ += type;
        out_ += '\n';
    }
    void line(std::string_view name, std::string_view labels, std::string_view value) {
        out_ += name;
        if (!labels.empty()) {
            out_ += '{';
            out_ += labels;
            out_ += '}';
        }
        out_ += ' ';
        out_ += value;
        out_ += '\n';
    }
    void sample(std::string_view name, std::string_view help, std::string_view type, const std::string& value,
                std::string_view labels) {
        describe(name, help, type);
        line(name, labels, value);
    }

    std::string out_;
    std::set<std::string> described_;
};

}  // namespace lp::codec
