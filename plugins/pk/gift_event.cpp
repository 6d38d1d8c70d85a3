#include "plugins/pk/gift_event.hpp"

#include <boost/json/basic_parser_impl.hpp>
#include <charconv>
#include <limits>
#include <map>

#include "plugins/sdk/json_ids.hpp"

namespace lp::plugins::pk {

namespace {

// One top-level member of a JSON object: its scalar text (strings unescaped, numbers exactly
// as written) and what it was.
struct Scalar {
    enum class Kind { string, number, other } kind = Kind::other;
    std::string text;
};

// A boost::json::basic_parser handler that keeps the scalar members of the root object and
// skips everything nested. Nothing becomes a double.
struct TopLevelScalars {
    static constexpr std::size_t max_array_size = std::size_t(-1);
    static constexpr std::size_t max_object_size = std::size_t(-1);
    static constexpr std::size_t max_string_size = std::size_t(-1);
    static constexpr std::size_t max_key_size = std::size_t(-1);

    std::map<std::string, Scalar, std::less<>> members;
    int depth = 0;
    bool root_is_object = false;
    std::string key;   // the current top-level key
    std::string text;  // the current string or number, accumulated over parts

    using error_code = boost::json::error_code;
    using string_view = boost::json::string_view;

    void keep(Scalar::Kind kind) {
        if (depth == 1) members[key] = Scalar{kind, text};
        text.clear();
    }

    bool on_document_begin(error_code&) { return true; }
    bool on_document_end(error_code&) { return true; }
    bool on_array_begin(error_code& ec) { return open(ec, false); }
    bool on_array_end(std::size_t, error_code&) { return close(); }
    bool on_object_begin(error_code& ec) { return open(ec, true); }
    bool on_object_end(std::size_t, error_code&) { return close(); }
    bool on_string_part(string_view s, std::size_t, error_code&) {
        if (depth == 1) text.append(s.data(), s.size());
        return true;
    }
    bool on_string(string_view s, std::size_t, error_code& ec) {
        if (depth == 0) return not_object(ec);
        if (depth == 1) text.append(s.data(), s.size());
        keep(Scalar::Kind::string);
        return true;
    }
    bool on_key_part(string_view s, std::size_t, error_code&) {
        if (depth == 1) text.append(s.data(), s.size());
        return true;
    }
    bool on_key(string_view s, std::size_t, error_code&) {
        if (depth == 1) {
            text.append(s.data(), s.size());
            key = std::move(text);
        }
        text.clear();
        return true;
    }
    bool on_number_part(string_view s, error_code&) {
        if (depth == 1) text.append(s.data(), s.size());
        return true;
    }
    bool number(string_view s, error_code& ec) {
        if (depth == 0) return not_object(ec);
        if (depth == 1) text.append(s.data(), s.size());
        keep(Scalar::Kind::number);
        return true;
    }
    bool on_int64(std::int64_t, string_view s, error_code& ec) { return number(s, ec); }
    bool on_uint64(std::uint64_t, string_view s, error_code& ec) { return number(s, ec); }
    bool on_double(double, string_view s, error_code& ec) { return number(s, ec); }
    bool on_bool(bool, error_code& ec) { return other(ec); }
    bool on_null(error_code& ec) { return other(ec); }
    bool on_comment_part(string_view, error_code&) { return true; }
    bool on_comment(string_view, error_code&) { return true; }

private:
    bool open(error_code& ec, bool object) {
        if (depth == 0) {
            if (!object) return not_object(ec);
            root_is_object = true;
        } else if (depth == 1) {
            members[key] = Scalar{};
        }
        ++depth;
        return true;
    }
    bool close() {
        --depth;
        return true;
    }
    bool other(error_code& ec) {
        if (depth == 0) return not_object(ec);
        text.clear();
        keep(Scalar::Kind::other);
        return true;
    }
    static bool not_object(error_code& ec) {
        ec = boost::json::error::syntax;  // a root that is not an object
        return false;
    }
};

std::optional<std::uint64_t> decimal_id(const Scalar& s) {
    if (s.kind == Scalar::Kind::other) return std::nullopt;
    return sdk::decimal_u64(s.text);
}

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

}  // namespace

std::optional<std::int64_t> points_from_value(std::string_view t) {
    while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
    while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
    if (!t.empty() && t.front() == '+') t.remove_prefix(1);

    // value = digits * 10^exponent
    std::string digits;
    std::int64_t exponent = 0;
    std::size_t i = 0;
    bool any_digit = false;
    for (; i < t.size() && is_digit(t[i]); ++i, any_digit = true) digits += t[i];
    if (i < t.size() && t[i] == '.') {
        for (++i; i < t.size() && is_digit(t[i]); ++i, any_digit = true) {
            digits += t[i];
            --exponent;
        }
    }
    if (!any_digit) return std::nullopt;  // also rejects "-1": a gift has no negative value
    if (i < t.size() && (t[i] == 'e' || t[i] == 'E')) {
        ++i;
        bool negative = false;
        if (i < t.size() && (t[i] == '+' || t[i] == '-')) negative = t[i++] == '-';
        if (i == t.size() || !is_digit(t[i])) return std::nullopt;
        std::int64_t e = 0;
        for (; i < t.size() && is_digit(t[i]); ++i) {
            if (e < 1'000'000) e = e * 10 + (t[i] - '0');  // saturates: far beyond any answer
        }
        exponent += negative ? -e : e;
    }
    if (i != t.size()) return std::nullopt;

    std::size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) return 0;
    digits.erase(0, first);

