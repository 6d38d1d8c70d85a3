// codec/json_numbers: does a parsed JSON value write back as JSON?
//
// Boost.JSON 1.81 parses a number literal beyond the double range (1e400) as infinity and
// serializes it as "Infinity", which is not JSON. Anything that parses input and serializes it
// again (the text envelope, BIZ data going upstream, plugin bodies and events) must refuse such
// input first, or it would send invalid JSON on. Found by fuzz_envelope.
#pragma once

#include <boost/json/value.hpp>

#include <cmath>

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

}  // namespace lp::codec
