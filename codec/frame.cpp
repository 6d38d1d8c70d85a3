// codec/frame: encoding and validation of the 16-byte v1 frame header (design.md section 3).
//
// Everything here is noexcept and allocation-free except the two helpers that build a whole frame
// into a string. Decoding reports problems as DecodeError values: a peer can send anything, and
// the caller answers with an ERROR frame rather than unwinding.
#include "codec/frame.hpp"

namespace lp::codec {
namespace {

// Header field offsets (design.md section 3).
constexpr std::size_t kOffMagic = 0;
constexpr std::size_t kOffVersion = 2;
constexpr std::size_t kOffFlags = 3;
constexpr std::size_t kOffCode = 4;
constexpr std::size_t kOffReserved = 6;
constexpr std::size_t kOffSeq = 8;
constexpr std::size_t kOffBodyLen = 12;

std::uint16_t load_be16(const std::uint8_t* p) noexcept {
    return static_cast<std::uint16_t>((p[0] << 8) | p[1]);
}

std::uint32_t load_be32(const std::uint8_t* p) noexcept {
    return (std::uint32_t{p[0]} << 24) | (std::uint32_t{p[1]} << 16) | (std::uint32_t{p[2]} << 8) |
           std::uint32_t{p[3]};
}

void store_be16(std::uint8_t* p, std::uint16_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 8);
    p[1] = static_cast<std::uint8_t>(v);
}

void store_be32(std::uint8_t* p, std::uint32_t v) noexcept {
    p[0] = static_cast<std::uint8_t>(v >> 24);
    p[1] = static_cast<std::uint8_t>(v >> 16);
    p[2] = static_cast<std::uint8_t>(v >> 8);
    p[3] = static_cast<std::uint8_t>(v);
}

}  // namespace

bool is_known_code(std::uint16_t code) noexcept {
    switch (static_cast<Code>(code)) {
        case Code::Login:
        case Code::Logout:
        case Code::Biz:
        case Code::Heartbeat:
        case Code::Ack:
        case Code::LoginResult:
        case Code::LogoutResult:
        case Code::BizResult:
        case Code::Pong:
        case Code::Push:
        case Code::Kick:
        case Code::Error:
            return true;
        case Code::LinkHello:
        case Code::LinkUsers:
        case Code::LinkRoomPublish:
        case Code::LinkRoomDeliver:
        case Code::LinkRoomSub:
        case Code::LinkKick:
        case Code::LinkPing:
        case Code::LinkChallenge:
        case Code::LinkWelcome:
        case Code::LinkRoomQuery:
        case Code::LinkRoomReply:
        case Code::LinkUserQuery:
        case Code::LinkUserReply:
        case Code::LinkRoomLikes:
            return true;
    }
    return false;
}

bool is_client_code(std::uint16_t code) noexcept {
    return code >= static_cast<std::uint16_t>(Code::Login) &&
           code <= static_cast<std::uint16_t>(Code::Ack);
}

std::string_view code_name(std::uint16_t code) noexcept {
    switch (static_cast<Code>(code)) {
        case Code::Login:
            return "LOGIN";
        case Code::Logout:
            return "LOGOUT";
        case Code::Biz:
            return "BIZ";
        case Code::Heartbeat:
            return "HEARTBEAT";
        case Code::Ack:
            return "ACK";
        case Code::LoginResult:
            return "LOGIN_RESULT";
        case Code::LogoutResult:
            return "LOGOUT_RESULT";
        case Code::BizResult:
            return "BIZ_RESULT";
        case Code::Pong:
            return "PONG";
        case Code::Push:
            return "PUSH";
        case Code::Kick:
            return "KICK";
        case Code::Error:
            return "ERROR";
        case Code::LinkHello:
            return "LINK_HELLO";
        case Code::LinkUsers:
            return "LINK_USERS";
        case Code::LinkRoomPublish:
            return "LINK_ROOM_PUBLISH";
        case Code::LinkRoomDeliver:
            return "LINK_ROOM_DELIVER";
        case Code::LinkRoomSub:
            return "LINK_ROOM_SUB";
        case Code::LinkKick:
            return "LINK_KICK";
        case Code::LinkPing:
            return "LINK_PING";
        case Code::LinkChallenge:
            return "LINK_CHALLENGE";
        case Code::LinkWelcome:
            return "LINK_WELCOME";
        case Code::LinkRoomQuery:
            return "LINK_ROOM_QUERY";
        case Code::LinkRoomReply:
            return "LINK_ROOM_REPLY";
        case Code::LinkUserQuery:
            return "LINK_USER_QUERY";
        case Code::LinkUserReply:
            return "LINK_USER_REPLY";
        case Code::LinkRoomLikes:
            return "LINK_ROOM_LIKES";
    }
    return "UNKNOWN";
}

