// handlers/biz_data: reading a BIZ packet's data (a JSON object) and answering it, shared by
// the gateway's BIZ handlers (gateway.cpp, gateway_rooms.cpp). Header-only, no state; it must
// never know a BIZ type.
#pragma once

#include <boost/json.hpp>
#include <charconv>
#include <cstdint>
#include <string>
#include <string_view>

#include "handlers/gateway.hpp"

namespace lp::handlers {

// An unsigned 64-bit JSON number or decimal string.
inline bool read_u64(const boost::json::object& o, std::string_view key, std::uint64_t& out) {
    const boost::json::value* v = o.if_contains(key);
    if (!v) return false;
    if (v->is_uint64()) {
        out = v->get_uint64();
    } else if (v->is_int64()) {
        if (v->get_int64() < 0) return false;
        out = static_cast<std::uint64_t>(v->get_int64());
    } else if (v->is_string()) {
        const auto& s = v->get_string();
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return false;
    } else {
        return false;
    }
    return true;
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
