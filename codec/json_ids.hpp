// codec/json_ids: the one reading of an id in JSON for the server's layers: "a JSON number or a
// decimal string" (design.md section 3), used by the gateway's BIZ data, the push API's bodies
// and paths, and the JWT's sub.
//
// What it accepts: a non-negative integer number, or a string of decimal digits only (no sign,
// no space, no "0x", not empty) that fits in 64 bits. Doubles are refused even when integral
// (1.0, 1e3): beyond 2^53 they no longer name one id. Leading zeros in a string ("007") are
// accepted unless the caller asks for LeadingZeros::refused (the JWT does: two spellings of one
// user would be two tokens for one sub). An id (json_id) is, besides, not 0.
//
// Plugins cannot include codec/ (they see only plugins/sdk/), and codec/ cannot include the SDK
// (codec/ uses only proto/): plugins/sdk/json_ids.hpp holds the same rule for them, and
// tests/codec/json_ids_test.cpp runs one table of inputs against both so they cannot drift.
//
// Must never: throw, allocate, or accept what the protobuf JSON mapping of a uint64 would not
// name as one number.
#pragma once

#include <boost/json/value.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace lp::codec {

enum class LeadingZeros { accepted, refused };

// Decimal digits only, not empty, at most 2^64 - 1. With `refused`, "0" is the one spelling
// that may start with a zero.
inline std::optional<std::uint64_t> decimal_u64(
    std::string_view text, LeadingZeros zeros = LeadingZeros::accepted) noexcept {
    if (text.empty()) return std::nullopt;
    if (zeros == LeadingZeros::refused && text.size() > 1 && text.front() == '0')
        return std::nullopt;
    std::uint64_t value = 0;
    // from_chars of an unsigned type takes digits only: no sign, no space, no base prefix.
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// A non-negative integer number, or a decimal string as decimal_u64 reads it.
inline std::optional<std::uint64_t> json_u64(const boost::json::value& v,
                                             LeadingZeros zeros = LeadingZeros::accepted) noexcept {
    if (const auto* u = v.if_uint64()) return *u;
    if (const auto* i = v.if_int64()) {
        if (*i < 0) return std::nullopt;
        return static_cast<std::uint64_t>(*i);
    }
    if (const auto* s = v.if_string()) return decimal_u64(std::string_view(*s), zeros);
    return std::nullopt;
}

// A user, room or message id: as json_u64, and not 0.
inline std::optional<std::uint64_t> json_id(const boost::json::value& v,
                                            LeadingZeros zeros = LeadingZeros::accepted) noexcept {
    const auto n = json_u64(v, zeros);
    if (n && *n == 0) return std::nullopt;
    return n;
}

}  // namespace lp::codec
