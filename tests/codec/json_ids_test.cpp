// An id in JSON: the server's reading (codec/json_ids.hpp) and the plugins' copy
// (plugins/sdk/json_ids.hpp) run over one table of accepted and refused inputs, so the two copies
// cannot drift apart.
#include "codec/json_ids.hpp"

#include <gtest/gtest.h>

#include <boost/json/parse.hpp>
#include <cstdint>
#include <optional>
#include <string_view>

#include "plugins/sdk/json_ids.hpp"

namespace {

namespace json = boost::json;
using Id = std::optional<std::uint64_t>;
constexpr std::uint64_t kMax = 18446744073709551615ull;

struct Case {
    std::string_view json;  // one JSON value
    Id as_u64;              // what json_u64 returns
};

// What "a JSON number or a decimal string" means to every caller (design.md section 3).
constexpr Case kCases[] = {
    {"1", 1},
    {"0", 0},
    {"42", 42},
    {"9223372036854775807", 9223372036854775807ull},  // int64 max: parsed as int64
    {"9223372036854775808", 9223372036854775808ull},  // beyond: parsed as uint64
    {"18446744073709551615", kMax},
    {"\"1\"", 1},
    {"\"0\"", 0},
    {"\"007\"", 7},  // leading zeros are accepted by default
    {"\"18446744073709551615\"", kMax},
    {"-1", std::nullopt},
    {"-9223372036854775808", std::nullopt},
    {"1.0", std::nullopt},  // a double, even an integral one
    {"1e3", std::nullopt},
    {"18446744073709551616", std::nullopt},  // past uint64: Boost.JSON makes it a double
    {"\"18446744073709551616\"", std::nullopt},
    {"\"99999999999999999999999\"", std::nullopt},
    {"\"\"", std::nullopt},
    {"\"-1\"", std::nullopt},
    {"\"+1\"", std::nullopt},
    {"\" 1\"", std::nullopt},
    {"\"1 \"", std::nullopt},
    {"\"1.0\"", std::nullopt},
    {"\"1e3\"", std::nullopt},
    {"\"0x10\"", std::nullopt},
    {"\"12a\"", std::nullopt},
    {"null", std::nullopt},
    {"true", std::nullopt},
    {"[1]", std::nullopt},
    {"{\"id\":1}", std::nullopt},
};

Id id_of(const Case& c) {
    if (c.as_u64 && *c.as_u64 == 0) return std::nullopt;
    return c.as_u64;
}

TEST(JsonIds, ServerReadsTheTableOfNumbersAndDecimalStrings) {
    for (const auto& c : kCases) {
        const json::value v = json::parse(c.json);
        EXPECT_EQ(lp::codec::json_u64(v), c.as_u64) << c.json;
        EXPECT_EQ(lp::codec::json_id(v), id_of(c)) << c.json;
    }
}

TEST(JsonIds, PluginSdkCopyReadsTheSameTable) {
    for (const auto& c : kCases) {
        const json::value v = json::parse(c.json);
        EXPECT_EQ(lp::sdk::json_u64(v), c.as_u64) << c.json;
        EXPECT_EQ(lp::sdk::json_id(v), id_of(c)) << c.json;
    }
}

TEST(JsonIds, DecimalTextIsDigitsOnlyInBothCopies) {
    for (std::string_view text :
         {"", "-0", "+5", " 5", "5 ", "5x", "0x5", "18446744073709551616"}) {
        EXPECT_EQ(lp::codec::decimal_u64(text), std::nullopt) << text;
        EXPECT_EQ(lp::sdk::decimal_u64(text), std::nullopt) << text;
    }
    for (auto [text, value] : {std::pair<std::string_view, std::uint64_t>{"0", 0},
                               {"5", 5},
                               {"0005", 5},
                               {"18446744073709551615", kMax}}) {
        EXPECT_EQ(lp::codec::decimal_u64(text), value) << text;
        EXPECT_EQ(lp::sdk::decimal_u64(text), value) << text;
    }
}

// The JWT's sub: one spelling per user, so a leading zero is refused there.
TEST(JsonIds, RefusedLeadingZerosLeaveOneSpellingPerId) {
    using lp::codec::LeadingZeros;
    EXPECT_EQ(lp::codec::json_id(json::parse("\"7\""), LeadingZeros::refused), 7u);
    EXPECT_EQ(lp::codec::json_id(json::parse("\"007\""), LeadingZeros::refused), std::nullopt);
    EXPECT_EQ(lp::codec::json_id(json::parse("\"0\""), LeadingZeros::refused), std::nullopt);
    EXPECT_EQ(lp::codec::json_u64(json::parse("\"0\""), LeadingZeros::refused), 0u);
    EXPECT_EQ(lp::codec::json_u64(json::parse("\"00\""), LeadingZeros::refused), std::nullopt);
    EXPECT_EQ(lp::codec::json_id(json::parse("\"10\""), LeadingZeros::refused), 10u);
    EXPECT_EQ(lp::codec::json_id(json::parse("7"), LeadingZeros::refused),
              7u);  // numbers have no such spelling
}

}  // namespace
