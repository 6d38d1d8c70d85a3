// push/http_api: the internal HTTP/1.1 + JSON API business services push through
// (design.md section 5), on Boost.Beast. The only Beast translation unit of push/.
//
// Shape: one acceptor and its connections on an io_context of their own, run by
// ApiOptions::threads threads; every connection, and the acceptor, sits on a strand of its own.
// A connection reads one request at a time, header first, and judges the header before it
// reads any body: a missing or bad key is a 401 and a Content-Length over the limit a 413, and
// the connection closes without the body having been read (so an unauthenticated caller cannot
// make the node read or wait for megabytes); `Expect: 100-continue` is honoured. It then answers
// and reads the next request: keep-alive, and pipelined requests are answered in order because
// the bytes after one request stay in the connection's buffer for the next parse.
// Deadlines: a request header must be complete within header_timeout_ms (from the accept, or
// from the first byte of a later request); a kept-alive connection may wait idle_timeout_ms for
// its next request. At max_connections the longest-idle connection makes room for a new one
// (ConnectionRegistry).
//
// Pushes run right on the API thread: the backend is thread-safe and fast, and a hop to
// another thread per push would cost more than the push.
//
// What it must never do: let a caller's bytes crash or stall the node, or read a body for a
// caller that has not shown the key. Every limit is explicit and counted (key 401, body 413,
// header 431, header deadline, connections, request rate 429); each request is answered
// inside a catch-all that turns any exception into a 500 JSON error, and no exception leaves a
// completion handler.
#include "push/http_api.hpp"

#include <algorithm>
#include <array>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <cctype>
#include <charconv>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "codec/address.hpp"
#include "push/request_parse.hpp"

namespace lp::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Request = http::request<http::string_body>;
using Response = http::response<http::string_body>;

// The same header limit as the WebSocket upgrade (architecture.md): no caller needs more.
constexpr std::uint32_t kHeaderLimitBytes = 8 * 1024;
// After an answer that closes the connection, unread bytes are drained this long so that the
// peer reads the answer instead of a reset (the body of a refused 413 is still arriving).
constexpr auto kLingerTime = std::chrono::milliseconds(500);
// How long stop() lets connections finish closing before it stops the io_context outright.
constexpr auto kStopGrace = std::chrono::seconds(2);
constexpr auto kAcceptRetryDelay = std::chrono::milliseconds(100);
constexpr std::string_view kUnmatchedRoute = "unmatched";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kMetricsType = "text/plain; version=0.0.4; charset=utf-8";

// ---------------------------------------------------------------------------------------------
// Metrics: requests by (route pattern, status), one latency histogram, refusals, connections.

class ApiMetrics {
public:
    // `route` must outlive the metrics: a literal or a plugin route's stored pattern.
    void record(std::string_view route, unsigned status, Clock::duration took) {
        const double seconds = std::chrono::duration<double>(took).count();
        const auto bucket = std::lower_bound(kBucketBounds.begin(), kBucketBounds.end(), seconds) -
                            kBucketBounds.begin();
        std::lock_guard lock(mutex_);
        ++requests_[{route, status}];
        ++bucket_counts_[static_cast<std::size_t>(bucket)];
        seconds_sum_ += seconds;
        ++count_;
    }
    // Why the API turned work away; the label of livepush_api_rejected_total.
    enum class Rejection : std::uint8_t {
        Rate,             // request over max_requests_per_s: 429
        Unauthorized,     // missing or bad key, judged on the header: 401, body never read
        TooLarge,         // Content-Length (or a chunked body) over max_body_bytes: 413
        OverConnections,  // at max_connections with no idle connection to close: refused
        EvictedIdle,      // an idle connection closed to admit a new one at max_connections
        HeaderTimeout,    // no complete header within header_timeout_ms: closed
        kCount
    };
    void count_rejected(Rejection r) {
        rejected_[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
    }
    void count_rejected_rate() { count_rejected(Rejection::Rate); }
    void connection_opened() { connections_.fetch_add(1, std::memory_order_relaxed); }
    void connection_closed() { connections_.fetch_sub(1, std::memory_order_relaxed); }

    std::string text() const {
        std::string out;
        out.reserve(2048);
        out +=
            "# HELP livepush_api_requests_total Internal API requests by route pattern and HTTP "
            "status.\n# TYPE livepush_api_requests_total counter\n";
        std::lock_guard lock(mutex_);
        for (const auto& [key, n] : requests_) {
            out += "livepush_api_requests_total{route=\"";
            append_label_value(out, key.first);
            out += "\",status=\"";
            out += std::to_string(key.second);
            out += "\"} ";
            out += std::to_string(n);
            out += '\n';
        }
        out +=
            "# HELP livepush_api_request_duration_seconds Time from a request's header to its "
            "answer being ready.\n# TYPE livepush_api_request_duration_seconds histogram\n";
        std::uint64_t cumulative = 0;
        for (std::size_t i = 0; i <= kBucketBounds.size(); ++i) {
            cumulative += bucket_counts_[i];
            out += "livepush_api_request_duration_seconds_bucket{le=\"";
            out += i < kBucketLabels.size() ? kBucketLabels[i] : "+Inf";
            out += "\"} ";
            out += std::to_string(cumulative);
            out += '\n';
        }
        out += "livepush_api_request_duration_seconds_sum ";
        append_double(out, seconds_sum_);
        out += "\nlivepush_api_request_duration_seconds_count ";
        out += std::to_string(count_);
        out +=
            "\n# HELP livepush_api_rejected_total API work refused: rate (429), unauthorized "
            "(401 on the header), too_large (413 on Content-Length), over_connections (new "
            "connection refused at max_connections), evicted_idle (oldest idle connection closed "
            "to admit a new one), header_timeout (no full header within header_timeout_ms).\n"
            "# TYPE livepush_api_rejected_total counter\n";
        for (std::size_t i = 0; i < kRejectionLabels.size(); ++i) {
            out += "livepush_api_rejected_total{reason=\"";
            out += kRejectionLabels[i];
            out += "\"} " + std::to_string(rejected_[i].load(std::memory_order_relaxed)) + '\n';
        }
        out +=
            "# HELP livepush_api_connections Open API connections.\n"
            "# TYPE livepush_api_connections gauge\n";
        out += "livepush_api_connections " +
               std::to_string(connections_.load(std::memory_order_relaxed)) + '\n';
        return out;
    }

private:
    static constexpr std::array<std::string_view, static_cast<std::size_t>(Rejection::kCount)>
        kRejectionLabels = {"rate",         "unauthorized",  "too_large", "over_connections",
                            "evicted_idle", "header_timeout"};
    static constexpr std::array<double, 12> kBucketBounds = {
        0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0};
    static constexpr std::array<std::string_view, 12> kBucketLabels = {
        "0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025",
        "0.05",   "0.1",   "0.25",   "0.5",   "0.75", "1"};

    static void append_label_value(std::string& out, std::string_view v) {
        for (char c : v) {
            if (c == '\\' || c == '"') {
                out += '\\';
                out += c;
            } else if (c == '\n') {
                out += "\\n";
            } else {
                out += c;
            }
        }
    }
    static void append_double(std::string& out, double v) {
        char digits[32];
        auto [end, ec] = std::to_chars(digits, digits + sizeof digits, v);
        out.append(digits, ec == std::errc() ? end : digits);
    }

    mutable std::mutex mutex_;
    std::map<std::pair<std::string_view, unsigned>, std::uint64_t> requests_;
    std::array<std::uint64_t, kBucketBounds.size() + 1> bucket_counts_{};  // last: over 1 s
    double seconds_sum_ = 0;
    std::uint64_t count_ = 0;
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Rejection::kCount)> rejected_{};
    std::atomic<std::int64_t> connections_{0};
};

