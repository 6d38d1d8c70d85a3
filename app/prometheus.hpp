// app/prometheus: a tiny writer of the Prometheus text exposition format (version 0.0.4).
// Each metric name gets its HELP and TYPE lines once, before its first sample.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <string_view>

namespace lp::app {

class PromText {
public:
    void counter(std::string_view name, std::string_view help, std::uint64_t v,
                 std::string_view labels = {}) {
        sample(name, help, "counter", std::to_string(v), labels);
    }
    void gauge(std::string_view name, std::string_view help, std::int64_t v,
               std::string_view labels = {}) {
        sample(name, help, "gauge", std::to_string(v), labels);
    }
    std::string take() { return std::move(out_); }

private:
    void sample(std::string_view name, std::string_view help, std::string_view type,
                const std::string& value, std::string_view labels) {
        if (described_.insert(std::string(name)).second) {
            out_ += "# HELP ";
            out_ += name;
            out_ += ' ';
            out_ += help;
            out_ += "\n# TYPE ";
            out_ += name;
            out_ += ' ';
            out_ += type;
            out_ += '\n';
        }
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
    std::string out_;
    std::set<std::string> described_;
};

}  // namespace lp::app
