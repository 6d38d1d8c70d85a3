// push/api_routes: what the internal HTTP API answers (design.md section 5; the routes and
// their JSON are listed in http_api.hpp). The handle_request half of Beast's examples.
//
// What it owns: the route table (fixed routes, /v1/users/{id}, /v1/rooms/{id}, plugin routes),
// the key check, the rate limit, draining, and each endpoint's answer: a request in, a response
// (status, JSON body, headers, the route pattern it matched) out. http_server counts the answer
// under that pattern once it is ready to send; the refusals made here (key, declared size,
// rate) are counted here.
// What it must never do: touch a socket, decide about keep-alive or read deadlines (that is
// http_server's), or let an exception out: every failure is a JSON error answer. So every route
// is unit-tested without a socket (tests/push/api_routes_test.cpp).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "push/api.hpp"
#include "push/api_metrics.hpp"
#include "push/api_rate_limit.hpp"
#include "server/static_site.hpp"

namespace lp::push {

class RoomStateService;

// No defaults here: HttpApi fills them from ApiOptions, where they are defined once.
struct RouteOptions {
    std::string key;                       // bearer key; empty = no auth
    std::size_t max_body_bytes = 0;        // a declared body over it: 413 (judged on the header)
    std::uint32_t max_user_ids = 0;        // /v1/push/users
    std::uint32_t max_requests_per_s = 0;  // 0 = no limit
};

// A parsed request: views into what the connection read, valid for the call.
struct ApiRequest {
    std::string_view method;                        // as sent ("GET", "POST", ...)
    std::string_view target;                        // path and query string, as sent
    std::optional<std::string_view> authorization;  // the Authorization header, when sent
    std::optional<std::string_view> content_type;   // the Content-Type header, when sent
    std::optional<std::string_view> if_none_match;  // the If-None-Match header, when sent
    std::string_view body;
};

inline constexpr std::string_view kJsonType = "application/json";
inline constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

struct ApiResponse {
    unsigned status = 200;
    std::string_view content_type = kJsonType;  // one of the constants above
    // Allow (405), Retry-After (429), WWW-Authenticate (401), in the order they are set.
    std::vector<std::pair<std::string_view, std::string>> headers;
    std::string body;
    // The route pattern the request matched ("/v1/users/{id}", a plugin's pattern, "unmatched"):
    // the metric label, never the raw path, so the label set stays bounded. Lives as long as
    // the routes.
    std::string_view route;
    // A HEAD of a static page: Content-Length says this, and no body is sent.
    std::optional<std::size_t> head_length;

    // The value of header `name` (as named above), or nothing.
    std::optional<std::string_view> header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (n == name) return v;
        }
        return std::nullopt;
    }
};

class ApiRoutes {
public:
    ApiRoutes(RouteOptions options, PushBackend& backend, ApiMetrics& metrics);

    // A plugin route: method + exact path or a prefix ending in '/'. A "{id}" segment in the
    // pattern matches any one non-empty segment (/v1/rooms/{id}/mute); the handler reads it
    // from the path. Only before the first request: metric labels point into the stored
    // patterns. Throws std::invalid_argument on a missing method, handler, or a path not
    // starting with '/'.
    void add_route(const std::string& method, const std::string& path_or_prefix, RouteHandler h);
    void set_draining(bool d) { draining_.store(d, std::memory_order_relaxed); }
    // The room state routes (/v1/rooms/{id}/state...); without it they answer 404.
    void set_room_state(RoomStateService* s) { room_state_ = s; }
    // The operator console's static pages at /console/ (GET, HEAD; no key: they are public
    // code, and every data call they make carries the key). Without it /console/ is a 404.
    void set_console(std::shared_ptr<const server::StaticSite> site) { console_ = std::move(site); }

    // Answers a complete request. Never throws.
    ApiResponse answer(const ApiRequest& req);

    // Judges a request on its header alone (`head.body` is empty), before a byte of its body is
    // read, so that a caller without the key never gets to make the node read (or wait for) a
    // body, and a declared body over the limit is refused before it is sent. Returns the answer
    // that ends the request, or nothing when the body may be read.
    std::optional<ApiResponse> answer_header(const ApiRequest& head,
                                             std::optional<std::uint64_t> declared_length,
                                             bool body_pending);

    // Answers a request that could not be read whole: over a limit or not HTTP. `method` and
    // `target` are what the request line gave, maybe nothing; they only pick the metric label.
    ApiResponse answer_unreadable(unsigned status, std::string_view message,
                                  std::string_view method, std::string_view target);

private:
    struct Match;  // what the route table says about a method and path (api_routes.cpp)
    struct PluginRoute {
        std::string method;
        std::string pattern;  // exact path, or a prefix when it ends in '/'
        RouteHandler handler;

        bool is_prefix() const { return pattern.back() == '/'; }
        bool covers(std::string_view path) const;
    };

    ApiResponse dispatch(const ApiRequest& req, const std::string& path,
                         const std::map<std::string, std::string>& query, const Match& route);
    Match match(std::string_view method, std::string_view path) const;
    void match_plugin_route(std::string_view method, std::string_view path, Match& m) const;
    bool authorized(const ApiRequest& req) const;

    ApiResponse push(Target target, std::string_view body);
    ApiResponse user_view(std::optional<std::uint64_t> id);
    ApiResponse room_view(std::optional<std::uint64_t> id);
    ApiResponse kick(std::optional<std::uint64_t> id, std::string_view body);
    // Room state (api_room_state.cpp).
    ApiResponse room_state_get(std::optional<std::uint64_t> id);
    ApiResponse room_state_write(std::string_view method, std::optional<std::uint64_t> id,
                                 const std::string& key, std::string_view body);
    ApiResponse metrics_page();
    ApiResponse console_page(const ApiRequest& req, std::string_view path);
    ApiResponse readiness();
    ApiResponse plugin(const PluginRoute& route, const ApiRequest& req, const std::string& path,
                       const std::map<std::string, std::string>& query);

    const RouteOptions options_;
    PushBackend& backend_;
    ApiMetrics& metrics_;
    std::vector<PluginRoute> plugin_routes_;  // fixed once requests come: labels point into it
    RequestRateLimit rate_;
    std::atomic<bool> draining_{false};
    RoomStateService* room_state_ = nullptr;
    std::shared_ptr<const server::StaticSite> console_;
};

}  // namespace lp::push
