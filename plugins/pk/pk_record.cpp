#include "plugins/pk/pk_record.hpp"

#include <boost/json.hpp>

namespace lp::plugins::pk {

namespace json = boost::json;

bool is_terminal(PkState state) {
    return state == PkState::ended || state == PkState::closed || state == PkState::idle;
}

const char* phase_name(PkState state) {
    switch (state) {
        case PkState::invited:
            return "invite";
        case PkState::scoring:
            return "scoring";
        case PkState::penalty:
            return "penalty";
        default:
            return nullptr;
    }
}

namespace {

template <class Number>
std::optional<Number> number_field(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    if (v == nullptr) return std::nullopt;
    json::error_code ec;
    auto n = v->to_number<Number>(ec);
    if (ec) return std::nullopt;
    return n;
}

std::optional<std::string> string_field(const json::object& obj, std::string_view key) {
    const json::value* v = obj.if_contains(key);
    if (v == nullptr || !v->is_string()) return std::nullopt;
    return std::string(v->get_string());
}

}  // namespace

std::string PkRecord::to_json() const {
    json::object obj;
    obj["pk_id"] = pk_id;
    obj["v"] = version;
    obj["state"] = static_cast<int>(state);
    obj["from_anchor"] = from_anchor;
    obj["from_room"] = from_room;
    obj["to_anchor"] = to_anchor;
    obj["to_room"] = to_room;
    obj["created_ms"] = created_ms;
    obj["phase_ends_at_ms"] = phase_ends_at_ms;
    obj["winner"] = winner;
    if (frozen) obj["frozen"] = json::array{frozen->from, frozen->to};
    obj["reason"] = reason;
    return json::serialize(obj);
}

std::optional<PkRecord> PkRecord::from_json(std::string_view text) {
    json::error_code ec;
    json::value doc = json::parse(text, ec);
    if (ec || !doc.is_object()) return std::nullopt;
    const json::object& obj = doc.get_object();

    PkRecord r;
    auto id = string_field(obj, "pk_id");
    auto version = number_field<std::uint64_t>(obj, "v");
    auto state = number_field<int>(obj, "state");
    auto from_anchor = number_field<std::uint64_t>(obj, "from_anchor");
    auto from_room = number_field<std::uint64_t>(obj, "from_room");
    auto to_anchor = number_field<std::uint64_t>(obj, "to_anchor");
    auto to_room = number_field<std::uint64_t>(obj, "to_room");
    auto created = number_field<std::int64_t>(obj, "created_ms");
    auto ends = number_field<std::int64_t>(obj, "phase_ends_at_ms");
    auto winner = number_field<std::uint64_t>(obj, "winner");
    if (!id || !version || !state || *state < 0 || *state > 5 || !from_anchor || !from_room ||
        !to_anchor || !to_room || !created || !ends || !winner) {
        return std::nullopt;
    }
    r.pk_id = *id;
    r.version = *version;
    r.state = static_cast<PkState>(*state);
    r.from_anchor = *from_anchor;
    r.from_room = *from_room;
    r.to_anchor = *to_anchor;
    r.to_room = *to_room;
    r.created_ms = *created;
    r.phase_ends_at_ms = *ends;
    r.winner = *winner;
    r.reason = string_field(obj, "reason").value_or("");
    if (const json::value* f = obj.if_contains("frozen")) {
        const json::array* a = f->if_array();
        if (a == nullptr || a->size() != 2) return std::nullopt;
        auto from = (*a)[0].to_number<std::int64_t>(ec);
        if (ec) return std::nullopt;
        auto to = (*a)[1].to_number<std::int64_t>(ec);
        if (ec) return std::nullopt;
        r.frozen = PkScores{from, to};
    }
    return r;
}

std::string view_json(const PkRecord& record, const PkScores& scores) {
    json::object obj;
    obj["pk_id"] = record.pk_id;
    obj["state"] = static_cast<int>(record.state);
    json::object by_anchor;
    by_anchor[std::to_string(record.from_anchor)] = scores.from;
    by_anchor[std::to_string(record.to_anchor)] = scores.to;
    obj["scores"] = std::move(by_anchor);
    // No winner (not decided yet, or a draw) is null, as on the rank boards (docs/protocol.md).
    if (record.winner)
        obj["winner"] = std::to_string(record.winner);
    else
        obj["winner"] = nullptr;
    obj["phase_ends_at_ms"] = record.phase_ends_at_ms;
    obj["anchors"] =
        json::array{std::to_string(record.from_anchor), std::to_string(record.to_anchor)};
    obj["rooms"] = json::array{std::to_string(record.from_room), std::to_string(record.to_room)};
    obj["reason"] = record.reason;
    obj["version"] = record.version;
    return json::serialize(obj);
}

}  // namespace lp::plugins::pk
