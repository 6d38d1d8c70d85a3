// push/http_api: the internal HTTP API put together (design.md section 5): ApiRoutes answers,
// HttpServer carries the bytes, ApiMetrics counts for both. The split follows Beast's examples
// (http_session apart from handle_request), so the routes are tested without a socket.
//
// What it owns: turning ApiOptions into each half's options (the one place they are read), and
// the order things are built and torn down in. What it must never do: answer a request or hold
// a socket itself.
#include "push/http_api.hpp"

#include <stdexcept>
#include <utility>

#include "push/api_metrics.hpp"
#include "push/api_routes.hpp"
#include "push/http_server.hpp"

namespace lp::push {
namespace {

RouteOptions route_options(const ApiOptions& o) {
    RouteOptions r;
    r.key = o.key;
    r.max_body_bytes = o.max_body_bytes;
    r.max_user_ids = o.max_user_ids;
    r.max_requests_per_s = o.max_requests_per_s;
    return r;
}

ConnectionOptions connection_options(const ApiOptions& o) {
    ConnectionOptions c;
    c.listen = o.listen;
    c.max_body_bytes = o.max_body_bytes;
    c.max_connections = o.max_connections;
    c.header_timeout_ms = o.header_timeout_ms;
    c.idle_timeout_ms = o.idle_timeout_ms;
    c.threads = o.threads;
    return c;
}

}  // namespace

// Declared in build order; the server goes first on the way down, while what its connections
// refer to (routes, metrics) is still alive.
struct HttpApi::Impl {
    Impl(const ApiOptions& options, PushBackend& backend)
        : routes(route_options(options), backend, metrics),
          server(connection_options(options), routes, metrics) {}

    ApiMetrics metrics;
    ApiRoutes routes;
    HttpServer server;
};

HttpApi::HttpApi(ApiOptions opts, PushBackend& backend)
    : impl_(std::make_unique<Impl>(opts, backend)) {}

HttpApi::~HttpApi() {
    stop();
}

void HttpApi::set_console(std::shared_ptr<const server::StaticSite> site) {
    impl_->routes.set_console(std::move(site));
}

void HttpApi::set_room_state(RoomStateService& s) {
    impl_->routes.set_room_state(&s);
}

void HttpApi::add_route(const std::string& method, const std::string& path_or_prefix,
                        RouteHandler h) {
    if (impl_->server.started()) throw std::logic_error("HttpApi::add_route after start()");
    impl_->routes.add_route(method, path_or_prefix, std::move(h));
}

void HttpApi::start() {
    impl_->server.start();
}

std::uint16_t HttpApi::port() const {
    return impl_->server.port();
}

void HttpApi::stop() {
    impl_->server.stop();
}

std::string HttpApi::metrics_text() const {
    return impl_->metrics.text();
}

void HttpApi::set_draining(bool d) {
    impl_->routes.set_draining(d);
}

}  // namespace lp::push
