// codec/websocket: RFC 6455 frame encoding and the incremental frame decoder.
//
// The decoder is built for the common case of a whole frame inside one read: it unmasks the
// payload in place and hands out a view of the caller's buffer, with no copy and no allocation.
// Only a frame split across reads is copied (into partial_), and only a fragmented data message
// is assembled (into message_); both buffers are released once their content has been handed
// out, so an idle WebSocket session holds no read memory. Every violation is a WsError value,
// never an exception: the peer controls these bytes.
#include "codec/websocket.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <cstring>

namespace lp::codec::ws {
namespace {

constexpr std::uint8_t kFinBit = 0x80;
constexpr std::uint8_t kRsvBits = 0x70;
constexpr std::uint8_t kOpcodeBits = 0x0F;
constexpr std::uint8_t kMaskBit = 0x80;
constexpr std::uint8_t kLen7Bits = 0x7F;
constexpr std::uint8_t kLen16 = 126;  // len7 value announcing a 16-bit extended length
constexpr std::uint8_t kLen64 = 127;  // len7 value announcing a 64-bit extended length
constexpr std::size_t kMaxControlPayload = 125;
constexpr std::size_t kMaxCloseReason = kMaxControlPayload - 2;

bool is_control(std::uint8_t op) noexcept {
    return (op & 0x08) != 0;
}

bool is_known_opcode(std::uint8_t op) noexcept {
    switch (static_cast<Opcode>(op)) {
        case Opcode::Continuation:
        case Opcode::Text:
        case Opcode::Binary:
        case Opcode::Close:
        case Opcode::Ping:
        case Opcode::Pong:
            return true;
    }
    return false;
}

// A frame header as read off the wire. size == 0 means more bytes are needed to complete it.
struct WireHeader {
    bool fin = false;
    std::uint8_t op = 0;
    bool masked = false;
    std::uint8_t key[4] = {0, 0, 0, 0};
    std::uint64_t payload_len = 0;
    std::size_t size = 0;
};

// Frees a buffer's memory. Assigning an empty string would not: libstdc++ move-assigns a
// small-string source by copying it, keeping the old heap capacity.
void release(std::string& s) noexcept {
    std::string().swap(s);
}

// Header bytes implied by the first two bytes (or 2 while they are not both known).
std::size_t header_size_for(const std::uint8_t* p, std::size_t n) noexcept {
    if (n < 2) return 2;
    std::uint8_t len7 = p[1] & kLen7Bits;
    std::size_t ext = len7 == kLen16 ? 2 : len7 == kLen64 ? 8 : 0;
    return 2 + ext + ((p[1] & kMaskBit) ? 4 : 0);
}

}  // namespace

std::size_t encode_header(Opcode op, std::uint64_t len, std::uint8_t* out,
                          const std::uint8_t* mask) noexcept {
    out[0] = static_cast<std::uint8_t>(kFinBit | static_cast<std::uint8_t>(op));
    const std::uint8_t mask_bit = mask ? kMaskBit : 0;
    std::size_t pos;
    if (len < kLen16) {
        out[1] = static_cast<std::uint8_t>(mask_bit | len);
        pos = 2;
    } else if (len <= 0xFFFF) {
        out[1] = mask_bit | kLen16;
        out[2] = static_cast<std::uint8_t>(len >> 8);
        out[3] = static_cast<std::uint8_t>(len);
        pos = 4;
    } else {
        out[1] = mask_bit | kLen64;
        for (int i = 0; i < 8; ++i) out[2 + i] = static_cast<std::uint8_t>(len >> (56 - 8 * i));
        pos = 10;
    }
    if (mask) {
        std::memcpy(out + pos, mask, 4);
        pos += 4;
    }
    return pos;
}

std::string encode_frame(Opcode op, std::string_view payload) {
    std::uint8_t header[kMaxHeaderSize];
    std::size_t header_len = encode_header(op, payload.size(), header);
    std::string out;
    out.reserve(header_len + payload.size());
    out.append(reinterpret_cast<const char*>(header), header_len);
    out.append(payload);
    return out;
}

std::string encode_masked_frame(Opcode op, std::string_view payload, const std::uint8_t key[4]) {
    std::uint8_t header[kMaxHeaderSize];
    std::size_t header_len = encode_header(op, payload.size(), header, key);
    std::string out;
    out.reserve(header_len + payload.size());
    out.append(reinterpret_cast<const char*>(header), header_len);
    out.append(payload);
    apply_mask(reinterpret_cast<std::uint8_t*>(out.data()) + header_len, payload.size(), key);
    return out;
}

std::string close_payload(std::uint16_t status, std::string_view reason) {
    if (reason.size() > kMaxCloseReason) {
        std::size_t cut = kMaxCloseReason;
        // Never split a UTF-8 sequence: back up over continuation bytes.
        while (cut > 0 && (static_cast<std::uint8_t>(reason[cut]) & 0xC0) == 0x80) --cut;
        reason = reason.substr(0, cut);
    }
    std::string out;
    out.reserve(2 + reason.size());
    out.push_back(static_cast<char>(status >> 8));
    out.push_back(static_cast<char>(status & 0xFF));
    out.append(reason);
    return out;
}

bool is_valid_close_status(std::uint16_t status) noexcept {
    return (status >= 1000 && status <= 1003) || (status >= 1007 && status <= 1014) ||
           (status >= 3000 && status <= 4999);
}

bool is_valid_utf8(std::string_view text) noexcept {
    const auto* s = reinterpret_cast<const std::uint8_t*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        // Chat text is mostly ASCII: skip it eight bytes at a time.
        if (n - i >= 8) {
            std::uint64_t word;
            std::memcpy(&word, s + i, 8);
            if ((word & 0x8080808080808080ULL) == 0) {
                i += 8;
                continue;
            }
        }
        const std::uint8_t c = s[i];
        if (c < 0x80) {
            ++i;
            continue;
        }
        // Allowed range of the second byte per lead byte (RFC 3629 section 4) excludes
        // overlong forms (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).
        std::size_t len;
        std::uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) {
            len = 2;
        } else if (c == 0xE0) {
            len = 3;
            lo = 0xA0;
        } else if ((c >= 0xE1 && c <= 0xEC) || c == 0xEE || c == 0xEF) {
            len = 3;
        } else if (c == 0xED) {
            len = 3;
            hi = 0x9F;
        } else if (c == 0xF0) {
            len = 4;
            lo = 0x90;
        } else if (c >= 0xF1 && c <= 0xF3) {
            len = 4;
        } else if (c == 0xF4) {
            len = 4;
            hi = 0x8F;
        } else {
            return false;
        }
        if (n - i < len) return false;
        if (s[i + 1] < lo || s[i + 1] > hi) return false;
        for (std::size_t k = 2; k < len; ++k) {
            if ((s[i + k] & 0xC0) != 0x80) return false;
        }
        i += len;
    }
    return true;
}

