// push/http_server: the connection half of the internal HTTP API (design.md section 5), on
// Boost.Beast: the listener and http_session of Beast's examples. Bytes, deadlines, limits and
// keep-alive; what a request is answered with is ApiRoutes' business.
//
// What it owns: the acceptor, an io_context run by `threads` threads, every open connection
// (ConnectionRegistry: the connection cap and idle eviction), the header deadline, the header
// and body size limits, asking the routes to judge a header before any body is read, and
// keep-alive. What it must never do: answer a request itself (every answer comes from
// ApiRoutes), read a body for a caller the routes refused on the header, or let an exception
// out of a completion handler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "push/api_metrics.hpp"
#include "push/api_routes.hpp"

namespace lp::push {

// No defaults here: HttpApi fills them from ApiOptions, where they are defined once.
struct ConnectionOptions {
    std::string listen;                   // "host:port", "[v6]:port"; port 0 picks one
    std::size_t max_body_bytes = 0;       // a body over it (chunked or not): 413
    std::uint32_t max_connections = 0;    // at the cap the longest-idle connection makes room
    std::uint32_t header_timeout_ms = 0;  // a request header must be complete within this
    std::uint32_t idle_timeout_ms = 0;    // keep-alive wait for the next request; body reads
    unsigned threads = 0;                 // at least 1 is run
};

class HttpServer {
public:
    // `routes` and `metrics` must outlive the server.
    HttpServer(ConnectionOptions options, ApiRoutes& routes, ApiMetrics& metrics);
    ~HttpServer();  // stop()

    void start();  // binds (throws std::runtime_error on failure) and starts the thread(s)
    bool started() const;
    std::uint16_t port() const;
    void stop();  // stops accepting, closes connections, joins
    // log.access: one line per answered request on the spdlog logger "access" (the default
    // logger when there is none): method, path (never the query), status, bytes, duration_ms,
    // remote, request id (X-Request-Id when it is a sane token, else one of ours). Never a
    // header's value: the key and Authorization stay out. From any thread.
    void set_access_log(bool on);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace lp::push
