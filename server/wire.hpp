// server/wire: the five forms a packet can take on the wire, and how to encode a packet in each.
//
// A session speaks exactly one form after login (TCP binary, TCP JSON_BODY, WebSocket binary,
// WebSocket binary with JSON_BODY, WebSocket text envelope). Encoding is the same whether the
// packet is a reply to one session or a broadcast shared by thousands (see outbound.hpp).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <string>

#include "codec/frame.hpp"

namespace lp::server {

enum class Wire : std::uint8_t { TcpBinary = 0, TcpJson, WsBinary, WsJson, WsText, kCount };
inline constexpr int kWireCount = static_cast<int>(Wire::kCount);

inline bool is_ws(Wire w) noexcept {
    return w >= Wire::WsBinary;
}
inline bool is_json(Wire w) noexcept {
    return w == Wire::TcpJson || w == Wire::WsJson || w == Wire::WsText;
}

// Appends `body` as packet `code` in wire form `w` to `out`. JSON forms set JSON_BODY; the text
// envelope carries flags as an extra "flags" member when non-zero (ACK_REQUIRED).
void append_packet(std::string& out, Wire w, codec::Code code, std::uint32_t seq,
                   std::uint8_t flags, const google::protobuf::Message& body);

// Appends pre-serialized body bytes (binary protobuf, or JSON text for JSON forms).
void append_packet_bytes(std::string& out, Wire w, codec::Code code, std::uint32_t seq,
                         std::uint8_t flags, std::string_view body);

}  // namespace lp::server