    // points = floor(digits * 10^(exponent + 1)): append zeros or drop the fraction's digits.
    const std::int64_t shift = exponent + 1;
    constexpr std::size_t kMaxDigits = std::numeric_limits<std::int64_t>::digits10 + 1;  // 19
    if (shift < 0) {
        if (static_cast<std::uint64_t>(-shift) >= digits.size()) return 0;
        digits.resize(digits.size() - static_cast<std::size_t>(-shift));
    } else {
        if (digits.size() + static_cast<std::uint64_t>(shift) > kMaxDigits) return std::nullopt;
        digits.append(static_cast<std::size_t>(shift), '0');
    }
    if (digits.size() > kMaxDigits) return std::nullopt;
    std::int64_t points = 0;
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), points);
    if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;  // > int64
    return points;
}

std::optional<GiftEvent> read_gift_event(std::string_view json_text, std::string* error) {
    auto fail = [&](std::string why) -> std::optional<GiftEvent> {
        if (error != nullptr) *error = std::move(why);
        return std::nullopt;
    };
    boost::json::basic_parser<TopLevelScalars> parser{boost::json::parse_options{}};
    boost::json::error_code ec;
    std::size_t used = parser.write_some(false, json_text.data(), json_text.size(), ec);
    if (!ec && used != json_text.size()) ec = boost::json::error::extra_data;
    if (ec || !parser.handler().root_is_object) return fail("gift event is not a JSON object");
    const auto& m = parser.handler().members;

    GiftEvent event;
    auto event_id = m.find("event_id");
    if (event_id == m.end() || event_id->second.kind == Scalar::Kind::other ||
        event_id->second.text.empty()) {
        return fail("gift event without \"event_id\"");
    }
    event.event_id = event_id->second.text;

    auto anchor = m.find("anchor_id");
    std::optional<std::uint64_t> anchor_id;
    if (anchor != m.end()) anchor_id = decimal_id(anchor->second);
    if (!anchor_id || *anchor_id == 0) return fail("gift event without a valid \"anchor_id\"");
    event.anchor_id = *anchor_id;

    if (auto room = m.find("room_id"); room != m.end()) {
        event.room_id = decimal_id(room->second).value_or(0);
    }

    auto value = m.find("value");
    if (value == m.end() || value->second.kind == Scalar::Kind::other) {
        return fail("gift event without \"value\"");
    }
    event.value_text = value->second.text;
    return event;
}

}  // namespace lp::plugins::pk