void apply_mask(std::uint8_t* data, std::size_t n, const std::uint8_t key[4],
                std::size_t offset) noexcept {
    // Eight bytes per step with the key rotated to start at `offset`.
    std::uint8_t rotated[8];
    for (std::size_t i = 0; i < 8; ++i) rotated[i] = key[(offset + i) & 3];
    std::uint64_t key64;
    std::memcpy(&key64, rotated, 8);
    std::size_t i = 0;
    for (; n - i >= 8; i += 8) {
        std::uint64_t word;
        std::memcpy(&word, data + i, 8);
        word ^= key64;
        std::memcpy(data + i, &word, 8);
    }
    for (; i < n; ++i) data[i] ^= rotated[i & 7];
}

std::string accept_key(std::string_view client_key) {
    static constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    std::string input;
    input.reserve(client_key.size() + kGuid.size());
    input.append(client_key);
    input.append(kGuid);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int digest_len = 0;
    if (EVP_Digest(input.data(), input.size(), digest, &digest_len, EVP_sha1(), nullptr) != 1) {
        return {};  // an empty accept value fails the handshake, which is the safe outcome
    }
    unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
    int encoded_len = EVP_EncodeBlock(encoded, digest, static_cast<int>(digest_len));
    return std::string(reinterpret_cast<const char*>(encoded),
                       static_cast<std::size_t>(encoded_len));
}