void encode_header(const Header& h, std::uint8_t* out) noexcept {
    store_be16(out + kOffMagic, kMagic);
    out[kOffVersion] = kVersion;
    out[kOffFlags] = h.flags;
    store_be16(out + kOffCode, h.code);
    store_be16(out + kOffReserved, 0);
    store_be32(out + kOffSeq, h.seq);
    store_be32(out + kOffBodyLen, h.body_len);
}

void append_frame(std::string& out, Code code, std::uint32_t seq, std::uint8_t flags,
                  std::string_view body) {
    Header h;
    h.flags = flags;
    h.code = static_cast<std::uint16_t>(code);
    h.seq = seq;
    h.body_len = static_cast<std::uint32_t>(body.size());
    std::uint8_t header[kHeaderSize];
    encode_header(h, header);
    out.reserve(out.size() + kHeaderSize + body.size());
    out.append(reinterpret_cast<const char*>(header), kHeaderSize);
    out.append(body);
}

std::string encode_frame(Code code, std::uint32_t seq, std::uint8_t flags, std::string_view body) {
    std::string out;
    append_frame(out, code, seq, flags, body);
    return out;
}

std::string_view to_string(DecodeError e) noexcept {
    switch (e) {
        case DecodeError::None:
            return "ok";
        case DecodeError::BadMagic:
            return "bad magic (expected 0x4C50 \"LP\")";
        case DecodeError::BadVersion:
            return "unsupported protocol version (expected 1)";
        case DecodeError::BadFlags:
            return "unknown flag bits set";
        case DecodeError::BodyTooLarge:
            return "body length exceeds the limit";
        case DecodeError::UnknownCode:
            return "unknown packet code";
        case DecodeError::Truncated:
            return "frame is truncated";
        case DecodeError::TrailingBytes:
            return "bytes left over after the frame";
    }
    return "unknown decode error";
}

DecodeError check_header_prefix(const std::uint8_t* in, std::size_t n,
                                std::uint32_t max_body) noexcept {
    // Checked in wire order so that each field is judged as soon as its last byte is present.
    if (n > kOffMagic && in[kOffMagic] != static_cast<std::uint8_t>(kMagic >> 8)) {
        return DecodeError::BadMagic;
    }
    if (n > kOffMagic + 1 && in[kOffMagic + 1] != static_cast<std::uint8_t>(kMagic & 0xFF)) {
        return DecodeError::BadMagic;
    }
    if (n > kOffVersion && in[kOffVersion] != kVersion) return DecodeError::BadVersion;
    if (n > kOffFlags && (in[kOffFlags] & ~kKnownFlags) != 0) return DecodeError::BadFlags;
    if (n >= kOffCode + 2 && !is_known_code(load_be16(in + kOffCode))) {
        return DecodeError::UnknownCode;
    }
    if (n > kOffBodyLen) {
        // The missing low bytes can only add; if the known high bytes alone exceed the limit,
        // the length is already too large.
        std::size_t have = n < kHeaderSize ? n - kOffBodyLen : 4;
        std::uint64_t least = 0;
        for (std::size_t i = 0; i < 4; ++i) {
            least = (least << 8) | (i < have ? in[kOffBodyLen + i] : 0);
        }
        if (least > max_body) return DecodeError::BodyTooLarge;
    }
    return DecodeError::None;
}

DecodeError parse_header(const std::uint8_t* in, std::uint32_t max_body, Header& out) noexcept {
    if (DecodeError e = check_header_prefix(in, kHeaderSize, max_body); e != DecodeError::None) {
        return e;
    }
    out.flags = in[kOffFlags];
    out.code = load_be16(in + kOffCode);
    out.seq = load_be32(in + kOffSeq);
    out.body_len = load_be32(in + kOffBodyLen);
    return DecodeError::None;
}

DecodeError decode_one(std::string_view bytes, std::uint32_t max_body, FrameView& out) noexcept {
    const auto* in = reinterpret_cast<const std::uint8_t*>(bytes.data());
    if (bytes.size() < kHeaderSize) {
        // A short message that is already wrong is reported as what is wrong with it.
        DecodeError e = check_header_prefix(in, bytes.size(), max_body);
        return e != DecodeError::None ? e : DecodeError::Truncated;
    }
    Header h;
    if (DecodeError e = parse_header(in, max_body, h); e != DecodeError::None) return e;
    std::size_t available = bytes.size() - kHeaderSize;
    if (available < h.body_len) return DecodeError::Truncated;
    if (available > h.body_len) return DecodeError::TrailingBytes;
    out.header = h;
    out.body = bytes.substr(kHeaderSize, h.body_len);
    return DecodeError::None;
}

}  // namespace lp::codec
