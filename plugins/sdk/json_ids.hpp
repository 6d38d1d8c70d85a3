// plugins/sdk/json_ids: an id in JSON, "a JSON number or a decimal string" (docs/api.md), for
// plugins that parse with Boost.JSON. Optional and header-only, like json_text.hpp: plugin.hpp,
// the SDK's interface, stays std-only.
//
// Accepted: a non-negative integer number, or a string of decimal digits only (no sign, no
// space, not empty; leading zeros allowed) that fits in 64 bits. Doubles are refused even when
// integral. An id (json_id) is, besides, not 0.
//
// Why a second copy of codec/json_ids.hpp: plugins may include only plugins/sdk/, and the
// server's codec/ may include only proto/, so neither header can use the other without an arrow
// against the layer table (design.md section 1). The rule is small and fixed by the API, so it
// is written twice on purpose, and tests/codec/json_ids_test.cpp runs one table of inputs
// against both copies so they cannot drift. Change both or neither.
#pragma once

#include <boost/json/value.hpp>
#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>
#include <system_error>

namespace lp::sdk {

// Decimal digits only, not empty, at most 2^64 - 1 (query parameters, path parts, JSON strings).
inline std::optional<std::uint64_t> decimal_u64(std::string_view text) noexcept {
    if (text.empty()) return std::nullopt;
    std::uint64_t value = 0;
    // from_chars of an unsigned type takes digits only: no sign, no space, no base prefix.
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    return value;
}

// A non-negative integer number, or a decimal string as decimal_u64 reads it.
inline std::optional<std::uint64_t> json_u64(const boost::json::value& v) noexcept {
    if (const auto* u = v.if_uint64()) return *u;
    if (const auto* i = v.if_int64()) {
        if (*i < 0) return std::nullopt;
        return static_cast<std::uint64_t>(*i);
    }
    if (const auto* s = v.if_string()) return decimal_u64(std::string_view(*s));
    return std::nullopt;
}

// A user, anchor or room id: as json_u64, and not 0.
inline std::optional<std::uint64_t> json_id(const boost::json::value& v) noexcept {
    const auto n = json_u64(v);
    if (n && *n == 0) return std::nullopt;
    return n;
}

}  // namespace lp::sdk