std::uint16_t close_status_for(WsError e) noexcept {
    switch (e) {
        case WsError::None:
            return kCloseNormal;
        case WsError::MessageTooLarge:
            return kCloseTooBig;
        case WsError::BadUtf8:
            return kCloseInvalidPayload;
        default:
            return kCloseProtocolError;
    }
}

std::string_view to_string(WsError e) noexcept {
    switch (e) {
        case WsError::None:
            return "ok";
        case WsError::ReservedBits:
            return "RSV bits set but no extension was negotiated";
        case WsError::BadOpcode:
            return "unknown opcode";
        case WsError::UnmaskedClientFrame:
            return "client frame is not masked";
        case WsError::MaskedServerFrame:
            return "server frame is masked";
        case WsError::ControlTooLong:
            return "control frame longer than 125 bytes or fragmented";
        case WsError::MessageTooLarge:
            return "message exceeds the size limit";
        case WsError::BadContinuation:
            return "unexpected continuation or new message mid-message";
        case WsError::BadCloseFrame:
            return "invalid close frame payload or status";
        case WsError::BadUtf8:
            return "text is not valid UTF-8";
    }
    return "unknown websocket error";
}

namespace {

// Reads as much of a frame header as the n bytes hold and judges every field that is already
// complete (and a 64-bit length whose known high bytes already exceed the room left).
// out.size stays 0 until the header is complete.
WsError read_header(const std::uint8_t* p, std::size_t n, FrameDecoder::Role role, bool in_message,
                    std::size_t room_left, WireHeader& out) noexcept {
    out = WireHeader{};
    if (n == 0) return WsError::None;
    const std::uint8_t b0 = p[0];
    if (b0 & kRsvBits) return WsError::ReservedBits;
    const std::uint8_t op = b0 & kOpcodeBits;
    if (!is_known_opcode(op)) return WsError::BadOpcode;
    const bool fin = (b0 & kFinBit) != 0;
    if (is_control(op)) {
        if (!fin) return WsError::ControlTooLong;
    } else if (static_cast<Opcode>(op) == Opcode::Continuation) {
        if (!in_message) return WsError::BadContinuation;
    } else if (in_message) {
        return WsError::BadContinuation;
    }
    if (n < 2) return WsError::None;
    const std::uint8_t b1 = p[1];
    const bool masked = (b1 & kMaskBit) != 0;
    if (role == FrameDecoder::Role::Server && !masked) return WsError::UnmaskedClientFrame;
    if (role == FrameDecoder::Role::Client && masked) return WsError::MaskedServerFrame;
    const std::uint8_t len7 = b1 & kLen7Bits;
    if (is_control(op) && len7 > kMaxControlPayload) return WsError::ControlTooLong;
    const std::size_t ext = len7 == kLen16 ? 2 : len7 == kLen64 ? 8 : 0;
    // Length as far as known; missing low bytes count as 0, so this is a lower bound.
    std::uint64_t len = ext == 0 ? len7 : 0;
    const std::size_t known_ext = std::min(ext, n - 2);
    for (std::size_t i = 0; i < ext; ++i) len = (len << 8) | (i < known_ext ? p[2 + i] : 0);
    // Control payloads are at most 125 bytes and are not part of the data message.
    if (!is_control(op) && len > room_left) return WsError::MessageTooLarge;
    const std::size_t size = 2 + ext + (masked ? 4 : 0);
    if (n < size) return WsError::None;
    out.fin = fin;
    out.op = op;
    out.masked = masked;
    if (masked) std::memcpy(out.key, p + 2 + ext, 4);
    out.payload_len = len;
    out.size = size;
    return WsError::None;
}

}  // namespace

void FrameDecoder::release_delivered() noexcept {
    if (release_partial_) {
        release(partial_);
        release_partial_ = false;
    }
    if (release_message_) {
        release(message_);
        release_message_ = false;
    }
}

WsError FrameDecoder::next(std::uint8_t* data, std::size_t n, Step& step) {
    step = Step{};
    if (error_ != WsError::None) return error_;
    release_delivered();
    WsError e = next_frame(data, n, step);
    if (e != WsError::None) {
        error_ = e;
        step = Step{};
        release(partial_);
        release(message_);
        in_message_ = false;
    }
    return e;
}

