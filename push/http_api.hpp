// push/http_api: the internal HTTP/1.1 + JSON API business services push through
// (design.md section 5). Boost.Beast, keep-alive, one thread of its own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "push/api.hpp"

namespace lp::push {

struct ApiOptions {
    std::string listen = "127.0.0.1:8090";
    std::string key;                         // bearer key; empty = no auth
    std::size_t max_body_bytes = 4 * 1024 * 1024;  // over it: 413
    std::uint32_t max_user_ids = 10000;      // /v1/push/users
    std::uint32_t max_requests_per_s = 0;    // 0 = no limit; over it: 429
    std::uint32_t max_connections = 1024;    // API connections; over it: refused
    std::uint32_t idle_timeout_ms = 60000;   // keep-alive idle limit
    unsigned threads = 1;
};

class HttpApi {
public:
    HttpApi(ApiOptions opts, PushBackend& backend);
    ~HttpApi();
    // Registers a plugin route: method + exact path or a prefix ending in '/'. Before start().
    void add_route(const std::string& method, const std::string& path_or_prefix, RouteHandler h);
    void start();  // binds (throws std::runtime_error on failure) and starts the thread(s)
    std::uint16_t port() const;
    void stop();   // stops accepting, closes connections, joins
    // The API's own metrics (requests by route and status, latency histogram), Prometheus text.
    std::string metrics_text() const;
    // While draining, pushes answer 503 and /readyz says "draining".
    void set_draining(bool d);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lp::push
