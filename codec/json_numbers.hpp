// codec/json_numbers: does a parsed JSON value write back as JSON?
//
// Boost.JSON 1.81 parses a number literal beyond the double range (1e400) as infinity and
// serializes it as "Infinity", which is not JSON. Anything that parses input and serializes it
// again (the text envelope, BIZ data going upstream, plugin bodies and events) must refuse such
// input first, or it would send invalid JSON on. Found by fuzz_envelope.
#pragma once

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <string>

namespace lp::codec {

// False if `v` holds a non-finite number anywhere. Recursion is bounded by the parser's depth
// limit (Boost.JSON: 32 by default).
inline bool finite_numbers(const boost::json::value& v) noexcept {
    switch (v.kind()) {
        case boost::json::kind::double_:
            return std::isfinite(v.get_double());
        case boost::json::kind::array:
            for (const auto& e : v.get_array())
                if (!finite_numbers(e)) return false;
            return true;
        case boost::json::kind::object:
            for (const auto& kv : v.get_object())
                if (!finite_numbers(kv.value())) return false;
            return true;
        default:
            return true;
    }
}

// Appends `v` as JSON text like boost::json::serialize, but a double in its shortest form
// without a needless exponent ("1.5", not "1.5E0"; 1e+20 only where shorter): the rule for
// decimal values in docs/protocol.md. A non-finite double (refused earlier) is written as 0.
inline void append_plain_json(std::string& out, const boost::json::value& v) {
    switch (v.kind()) {
        case boost::json::kind::double_: {
            const double d = v.get_double();
            char buf[64];
            auto [end, ec] = std::to_chars(buf, buf + sizeof buf, std::isfinite(d) ? d : 0.0);
            out.append(buf, ec == std::errc() ? end : buf);
            return;
        }
        case boost::json::kind::array: {
            out += '[';
            bool first = true;
            for (const auto& e : v.get_array()) {
                if (!first) out += ',';
                first = false;
                append_plain_json(out, e);
            }
            out += ']';
            return;
        }
        case boost::json::kind::object: {
            out += '{';
            bool first = true;
            for (const auto& kv : v.get_object()) {
                if (!first) out += ',';
                first = false;
                out += boost::json::serialize(boost::json::string_view(kv.key()));
                out += ':';
                append_plain_json(out, kv.value());
            }
            out += '}';
            return;
        }
        default:
            out += boost::json::serialize(v);
    }
}

inline std::string plain_json(const boost::json::value& v) {
    std::string out;
    append_plain_json(out, v);
    return out;
}

}  // namespace lp::codec