WsError FrameDecoder::next_frame(std::uint8_t* data, std::size_t n, Step& step) {
    if (n == 0) return WsError::None;
    WireHeader h;
    if (partial_.empty()) {
        WsError e = read_header(data, n, role_, in_message_, max_ - message_.size(), h);
        if (e != WsError::None) return e;
        if (h.size != 0 && n - h.size >= h.payload_len) {
            // Fast path: the whole frame is here. Unmask in place and hand out a view.
            const std::size_t len = static_cast<std::size_t>(h.payload_len);
            std::uint8_t* payload = data + h.size;
            if (h.masked) apply_mask(payload, len, h.key);
            step.consumed = h.size + len;
            return finish_frame(h.fin, static_cast<Opcode>(h.op), payload, len, step);
        }
        partial_.append(reinterpret_cast<const char*>(data), n);
        step.consumed = n;
        return WsError::None;
    }

    // Slow path: complete the buffered frame, header first.
    std::size_t used = 0;
    for (;;) {
        auto* held = reinterpret_cast<const std::uint8_t*>(partial_.data());
        WsError e =
            read_header(held, partial_.size(), role_, in_message_, max_ - message_.size(), h);
        if (e != WsError::None) return e;
        if (h.size != 0) break;
        const std::size_t want = header_size_for(held, partial_.size()) - partial_.size();
        const std::size_t take = std::min(want, n - used);
        if (take == 0) {
            step.consumed = used;
            return WsError::None;
        }
        partial_.append(reinterpret_cast<const char*>(data + used), take);
        used += take;
    }
    const std::size_t frame_size = h.size + static_cast<std::size_t>(h.payload_len);
    const std::size_t take = std::min(frame_size - partial_.size(), n - used);
    partial_.append(reinterpret_cast<const char*>(data + used), take);
    used += take;
    step.consumed = used;
    if (partial_.size() < frame_size) return WsError::None;

    const std::size_t len = static_cast<std::size_t>(h.payload_len);
    auto* payload = reinterpret_cast<std::uint8_t*>(partial_.data()) + h.size;
    if (h.masked) apply_mask(payload, len, h.key);
    WsError e = finish_frame(h.fin, static_cast<Opcode>(h.op), payload, len, step);
    if (e != WsError::None) return e;
    if (step.have && !release_message_) {
        release_partial_ = true;  // the caller is looking at partial_ until the next call
    } else {
        release(partial_);  // the payload was copied into message_
    }
    return WsError::None;
}

WsError FrameDecoder::finish_frame(bool fin, Opcode op, std::uint8_t* payload, std::size_t len,
                                   Step& step) {
    const std::string_view bytes(reinterpret_cast<const char*>(payload), len);
    if (is_control(static_cast<std::uint8_t>(op))) {
        if (op == Opcode::Close && len > 0) {
            if (len == 1) return WsError::BadCloseFrame;
            const auto status = static_cast<std::uint16_t>((payload[0] << 8) | payload[1]);
            if (!is_valid_close_status(status)) return WsError::BadCloseFrame;
            if (!is_valid_utf8(bytes.substr(2))) return WsError::BadUtf8;
        }
        step.have = true;
        step.msg = Message{op, bytes};
        return WsError::None;
    }
    if (fin && !in_message_) {
        // An unfragmented message: no assembly needed.
        if (op == Opcode::Text && !is_valid_utf8(bytes)) return WsError::BadUtf8;
        step.have = true;
        step.msg = Message{op, bytes};
        return WsError::None;
    }
    if (!in_message_) {
        in_message_ = true;
        message_op_ = op;
    }
    message_.append(bytes);
    if (!fin) return WsError::None;
    in_message_ = false;
    if (message_op_ == Opcode::Text && !is_valid_utf8(message_)) return WsError::BadUtf8;
    step.have = true;
    step.msg = Message{message_op_, message_};
    release_message_ = true;
    return WsError::None;
}

}  // namespace lp::codec::ws