// A global token bucket: `per_second` tokens a second, bursts of up to one second's worth.
class RequestRateLimit {
public:
    explicit RequestRateLimit(std::uint32_t per_second)
        : per_second_(per_second), tokens_(per_second), refilled_(Clock::now()) {}

    bool try_take() {
        if (per_second_ == 0) return true;
        std::lock_guard lock(mutex_);
        const Clock::time_point now = Clock::now();
        const double elapsed = std::chrono::duration<double>(now - refilled_).count();
        refilled_ = now;
        tokens_ = std::min<double>(per_second_, tokens_ + elapsed * per_second_);
        if (tokens_ < 1.0) return false;
        tokens_ -= 1.0;
        return true;
    }
    std::uint32_t per_second() const { return per_second_; }

private:
    const std::uint32_t per_second_;
    std::mutex mutex_;
    double tokens_;
    Clock::time_point refilled_;
};

// ---------------------------------------------------------------------------------------------
// Routes.

enum class RouteKind {
    PushUser,
    PushUsers,
    PushRoom,
    PushBroadcast,
    UserView,
    UserKick,
    RoomView,
    Metrics,
    Healthz,
    Readyz,
    Plugin,
    Unmatched,
};

struct FixedRoute {
    std::string_view path;
    RouteKind kind;
    http::verb method;
};

constexpr FixedRoute kFixedRoutes[] = {
    {"/v1/push/user", RouteKind::PushUser, http::verb::post},
    {"/v1/push/users", RouteKind::PushUsers, http::verb::post},
    {"/v1/push/room", RouteKind::PushRoom, http::verb::post},
    {"/v1/push/broadcast", RouteKind::PushBroadcast, http::verb::post},
    {"/metrics", RouteKind::Metrics, http::verb::get},
    {"/healthz", RouteKind::Healthz, http::verb::get},
    {"/readyz", RouteKind::Readyz, http::verb::get},
};

constexpr std::string_view kUsersPrefix = "/v1/users/";
constexpr std::string_view kRoomsPrefix = "/v1/rooms/";
constexpr std::string_view kUserViewRoute = "/v1/users/{id}";
constexpr std::string_view kUserKickRoute = "/v1/users/{id}/kick";
constexpr std::string_view kRoomViewRoute = "/v1/rooms/{id}";

struct PluginRoute {
    std::string method;
    std::string pattern;  // exact path, or a prefix when it ends in '/'
    RouteHandler handler;

    bool is_prefix() const { return pattern.back() == '/'; }
    bool covers(std::string_view path) const {
        return is_prefix() ? path.starts_with(pattern) : path == pattern;
    }
};

struct RouteMatch {
    RouteKind kind = RouteKind::Unmatched;
    std::string_view label = kUnmatchedRoute;  // the pattern: bounded metric cardinality
    bool method_allowed = false;
    std::string allow;                     // the methods the path takes, for a 405
    std::optional<std::uint64_t> path_id;  // UserView, UserKick, RoomView; empty when malformed
    const PluginRoute* plugin = nullptr;
};

