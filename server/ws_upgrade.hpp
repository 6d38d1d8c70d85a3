// server/ws_upgrade: judges the HTTP request that opens a WebSocket session (RFC 6455 4.2),
// apart from any socket, so that it can be unit-tested and fuzzed on its own.
//
// Given the bytes a client sent so far, it says: wait for more (no complete header yet), refuse
// (with the whole HTTP answer to send before closing: 400 malformed, 403 Origin not allowed,
// 404 wrong path (`other_path`, with the request for a plain-HTTP handler), 426 not a version-13
// upgrade, 431 header over 8 KiB), or accept (with the 101 answer and how many bytes the request
// took; the rest are WebSocket frames).
//
// Origin: browsers send it on every WebSocket upgrade and a page cannot forge it, so an
// allow-list stops other sites' pages from opening sessions with a user's credentials. With an
// empty list every origin is allowed; a request without Origin (a native app, a server, a test
// tool: not a browser) is always allowed, since the check protects browser users only.
//
// What it must never do: throw, read past `buffered`, or answer anything but one of the above.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace lp::server {

inline constexpr std::size_t kMaxUpgradeRequest = 8 * 1024;

struct UpgradePolicy {
    std::string_view path = "/ws";
    // Allowed Origin values ("https://app.example.com"), compared without regard to case;
    // empty = any origin.
    const std::vector<std::string>* allowed_origins = nullptr;
};

struct UpgradeVerdict {
    enum class Outcome { NeedMore, Accept, Refuse };
    Outcome outcome = Outcome::NeedMore;
    int status = 0;                 // 101, or the refusal's HTTP status
    std::string response;           // the whole HTTP answer to send
    std::size_t request_bytes = 0;  // Accept: bytes of `buffered` the request took
    bool origin_refused = false;    // Refuse because of the Origin allow-list (403)
    // Refuse 404 because the path is not the WebSocket path: the request, for a caller that
    // serves plain HTTP on this listener too (the demo page, LoopOptions::http_handler).
    bool other_path = false;
    std::string method;         // as sent ("GET", "HEAD", ...)
    std::string target;         // path and query string, as sent
    std::string if_none_match;  // that header, or empty
    std::string origin;         // other_path: the Origin header, or empty
    std::string host;           // other_path: the Host header, or empty
    std::string content_type;   // other_path: the Content-Type header, or empty
};

UpgradeVerdict judge_upgrade(std::string_view buffered, const UpgradePolicy& policy);

// True when `origin` is in `allowed` (case-insensitive; a trailing '/' on either is ignored),
// or `allowed` is empty.
bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) noexcept;

}  // namespace lp::server
