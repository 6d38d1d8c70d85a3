// push/request_parse: see request_parse.hpp. Boost.JSON DOM parsing, explicit checks per field,
// and one message per mistake naming the field, so a caller can fix a request from the 400 alone.
#include "push/request_parse.hpp"

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <limits>

#include "codec/json_ids.hpp"

namespace lp::push {
namespace {

namespace json = boost::json;

constexpr std::size_t kMaxTypeBytes = 64;
constexpr std::size_t kMaxKickReasonBytes = 128;
// A body may nest deeper than Boost.JSON's default of 32: payloads are the caller's own data.
constexpr std::size_t kMaxJsonDepth = 64;

constexpr std::string_view kIdRule =
    "must be a non-zero unsigned 64-bit integer, as a JSON number or a decimal string";

std::string quoted(std::string_view field) {
    std::string s;
    s.reserve(field.size() + 2);
    s += '"';
    s += field;
    s += '"';
    return s;
}

bool fail(std::string& error, std::string message) {
    error = std::move(message);
    return false;
}

// Null and absent are the same: JavaScript callers often send `"qos": null`.
const json::value* field(const json::object& o, std::string_view key) {
    const json::value* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
}

bool parse_json_object(std::string_view body, json::value& doc, std::string& error) {
    json::parse_options options;
    options.max_depth = kMaxJsonDepth;
    boost::system::error_code ec;
    doc = json::parse(body, ec, {}, options);
    if (ec) return fail(error, "body is not valid JSON: " + ec.message());
    if (!doc.is_object()) return fail(error, "body must be a JSON object");
    return true;
}

bool json_id(const json::value& v, std::uint64_t& out) {
    const auto id = codec::json_id(v);
    if (id) out = *id;
    return id.has_value();
}

bool required_id(const json::object& o, std::string_view key, std::uint64_t& out,
                 std::string& error) {
    const json::value* v = field(o, key);
    if (!v) return fail(error, quoted(key) + " is required");
    if (!json_id(*v, out)) return fail(error, quoted(key) + ' ' + std::string(kIdRule));
    return true;
}

// An array of ids, at most `max` of them, returned sorted and without duplicates.
bool id_array(const json::value& v, std::string_view key, std::uint32_t max,
              std::vector<std::uint64_t>& out, std::string& error) {
    const json::array* a = v.if_array();
    if (!a) return fail(error, quoted(key) + " must be an array of ids");
    if (a->size() > max) {
        return fail(error, quoted(key) + " holds " + std::to_string(a->size()) + " ids; at most " +
                               std::to_string(max) + " are allowed per request (api.max_user_ids)");
    }
    out.clear();
    out.reserve(a->size());
    for (std::size_t i = 0; i < a->size(); ++i) {
        std::uint64_t id = 0;
        if (!json_id((*a)[i], id)) {
            return fail(error, quoted(key) + '[' + std::to_string(i) + "] " + std::string(kIdRule));
        }
        out.push_back(id);
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return true;
}

bool parse_type(const json::object& o, std::string& out, std::string& error) {
    const json::value* v = field(o, "type");
    if (!v) return fail(error, "\"type\" is required");
    const json::string* s = v->if_string();
    if (!s || s->empty() || s->size() > kMaxTypeBytes) {
        return fail(
            error, "\"type\" must be a string of 1 to " + std::to_string(kMaxTypeBytes) + " bytes");
    }
    out.assign(s->data(), s->size());
    return true;
}

// The raw text of a top-level member's value in `body`, which must already be valid JSON (it
// was parsed first). Returns the last occurrence, as Boost.JSON keeps the last duplicate; empty
// when the key is absent or written with escapes (the caller then falls back to serializing).
std::string_view raw_member(std::string_view body, std::string_view key) {
    std::size_t i = 0;
    auto ws = [&] {
        while (i < body.size() &&
               (body[i] == ' ' || body[i] == '\t' || body[i] == '\n' || body[i] == '\r'))
            ++i;
    };
    auto skip_string = [&] {  // at '"'
        for (++i; i < body.size(); ++i) {
            if (body[i] == '\\')
                ++i;
            else if (body[i] == '"') {
                ++i;
                return;
            }
        }
    };
    auto skip_value = [&] {
        if (i >= body.size()) return;
        char c = body[i];
        if (c == '"') {
            skip_string();
        } else if (c == '{' || c == '[') {
            int depth = 0;
            while (i < body.size()) {
                char d = body[i];
                if (d == '"') {
                    skip_string();
                    continue;
                }
                if (d == '{' || d == '[') ++depth;
                if (d == '}' || d == ']') {
                    if (--depth == 0) {
                        ++i;
                        return;
                    }
                }
                ++i;
            }
        } else {
            while (i < body.size() && body[i] != ',' && body[i] != '}' && body[i] != ']' &&
                   body[i] != ' ' && body[i] != '\t' && body[i] != '\n' && body[i] != '\r')
                ++i;
        }
    };
    std::string_view found;
    ws();
    if (i >= body.size() || body[i] != '{') return {};
    ++i;
    while (i < body.size()) {
        ws();
        if (i >= body.size() || body[i] == '}') break;
        std::size_t key_start = i + 1;
        skip_string();
        std::string_view k = body.substr(key_start, i - 1 - key_start);
        ws();
        ++i;  // ':'
        ws();
        std::size_t value_start = i;
        skip_value();
        if (k == key) found = body.substr(value_start, i - value_start);
        ws();
        if (i < body.size() && body[i] == ',') ++i;
    }
    return found;
}

// "payload" (any JSON value, forwarded exactly as the caller wrote it) or "payload_base64"
// (bytes).
bool parse_payload(const json::object& o, std::string_view body, std::string& out,
                   std::string& error) {
    const json::value* as_json = field(o, "payload");
    const json::value* as_base64 = field(o, "payload_base64");
    if (as_json && as_base64) {
        return fail(error, "\"payload\" and \"payload_base64\" exclude each other; send one");
    }
    if (!as_json && !as_base64) {
        return fail(error, "\"payload\" (any JSON value) or \"payload_base64\" is required");
    }
    if (as_json) {
        // design.md: the payload reaches clients unchanged. Re-serializing would reformat
        // numbers (1.5 -> 1.5E0), so forward the caller's own text of the value.
        std::string_view raw = raw_member(body, "payload");
        out = raw.empty() ? json::serialize(*as_json) : std::string(raw);
        return true;
    }
    const json::string* s = as_base64->if_string();
    if (!s || !decode_base64(std::string_view(s->data(), s->size()), out)) {
        return fail(error, "\"payload_base64\" must be a string of standard base64 (RFC 4648)");
    }
    return true;
}

bool parse_qos(const json::object& o, Target target, int& out, std::string& error) {
    out = 0;
    const json::value* v = field(o, "qos");
    if (!v) return true;
    const bool integral = v->is_int64() || v->is_uint64();
    const std::int64_t qos = v->is_int64() ? v->get_int64() : -1;
    if (!integral || (qos != 0 && qos != 1)) return fail(error, "\"qos\" must be 0 or 1");
    if (qos == 1 && (target == Target::Room || target == Target::Broadcast)) {
        return fail(error, std::string("\"qos\" must be 0 for ") +
                               (target == Target::Room ? "room" : "broadcast") +
                               " pushes: they are delivered at most once");
    }
    out = static_cast<int>(qos);
    return true;
}

bool parse_ttl(const json::object& o, std::uint32_t& out, std::string& error) {
    out = 0;
    const json::value* v = field(o, "ttl_s");
    if (!v) return true;
    constexpr std::uint64_t kMax = std::numeric_limits<std::uint32_t>::max();
    std::uint64_t ttl = 0;
    if (const auto* u = v->if_uint64()) {
        ttl = *u;
    } else if (const auto* i = v->if_int64(); i && *i >= 0) {
        ttl = static_cast<std::uint64_t>(*i);
    } else {
        ttl = kMax + 1;
    }
    if (ttl > kMax) {
        return fail(error, "\"ttl_s\" must be an integer from 0 to " + std::to_string(kMax));
    }
    out = static_cast<std::uint32_t>(ttl);
    return true;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

std::string percent_decode(std::string_view s, bool plus_is_space) {
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        const char c = s[i];
        if (c == '%' && i + 2 < s.size()) {
            const int hi = hex_value(s[i + 1]);
            const int lo = hex_value(s[i + 2]);
            if (hi >= 0 && lo >= 0) {
                out += static_cast<char>(hi * 16 + lo);
                i += 2;
                continue;
            }
        }
        out += (plus_is_space && c == '+') ? ' ' : c;
    }
    return out;
}

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return ascii_lower(x) == ascii_lower(y);
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
    return s;
}

// "class" or its alias "priority" (not both): a room message's class, what a viewer budget may
// shed (docs/rooms.md).
bool parse_class(const json::object& o, Target target, std::optional<server::MsgClass>& out,
                 std::string& error) {
    const json::value* c = field(o, "class");
    const json::value* p = field(o, "priority");
    if (c && p) return fail(error, "give \"class\" or its alias \"priority\", not both");
    const char* name = c ? "class" : "priority";
    const json::value* v = c ? c : p;
    if (!v) return true;
    if (target != Target::Room) return fail(error, quoted(name) + " applies to room pushes only");
    const json::string* s = v->if_string();
    if (s) out = server::msg_class_from(std::string_view(s->data(), s->size()));
    if (!out)
        return fail(error,
                    quoted(name) + " must be one of \"critical\", \"high\", \"normal\", \"low\"");
    return true;
}

}  // namespace

bool parse_push_body(Target target, std::string_view body, const PushBodyLimits& limits,
                     PushRequest& out, std::string& error) {
    json::value doc;
    if (!parse_json_object(body, doc, error)) return false;
    const json::object& o = doc.get_object();

    out = PushRequest{};
    out.target = target;
    switch (target) {
        case Target::User:
            if (!required_id(o, "user_id", out.user_id, error)) return false;
            break;
        case Target::Users: {
            const json::value* ids = field(o, "user_ids");
            if (!ids) return fail(error, "\"user_ids\" is required");
            if (!id_array(*ids, "user_ids", limits.max_user_ids, out.user_ids, error)) {
                return false;
            }
            if (out.user_ids.empty()) {
                return fail(error, "\"user_ids\" must hold at least one id");
            }
            break;
        }
        case Target::Room:
            if (!required_id(o, "room_id", out.room_id, error)) return false;
            break;
        case Target::Broadcast:
            break;
    }
    if (!parse_type(o, out.type, error)) return false;
    if (!parse_payload(o, body, out.payload, error)) return false;
    if (!parse_qos(o, target, out.qos, error)) return false;
    if (target == Target::User || target == Target::Users) {
        if (!parse_ttl(o, out.ttl_s, error)) return false;
    } else if (const json::value* ex = field(o, "exclude")) {
        if (!id_array(*ex, "exclude", limits.max_user_ids, out.exclude, error)) return false;
    }
    return parse_class(o, target, out.cls, error);
}

bool parse_kick_body(std::string_view body, std::string& reason, std::string& error) {
    reason = "admin";
    if (trim(body).empty()) return true;
    json::value doc;
    if (!parse_json_object(body, doc, error)) return false;
    const json::value* v = field(doc.get_object(), "reason");
    if (!v) return true;
    const json::string* s = v->if_string();
    if (!s || s->empty() || s->size() > kMaxKickReasonBytes) {
        return fail(error, "\"reason\" must be a string of 1 to " +
                               std::to_string(kMaxKickReasonBytes) + " bytes");
    }
    reason.assign(s->data(), s->size());
    return true;
}

std::optional<std::uint64_t> parse_path_id(std::string_view text) {
    const auto id = codec::decimal_u64(text);
    if (id && *id == 0) return std::nullopt;
    return id;
}

bool decode_base64(std::string_view text, std::string& out) {
    static constexpr auto kSextet = [] {
        std::array<std::int8_t, 256> t{};
        t.fill(-1);
        constexpr std::string_view alphabet =
            "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        for (std::size_t i = 0; i < alphabet.size(); ++i) {
            t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
        }
        return t;
    }();