// Probes and scrapes are never rate limited: a busy API must not look dead to its orchestrator.
bool is_rate_limited(RouteKind k) {
    return k != RouteKind::Healthz && k != RouteKind::Readyz && k != RouteKind::Metrics;
}

Target target_of(RouteKind k) {
    switch (k) {
        case RouteKind::PushUsers:
            return Target::Users;
        case RouteKind::PushRoom:
            return Target::Room;
        case RouteKind::PushBroadcast:
            return Target::Broadcast;
        default:
            return Target::User;
    }
}

// ---------------------------------------------------------------------------------------------
// Answers: everything about a request except the socket it came on.

std::string to_decimal(std::uint64_t v) {
    return std::to_string(v);
}

class ApiEndpoints {
public:
    ApiEndpoints(const ApiOptions& options, PushBackend& backend)
        : options_(options), backend_(backend), rate_(options.max_requests_per_s) {}

    void add_plugin_route(PluginRoute route) { plugin_routes_.push_back(std::move(route)); }
    void set_draining(bool d) { draining_.store(d, std::memory_order_relaxed); }
    ApiMetrics& metrics() { return metrics_; }
    const ApiMetrics& metrics() const { return metrics_; }

    // Answers a complete request. Never throws.
    Response answer(const Request& req, Clock::time_point started) {
        std::string path;
        std::map<std::string, std::string> query;
        RouteMatch route;
        Response res;
        try {
            split_target(req.target(), path, query);
            route = match(req.method_string(), path);
            res = dispatch(req, path, query, route);
        } catch (const std::exception& e) {
            res = error(500, std::string("internal error: ") + e.what());
        } catch (...) {
            res = error(500, "internal error");
        }
        return finish(std::move(res), req.version(), req.keep_alive(), route.label, started);
    }

    // Judges a request on its header alone, before a byte of its body is read, so that a
    // caller without the key never gets to make the node read (or wait for) a body, and a
    // declared body over the limit is refused before it is sent. Returns the answer that ends
    // the request (the connection closes after it when a body was announced), or nothing.
    std::optional<Response> answer_header(const Request& head,
                                          std::optional<std::uint64_t> declared_length,
                                          bool body_pending, Clock::time_point started) {
        std::string path;
        std::map<std::string, std::string> query;
        RouteMatch route;
        std::optional<Response> res;
        try {
            split_target(head.target(), path, query);
            route = match(head.method_string(), path);
            // /healthz needs no key, but then takes no body either: a keyless caller must not
            // be able to hold a connection busy by trickling one.
            const bool public_route =
                route.kind == RouteKind::Healthz && route.method_allowed && !body_pending;
            if (!public_route && !authorized(head)) {
                metrics_.count_rejected(ApiMetrics::Rejection::Unauthorized);
                res = unauthorized();
            } else if (declared_length && *declared_length > options_.max_body_bytes) {
                metrics_.count_rejected(ApiMetrics::Rejection::TooLarge);
                res = error(413, "body over api.max_body_bytes (" +
                                     std::to_string(options_.max_body_bytes) + " bytes)");
            }
        } catch (...) {
            res = error(500, "internal error");
        }
        if (!res) return std::nullopt;
        return finish(std::move(*res), head.version(), head.keep_alive() && !body_pending,
                      route.label, started);
    }

    // Answers a request that could not be read whole: over a limit or not HTTP. The connection
    // closes after it. `method` and `target` are what the request line gave, maybe nothing.
    Response answer_unreadable(unsigned status, std::string message, std::string_view method,
                               std::string_view target, Clock::time_point started) {
        std::string_view label = kUnmatchedRoute;
        try {
            std::string path;
            std::map<std::string, std::string> query;
            split_target(target, path, query);
            label = match(method, path).label;
        } catch (...) {
            // The label is only for metrics; the answer matters more.
        }
        return finish(error(status, message), 11, false, label, started);
    }

private:
    Response dispatch(const Request& req, const std::string& path,
                      const std::map<std::string, std::string>& query, const RouteMatch& route) {
        const bool public_route = route.kind == RouteKind::Healthz && route.method_allowed;
        if (!public_route && !authorized(req)) return unauthorized();
        if (route.kind == RouteKind::Unmatched) {
            return error(
                404, "no such route: " + printable(req.method_string()) + ' ' + printable(path));
        }
        if (!route.method_allowed) {
            Response res = error(405, printable(req.method_string()) + " is not allowed on " +
                                          std::string(route.label) + "; use " + route.allow);
            res.set(http::field::allow, route.allow);
            return res;
        }
        if (is_rate_limited(route.kind) && !rate_.try_take()) {
            metrics_.count_rejected_rate();
            Response res =
                error(429, "over api.max_requests_per_s (" + std::to_string(rate_.per_second()) +
                               " requests a second); retry later");
            res.set(http::field::retry_after, "1");
            return res;
        }
        if (!req.body().empty()) {
            const auto content_type = req.find(http::field::content_type);
            if (content_type != req.end() && !is_json_media_type(content_type->value())) {
                return error(415, "Content-Type must be application/json (curl: --json)");
            }
        }
        switch (route.kind) {
            case RouteKind::PushUser:
            case RouteKind::PushUsers:
            case RouteKind::PushRoom:
            case RouteKind::PushBroadcast:
                return push(target_of(route.kind), req.body());
            case RouteKind::UserView:
                return user_view(route.path_id);
            case RouteKind::UserKick:
                return kick(route.path_id, req.body());
            case RouteKind::RoomView:
                return room_view(route.path_id);
            case RouteKind::Metrics:
                return metrics_page();
            case RouteKind::Healthz:
                return json_reply(200, R"({"status":"ok"})");
            case RouteKind::Readyz:
                return readiness();
            case RouteKind::Plugin:
                return plugin(*route.plugin, req, path, query);
            case RouteKind::Unmatched:
                break;
        }
        return error(404, "no such route");
    }

