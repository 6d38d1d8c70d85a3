// app/web_pages: see web_pages.hpp.
#include "app/web_pages.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cctype>
#include <filesystem>
#include <stdexcept>

#include "auth/jwt.hpp"
#include "codec/json_ids.hpp"
#include "codec/wall_clock.hpp"
#include "plugins/host/keyed_workers.hpp"
#include "plugins/host/plugin_host.hpp"
#include "push/request_parse.hpp"
#include "router/moderation.hpp"

#ifndef LIVEPUSH_SOURCE_WEB_DIST
#define LIVEPUSH_SOURCE_WEB_DIST ""
#endif

namespace lp::app {

namespace fs = std::filesystem;
namespace json = boost::json;

namespace {

constexpr std::string_view kDemoMount = "/demo/";
constexpr std::string_view kConsoleMount = "/console/";
constexpr std::int64_t kDevTokenTtlS = 600;
constexpr std::size_t kGiftQueueMax = 64;
constexpr std::uint64_t kMaxJsSafeId = (1ULL << 53) - 1;  // ids the page keeps as numbers

std::string http_json(unsigned status, std::string_view reason, const std::string& body,
                      std::string_view extra = {}) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " ";
    r += reason;
    r += "\r\nServer: livepush\r\nConnection: close\r\nContent-Type: application/json\r\n"
         "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n";
    r += extra;
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    r += body;
    return r;
}

std::string json_error(unsigned status, std::string_view reason, std::string_view message) {
    json::object o;
    o["error"] = message;
    o["code"] = status;
    return http_json(status, reason, json::serialize(o));
}

std::optional<std::uint64_t> id_param(const std::map<std::string, std::string>& q,
                                      const std::string& name) {
    const auto it = q.find(name);
    if (it == q.end()) return std::nullopt;
    const auto v = codec::decimal_u64(it->second);
    if (!v || *v == 0 || *v > kMaxJsSafeId) return std::nullopt;
    return v;
}

bool iequal(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

// The --dev routes answer only their own page: a request that names an Origin must come from
// the node's own origin (scheme://host:port where host:port is the request's Host). A page on
// another site could otherwise make a developer's browser mint tokens or send gifts to the
// loopback node. Empty when allowed, else the refusal.
std::string same_origin_refusal(const server::PlainHttpRequest& req) {
    if (req.origin.empty()) return {};  // not sent by a browser for a cross-site request
    std::string_view rest = req.origin;
    if (rest.starts_with("http://"))
        rest.remove_prefix(7);
    else if (rest.starts_with("https://"))
        rest.remove_prefix(8);
    else
        rest = {};  // "null" (a sandboxed or file: page) or something else: never same-origin
    if (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
    if (!req.host.empty() && iequal(rest, req.host)) return {};
    return json_error(403, "Forbidden",
                      "cross-origin request refused: the --dev demo routes answer only their "
                      "own page (Origin must match Host)");
}

// A cross-site form can POST only form or text bodies without a CORS preflight (which the node
// never answers): requiring application/json keeps such a form out of the gift route.
bool is_json_content_type(std::string_view ct) {
    ct = ct.substr(0, ct.find(';'));
    while (!ct.empty() && ct.back() == ' ') ct.remove_suffix(1);
    return iequal(ct, "application/json");
}

std::string exe_dir() {
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string() : exe.parent_path().string();
}

}  // namespace

std::string web_root_of(const Config& c) {
    if (!c.server.web_root.empty()) return c.server.web_root;
    std::error_code ec;
    if (const std::string dir = exe_dir(); !dir.empty()) {
        const fs::path installed = fs::path(dir) / ".." / "share" / "livepush" / "web";
        if (fs::is_directory(installed, ec)) return installed.lexically_normal().string();
    }
    return LIVEPUSH_SOURCE_WEB_DIST;
}

WebPages::WebPages(const Config& c) : config_(c) {
    if (c.server.demo == 0 && c.api.console == 0) return;
    const std::string root = web_root_of(c);
    std::error_code ec;
    if (c.server.web_root.empty() && (root.empty() || !fs::is_directory(root, ec))) {
        site_ = std::make_shared<server::StaticSite>();  // not built: 404s that say how
    } else {
        std::string error;
        site_ = server::StaticSite::load(root, c.server.web_max_bytes, error);
        if (!site_) throw std::runtime_error(error);
    }
    if (c.server.demo != 0 && c.dev)
        gift_worker_ = std::make_unique<plugins::KeyedWorkers>(1, kGiftQueueMax);
}

WebPages::~WebPages() {
    stop();
}

void WebPages::stop() {
    if (gift_worker_) gift_worker_->stop();
}

void WebPages::attach(plugins::PluginHost* host, router::RoomModeration* moderation) {
    host_ = host;
    moderation_ = moderation;
}

std::shared_ptr<const server::StaticSite> WebPages::console_site() const {
    return config_.api.console != 0 ? site_ : nullptr;
}

server::PlainHttpHandler WebPages::ws_handler() {
    if (config_.server.demo == 0 || !site_) return {};
    return [this](const server::PlainHttpRequest& req) { return answer(req); };
}

std::string WebPages::answer(const server::PlainHttpRequest& req) {
    std::string path;
    std::map<std::string, std::string> query;
    push::split_target(req.target, path, query);
    if (config_.dev && path == "/demo/token") {
        if (req.method != "GET") return json_error(405, "Method Not Allowed", "use GET");
        if (auto refused = same_origin_refusal(req); !refused.empty()) return refused;
        return dev_token(query);
    }
    if (config_.dev && path == "/demo/gift") {
        if (req.method != "POST") return json_error(405, "Method Not Allowed", "use POST");
        if (auto refused = same_origin_refusal(req); !refused.empty()) return refused;
        if (!is_json_content_type(req.content_type))
            return json_error(403, "Forbidden",
                              "Content-Type must be application/json (a cross-site form cannot "
                              "send it)");
        return dev_gift(req.method, query);
    }
    // The raw target's path: nothing is decoded before the lookup (static_site.hpp).
    const std::string_view raw = req.target.substr(0, req.target.find('?'));
    if (!raw.starts_with("/demo")) return {};  // the listener's own 404
    const server::StaticAnswer a = site_->answer(req.method, raw, kDemoMount, req.if_none_match);
    return server::StaticSite::to_http(a, req.method == "HEAD");
}

std::string WebPages::dev_token(const std::map<std::string, std::string>& query) {
    const auto role_it = query.find("role");
    const std::string role = role_it == query.end() ? "viewer" : role_it->second;
    if (role != "viewer" && role != "anchor" && role != "admin")
        return json_error(400, "Bad Request", "role must be viewer, anchor or admin");
    const auto user = id_param(query, "user");
    if (!user) return json_error(400, "Bad Request", "user must be an id in 1..2^53-1");
    const auto room = id_param(query, "room");
    auth::ProfileClaims profile;
    const auto name_it = query.find("name");
    std::string title = role;
    title[0] = static_cast<char>(title[0] - 'a' + 'A');
    profile.name = name_it != query.end() && !name_it->second.empty()
                       ? name_it->second.substr(0, 32)
                       : title + " " + std::to_string(*user);
    profile.level = static_cast<std::int64_t>(*user * 7 % 60 + 1);
    profile.medal_name = role == "viewer" ? "Fans" : "Stars";
    profile.medal_level = static_cast<std::int64_t>(*user % 20 + 1);
    std::int64_t ttl = kDevTokenTtlS;
    if (config_.auth.max_token_ttl_s != 0)
        ttl = std::min<std::int64_t>(ttl, config_.auth.max_token_ttl_s);
    const auto now = static_cast<std::int64_t>(codec::wall_ms() / 1000);
    json::object o;
    o["token"] = auth::mint_hs256(config_.auth.jwt_secret, *user, role, now, now + ttl,
                                  config_.auth.issuer, config_.auth.audience, profile);
    o["user_id"] = std::to_string(*user);
    o["role"] = role;
    o["expires_in_s"] = ttl;
    // The demo's anchor is the room's anchor, so that its moderation panel works (dev only).
    if (role == "anchor" && room && moderation_) {
        router::ModRequest m;
        m.room = *room;
        m.action = router::ModAction::Meta;
        m.anchor = *user;
        m.by.system = true;
        moderation_->act(std::move(m), [](const router::ModVerdict&) {});
        o["anchor_of"] = std::to_string(*room);
    }
    return http_json(200, "OK", json::serialize(o));
}

std::string WebPages::dev_gift(std::string_view method,
                               const std::map<std::string, std::string>& query) {
    if (method != "POST") return json_error(405, "Method Not Allowed", "use POST");
    if (!host_ || !gift_worker_) return json_error(404, "Not Found", "no gift plugin");
    const auto room = id_param(query, "room");
    const auto gift = id_param(query, "gift");
    const auto user = id_param(query, "user");
    if (!room || !gift || !user)
        return json_error(400, "Bad Request", "room, gift and user must be ids in 1..2^53-1");
    std::uint64_t count = 1;
    if (const auto it = query.find("count"); it != query.end()) {
        const auto c = codec::decimal_u64(it->second);
        if (!c || *c == 0 || *c > 9999) return json_error(400, "Bad Request", "count: 1..9999");
        count = *c;
    }
    const auto anchor = id_param(query, "anchor");
    std::string value = "1";
    if (const auto it = query.find("value"); it != query.end()) {
        value = it->second;
        const bool decimal = !value.empty() && value.size() <= 12 &&
                             std::isdigit(static_cast<unsigned char>(value[0])) &&
                             std::count(value.begin(), value.end(), '.') <= 1 &&
                             std::all_of(value.begin(), value.end(), [](char ch) {
                                 return ch == '.' || std::isdigit(static_cast<unsigned char>(ch));
                             });
        if (!decimal) return json_error(400, "Bad Request", "value: a decimal like 0.1 or 100");
    }
    json::object e;
    e["event_id"] = "demo-" + std::to_string(codec::wall_ms()) + "-" +
                    std::to_string(gift_seq_.fetch_add(1, std::memory_order_relaxed));
    e["room_id"] = std::to_string(*room);
    e["anchor_id"] = std::to_string(anchor.value_or(1));
    e["sender_id"] = std::to_string(*user);
    e["gift_id"] = std::to_string(*gift);
    e["channel_id"] = "1";
    e["count"] = count;
    e["value"] = value;  // a decimal string, as the gift plugin takes it
    e["ts_ms"] = codec::wall_ms();
    sdk::HttpRequest req{"POST", "/v1/gift/events", {}, json::serialize(e)};
    const bool queued = gift_worker_->submit(*room, [host = host_, req = std::move(req)] {
        const auto r = host->http("gift", req);
        if (r.code >= 300) spdlog::warn("demo gift refused: {} {}", r.code, r.message);
    });
    if (!queued) return json_error(429, "Too Many Requests", "the demo gift queue is full; retry");
    return http_json(202, "Accepted", R"({"queued":true})");
}

push::HttpReply console_overview(const ConsoleFacts& f, const push::HttpRequest& req) {
    std::size_t top = 10;
    if (const auto it = req.query.find("top"); it != req.query.end()) {
        const auto n = codec::decimal_u64(it->second);
        if (!n || *n == 0 || *n > 100) return {400, R"({"error":"top must be 1..100","code":400})"};
        top = static_cast<std::size_t>(*n);
    }
    json::object o;
    o["node"] = f.node_id;
    o["mode"] = f.mode;
    json::array nodes;
    for (const auto& [id, addr] : f.nodes)
        nodes.push_back(json::object{{"id", id}, {"address", addr}});
    o["nodes"] = std::move(nodes);
    json::object sessions;
    sessions["tcp"] = f.sessions[0][0];
    sessions["tcp+tls"] = f.sessions[0][1];
    sessions["ws"] = f.sessions[1][0];
    sessions["ws+tls"] = f.sessions[1][1];
    o["sessions"] = std::move(sessions);
    o["logged_in"] = f.logged_in;
    o["online_users"] = f.online_users;
    auto rooms = f.rooms;
    const std::size_t n = std::min(top, rooms.size());
    std::partial_sort(rooms.begin(), rooms.begin() + static_cast<std::ptrdiff_t>(n), rooms.end(),
                      [](const auto& a, const auto& b) {
                          return a.second != b.second ? a.second > b.second : a.first < b.first;
                      });
    json::array top_rooms;
    for (std::size_t i = 0; i < n; ++i)
        top_rooms.push_back(json::object{{"room_id", std::to_string(rooms[i].first)},
                                         {"members", rooms[i].second}});
    o["top_rooms"] = std::move(top_rooms);
    o["rooms"] = rooms.size();
    return {200, json::serialize(o)};
}

}  // namespace lp::app
