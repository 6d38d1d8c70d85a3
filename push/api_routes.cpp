// push/api_routes: see api_routes.hpp. Everything about a request except the socket it came on.
#include "push/api_routes.hpp"

#include <algorithm>
#include <boost/beast/http/status.hpp>
#include <boost/json.hpp>
#include <exception>
#include <stdexcept>

#include "push/api_reply.hpp"
#include "push/request_parse.hpp"

namespace lp::push {
namespace {

namespace json = boost::json;

constexpr std::string_view kUnmatchedRoute = "unmatched";

enum class RouteKind {
    PushUser,
    PushUsers,
    PushRoom,
    PushBroadcast,
    UserView,
    UserKick,
    RoomView,
    RoomState,     // GET /v1/rooms/{id}/state (api_room_state.cpp)
    RoomStateKey,  // PUT, DELETE /v1/rooms/{id}/state/{key}
    Metrics,
    Healthz,
    Readyz,
    Console,  // /console/...: the console's static pages (no key)
    Plugin,
    Unmatched,
};

struct FixedRoute {
    std::string_view path;
    RouteKind kind;
    std::string_view method;
};

constexpr FixedRoute kFixedRoutes[] = {
    {"/v1/push/user", RouteKind::PushUser, "POST"},
    {"/v1/push/users", RouteKind::PushUsers, "POST"},
    {"/v1/push/room", RouteKind::PushRoom, "POST"},
    {"/v1/push/broadcast", RouteKind::PushBroadcast, "POST"},
    {"/metrics", RouteKind::Metrics, "GET"},
    {"/healthz", RouteKind::Healthz, "GET"},
    {"/readyz", RouteKind::Readyz, "GET"},
};

constexpr std::string_view kUsersPrefix = "/v1/users/";
constexpr std::string_view kRoomsPrefix = "/v1/rooms/";
constexpr std::string_view kUserViewRoute = "/v1/users/{id}";
constexpr std::string_view kUserKickRoute = "/v1/users/{id}/kick";
constexpr std::string_view kRoomViewRoute = "/v1/rooms/{id}";
constexpr std::string_view kConsoleMount = "/console/";

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

std::string to_decimal(std::uint64_t v) {
    return std::to_string(v);
}

// A caller's bytes echoed in a message: printable ASCII only (the answer stays valid UTF-8 JSON
// whatever was sent), and not too many of them.
std::string printable(std::string_view s) {
    std::string out(s.substr(0, 200));
    for (char& c : out) {
        if (c < 0x20 || c > 0x7e) c = '?';
    }
    return out;
}

std::string bad_path_id(std::string_view what) {
    return std::string(what) + " id in the path must be a non-zero unsigned 64-bit decimal integer";
}

ApiResponse error(unsigned status, std::string_view message) {
    return api_error(status, message, static_cast<int>(status));
}

ApiResponse unauthorized() {
    ApiResponse res = error(401, "missing or bad API key");
    res.headers.emplace_back("WWW-Authenticate", "Bearer");
    return res;
}

}  // namespace

struct ApiRoutes::Match {
    RouteKind kind = RouteKind::Unmatched;
    std::string_view label = kUnmatchedRoute;  // the pattern: bounded metric cardinality
    bool method_allowed = false;
    std::string allow;                     // the methods the path takes, for a 405
    std::optional<std::uint64_t> path_id;  // UserView, UserKick, RoomView; empty when malformed
    std::string path_key;                  // RoomStateKey: the {key}
    const PluginRoute* plugin = nullptr;
};

namespace {

constexpr std::string_view kRoomStateRoute = "/v1/rooms/{id}/state";
constexpr std::string_view kRoomStateKeyRoute = "/v1/rooms/{id}/state/{key}";

// `rest` is what follows /v1/rooms/{id}: "/state" or "/state/{key}" (any key text: the
// service judges it, so a bad key is a 400 with its code, not a 404).
bool match_room_state_route(std::string_view rest, RouteKind& kind, std::string_view& label,
                            std::string& allow, std::string& key) {
    constexpr std::string_view kState = "/state";
    if (!rest.starts_with(kState)) return false;
    rest.remove_prefix(kState.size());
    if (rest.empty()) {
        kind = RouteKind::RoomState;
        label = kRoomStateRoute;
        allow = "GET";
        return true;
    }
    if (rest.front() != '/' || rest.size() == 1) return false;
    kind = RouteKind::RoomStateKey;
    label = kRoomStateKeyRoute;
    allow = "PUT, DELETE";
    key = std::string(rest.substr(1));
    return true;
}

// `allow` as the Allow header lists it ("PUT, DELETE").
bool allows(std::string_view allow, std::string_view method) {
    while (!allow.empty()) {
        const std::size_t comma = allow.find(", ");
        if (allow.substr(0, comma) == method) return true;
        if (comma == std::string_view::npos) break;
        allow.remove_prefix(comma + 2);
    }
    return false;
}

// /v1/users/{id}, /v1/users/{id}/kick, /v1/rooms/{id}; `path_id` is empty when the id is
// malformed (a 400, not a 404).
bool match_id_route(std::string_view path, RouteKind& kind, std::string_view& label,
                    std::string& allow, std::optional<std::uint64_t>& path_id,
                    std::string& path_key) {
    std::string_view id_text;
    if (path.starts_with(kUsersPrefix)) {
        const std::string_view rest = path.substr(kUsersPrefix.size());
        const std::size_t slash = rest.find('/');
        if (slash == std::string_view::npos) {
            kind = RouteKind::UserView;
            label = kUserViewRoute;
            allow = "GET";
        } else if (rest.substr(slash) == "/kick") {
            kind = RouteKind::UserKick;
            label = kUserKickRoute;
            allow = "POST";
        } else {
            return false;
        }
        id_text = rest.substr(0, slash);
    } else if (path.starts_with(kRoomsPrefix)) {
        id_text = path.substr(kRoomsPrefix.size());
        if (const std::size_t slash = id_text.find('/'); slash != std::string_view::npos) {
            if (!match_room_state_route(id_text.substr(slash), kind, label, allow, path_key))
                return false;
            id_text = id_text.substr(0, slash);
        } else {
            kind = RouteKind::RoomView;
            label = kRoomViewRoute;
            allow = "GET";
        }
    } else {
        return false;
    }
    if (id_text.empty()) return false;  // "/v1/users/": a collection we do not serve
    path_id = parse_path_id(id_text);
    return true;
}

}  // namespace

ApiRoutes::ApiRoutes(RouteOptions options, PushBackend& backend, ApiMetrics& metrics)
    : options_(std::move(options)),
      backend_(backend),
      metrics_(metrics),
      rate_(options_.max_requests_per_s) {}

void ApiRoutes::add_route(const std::string& method, const std::string& path_or_prefix,
                          RouteHandler h) {
    if (method.empty() || path_or_prefix.empty() || path_or_prefix.front() != '/' || !h) {
        throw std::invalid_argument(
            "HttpApi::add_route: needs a method, a path starting with "
            "'/' and a handler");
    }
    plugin_routes_.push_back({method, path_or_prefix, std::move(h)});
}

bool ApiRoutes::PluginRoute::covers(std::string_view path) const {
    constexpr std::string_view kAny = "{id}";
    std::size_t i = 0, j = 0;
    while (i < pattern.size()) {
        if (std::string_view(pattern).substr(i, kAny.size()) == kAny) {
            const std::size_t end = std::min(path.find('/', j), path.size());
            if (end == j) return false;
            i += kAny.size();
            j = end;
        } else if (j < path.size() && pattern[i] == path[j]) {
            ++i;
            ++j;
        } else {
            return false;
        }
    }
    return is_prefix() || j == path.size();
}

ApiResponse ApiRoutes::answer(const ApiRequest& req) {
    std::string path;
    std::map<std::string, std::string> query;
    Match route;
    ApiResponse res;
    try {
        split_target(req.target, path, query);
        route = match(req.method, path);
        res = dispatch(req, path, query, route);
    } catch (const std::exception& e) {
        res = error(500, std::string("internal error: ") + e.what());
    } catch (...) {
        res = error(500, "internal error");
    }
    res.route = route.label;
    return res;
}

std::optional<ApiResponse> ApiRoutes::answer_header(const ApiRequest& head,
                                                    std::optional<std::uint64_t> declared_length,
                                                    bool body_pending) {
    std::string path;
    std::map<std::string, std::string> query;
    Match route;
    std::optional<ApiResponse> res;
    try {
        split_target(head.target, path, query);
        route = match(head.method, path);
        // /healthz needs no key, but then takes no body either: a keyless caller must not be
        // able to hold a connection busy by trickling one.
        const bool public_route =
            (route.kind == RouteKind::Healthz || route.kind == RouteKind::Console) &&
            route.method_allowed && !body_pending;
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
    if (res) res->route = route.label;
    return res;
}

ApiResponse ApiRoutes::answer_unreadable(unsigned status, std::string_view message,
                                         std::string_view method, std::string_view target) {
    std::string_view label = kUnmatchedRoute;
    try {
        std::string path;
        std::map<std::string, std::string> query;
        split_target(target, path, query);
        label = match(method, path).label;
    } catch (...) {
        // The label is only for metrics; the answer matters more.
    }
    ApiResponse res = error(status, message);
    res.route = label;
    return res;
}

ApiResponse ApiRoutes::dispatch(const ApiRequest& req, const std::string& path,
                                const std::map<std::string, std::string>& query,
                                const Match& route) {
    const bool public_route =
        (route.kind == RouteKind::Healthz || route.kind == RouteKind::Console) &&
        route.method_allowed;
    if (!public_route && !authorized(req)) return unauthorized();
    if (route.kind == RouteKind::Unmatched) {
        return error(404, "no such route: " + printable(req.method) + ' ' + printable(path));
    }
    if (!route.method_allowed) {
        ApiResponse res = error(405, printable(req.method) + " is not allowed on " +
                                         std::string(route.label) + "; use " + route.allow);
        res.headers.emplace_back("Allow", route.allow);
        return res;
    }
    if (is_rate_limited(route.kind) && !rate_.try_take()) {
        metrics_.count_rejected(ApiMetrics::Rejection::Rate);
        ApiResponse res =
            error(429, "over api.max_requests_per_s (" + std::to_string(rate_.per_second()) +
                           " requests a second); retry later");
        res.headers.emplace_back("Retry-After", "1");
        return res;
    }
    if (!req.body.empty() && req.content_type && !is_json_media_type(*req.content_type)) {
        return error(415, "Content-Type must be application/json (curl: --json)");
    }
    switch (route.kind) {
        case RouteKind::PushUser:
        case RouteKind::PushUsers:
        case RouteKind::PushRoom:
        case RouteKind::PushBroadcast:
            return push(target_of(route.kind), req.body);
        case RouteKind::UserView:
            return user_view(route.path_id);
        case RouteKind::UserKick:
            return kick(route.path_id, req.body);
        case RouteKind::RoomView:
            return room_view(route.path_id);
        case RouteKind::RoomState:
            return room_state_get(route.path_id);
        case RouteKind::RoomStateKey:
            return room_state_write(req.method, route.path_id, route.path_key, req.body);
        case RouteKind::Metrics:
            return metrics_page();
        case RouteKind::Healthz:
            return json_reply(200, R"({"status":"ok"})");
        case RouteKind::Readyz:
            return readiness();
        case RouteKind::Console:
            return console_page(req, path);
        case RouteKind::Plugin:
            return plugin(*route.plugin, req, path, query);
        case RouteKind::Unmatched:
            break;
    }
    return error(404, "no such route");
}

ApiRoutes::Match ApiRoutes::match(std::string_view method, std::string_view path) const {
    Match m;
    for (const FixedRoute& r : kFixedRoutes) {
        if (path == r.path) {
            m.kind = r.kind;
            m.label = r.path;
            m.method_allowed = method == r.method;
            m.allow = std::string(r.method);
            return m;
        }
    }
    if (console_ && (path == kConsoleMount.substr(0, kConsoleMount.size() - 1) ||
                     path.starts_with(kConsoleMount))) {
        m.kind = RouteKind::Console;
        m.label = kConsoleMount;
        m.method_allowed = method == "GET" || method == "HEAD";
        m.allow = "GET, HEAD";
        return m;
    }
    if (match_id_route(path, m.kind, m.label, m.allow, m.path_id, m.path_key)) {
        m.method_allowed = allows(m.allow, method);
        return m;
    }
    m = Match{};
    match_plugin_route(method, path, m);
    return m;
}

// Exact patterns win over prefixes; among prefixes the longest wins.
void ApiRoutes::match_plugin_route(std::string_view method, std::string_view path, Match& m) const {
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

bool ApiRoutes::authorized(const ApiRequest& req) const {
    if (options_.key.empty()) return true;
    return req.authorization && bearer_key_matches(*req.authorization, options_.key);
}

ApiResponse ApiRoutes::push(Target target, std::string_view body) {
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
        return error(500, "push service returned HTTP status " + std::to_string(outcome.status));
    }
    if (outcome.status >= 300) {
        namespace http = boost::beast::http;
        const std::string message =
            outcome.error.empty()
                ? std::string(http::obsolete_reason(static_cast<http::status>(outcome.status)))
                : outcome.error;
        return api_error(static_cast<unsigned>(outcome.status), message,
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

ApiResponse ApiRoutes::user_view(std::optional<std::uint64_t> id) {
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

ApiResponse ApiRoutes::room_view(std::optional<std::uint64_t> id) {
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

ApiResponse ApiRoutes::kick(std::optional<std::uint64_t> id, std::string_view body) {
    if (!id) return error(400, bad_path_id("user"));
    std::string reason;
    std::string why;
    if (!parse_kick_body(body, reason, why)) return error(400, why);
    const std::uint64_t kicked = backend_.kick(*id, reason);
    return json_reply(200, R"({"kicked":)" + to_decimal(kicked) + '}');
}

ApiResponse ApiRoutes::metrics_page() {
    std::string text = backend_.metrics_text();
    if (!text.empty() && text.back() != '\n') text += '\n';
    text += metrics_.text();
    ApiResponse res = json_reply(200, std::move(text));
    res.content_type = kMetricsType;
    return res;
}

// Looked up by the raw target's path, never the decoded one (server/static_site.hpp): an
// encoded "../" is just a name that is not in the map.
ApiResponse ApiRoutes::console_page(const ApiRequest& req, std::string_view) {
    const std::string_view raw = req.target.substr(0, req.target.find('?'));
    const server::StaticAnswer a =
        console_->answer(req.method, raw, kConsoleMount, req.if_none_match.value_or(""));
    ApiResponse res;
    res.status = a.status;
    res.content_type = a.content_type.empty() ? kJsonType : a.content_type;
    res.headers = a.headers;
    if (a.status != 304) {
        if (req.method == "HEAD")
            res.head_length = a.body().size();
        else
            res.body = std::string(a.body());
    }
    return res;
}

ApiResponse ApiRoutes::readiness() {
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

ApiResponse ApiRoutes::plugin(const PluginRoute& route, const ApiRequest& req,
                              const std::string& path,
                              const std::map<std::string, std::string>& query) {
    HttpRequest in;
    in.method = std::string(req.method);
    in.path = path;
    in.query = query;
    in.body = std::string(req.body);
    HttpReply out = route.handler(in);
    if (out.status < 100 || out.status > 599) {
        return error(500, "route " + route.pattern + " answered with HTTP status " +
                              std::to_string(out.status));
    }
    return json_reply(static_cast<unsigned>(out.status), std::move(out.body));
}

}  // namespace lp::push
