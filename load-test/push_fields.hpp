// load-test/push_fields: reads the numeric fields of a binary `Push` body without parsing it.
//
// livepush-load receives hundreds of thousands of PUSH frames a second and needs four numbers
// from each (msg_id, room_id, room_seq, sent_at_ms), and in the plugin scenarios the type and
// the JSON payload. Parsing into a `livepush::v1::Push` would copy the type and payload strings
// per frame; this walks the protobuf wire format instead and points into the body, with no
// allocation. It knows the field numbers of proto/livepush.proto's `Push` (1 msg_id, 2 type,
// 3 room_id, 4 room_seq, 5 payload, 6 sent_at_ms) and nothing else; unknown fields are skipped
// as protobuf requires, so additions to `Push` do not break it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace lp::load {

struct PushFields {
    std::uint64_t msg_id = 0;
    std::uint64_t room_id = 0;
    std::uint64_t room_seq = 0;
    std::uint64_t sent_at_ms = 0;
    std::string_view type;  // views into the scanned body: valid while it is
    std::string_view payload;
};

namespace detail {

// Reads one base-128 varint; false when it runs past `end` or over 10 bytes.
inline bool read_varint(const std::uint8_t*& p, const std::uint8_t* end,
                        std::uint64_t& out) noexcept {
    std::uint64_t value = 0;
    // Bounded: a 64-bit varint has at most 10 bytes.
    for (int shift = 0; shift < 70 && p < end; shift += 7) {
        std::uint8_t byte = *p++;
        value |= std::uint64_t(byte & 0x7F) << shift;
        if ((byte & 0x80) == 0) {
            out = value;
            return true;
        }
    }
    return false;
}

}  // namespace detail

// Fills `out` from a binary protobuf `Push`; fields absent from the body stay 0 (proto3).
// False when the body is not well-formed protobuf.
inline bool scan_push_fields(std::string_view body, PushFields& out) noexcept {
    out = PushFields{};
    const auto* p = reinterpret_cast<const std::uint8_t*>(body.data());
    const std::uint8_t* end = p + body.size();
    // Bounded by the body's length: every step consumes at least one byte.
    while (p < end) {
        std::uint64_t key = 0;
        if (!detail::read_varint(p, end, key)) return false;
        std::uint64_t field = key >> 3;
        switch (key & 7) {
            case 0: {  // varint
                std::uint64_t v = 0;
                if (!detail::read_varint(p, end, v)) return false;
                if (field == 1)
                    out.msg_id = v;
                else if (field == 3)
                    out.room_id = v;
                else if (field == 4)
                    out.room_seq = v;
                else if (field == 6)
                    out.sent_at_ms = v;
                break;
            }
            case 1:  // fixed64
                if (end - p < 8) return false;
                p += 8;
                break;
            case 2: {  // length-delimited: type, payload, or unknown
                std::uint64_t len = 0;
                if (!detail::read_varint(p, end, len) || len > std::uint64_t(end - p)) return false;
                std::string_view bytes(reinterpret_cast<const char*>(p), len);
                if (field == 2)
                    out.type = bytes;
                else if (field == 5)
                    out.payload = bytes;
                p += len;
                break;
            }
            case 5:  // fixed32
                if (end - p < 4) return false;
                p += 4;
                break;
            default:  // groups (3, 4) and invalid wire types
                return false;
        }
    }
    return true;
}

}  // namespace lp::load
