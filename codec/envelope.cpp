// codec/envelope: the WebSocket text envelope and body <-> protobuf conversions.
//
// The envelope is plain JSON handled by Boost.JSON; the body inside it (and a JSON_BODY frame's
// body) follows the standard protobuf JSON mapping, so browsers and debugging tools see the same
// field names whatever the transport. Everything a peer sends is judged by return value: a bad
// envelope or body is an EnvelopeError or a false, never an exception.
#include "codec/envelope.hpp"

#include <boost/json.hpp>
#include <charconv>
#include <climits>

#include "codec/frame.hpp"
#include "codec/json_numbers.hpp"

namespace lp::codec {
namespace {

// An integral JSON number that fits in 64 unsigned bits. 1001.0 or "1001" are not accepted:
// the envelope is written by our own client libraries, which emit plain integers.
bool as_unsigned(const boost::json::value& v, std::uint64_t& out) noexcept {
    if (const auto* u = v.if_uint64()) {
        out = *u;
        return true;
    }
    if (const auto* i = v.if_int64(); i && *i >= 0) {
        out = static_cast<std::uint64_t>(*i);
        return true;
    }
    return false;
}

void append_number(std::string& out, std::uint64_t v) {
    char digits[20];
    auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
    out.append(digits, end);
}

}  // namespace

std::string_view to_string(EnvelopeError e) noexcept {
    switch (e) {
        case EnvelopeError::None:
            return "ok";
        case EnvelopeError::NotJson:
            return "text message is not valid JSON";
        case EnvelopeError::NotObject:
            return "envelope must be a JSON object";
        case EnvelopeError::BadCode:
            return "\"code\" must be a known packet code number";
        case EnvelopeError::BadSeq:
            return "\"seq\" must be an unsigned 32-bit integer";
        case EnvelopeError::BadBody:
            return "\"body\" must be a JSON object, its numbers within the range of a double";
        case EnvelopeError::BadFlags:
            return "\"flags\" must be ACK_REQUIRED (1), JSON_BODY (2) or both";
    }
    return "unknown envelope error";
}

EnvelopeError decode_envelope(std::string_view text, Envelope& out) {
    // A typical envelope parses entirely inside this stack buffer: no heap use for the DOM.
    unsigned char scratch[4096];
    boost::json::monotonic_resource arena(scratch, sizeof scratch);
    boost::system::error_code ec;
    boost::json::value doc = boost::json::parse(text, ec, &arena);
    if (ec) return EnvelopeError::NotJson;
    const boost::json::object* obj = doc.if_object();
    if (!obj) return EnvelopeError::NotObject;

    std::uint64_t code = 0;
    const boost::json::value* code_v = obj->if_contains("code");
    if (!code_v || !as_unsigned(*code_v, code) || code > 0xFFFF ||
        !is_known_code(static_cast<std::uint16_t>(code))) {
        return EnvelopeError::BadCode;
    }

    // Absent and null both mean "not given": JavaScript clients often send null.
    std::uint64_t seq = 0;
    const boost::json::value* seq_v = obj->if_contains("seq");
    if (seq_v && !seq_v->is_null() && (!as_unsigned(*seq_v, seq) || seq > 0xFFFFFFFFu)) {
        return EnvelopeError::BadSeq;
    }

    const boost::json::value* body_v = obj->if_contains("body");
    if (body_v && !body_v->is_null() && !body_v->is_object()) return EnvelopeError::BadBody;
    if (body_v && !finite_numbers(*body_v)) return EnvelopeError::BadBody;

    std::uint64_t flags = 0;
    const boost::json::value* flags_v = obj->if_contains("flags");
    if (flags_v && !flags_v->is_null() &&
        (!as_unsigned(*flags_v, flags) || (flags & ~std::uint64_t{kKnownFlags}) != 0)) {
        return EnvelopeError::BadFlags;
    }

    out.code = static_cast<std::uint16_t>(code);
    out.seq = static_cast<std::uint32_t>(seq);
    out.flags = static_cast<std::uint8_t>(flags & ~std::uint64_t{kJsonBody});
    if (body_v && body_v->is_object()) {
        out.body_json = boost::json::serialize(*body_v);
    } else {
        out.body_json = "{}";
    }
    return EnvelopeError::None;
}

std::string encode_envelope(std::uint16_t code, std::uint32_t seq, std::string_view body_json,
                            std::uint8_t flags) {
    static constexpr std::string_view kCode = "{\"code\":";
    static constexpr std::string_view kSeq = ",\"seq\":";
    static constexpr std::string_view kBody = ",\"body\":";
    std::string out;
    out.reserve(kCode.size() + kSeq.size() + kBody.size() + 5 + 10 + body_json.size() + 2);
    out.append(kCode);
    append_number(out, code);
    out.append(kSeq);
    append_number(out, seq);
    out.append(kBody);
    // An empty body would make the envelope invalid JSON; it means "no fields".
    out.append(body_json.empty() ? std::string_view("{}") : body_json);
    flags &= static_cast<std::uint8_t>(~kJsonBody);
    if (flags != 0) {
        out.append(",\"flags\":");
        append_number(out, flags);
    }
    out.push_back('}');
    return out;
}

bool parse_body(std::string_view body, bool json, google::protobuf::Message& out) {
    // A failed parse may leave fields half set; clear so the caller never sees a mix.
    if (!json) {
        if (body.size() > static_cast<std::size_t>(INT_MAX)) {
            out.Clear();
            return false;
        }
        // ParseFromArray clears first and rejects truncated or malformed input; an empty body
        // is the valid encoding of a message with every field at its default.
        if (out.ParseFromArray(body.data(), static_cast<int>(body.size()))) return true;
        out.Clear();
        return false;
    }
    if (parse_json_body(body, out)) return true;
    out.Clear();
    return false;
}

std::string serialize_body(const google::protobuf::Message& msg, bool json) {
    return json ? to_json(msg) : msg.SerializeAsString();
}

}  // namespace lp::codec
