// push/http_api: the internal HTTP/1.1 + JSON API business services push through
// (design.md section 5). Boost.Beast, keep-alive, one thread of its own. Built from
// api_routes (what each route answers, no sockets), http_server (connections and their limits)
// and api_metrics; this header is all app/ and plugins see of it.
//
// Routes (exact; plugin routes from add_route come after them):
//   POST /v1/push/user       {user_id, type, payload | payload_base64, qos?, ttl_s?}
//   POST /v1/push/users      {user_ids: [...], type, payload | payload_base64, qos?, ttl_s?}
//   POST /v1/push/room       {room_id, type, payload | payload_base64, qos? (0 only), exclude?}
//   POST /v1/push/broadcast  {type, payload | payload_base64, qos? (0 only), exclude?}
//        -> 200 {"msg_id":"<decimal>","sessions":N,"stored":N[,"room_seq":N for rooms]}
//   GET  /v1/users/{id}      -> {"user_id","online","node","inbox","sessions":[{"session_id",
//                               "platform","transport","scene","rooms":[...],"node"}]}
//   GET  /v1/rooms/{id}      -> {"room_id","online","room_seq","epoch"}
//   GET  /v1/rooms/{id}/state -> {key: {"value", "version"}}
//   PUT  /v1/rooms/{id}/state/{key} (body: any JSON value) -> {"version":N}; DELETE likewise
//   POST /v1/users/{id}/kick {reason?} ("admin" by default) -> {"kicked":N} (0 when offline)
//   GET  /metrics (Prometheus text), GET /healthz (never needs the key), GET /readyz
//   GET, HEAD /console/... the console's static pages, with set_console (no key needed)
// Ids come in as JSON numbers or decimal strings and go out as decimal strings (msg_id,
// user_id, room_id, session_id, rooms): JavaScript loses integers above 2^53. Counts are
// numbers. "payload" is any JSON value, forwarded exactly as written; "payload_base64" is
// standard base64 for bytes; null counts as absent for every optional field.
// Errors: {"error": "<what to fix>", "code": <int>} with the HTTP status: 400 bad body or path
// id, 401 key (judged on the header: the body is never read), 404, 405 (+ Allow), 413 body
// over max_body_bytes (on Content-Length, before the body is sent), 415 a Content-Type other
// than application/json on a request with a body, 429 over max_requests_per_s (+ Retry-After;
// /healthz, /readyz and /metrics are exempt), 431 header over 8 KiB, 500, 503 draining (pushes)
// or what the push service answers (its `code` when it sets one). A request the parser cannot
// read (413, 431, not HTTP), or a 401 that announced a body, is answered and its connection
// closed; others keep it alive.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include "push/api.hpp"
#include "push/defaults.hpp"
#include "server/static_site.hpp"

namespace lp::push {

class RoomStateService;

struct ApiOptions {
    std::string listen{kDefaultApiListen};
    std::string key;                                       // bearer key; empty = no auth
    std::size_t max_body_bytes = kDefaultApiMaxBodyBytes;  // over it: 413
    std::uint32_t max_user_ids = kDefaultApiMaxUserIds;    // /v1/push/users
    std::uint32_t max_requests_per_s = 0;                  // 0 = no limit; over it: 429
    // API connections at most; at the cap the longest-idle one is closed for a new one, and a
    // new one is refused only when every connection is busy with a request.
    std::uint32_t max_connections = kDefaultApiMaxConnections;
    // A request header must be complete within this; keep-alive wait for the next request and
    // for a body's next bytes.
    std::uint32_t header_timeout_ms = kDefaultApiHeaderTimeoutMs;
    std::uint32_t idle_timeout_ms = kDefaultApiIdleTimeoutMs;
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
    void stop();  // stops accepting, closes connections, joins
    // The API's own metrics (requests by route and status, latency histogram), Prometheus text.
    std::string metrics_text() const;
    // While draining, pushes answer 503 and /readyz says "draining".
    void set_draining(bool d);
    // Serves /v1/rooms/{id}/state... from `s` (issue 14 item 5). Before start().
    void set_room_state(RoomStateService& s);
    // Serves the operator console's static pages at /console/ (docs/console.md). Before start().
    void set_console(std::shared_ptr<const server::StaticSite> site);

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

}  // namespace lp::push