    RouteMatch match(std::string_view method, std::string_view path) const {
        RouteMatch m;
        for (const FixedRoute& r : kFixedRoutes) {
            if (path == r.path) {
                m.kind = r.kind;
                m.label = r.path;
                m.method_allowed = method == http::to_string(r.method);
                m.allow = std::string(http::to_string(r.method));
                return m;
            }
        }
        if (match_id_route(method, path, m)) return m;
        match_plugin_route(method, path, m);
        return m;
    }

    static bool match_id_route(std::string_view method, std::string_view path, RouteMatch& m) {
        std::string_view id_text;
        if (path.starts_with(kUsersPrefix)) {
            const std::string_view rest = path.substr(kUsersPrefix.size());
            const std::size_t slash = rest.find('/');
            if (slash == std::string_view::npos) {
                m.kind = RouteKind::UserView;
                m.label = kUserViewRoute;
                m.allow = "GET";
            } else if (rest.substr(slash) == "/kick") {
                m.kind = RouteKind::UserKick;
                m.label = kUserKickRoute;
                m.allow = "POST";
            } else {
                return false;
            }
            id_text = rest.substr(0, slash);
        } else if (path.starts_with(kRoomsPrefix)) {
            id_text = path.substr(kRoomsPrefix.size());
            if (id_text.find('/') != std::string_view::npos) return false;
            m.kind = RouteKind::RoomView;
            m.label = kRoomViewRoute;
            m.allow = "GET";
        } else {
            return false;
        }
        if (id_text.empty()) {  // "/v1/users/": a collection we do not serve
            m = RouteMatch{};
            return false;
        }
        m.method_allowed = method == m.allow;
        m.path_id = parse_path_id(id_text);
        return true;
    }

    // Exact patterns win over prefixes; among prefixes the longest wins.
    void match_plugin_route(std::string_view method, std::string_view path, RouteMatch& m) const {
        const PluginRoute* best = nullptr;
        for (const PluginRoute& r : plugin_routes_) {
            if (!r.covers(path)) continue;
            if (!best || (best->is_prefix() && !r.is_prefix()) ||
                (best->is_prefix() && r.is_prefix() && r.pattern.size() > best->pattern.size())) {
                best = &r;
            }
        }
        if (!best) return;
        m.kind = RouteKind::Plugin;
        m.label = best->pattern;
        for (const PluginRoute& r : plugin_routes_) {
            if (r.pattern != best->pattern) continue;
            if (!m.allow.empty()) m.allow += ", ";
            m.allow += r.method;
            if (r.method == method && !m.method_allowed) {
                m.method_allowed = true;
                m.plugin = &r;
            }
        }
    }

    bool authorized(const http::request_header<>& req) const {
        if (options_.key.empty()) return true;
        const auto header = req.find(http::field::authorization);
        return header != req.end() && bearer_key_matches(header->value(), options_.key);
    }

    Response push(Target target, const std::string& body) {
        if (draining_.load(std::memory_order_relaxed)) {
            return error(503, "node is draining; push through another node");
        }
        PushRequest request;
        std::string why;
        if (!parse_push_body(target, body, {options_.max_user_ids}, request, why)) {
            return error(400, why);
        }
        const PushOutcome outcome = backend_.push(request);
        if (outcome.status < 200 || outcome.status > 599) {
            return error(500,
                         "push service returned HTTP status " + std::to_string(outcome.status));
        }
        if (outcome.status >= 300) {
            const std::string message =
                outcome.error.empty()
                    ? std::string(http::obsolete_reason(static_cast<http::status>(outcome.status)))
                    : outcome.error;
            return error(static_cast<unsigned>(outcome.status), message,
                         outcome.code != 0 ? outcome.code : outcome.status);
        }
        json::object o;
        o["msg_id"] = to_decimal(outcome.msg_id);
        o["sessions"] = outcome.sessions;
        o["stored"] = outcome.stored;
        if (target == Target::Room) {
            // 64-bit: a decimal string; null when the room's home did not answer in time.
            if (outcome.room_seq_known)
                o["room_seq"] = std::to_string(outcome.room_seq);
            else
                o["room_seq"] = nullptr;
        }
        return json_reply(static_cast<unsigned>(outcome.status), json::serialize(o));
    }

