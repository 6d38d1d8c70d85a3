// server/plain_http: the hook by which a node answers plain HTTP requests on its WebSocket
// listener (the live-room demo page and its dev routes), without server/ knowing what they are.
//
// The WebSocket listener reads an HTTP request before every upgrade anyway (ws_upgrade.hpp).
// A request for another path than the WebSocket path is handed to the handler app/ installs
// (LoopOptions::http_handler), after the listener's own limits: the 8 KiB header bound and the
// per-IP connection cap (as for every connection), and the per-IP login budget
// (server.login_rate_per_ip: one token per request, as a LOGIN takes one). The handler runs on
// the session's event loop and returns the whole answer; the connection closes once it is sent.
// So it must be quick and must never block: anything slow is queued elsewhere.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include "server/ip_limits.hpp"

namespace lp::server {

struct PlainHttpRequest {
    std::string_view method;         // as sent
    std::string_view target;         // path and query string, as sent
    std::string_view if_none_match;  // that header, or empty
    IpKey peer;
    std::string_view origin;        // the Origin header, or empty (no header)
    std::string_view host;          // the Host header, or empty
    std::string_view content_type;  // the Content-Type header, or empty
};

// The whole HTTP/1.1 answer (with Connection: close), or empty for the listener's own 404.
using PlainHttpHandler = std::function<std::string(const PlainHttpRequest&)>;

}  // namespace lp::server
