// codec/frame: the livepush v1 frame (design.md section 3).
//
// A frame is a 16-byte big-endian header followed by body_len bytes of body. This file owns the
// header layout, the packet codes and the limits. It never touches sockets or Asio: the server,
// the client library and the fuzzer all share it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lp::codec {

inline constexpr std::uint16_t kMagic = 0x4C50;  // "LP"
inline constexpr std::uint8_t kVersion = 1;
inline constexpr std::size_t kHeaderSize = 16;
inline constexpr std::uint32_t kDefaultMaxBody = 64 * 1024;

enum Flag : std::uint8_t {
    kAckRequired = 0x01,  // server push the client must ACK
    kJsonBody = 0x02,     // body is the protobuf JSON mapping, not binary
};
inline constexpr std::uint8_t kKnownFlags = kAckRequired | kJsonBody;

enum class Code : std::uint16_t {
    Login = 1001,
    Logout = 1002,
    Biz = 1003,
    Heartbeat = 1004,
    Ack = 1005,
    LoginResult = 2001,
    LogoutResult = 2002,
    BizResult = 2003,
    Pong = 2004,
    Push = 3001,
    Kick = 3002,
    Error = 3003,
    // Node-to-node links only (router/node_links); never accepted from a client.
    LinkHello = 9001,        // LinkHello: the dialer's answer to a challenge (router/link_hello)
    LinkUsers = 9002,        // UserDelivery: a push for users on the receiving node
    LinkRoomPublish = 9003,  // RoomPublish: to a room's home node, which assigns room_seq
    LinkRoomDeliver = 9004,  // RoomDelivery: from the home node to nodes with members
    LinkRoomSub = 9005,      // RoomSub: the sender has (or no longer has) members in a room
    LinkKick = 9006,         // KickSession: kick one session (a login on another node)
    LinkPing = 9007,         // keep-alive on an idle link
    LinkChallenge = 9008,    // LinkChallenge: the acceptor's first frame
    LinkWelcome = 9009,      // LinkWelcome: the acceptor's proof, after a good hello
    LinkRoomQuery = 9010,    // RoomQuery: a room's state (and history) from its home node
    LinkRoomReply = 9011,    // RoomReply: the home's answer to a RoomQuery or RoomPublish
    LinkUserQuery = 9012,    // UserQuery: a user's sessions on the receiving node (presence)
    LinkUserReply = 9013,    // UserReply: the answer to a UserQuery
    LinkRoomLikes = 9014,    // RoomLikes: likes for rooms homed at the receiver (room_likes)
};
inline constexpr std::uint16_t kFirstLinkCode = 9001;
inline constexpr std::uint16_t kLastLinkCode = 9014;

// True for every code in the table above.
bool is_known_code(std::uint16_t code) noexcept;
// True for codes a client may send (100x).
bool is_client_code(std::uint16_t code) noexcept;
// True for node-link codes (9xxx).
inline bool is_link_code(std::uint16_t code) noexcept {
    return code >= kFirstLinkCode && code <= kLastLinkCode;
}
// "LOGIN", "PUSH", ... or "UNKNOWN".
std::string_view code_name(std::uint16_t code) noexcept;

struct Header {
    std::uint8_t flags = 0;
    std::uint16_t code = 0;
    std::uint32_t seq = 0;
    std::uint32_t body_len = 0;
};

// Writes the 16 header bytes (magic, version, flags, code, reserved 0, seq, body_len) to out.
void encode_header(const Header& h, std::uint8_t* out) noexcept;

// header + body as one contiguous string (body_len taken from body.size()).
std::string encode_frame(Code code, std::uint32_t seq, std::uint8_t flags, std::string_view body);
// Same, appended to out (lets a caller build several frames in one buffer).
void append_frame(std::string& out, Code code, std::uint32_t seq, std::uint8_t flags,
                  std::string_view body);

enum class DecodeError : std::uint8_t {
    None = 0,
    BadMagic,
    BadVersion,
    BadFlags,      // a flag bit other than ACK_REQUIRED / JSON_BODY
    BodyTooLarge,  // body_len > max_body
    UnknownCode,
    Truncated,      // a complete frame was expected (e.g. one WebSocket message) but bytes ran out
    TrailingBytes,  // a complete frame was expected but bytes were left over
};

std::string_view to_string(DecodeError e) noexcept;

// Validates and parses 16 header bytes. Checks magic, version, flags, known code and body_len.
// The reserved field is ignored on receive (senders write 0) so that it can be given a meaning
// later without breaking v1 receivers.
DecodeError parse_header(const std::uint8_t* in, std::uint32_t max_body, Header& out) noexcept;

// Validates the first n header bytes (any n; only the fields already complete, plus a body_len
// whose known high bytes already exceed max_body). A stream decoder uses it so that a garbage
// sender is refused on its first bytes instead of after 16. With n >= 16 it checks the same as
// parse_header.
DecodeError check_header_prefix(const std::uint8_t* in, std::size_t n,
                                std::uint32_t max_body) noexcept;

// A decoded frame. `body` points either into the caller's input or into the decoder's own
// buffer; it is valid only during the callback that receives it.
struct FrameView {
    Header header;
    std::string_view body;
};

// Decodes exactly one whole frame from `bytes` (a WebSocket binary message carries one frame).
DecodeError decode_one(std::string_view bytes, std::uint32_t max_body, FrameView& out) noexcept;

}  // namespace lp::codec