    Response user_view(std::optional<std::uint64_t> id) {
        if (!id) return error(400, bad_path_id("user"));
        const UserView v = backend_.user(*id);
        json::object o;
        o["user_id"] = to_decimal(*id);
        o["online"] = v.online;
        o["node"] = v.node;
        o["inbox"] = v.inbox;
        json::array sessions;
        sessions.reserve(v.sessions.size());
        for (const SessionView& s : v.sessions) {
            json::array rooms;
            rooms.reserve(s.rooms.size());
            for (std::uint64_t room : s.rooms) rooms.emplace_back(to_decimal(room));
            json::object so;
            so["session_id"] = to_decimal(s.session_id);
            so["platform"] = s.platform;
            so["transport"] = s.transport;
            so["scene"] = s.scene;
            so["rooms"] = std::move(rooms);
            so["node"] = s.node;
            sessions.emplace_back(std::move(so));
        }
        o["sessions"] = std::move(sessions);
        return json_reply(200, json::serialize(o));
    }

    Response room_view(std::optional<std::uint64_t> id) {
        if (!id) return error(400, bad_path_id("room"));
        const RoomView v = backend_.room(*id);
        json::object o;
        o["room_id"] = to_decimal(*id);
        o["online"] = v.online;
        o["room_seq"] = std::to_string(v.room_seq);  // 64-bit values as decimal strings
        o["epoch"] = std::to_string(v.epoch);
        if (!v.home.empty()) o["home"] = v.home;
        return json_reply(200, json::serialize(o));
    }

    Response kick(std::optional<std::uint64_t> id, const std::string& body) {
        if (!id) return error(400, bad_path_id("user"));
        std::string reason;
        std::string why;
        if (!parse_kick_body(body, reason, why)) return error(400, why);
        const std::uint64_t kicked = backend_.kick(*id, reason);
        return json_reply(200, R"({"kicked":)" + to_decimal(kicked) + '}');
    }

    Response metrics_page() {
        std::string text = backend_.metrics_text();
        if (!text.empty() && text.back() != '\n') text += '\n';
        text += metrics_.text();
        Response res{http::status::ok, 11};
        res.set(http::field::content_type, kMetricsType);
        res.body() = std::move(text);
        return res;
    }

    Response readiness() {
        json::object o;
        std::string why;
        if (draining_.load(std::memory_order_relaxed)) {
            o["status"] = "draining";
            o["reason"] = "node is shutting down";
        } else if (!backend_.ready(why)) {
            o["status"] = "degraded";
            o["reason"] = why.empty() ? "not ready" : why;
        } else {
            return json_reply(200, R"({"status":"ready"})");
        }
        return json_reply(503, json::serialize(o));
    }

    Response plugin(const PluginRoute& route, const Request& req, const std::string& path,
                    const std::map<std::string, std::string>& query) {
        HttpRequest in;
        in.method = std::string(req.method_string());
        in.path = path;
        in.query = query;
        in.body = req.body();
        HttpReply out = route.handler(in);
        if (out.status < 100 || out.status > 599) {
            return error(500, "route " + route.pattern + " answered with HTTP status " +
                                  std::to_string(out.status));
        }
        return json_reply(static_cast<unsigned>(out.status), std::move(out.body));
    }

    // A caller's bytes echoed in a message: printable ASCII only (the answer stays valid
    // UTF-8 JSON whatever was sent), and not too many of them.
    static std::string printable(std::string_view s) {
        std::string out(s.substr(0, 200));
        for (char& c : out) {
            if (c < 0x20 || c > 0x7e) c = '?';
        }
        return out;
    }

    static std::string bad_path_id(std::string_view what) {
        return std::string(what) +
               " id in the path must be a non-zero unsigned 64-bit decimal integer";
    }

    static Response unauthorized() {
        Response res = error(401, "missing or bad API key");
        res.set(http::field::www_authenticate, "Bearer");
        return res;
    }

    static Response json_reply(unsigned status, std::string body) {
        Response res{static_cast<http::status>(status), 11};
        res.set(http::field::content_type, kJsonType);
        res.body() = std::move(body);
        return res;
    }

    static Response error(unsigned status, std::string_view message) {
        return error(status, message, static_cast<int>(status));
    }
    static Response error(unsigned status, std::string_view message, int code) {
        json::object o;
        o["error"] = message;
        o["code"] = code;
        return json_reply(status, json::serialize(o));
    }

    Response finish(Response res, unsigned version, bool keep_alive, std::string_view label,
                    Clock::time_point started) {
        try {
            res.version(version);
            res.keep_alive(keep_alive);
            res.set(http::field::server, "livepush");
            res.prepare_payload();
            metrics_.record(label, res.result_int(), Clock::now() - started);
        } catch (...) {
            // Out of memory for a header: answer anyway, as plainly as possible.
            res.keep_alive(false);
        }
        return res;
    }

    const ApiOptions& options_;
    PushBackend& backend_;
    std::vector<PluginRoute> plugin_routes_;  // fixed after start(): labels point into it
    ApiMetrics metrics_;
    RequestRateLimit rate_;
    std::atomic<bool> draining_{false};
};

// ---------------------------------------------------------------------------------------------
// Connections.

class ApiConnection;

// The open connections, so that stop() can close them; the connection cap; and which
// connections are idle, so that at the cap an idle one can make room for a new one.
//
// Idle means no request in progress: the connection is waiting for (or still reading) a request
// header. At max_connections a new connection closes the connection that has been idle the
// longest and takes its place; only when every connection is busy with a request (reading its
// body, being answered) is the new one refused. So connections that open and send nothing, or
// half a header, cannot keep real callers out: each new caller pushes the oldest of them out,
// and header_timeout_ms closes the rest. A connection busy with a request is never closed for
// a newcomer.
class ConnectionRegistry {
public:
    enum class Admit { Yes, EvictedIdle, OverLimit, Closing };

