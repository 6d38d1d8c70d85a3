// load-test/ws_handshake: the client half of the WebSocket opening handshake (RFC 6455 4.1),
// shared by the blocking client (client.cpp) and the load generator's connections
// (load_shard_connect.cpp, load_shard_receive.cpp).
//
// Plain strings in, plain strings out, no sockets: each caller drives its own I/O (blocking with
// deadlines, or 15,000 connections on one event loop) and only needs the request bytes and a
// verdict on the response head. The accept key comes from codec::ws::accept_key, so client and
// server agree on it by construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lp::client {

// Standard base64 (with padding), as the Sec-WebSocket-Key header wants it.
std::string base64_encode(std::string_view bytes);

// A Sec-WebSocket-Key: base64 of 16 random bytes supplied by the caller.
std::string websocket_key(const std::uint8_t nonce[16]);

// The GET upgrade request for ws://host:port/path with the given key.
std::string websocket_upgrade_request(std::string_view host, std::uint16_t port,
                                      std::string_view path, std::string_view key);

// Offset just past the "\r\n\r\n" that ends an HTTP head, or npos while it is incomplete.
std::size_t http_head_end(std::string_view bytes);

enum class UpgradeError : std::uint8_t {
    None = 0,
    NotHttp,       // the status line is not HTTP/1.1
    NotSwitching,  // status is not 101 (the server refused the upgrade)
    NoUpgrade,     // Upgrade: websocket / Connection: upgrade missing
    BadAcceptKey,  // Sec-WebSocket-Accept missing or not derived from our key
};
std::string_view to_string(UpgradeError e) noexcept;

// Checks a complete response head (up to and including the blank line) against our key.
UpgradeError check_upgrade_response(std::string_view head, std::string_view key);

}  // namespace lp::client
