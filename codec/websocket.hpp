// codec/websocket: RFC 6455 framing, without sockets.
//
// livepush does its own WebSocket framing (Beast is used only to parse the HTTP upgrade) for two
// reasons: a server frame is unmasked, so one encoded WebSocket message can be shared by every
// receiver of a broadcast; and an idle WebSocket session then costs no more than a TCP one (no
// per-session read buffer). No extensions are negotiated (no permessage-deflate).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lp::codec::ws {

enum class Opcode : std::uint8_t {
    Continuation = 0x0,
    Text = 0x1,
    Binary = 0x2,
    Close = 0x8,
    Ping = 0x9,
    Pong = 0xA,
};

// Close status codes used by the server (RFC 6455 7.4.1).
inline constexpr std::uint16_t kCloseNormal = 1000;
inline constexpr std::uint16_t kCloseGoingAway = 1001;
inline constexpr std::uint16_t kCloseProtocolError = 1002;
inline constexpr std::uint16_t kCloseInvalidPayload = 1007;  // e.g. a text message not UTF-8
inline constexpr std::uint16_t kClosePolicy = 1008;
inline constexpr std::uint16_t kCloseTooBig = 1009;

inline constexpr std::size_t kMaxHeaderSize = 14;

// Writes a frame header (FIN set) for a payload of `len` bytes. With `mask` (client side) the
// 4-byte key is written too and the caller must mask the payload with apply_mask().
// Returns the header length (2..14).
std::size_t encode_header(Opcode op, std::uint64_t len, std::uint8_t* out,
                          const std::uint8_t* mask = nullptr) noexcept;

// A whole unmasked (server → client) frame: header + payload.
std::string encode_frame(Opcode op, std::string_view payload);
// A whole masked (client → server) frame with the given key.
std::string encode_masked_frame(Opcode op, std::string_view payload, const std::uint8_t key[4]);
// A Close frame payload: 2-byte status + reason. The reason is cut (at a UTF-8 character
// boundary) to 123 bytes so that the Close frame stays within the 125-byte control limit.
std::string close_payload(std::uint16_t status, std::string_view reason);
// True for a status a peer may put in a Close frame (RFC 6455 7.4: 1000-1003, 1007-1014,
// 3000-4999; never 1004-1006 or 1015, which are reserved or only reported locally).
bool is_valid_close_status(std::uint16_t status) noexcept;
// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above U+10FFFF.
bool is_valid_utf8(std::string_view text) noexcept;

// XORs data with the 4-byte key, starting at key offset `offset`.
void apply_mask(std::uint8_t* data, std::size_t n, const std::uint8_t key[4],
                std::size_t offset = 0) noexcept;

// Sec-WebSocket-Accept for a Sec-WebSocket-Key: base64(SHA-1(key + GUID)).
std::string accept_key(std::string_view client_key);

enum class WsError : std::uint8_t {
    None = 0,
    ReservedBits,  // RSV1-3 set (no extension negotiated)
    BadOpcode,
    UnmaskedClientFrame,  // server side: every client frame must be masked
    MaskedServerFrame,    // client side: server frames must not be masked
    ControlTooLong,       // control frame payload > 125 or fragmented control frame
    MessageTooLarge,      // assembled message > max_message
    BadContinuation,      // continuation without a started message, or a new message mid-message
    BadCloseFrame,        // Close payload of 1 byte or with a status a peer may not send
    BadUtf8,              // a text message or a Close reason that is not valid UTF-8 (close 1007)
};
std::string_view to_string(WsError e) noexcept;
// The Close status RFC 6455 asks for when a peer commits `e`: 1009 for a message over the
// limit, 1007 for text that is not UTF-8, 1002 for every other protocol error.
std::uint16_t close_status_for(WsError e) noexcept;

// One complete message (data frames reassembled) or a control frame.
struct Message {
    Opcode opcode;             // Text, Binary, Close, Ping or Pong
    std::string_view payload;  // unmasked; valid only during the callback
};

// Incremental decoder. Role::Server expects masked frames (client → server);
// Role::Client expects unmasked ones.
//
// Every rule is checked as soon as the bytes it depends on arrive (RSV bits and opcode on the
// first byte, the mask bit on the second, the length as its bytes come in), so a peer breaking
// the protocol is refused without being buffered. Control frames may arrive between the
// fragments of a data message. Text messages are checked for UTF-8 once complete. The first
// error stays: later calls return it again and yield nothing.
class FrameDecoder {
public:
    enum class Role : std::uint8_t { Server, Client };
    explicit FrameDecoder(Role role, std::size_t max_message) : role_(role), max_(max_message) {}

    // Calls on_message(const Message&) → bool (false stops) for each message/control frame.
    // Unmasks in place where possible (data is mutable for that reason). Payloads of messages
    // that arrive whole in one chunk are handed out without copying.
    template <class F>
    WsError feed(std::uint8_t* data, std::size_t n, F&& on_message);

    WsError error() const noexcept { return error_; }
    std::size_t buffered() const noexcept { return partial_.size() + message_.size(); }
    // Memory held for those bytes (twice the empty-string capacity when idle); lets tests pin
    // the promise that an idle session holds no read memory.
    std::size_t buffer_capacity() const noexcept {
        return partial_.capacity() + message_.capacity();
    }

    // Implementation hook used by feed(); public so feed() can stay a thin template.
    struct Step {
        bool have = false;
        Message msg{Opcode::Binary, {}};
        std::size_t consumed = 0;
    };
    // Consumes bytes from data (up to n); fills step.have when a message is complete.
    // Consumes at least one byte when n > 0 and no message is produced. A payload it hands out
    // stays valid until the next call, which then releases any buffer that held it.
    WsError next(std::uint8_t* data, std::size_t n, Step& step);

private:
    WsError next_frame(std::uint8_t* data, std::size_t n, Step& step);
    WsError finish_frame(bool fin, Opcode op, std::uint8_t* payload, std::size_t len, Step& step);
    void release_delivered() noexcept;

    Role role_;
    std::size_t max_;
    std::string partial_;  // incomplete frame bytes (header and/or payload)
    std::string message_;  // fragments of an unfinished data message
    Opcode message_op_ = Opcode::Continuation;
    bool in_message_ = false;
    bool release_partial_ = false;  // partial_ holds the payload handed out by the last next()
    bool release_message_ = false;  // message_ holds the message handed out by the last next()
    WsError error_ = WsError::None;
};

template <class F>
WsError FrameDecoder::feed(std::uint8_t* data, std::size_t n, F&& on_message) {
    while (error_ == WsError::None) {
        Step step;
        error_ = next(data, n, step);
        if (error_ != WsError::None) break;
        data += step.consumed;
        n -= step.consumed;
        if (step.have) {
            if (!on_message(step.msg)) break;
            continue;
        }
        if (n == 0) break;
    }
    return error_;
}

}  // namespace lp::codec::ws