    Admit admit(const std::shared_ptr<ApiConnection>& c, std::size_t max) {
        std::shared_ptr<ApiConnection> evicted;
        Admit result = Admit::Yes;
        {
            std::lock_guard lock(mutex_);
            if (closing_) return Admit::Closing;
            if (open_.size() >= max) {
                evicted = take_oldest_idle();
                if (!evicted) return Admit::OverLimit;
                result = Admit::EvictedIdle;
            }
            open_.emplace(c.get(), Entry{c, Clock::now(), true});
        }
        if (evicted) close_connection(evicted);
        return result;
    }
    // A connection starts (true) or stops (false) waiting for a request header.
    void set_idle(const ApiConnection* c, bool idle) {
        std::lock_guard lock(mutex_);
        const auto it = open_.find(c);
        if (it == open_.end() || it->second.evicted) return;
        it->second.idle = idle;
        if (idle) it->second.idle_since = Clock::now();
    }
    void remove(const ApiConnection* c) {
        std::lock_guard lock(mutex_);
        open_.erase(c);
    }
    // From now on nothing is admitted; returns everything open.
    std::vector<std::shared_ptr<ApiConnection>> close_all() {
        std::vector<std::shared_ptr<ApiConnection>> all;
        std::lock_guard lock(mutex_);
        closing_ = true;
        for (const auto& [ptr, entry] : open_) {
            if (auto c = entry.connection.lock()) all.push_back(std::move(c));
        }
        return all;
    }

private:
    struct Entry {
        std::weak_ptr<ApiConnection> connection;
        Clock::time_point idle_since;
        bool idle = true;
        bool evicted = false;  // being closed; it still counts until it is gone
    };

    // Linear in the open connections, and only at the cap: 1,024 entries scanned per accept
    // there costs less than keeping an ordered index up to date on every request. No strong
    // reference is dropped under the lock (a last one would run ~ApiConnection, which takes it).
    std::shared_ptr<ApiConnection> take_oldest_idle() {
        for (;;) {
            Entry* oldest = nullptr;
            for (auto& [ptr, entry] : open_) {
                if (!entry.idle || entry.evicted) continue;
                if (!oldest || entry.idle_since < oldest->idle_since) oldest = &entry;
            }
            if (!oldest) return nullptr;
            // It keeps its entry (and counts) until its socket is closed, but is not picked
            // again. One already being destroyed is passed over: its destructor removes it.
            oldest->evicted = true;
            if (auto alive = oldest->connection.lock()) return alive;
        }
    }

    static void close_connection(const std::shared_ptr<ApiConnection>& c);

    std::mutex mutex_;
    bool closing_ = false;
    std::unordered_map<const ApiConnection*, Entry> open_;
};

bool is_http_error(const beast::error_code& ec) {
    return ec.category() == http::make_error_code(http::error::end_of_stream).category();
}

