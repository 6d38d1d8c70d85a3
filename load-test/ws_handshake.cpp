// load-test/ws_handshake: see ws_handshake.hpp. Header matching is case-insensitive on names and
// on the tokens of Upgrade/Connection, as RFC 7230 and RFC 6455 require.
#include "load-test/ws_handshake.hpp"

#include <algorithm>
#include <cctype>

#include "codec/websocket.hpp"

namespace lp::client {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) {
        s.remove_suffix(1);
    }
    return s;
}

// True when the comma-separated header value lists `token` (e.g. "keep-alive, Upgrade").
bool has_token(std::string_view value, std::string_view token) {
    while (!value.empty()) {
        std::size_t comma = value.find(',');
        if (iequals(trim(value.substr(0, comma)), token)) return true;
        if (comma == std::string_view::npos) break;
        value.remove_prefix(comma + 1);
    }
    return false;
}

}  // namespace

std::string base64_encode(std::string_view bytes) {
    static constexpr char kAlphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    out.reserve((bytes.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= bytes.size(); i += 3) {
        std::uint32_t v = (std::uint8_t(bytes[i]) << 16) | (std::uint8_t(bytes[i + 1]) << 8) |
                          std::uint8_t(bytes[i + 2]);
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += kAlphabet[(v >> 6) & 63];
        out += kAlphabet[v & 63];
    }
    std::size_t rest = bytes.size() - i;
    if (rest > 0) {
        std::uint32_t v = std::uint8_t(bytes[i]) << 16;
        if (rest == 2) v |= std::uint8_t(bytes[i + 1]) << 8;
        out += kAlphabet[(v >> 18) & 63];
        out += kAlphabet[(v >> 12) & 63];
        out += rest == 2 ? kAlphabet[(v >> 6) & 63] : '=';
        out += '=';
    }
    return out;
}

std::string websocket_key(const std::uint8_t nonce[16]) {
    return base64_encode(std::string_view(reinterpret_cast<const char*>(nonce), 16));
}

std::string websocket_upgrade_request(std::string_view host, std::uint16_t port,
                                      std::string_view path, std::string_view key) {
    // An IPv6 literal needs brackets in the Host header.
    bool ipv6 = host.find(':') != std::string_view::npos;
    std::string req;
    req.reserve(192 + host.size() + path.size());
    req.append("GET ").append(path.empty() ? "/" : path).append(" HTTP/1.1\r\nHost: ");
    if (ipv6) req += '[';
    req.append(host);
    if (ipv6) req += ']';
    req.append(":").append(std::to_string(port));
    req.append(
        "\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
        "Sec-WebSocket-Key: ");
    req.append(key).append("\r\n\r\n");
    return req;
}

std::size_t http_head_end(std::string_view bytes) {
    std::size_t pos = bytes.find("\r\n\r\n");
    return pos == std::string_view::npos ? pos : pos + 4;
}

std::string_view to_string(UpgradeError e) noexcept {
    switch (e) {
        case UpgradeError::None:
            return "ok";
        case UpgradeError::NotHttp:
            return "response is not HTTP/1.1";
        case UpgradeError::NotSwitching:
            return "server did not answer 101 Switching Protocols";
        case UpgradeError::NoUpgrade:
            return "response lacks Upgrade: websocket";
        case UpgradeError::BadAcceptKey:
            return "Sec-WebSocket-Accept does not match our key";
    }
    return "unknown";
}

UpgradeError check_upgrade_response(std::string_view head, std::string_view key) {
    std::size_t eol = head.find("\r\n");
    std::string_view status_line = head.substr(0, eol);
    if (status_line.substr(0, 9) != "HTTP/1.1 ") return UpgradeError::NotHttp;
    if (status_line.substr(9, 3) != "101") return UpgradeError::NotSwitching;

    bool upgrade_websocket = false, connection_upgrade = false;
    std::string_view accept;
    std::string_view rest =
        eol == std::string_view::npos ? std::string_view{} : head.substr(eol + 2);
    // One header per line; the head ends with an empty line. Bounded by the head's length.
    while (!rest.empty()) {
        std::size_t end = rest.find("\r\n");
        std::string_view line = rest.substr(0, end);
        rest = end == std::string_view::npos ? std::string_view{} : rest.substr(end + 2);
        if (line.empty()) break;
        std::size_t colon = line.find(':');
        if (colon == std::string_view::npos) continue;
        std::string_view name = trim(line.substr(0, colon));
        std::string_view value = trim(line.substr(colon + 1));
        if (iequals(name, "Upgrade"))
            upgrade_websocket = has_token(value, "websocket");
        else if (iequals(name, "Connection"))
            connection_upgrade = has_token(value, "upgrade");
        else if (iequals(name, "Sec-WebSocket-Accept"))
            accept = value;
    }
    if (!upgrade_websocket || !connection_upgrade) return UpgradeError::NoUpgrade;
    if (accept.empty() || accept != codec::ws::accept_key(key)) return UpgradeError::BadAcceptKey;
    return UpgradeError::None;
}

}  // namespace lp::client