    std::size_t padding = 0;
    while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
        ++padding;
    }
    if (padding > 0 && text.size() % 4 != 0) return false;
    const std::string_view data = text.substr(0, text.size() - padding);
    if (data.size() % 4 == 1) return false;  // no encoder leaves a single trailing character

    out.clear();
    out.reserve(data.size() / 4 * 3 + 2);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (char c : data) {
        const std::int8_t sextet = kSextet[static_cast<unsigned char>(c)];
        if (sextet < 0) return false;
        bits = (bits << 6) | static_cast<std::uint32_t>(sextet);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out += static_cast<char>((bits >> bit_count) & 0xFF);
        }
    }
    return true;
}

bool is_json_media_type(std::string_view content_type) {
    const std::string_view media = trim(content_type.substr(0, content_type.find(';')));
    return iequals(media, "application/json");
}

bool bearer_key_matches(std::string_view authorization, std::string_view key) {
    constexpr std::string_view kScheme = "bearer ";
    authorization = trim(authorization);
    if (authorization.size() < kScheme.size() ||
        !iequals(authorization.substr(0, kScheme.size()), kScheme)) {
        return false;
    }
    const std::string_view given = trim(authorization.substr(kScheme.size()));
    // Every byte of the key is looked at whatever `given` holds; only its length (which the
    // caller knows anyway) changes the path taken.
    unsigned difference = given.size() != key.size() ? 1u : 0u;
    for (std::size_t i = 0; i < key.size(); ++i) {
        const unsigned char g = i < given.size() ? static_cast<unsigned char>(given[i]) : 0;
        difference |= static_cast<unsigned>(g ^ static_cast<unsigned char>(key[i]));
    }
    return difference == 0 && !key.empty();
}

void split_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query) {
    query.clear();
    const std::size_t mark = target.find('?');
    path.assign(target.substr(0, mark));
    if (mark == std::string_view::npos) return;
    std::string_view rest = target.substr(mark + 1);
    while (!rest.empty()) {
        const std::size_t amp = rest.find('&');
        const std::string_view pair = rest.substr(0, amp);
        rest = amp == std::string_view::npos ? std::string_view{} : rest.substr(amp + 1);
        if (pair.empty()) continue;
        const std::size_t eq = pair.find('=');
        std::string name = percent_decode(pair.substr(0, eq), true);
        std::string value = eq == std::string_view::npos
                                ? std::string{}
                                : percent_decode(pair.substr(eq + 1), true);
        query[std::move(name)] = std::move(value);
    }
}

}  // namespace lp::push