bool ieq(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// One API connection: reads a request header (within header_timeout_ms), judges it (key,
// declared length) before reading any body, reads the body (bounded by max_body_bytes),
// answers, and waits for the next request (at most idle_timeout_ms).
class ApiConnection : public std::enable_shared_from_this<ApiConnection> {
public:
    ApiConnection(tcp::socket socket, ApiEndpoints& endpoints, ConnectionRegistry& registry,
                  const ApiOptions& options)
        : stream_(std::move(socket)),
          endpoints_(endpoints),
          registry_(registry),
          options_(options) {
        endpoints_.metrics().connection_opened();
    }
    ~ApiConnection() {
        registry_.remove(this);
        endpoints_.metrics().connection_closed();
    }

    void start() {
        beast::error_code ec;
        stream_.socket().set_option(tcp::no_delay(true), ec);
        asio::dispatch(stream_.get_executor(),
                       [self = shared_from_this()] { self->read_header(); });
    }

    // From any thread.
    void close() {
        asio::post(stream_.get_executor(), [self = shared_from_this()] { self->close_now(); });
    }

private:
    using Millis = std::chrono::milliseconds;

    // Between requests of a kept-alive connection the wait for the next one is bounded by the
    // idle deadline; once a request's first byte is here (or on a new connection, from the
    // accept) its header must be complete within the header deadline.
    void read_header() {
        registry_.set_idle(this, true);
        if (served_ > 0 && buffer_.size() == 0) return wait_for_next_request();
        read_header_bytes();
    }

    void wait_for_next_request() {
        stream_.expires_after(Millis(options_.idle_timeout_ms));
        stream_.async_read_some(
            buffer_.prepare(kFirstReadBytes),
            [self = shared_from_this()](beast::error_code ec, std::size_t n) noexcept {
                if (ec) return self->close_now();  // gone, or idle past the deadline
                try {
                    self->buffer_.commit(n);
                    self->read_header_bytes();
                } catch (...) {
                    self->close_now();
                }
            });
    }

    void read_header_bytes() {
        parser_.emplace();
        parser_->header_limit(kHeaderLimitBytes);
        // The body limit is judged on the header, after the key (answer_header), so that a
        // caller without the key learns nothing, not even the limit.
        parser_->body_limit(boost::none);
        stream_.expires_after(Millis(options_.header_timeout_ms));
        http::async_read_header(stream_, buffer_, *parser_,
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    self->on_header(ec);
                                });
    }

    void on_header(beast::error_code ec) noexcept {
        started_ = Clock::now();
        try {
            if (ec == beast::error::timeout) {
                endpoints_.metrics().count_rejected(ApiMetrics::Rejection::HeaderTimeout);
                return close_now();
            }
            if (ec) return on_read_error(ec);
            registry_.set_idle(this, false);
            ++served_;
            const bool body_pending = !parser_->is_done();
            std::optional<std::uint64_t> declared_length;
            if (const auto length = parser_->content_length()) declared_length = *length;
            if (auto refused = endpoints_.answer_header(parser_->get(), declared_length,
                                                        body_pending, started_)) {
                return write(std::move(*refused));
            }
            if (!body_pending) return answer();
            parser_->body_limit(static_cast<std::uint64_t>(options_.max_body_bytes));
            if (ieq(parser_->get()[http::field::expect], "100-continue")) {
                static constexpr std::string_view kContinue = "HTTP/1.1 100 Continue\r\n\r\n";
                asio::async_write(stream_, asio::buffer(kContinue.data(), kContinue.size()),
                                  [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                      if (ec) return self->close_now();
                                      self->read_body();
                                  });
                return;
            }
            read_body();
        } catch (...) {
            close_now();
        }
    }

    void read_body() {
        stream_.expires_after(Millis(options_.idle_timeout_ms));
        http::async_read(
            stream_, buffer_, *parser_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_body(ec); });
    }

    void on_body(beast::error_code ec) noexcept {
        try {
            if (ec) return on_read_error(ec);
            answer();
        } catch (...) {
            close_now();
        }
    }

    void on_read_error(beast::error_code ec) {
        if (ec == http::error::end_of_stream || ec == http::error::partial_message ||
            !is_http_error(ec)) {
            // The peer left, went idle past the timeout, or is gone: nobody to answer.
            return close_now();
        }
        unsigned status = 400;
        std::string message;
        if (ec == http::error::body_limit) {
            endpoints_.metrics().count_rejected(ApiMetrics::Rejection::TooLarge);
            status = 413;
            message = "body over api.max_body_bytes (" + std::to_string(options_.max_body_bytes) +
                      " bytes)";
        } else if (ec == http::error::header_limit) {
            status = 431;
            message = "request header over " + std::to_string(kHeaderLimitBytes) + " bytes";
        } else {
            message = "malformed HTTP request: " + ec.message();
        }
        const auto& partial = parser_->get();
        write(endpoints_.answer_unreadable(status, std::move(message), partial.method_string(),
                                           partial.target(), started_));
    }

    void answer() {
        const Request request = parser_->release();
        write(endpoints_.answer(request, started_));
    }

    void write(Response res) {
        response_ = std::move(res);
        stream_.expires_after(Millis(options_.idle_timeout_ms));
        http::async_write(
            stream_, response_,
            [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_write(ec); });
    }

    void on_write(beast::error_code ec) noexcept {
        try {
            if (ec) return close_now();
            if (!response_.keep_alive()) return linger_then_close();
            response_ = {};
            read_header();
        } catch (...) {
            close_now();
        }
    }

    // Half-close, then read and drop whatever the peer still sends until it closes too or the
    // linger time is up: closing with unread bytes would send a reset that can destroy the
    // answer before the peer reads it.
    void linger_then_close() {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
        stream_.expires_after(kLingerTime);
        drain();
    }

    void drain() {
        buffer_.clear();
        stream_.async_read_some(buffer_.prepare(16 * 1024),
                                [self = shared_from_this()](beast::error_code ec, std::size_t) {
                                    if (ec) return self->close_now();
                                    try {
                                        self->drain();
                                    } catch (...) {
                                        self->close_now();
                                    }
                                });
    }

    void close_now() noexcept {
        beast::error_code ignored;
        stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream_.close();
    }

    static constexpr std::size_t kFirstReadBytes = 4 * 1024;

    beast::tcp_stream stream_;
    ApiEndpoints& endpoints_;
    ConnectionRegistry& registry_;
    const ApiOptions& options_;
    beast::flat_buffer buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    Response response_;
    Clock::time_point started_ = Clock::now();
    std::uint64_t served_ = 0;  // request headers read on this connection
};

void ConnectionRegistry::close_connection(const std::shared_ptr<ApiConnection>& c) {
    c->close();
}

// "host:port", "[v6]:port" (codec/address rules, port 0 = any); a host name is resolved
// (loopback names need no network).
tcp::endpoint resolve_listen(asio::io_context& ioc, const std::string& listen) {
    std::string why;
    const auto parsed = codec::Address::parse(listen, codec::PortZero::Allowed, &why);
    if (!parsed) throw std::runtime_error("api.listen \"" + listen + "\" is not host:port: " + why);
    const std::string& host = parsed->host;
    const std::uint16_t port = parsed->port;
    const std::string port_text = std::to_string(port);
    beast::error_code addr_ec;
    const auto address = asio::ip::make_address(host, addr_ec);
    if (!addr_ec) return {address, port};
    tcp::resolver resolver(ioc);
    const auto results = resolver.resolve(host, port_text, addr_ec);
    if (addr_ec || results.empty()) {
        throw std::runtime_error("api.listen \"" + listen + "\": cannot resolve " + host);
    }
    return results.begin()->endpoint();
}

}  // namespace

