// plugins/gift: see gift_plugin.hpp.
#include "plugins/gift/gift_plugin.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cmath>

#include "plugins/sdk/json_ids.hpp"

namespace lp::plugins {

namespace json = boost::json;

namespace {

// An unsigned JSON number or decimal string (plugins/sdk/json_ids.hpp). Absent: true unless
// `required`; null is not an id.
bool read_u64(const json::object& o, std::string_view key, std::uint64_t& out,
              bool required = true) {
    const json::value* v = o.if_contains(key);
    if (!v) return !required;
    const auto n = sdk::json_u64(*v);
    if (n) out = *n;
    return n.has_value();
}

struct GiftEvent {
    std::string event_id;
    std::uint64_t room_id = 0, anchor_id = 0, sender_id = 0, channel_id = 0, gift_id = 0, count = 0,
                  ts_ms = 0;
    json::value value;  // kept as written: "0.1" units, decimal
    bool failed = false;
    std::string reason;
};

// Validates the fixed gift event shape. Returns an error naming the field, or empty.
std::string parse_event(const std::string& text, GiftEvent& e) {
    boost::system::error_code ec;
    json::value v = json::parse(text, ec);
    if (ec || !v.is_object()) return "a gift event must be a JSON object";
    const auto& o = v.get_object();
    const json::value* id = o.if_contains("event_id");
    if (!id || (!id->is_string() && !id->is_int64() && !id->is_uint64()))
        return "\"event_id\" is required";
    e.event_id = id->is_string() ? std::string(id->get_string()) : json::serialize(*id);
    if (e.event_id.empty()) return "\"event_id\" must not be empty";
    if (!read_u64(o, "room_id", e.room_id) || e.room_id == 0)
        return "\"room_id\" must be a non-zero id";
    if (!read_u64(o, "sender_id", e.sender_id) || e.sender_id == 0)
        return "\"sender_id\" must be a non-zero id";
    if (!read_u64(o, "anchor_id", e.anchor_id)) return "\"anchor_id\" must be an id";
    if (!read_u64(o, "gift_id", e.gift_id)) return "\"gift_id\" must be an id";
    if (!read_u64(o, "channel_id", e.channel_id, false)) return "\"channel_id\" must be an id";
    if (!read_u64(o, "count", e.count) || e.count == 0)
        return "\"count\" must be a positive integer";
    if (!read_u64(o, "ts_ms", e.ts_ms, false)) return "\"ts_ms\" must be milliseconds";
    const json::value* val = o.if_contains("value");
    if (!val || !(val->is_number() || val->is_string())) return "\"value\" must be a number";
    e.value = *val;
    if (const json::value* st = o.if_contains("status"); st && st->is_string())
        e.failed = st->get_string() == "failed";
    if (const json::value* r = o.if_contains("reason"); r && r->is_string())
        e.reason = std::string(r->get_string());
    return {};
}

double value_as_double(const json::value& v) {
    if (v.is_string()) {
        try {
            return std::stod(std::string(v.get_string()));
        } catch (...) {
            return 0;
        }
    }
    return v.to_number<double>();
}

std::string id_str(std::uint64_t id) {
    return std::to_string(id);
}

// As the event bus's dedupe window (plugins.md): a repeat within it does nothing.
constexpr std::chrono::milliseconds kApiDedupeWindow{10 * 60 * 1000};

// A decimal value as a plain JSON number, without the exponent Boost.JSON writes for doubles
// ("12.5", not "1.25E1"); the rule for decimal values in docs/protocol.md. A string that is
// not a finite decimal is kept as the string it was.
std::string plain_decimal(const json::value& v) {
    if (v.is_int64() || v.is_uint64()) return json::serialize(v);
    double d = 0;
    if (v.is_double()) {
        d = v.get_double();
    } else if (v.is_string()) {
        const auto& s = v.get_string();
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), d);
        if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return json::serialize(v);
    }
    if (!std::isfinite(d)) return "0";
    char buf[64];
    auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::fixed);
    return ec == std::errc() ? std::string(buf, end) : json::serialize(v);
}

// The object serialized, with "value" written as plain_decimal (Boost.JSON cannot emit a
// number's text as given).
std::string with_value(const json::object& o, const json::value& value) {
    std::string text = json::serialize(o);
    text.pop_back();  // the closing brace
    text += (o.empty() ? "" : ",");
    text += "\"value\":" + plain_decimal(value) + "}";
    return text;
}

