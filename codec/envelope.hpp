// codec/envelope: the WebSocket text envelope {"code":1001,"seq":1,"body":{...}} and the
// body conversions (binary protobuf or protobuf JSON mapping) shared by every transport.
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lp::codec {

struct Envelope {
    std::uint16_t code = 0;
    std::uint32_t seq = 0;
    std::string body_json;   // the "body" member re-serialized as JSON text ("{}" when absent)
    std::uint8_t flags = 0;  // frame flags other than JSON_BODY (ACK_REQUIRED on qos1 pushes)
};

enum class EnvelopeError : std::uint8_t {
    None = 0,
    NotJson,
    NotObject,
    BadCode,
    BadSeq,
    BadBody,
    BadFlags
};
std::string_view to_string(EnvelopeError e) noexcept;

// Parses a text message. "code" must be a known code number, "seq" an unsigned 32-bit number
// (absent = 0), "body" an object (absent = empty body), "flags" optional: the frame flags a
// text message cannot carry in a header (bit0 ACK_REQUIRED; JSON_BODY is implied).
EnvelopeError decode_envelope(std::string_view text, Envelope& out);
// {"code":C,"seq":S,"body":<body_json>[,"flags":F]} — body_json must already be JSON text;
// "flags" is written only when flags (without JSON_BODY) is non-zero.
std::string encode_envelope(std::uint16_t code, std::uint32_t seq, std::string_view body_json,
                            std::uint8_t flags = 0);

// Body <-> message. json=true uses text envelope v1.1 (docs/protocol.md): the standard protobuf
// JSON mapping (parse accepts lowerCamelCase and proto field names and ignores unknown fields;
// output uses lowerCamelCase, 64-bit integers as decimal strings, and leaves out fields at their
// default value, so a successful Result has no "code"), except that BizReq.data, Result.data
// and Push.payload travel as the JSON value itself ("data":{"room_id":1}). Bytes that are not a
// JSON value, or are a JSON string, travel as base64 in "dataB64" / "payloadB64". On input a
// string in "data" / "payload" is base64, the v1.0 form, still accepted.
bool parse_body(std::string_view body, bool json, google::protobuf::Message& out);
std::string serialize_body(const google::protobuf::Message& msg, bool json);
// JSON text for a message (the mapping above), used for envelopes and JSON_BODY frames.
std::string to_json(const google::protobuf::Message& msg);
// parse_body for json=true (codec/body_json.cpp); may leave `out` half set when it fails.
bool parse_json_body(std::string_view body, google::protobuf::Message& out);

}  // namespace lp::codec