// ---------------------------------------------------------------------------------------------

struct HttpApi::Impl {
    Impl(ApiOptions opts, PushBackend& backend)
        : options(std::move(opts)),
          endpoints(options, backend),
          ioc(static_cast<int>(std::max(1u, options.threads))),
          acceptor(asio::make_strand(ioc)),
          accept_retry(acceptor.get_executor()) {}

    void accept() {
        acceptor.async_accept(asio::make_strand(ioc),
                              [this](beast::error_code ec, tcp::socket socket) noexcept {
                                  on_accept(ec, std::move(socket));
                              });
    }

    void on_accept(beast::error_code ec, tcp::socket socket) noexcept {
        if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
        if (ec) {
            // Out of descriptors and the like: wait a little rather than spin on the error.
            accept_retry.expires_after(kAcceptRetryDelay);
            accept_retry.async_wait([this](beast::error_code wait_ec) {
                if (!wait_ec && acceptor.is_open()) accept();
            });
            return;
        }
        try {
            auto connection =
                std::make_shared<ApiConnection>(std::move(socket), endpoints, registry, options);
            switch (registry.admit(connection, std::max(1u, options.max_connections))) {
                case ConnectionRegistry::Admit::EvictedIdle:
                    endpoints.metrics().count_rejected(ApiMetrics::Rejection::EvictedIdle);
                    connection->start();
                    break;
                case ConnectionRegistry::Admit::Yes:
                    connection->start();
                    break;
                case ConnectionRegistry::Admit::OverLimit:
                    endpoints.metrics().count_rejected(ApiMetrics::Rejection::OverConnections);
                    break;  // the connection's last owner goes here: its socket closes
                case ConnectionRegistry::Admit::Closing:
                    break;
            }
        } catch (...) {
            // Could not even allocate a connection: the socket closes with it.
        }
        accept();
    }

    void run_thread() {
        for (;;) {
            try {
                ioc.run();
                break;
            } catch (...) {
                // Handlers catch their own; this keeps the API alive should one slip through.
            }
        }
        std::lock_guard lock(threads_mutex);
        ++threads_done;
        threads_done_cv.notify_all();
    }

    ApiOptions options;
    ApiEndpoints endpoints;
    ConnectionRegistry registry;
    // Declared after what connections refer to, so that handlers still queued in the io_context
    // are destroyed (by ~io_context) while those are alive.
    asio::io_context ioc;
    tcp::acceptor acceptor;
    asio::steady_timer accept_retry;
    std::vector<std::thread> threads;
    std::mutex threads_mutex;
    std::condition_variable threads_done_cv;
    unsigned threads_done = 0;
    std::uint16_t bound_port = 0;
    bool started = false;
    bool stopped = false;
};

HttpApi::HttpApi(ApiOptions opts, PushBackend& backend)
    : impl_(std::make_unique<Impl>(std::move(opts), backend)) {}

HttpApi::~HttpApi() {
    stop();
}

void HttpApi::add_route(const std::string& method, const std::string& path_or_prefix,
                        RouteHandler h) {
    if (impl_->started) throw std::logic_error("HttpApi::add_route after start()");
    if (method.empty() || path_or_prefix.empty() || path_or_prefix.front() != '/' || !h) {
        throw std::invalid_argument(
            "HttpApi::add_route: needs a method, a path starting with "
            "'/' and a handler");
    }
    impl_->endpoints.add_plugin_route({method, path_or_prefix, std::move(h)});
}

void HttpApi::start() {
    if (impl_->started) throw std::logic_error("HttpApi::start called twice");
    Impl& s = *impl_;
    const tcp::endpoint endpoint = resolve_listen(s.ioc, s.options.listen);
    try {
        s.acceptor.open(endpoint.protocol());
        s.acceptor.set_option(asio::socket_base::reuse_address(true));
        s.acceptor.bind(endpoint);
        s.acceptor.listen(asio::socket_base::max_listen_connections);
    } catch (const boost::system::system_error& e) {
        beast::error_code ignored;
        s.acceptor.close(ignored);
        throw std::runtime_error("api.listen " + s.options.listen + ": " + e.code().message());
    }
    s.bound_port = s.acceptor.local_endpoint().port();
    s.started = true;
    s.accept();
    const unsigned n = std::max(1u, s.options.threads);
    for (unsigned i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.run_thread(); });
}

std::uint16_t HttpApi::port() const {
    return impl_->bound_port;
}

void HttpApi::stop() {
    Impl& s = *impl_;
    if (!s.started || s.stopped) return;
    s.stopped = true;
    asio::post(s.acceptor.get_executor(), [&s] {
        beast::error_code ignored;
        s.acceptor.close(ignored);
        s.accept_retry.cancel();
    });
    for (const auto& connection : s.registry.close_all()) connection->close();
    {
        std::unique_lock lock(s.threads_mutex);
        const bool all_done = s.threads_done_cv.wait_for(
            lock, kStopGrace, [&s] { return s.threads_done == s.threads.size(); });
        if (!all_done) s.ioc.stop();
    }
    for (auto& t : s.threads) t.join();
    s.threads.clear();
}

std::string HttpApi::metrics_text() const {
    return impl_->endpoints.metrics().text();
}

void HttpApi::set_draining(bool d) {
    impl_->endpoints.set_draining(d);
}

}  // namespace lp::push