class GiftPlugin final : public sdk::Plugin {
public:
    std::string name() const override { return "gift"; }
    std::vector<sdk::Route> routes() const override { return {{"POST", "/v1/gift/events"}}; }
    std::vector<std::string> event_topics() const override { return {"gift"}; }

    void start(sdk::Context& ctx) override {
        ctx_ = &ctx;
        banner_value_ = static_cast<double>(ctx.config_int("banner_value", 100));
        fullscreen_value_ = static_cast<double>(ctx.config_int("fullscreen_value", 1000));
    }

    sdk::Reply on_http(const sdk::HttpRequest& req) override {
        GiftEvent e;
        if (auto err = parse_event(req.body, e); !err.empty()) return {400, err, {}};
        // An event_id this API already took within the dedupe window would be dropped by the
        // bus without a trace: say so instead of "accepted" (the mark is the plugin's own, so
        // an event that came through Kafka only is still caught, silently, by the bus).
        const std::string mark = "api_seen:" + e.event_id;
        if (!ctx_->store->set_if_absent(mark, "1", kApiDedupeWindow) && ctx_->store->get(mark)) {
            ctx_->metrics->count("duplicate_events");
            json::object out;
            out["accepted"] = false;
            out["duplicate"] = true;
            out["event_id"] = e.event_id;
            out["reason"] =
                "this event_id was already accepted within the last 10 minutes; nothing was done";
            return {200, {}, json::serialize(out)};
        }
        // One path for every event: the bus (Kafka in cluster mode) delivers it to gift, pk
        // and rank alike, and de-duplicates by event_id.
        if (!ctx_->events->publish("gift", id_str(e.room_id), req.body)) {
            ctx_->store->del(mark);
            return {503, "the event bus is full or unavailable; retry", {}};
        }
        json::object out;
        out["accepted"] = true;
        out["duplicate"] = false;
        out["event_id"] = e.event_id;
        // What the other consumers (rank's week-star boards, ...) will and will not count,
        // judged now, so an event that counts nowhere does not pass for one that did.
        boost::system::error_code ec;
        auto counted = json::parse(ctx_->events->describe("gift", req.body), ec);
        out["counted"] = !ec && counted.is_object() ? std::move(counted) : json::object{};
        return {202, {}, json::serialize(out)};
    }

    void on_event(const std::string& topic, const std::string&, const std::string& value) override {
        GiftEvent e;
        if (auto err = parse_event(value, e); !err.empty()) {
            ctx_->metrics->count("invalid_events");
            ctx_->log->warn("invalid gift event skipped: " + err);
            return;
        }
        if (e.failed) {
            // A failure (e.g. the wallet refused) concerns the sender only.
            json::object p;
            p["event_id"] = e.event_id;
            p["room_id"] = id_str(e.room_id);
            p["gift_id"] = id_str(e.gift_id);
            p["count"] = e.count;
            p["reason"] = e.reason.empty() ? "failed" : e.reason;
            sdk::PushOptions opts;
            opts.qos = 1;
            ctx_->push->to_user(e.sender_id, "gift.failed", json::serialize(p), opts);
            ctx_->metrics->count("failures");
            return;
        }
        double value_units = value_as_double(e.value);
        json::object effect;
        effect["level"] = value_units >= fullscreen_value_ ? "fullscreen"
                          : value_units >= banner_value_   ? "banner"
                                                           : "normal";
        json::object p;
        p["event_id"] = e.event_id;
        p["room_id"] = id_str(e.room_id);
        p["sender_id"] = id_str(e.sender_id);
        p["anchor_id"] = id_str(e.anchor_id);
        p["gift_id"] = id_str(e.gift_id);
        p["count"] = e.count;
        p["effect"] = std::move(effect);
        std::string payload = with_value(p, e.value);
        // High: a viewer budget never sheds a gift effect.
        ctx_->push->to_room_as(sdk::RoomClass::High, e.room_id, "gift.effect", payload);
        sdk::PushOptions opts;
        opts.qos = 1;
        ctx_->push->to_user(e.sender_id, "gift.confirmed", payload, opts);
        ctx_->metrics->count("effects");
    }

private:
    sdk::Context* ctx_ = nullptr;
    double banner_value_ = 100;
    double fullscreen_value_ = 1000;
};

}  // namespace

std::unique_ptr<sdk::Plugin> make_gift_plugin() {
    return std::make_unique<GiftPlugin>();
}

}  // namespace lp::plugins
