// plugins/sdk/json_text: JSON text helpers for plugins that parse and re-serialize with
// Boost.JSON. Optional and header-only: plugin.hpp, the SDK's interface, stays std-only; a plugin
// that already links Boost.JSON may include this instead of reaching into the server's codec/
// (plugins see only the SDK).
//
// plain_json writes a value as boost::json::serialize does, but a double in its shortest form
// without a needless exponent ("1.5", not Boost.JSON 1.81's "1.5E0"): the rule for decimal values
// in docs/protocol.md. It is the same rule as the core's codec::plain_json
// (codec/json_numbers.hpp), which the server's own layers use; the layer table keeps the two apart.
#pragma once

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <string>

namespace lp::sdk {

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

}  // namespace lp::sdk
