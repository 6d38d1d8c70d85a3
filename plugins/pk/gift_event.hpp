// plugins/pk/gift_event: reading a `gift` event and turning its value into PK points.
//
// The rule is "every 0.1 unit of gift value = 1 point". Gift values are decimal amounts
// ("0.3", "12.7"); as binary doubles 0.3 * 10 is 2.9999999999999996, and Boost.JSON 1.81 does
// not promise correctly rounded doubles either, so the value never becomes a double here: the
// event is read with a SAX handler that keeps the exact text of `value` (a JSON number or a
// decimal string), and the points are computed from its digits in integer arithmetic.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lp::plugins::pk {

// floor(value * 10) for a non-negative decimal `text` ("12.7", "0.05", "1e3", "+3"), exactly.
// nullopt when it is not a decimal number, is negative, or the points would not fit in int64.
std::optional<std::int64_t> points_from_value(std::string_view text);

struct GiftEvent {
    std::string event_id;         // idempotency key (string or number in the event)
    std::uint64_t anchor_id = 0;  // the receiving anchor
    std::uint64_t room_id = 0;
    std::string value_text;  // `value` exactly as written
};

// Reads the fields the PK needs from the event JSON
// {event_id, room_id, anchor_id, sender_id, channel_id, gift_id, count, value, ts_ms}.
// nullopt (and `error` says why) when it is not a JSON object or event_id, anchor_id or value
// is missing or mistyped.
std::optional<GiftEvent> read_gift_event(std::string_view json_text, std::string* error);

}  // namespace lp::plugins::pk
