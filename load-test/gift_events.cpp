// load-test/gift_events: see gift_events.hpp.
#include "load-test/gift_events.hpp"

#include <charconv>

namespace lp::load {

GiftEventPlan::GiftEventPlan(GiftEventSpec spec)
    : spec_(std::move(spec)),
      id_prefix_(std::to_string(spec_.run_id) + "-"),
      sent_ns_(new std::atomic<std::int64_t>[spec_.events]),
      seen_(new std::atomic<std::uint8_t>[spec_.events]) {
    if (spec_.rooms == 0) spec_.rooms = 1;
    if (spec_.senders == 0) spec_.senders = 1;
    // Bounded by --events.
    for (std::uint64_t i = 0; i < spec_.events; ++i) {
        sent_ns_[i].store(0, std::memory_order_relaxed);
        seen_[i].store(0, std::memory_order_relaxed);
    }
}

void GiftEventPlan::write_event(std::uint64_t i, std::int64_t ts_ms, std::string& out) const {
    const std::uint64_t room = room_of(i);
    const std::uint64_t anchor =
        spec_.one_anchor ? spec_.anchor_base : spec_.anchor_base + room_index_of(i);
    out.clear();
    out += "{\"event_id\":\"";
    out += id_prefix_;
    out += std::to_string(i);
    out += "\",\"room_id\":";
    out += std::to_string(room);
    out += ",\"anchor_id\":";
    out += std::to_string(anchor);
    out += ",\"sender_id\":";
    out += std::to_string(spec_.sender_base + i % spec_.senders);
    out += ",\"channel_id\":";
    out += std::to_string(spec_.channel_id);
    out += ",\"gift_id\":";
    out += std::to_string(spec_.gift_id);
    out += ",\"count\":1,\"value\":\"";
    out += spec_.value;
    out += "\",\"ts_ms\":";
    out += std::to_string(ts_ms);
    out += "}";
}

std::optional<std::uint64_t> GiftEventPlan::index_in(std::string_view payload) const noexcept {
    constexpr std::string_view key = "\"event_id\":\"";
    std::size_t at = payload.find(key);
    if (at == std::string_view::npos) return std::nullopt;
    std::string_view id = payload.substr(at + key.size());
    if (!id.starts_with(id_prefix_)) return std::nullopt;
    id.remove_prefix(id_prefix_.size());
    std::uint64_t i = 0;
    auto [end, ec] = std::from_chars(id.data(), id.data() + id.size(), i);
    if (ec != std::errc() || end == id.data() || end == id.data() + id.size() || *end != '"')
        return std::nullopt;
    if (i >= spec_.events) return std::nullopt;
    return i;
}

std::optional<std::uint64_t> json_uint_after(std::string_view text, std::string_view quoted_key,
                                             std::size_t from) noexcept {
    std::size_t at = text.find(quoted_key, from);
    if (at == std::string_view::npos) return std::nullopt;
    std::size_t i = at + quoted_key.size();
    // Bounded by the text's length.
    while (i < text.size() && (text[i] == ':' || text[i] == '"' || text[i] == ' ')) ++i;
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data() + i, text.data() + text.size(), v);
    if (ec != std::errc()) return std::nullopt;
    return v;
}

}  // namespace lp::load
