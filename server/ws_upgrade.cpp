// server/ws_upgrade: see ws_upgrade.hpp.
#include "server/ws_upgrade.hpp"

#include <boost/beast/core/error.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/parser.hpp>

#include "codec/websocket.hpp"

namespace lp::server {

namespace http = boost::beast::http;

namespace {

std::string http_error(int status, std::string_view reason, std::string_view extra_headers,
                       std::string_view body) {
    std::string r = "HTTP/1.1 " + std::to_string(status) + " ";
    r += reason;
    r += "\r\nContent-Type: application/json\r\nConnection: close\r\n";
    r += extra_headers;
    r += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
    r += body;
    return r;
}

UpgradeVerdict refuse(int status, std::string_view reason, std::string_view extra_headers,
                      std::string_view body) {
    UpgradeVerdict v;
    v.outcome = UpgradeVerdict::Outcome::Refuse;
    v.status = status;
    v.response = http_error(status, reason, extra_headers, body);
    return v;
}

std::string_view without_trailing_slash(std::string_view s) noexcept {
    while (!s.empty() && s.back() == '/') s.remove_suffix(1);
    return s;
}

}  // namespace

bool origin_allowed(std::string_view origin, const std::vector<std::string>& allowed) noexcept {
    if (allowed.empty()) return true;
    origin = without_trailing_slash(origin);
    for (const std::string& a : allowed) {
        if (boost::beast::iequals(origin, without_trailing_slash(a))) return true;
    }
    return false;
}

UpgradeVerdict judge_upgrade(std::string_view buffered, const UpgradePolicy& policy) {
    const std::size_t end = buffered.find("\r\n\r\n");
    if (end == std::string_view::npos || end + 4 > kMaxUpgradeRequest) {
        if (buffered.size() > kMaxUpgradeRequest || end != std::string_view::npos) {
            return refuse(431, "Request Header Fields Too Large", {},
                          R"({"error":"upgrade request too large"})");
        }
        return {};
    }
    const std::size_t head_len = end + 4;
    http::request_parser<http::empty_body> parser;
    parser.eager(true);
    parser.header_limit(static_cast<std::uint32_t>(kMaxUpgradeRequest));
    boost::beast::error_code ec;
    parser.put(boost::asio::buffer(buffered.data(), head_len), ec);
    if (ec || !parser.is_header_done()) {
        return refuse(400, "Bad Request", {}, R"({"error":"malformed HTTP request"})");
    }
    const auto& req = parser.get();
    const std::string_view target(req.target().data(), req.target().size());
    const std::string_view path = target.substr(0, target.find('?'));
    if (path != policy.path) {
        UpgradeVerdict v = refuse(404, "Not Found", {}, R"({"error":"WebSocket endpoint is /ws"})");
        v.other_path = true;
        v.method.assign(req.method_string().data(), req.method_string().size());
        v.target = target;
        const auto inm = req.find(http::field::if_none_match);
        if (inm != req.end()) v.if_none_match.assign(inm->value().data(), inm->value().size());
        const auto header = [&](http::field f, std::string& out) {
            const auto it = req.find(f);
            if (it != req.end()) out.assign(it->value().data(), it->value().size());
        };
        header(http::field::origin, v.origin);
        header(http::field::host, v.host);
        header(http::field::content_type, v.content_type);
        return v;
    }
    const auto key = req[http::field::sec_websocket_key];
    const auto upgrade = req[http::field::upgrade];
    const bool is_upgrade = req.method() == http::verb::get && req.version() >= 11 &&
                            boost::beast::iequals(upgrade, "websocket") && !key.empty();
    if (!is_upgrade) {
        return refuse(426, "Upgrade Required",
                      "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n",
                      R"({"error":"a WebSocket upgrade is required"})");
    }
    if (req[http::field::sec_websocket_version] != "13") {
        return refuse(426, "Upgrade Required", "Sec-WebSocket-Version: 13\r\n",
                      R"({"error":"only WebSocket version 13 is supported"})");
    }
    if (policy.allowed_origins != nullptr) {
        const auto origin = req.find(http::field::origin);
        if (origin != req.end() && !origin_allowed({origin->value().data(), origin->value().size()},
                                                   *policy.allowed_origins)) {
            UpgradeVerdict v =
                refuse(403, "Forbidden", {},
                       R"j({"error":"Origin not allowed (server.ws_allowed_origins)"})j");
            v.origin_refused = true;
            return v;
        }
    }
    UpgradeVerdict v;
    v.outcome = UpgradeVerdict::Outcome::Accept;
    v.status = 101;
    v.request_bytes = head_len;
    v.response =
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Accept: " +
        codec::ws::accept_key(std::string_view(key.data(), key.size())) + "\r\n\r\n";
    return v;
}

}  // namespace lp::server
