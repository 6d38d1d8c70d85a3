// handlers/biz_data: reading a BIZ packet's data (a JSON object) and answering it, shared by
// the gateway's BIZ handlers (gateway.cpp, gateway_rooms.cpp). Header-only, no state; it must
// never know a BIZ type.
#pragma once

#include <boost/json.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codec/json_ids.hpp"
#include "handlers/gateway.hpp"

namespace lp::handlers {

// An unsigned 64-bit JSON number or decimal string (codec/json_ids.hpp).
inline bool read_u64(const boost::json::object& o, std::string_view key, std::uint64_t& out) {
    const boost::json::value* v = o.if_contains(key);
    const auto n = v ? codec::json_u64(*v) : std::nullopt;
    if (n) out = *n;
    return n.has_value();
}

// A user or room id: as read_u64, and non-zero.
inline bool read_id(const boost::json::object& o, std::string_view key, std::uint64_t& out) {
    return read_u64(o, key, out) && out != 0;
}

inline BizReply error_reply(std::int32_t code, std::string message) {
    BizReply r;
    r.code = code;
    r.message = std::move(message);
    return r;
}

inline std::string id_str(std::uint64_t id) {
    return std::to_string(id);
}

}  // namespace lp::handlers
