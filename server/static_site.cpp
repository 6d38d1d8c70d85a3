// server/static_site: see static_site.hpp.
#include "server/static_site.hpp"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <system_error>

namespace lp::server {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kJson = "application/json";

std::string_view content_type_of(std::string_view name) {
    struct Type {
        std::string_view ext, type;
    };
    static constexpr Type kTypes[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".map", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".txt", "text/plain; charset=utf-8"},
    };
    for (const Type& t : kTypes) {
        if (name.ends_with(t.ext)) return t.type;
    }
    return "application/octet-stream";
}

// FNV-1a 64: a content hash for the ETag (not a security boundary: it only saves a download).
std::string etag_of(std::string_view bytes) {
    std::uint64_t h = 1469598103934665603ULL;
    for (unsigned char c : bytes) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[24];
    std::snprintf(buf, sizeof buf, "\"%016llx\"", static_cast<unsigned long long>(h));
    return buf;
}

// If-None-Match: "*", or a comma list of (possibly weak) tags, one of which is ours.
bool etag_matches(std::string_view header, std::string_view etag) {
    if (header == "*") return true;
    while (!header.empty()) {
        const std::size_t comma = header.find(',');
        std::string_view item = header.substr(0, comma);
        while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
        while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
        if (item.starts_with("W/")) item.remove_prefix(2);
        if (item == etag) return true;
        if (comma == std::string_view::npos) break;
        header.remove_prefix(comma + 1);
    }
    return false;
}

void security_headers(StaticAnswer& a) {
    a.headers.emplace_back("X-Content-Type-Options", "nosniff");
    a.headers.emplace_back("X-Frame-Options", "DENY");
    a.headers.emplace_back("Referrer-Policy", "no-referrer");
    a.headers.emplace_back("Content-Security-Policy", std::string(kPageCsp));
}

StaticAnswer json_error(unsigned status, std::string_view message) {
    StaticAnswer a;
    a.status = status;
    a.content_type = kJson;
    boost::json::object o;
    o["error"] = message;
    o["code"] = status;
    a.own_body = boost::json::serialize(o);
    a.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return a;
}

// A request path echoed in a message: printable ASCII, bounded.
std::string printable(std::string_view s) {
    std::string out(s.substr(0, 200));
    for (char& c : out) {
        if (c < 0x20 || c > 0x7e) c = '?';
    }
    return out;
}

std::string_view reason_of(unsigned status) {
    switch (status) {
        case 200:
            return "OK";
        case 304:
            return "Not Modified";
        case 308:
            return "Permanent Redirect";
        case 400:
            return "Bad Request";
        case 403:
            return "Forbidden";
        case 404:
            return "Not Found";
        case 405:
            return "Method Not Allowed";
        case 429:
            return "Too Many Requests";
        case 503:
            return "Service Unavailable";
        default:
            return status < 400 ? "OK" : "Error";
    }
}

}  // namespace

std::shared_ptr<const StaticSite> StaticSite::load(const std::string& dir, std::size_t max_bytes,
                                                   std::string& error) {
    auto site = std::make_shared<StaticSite>();
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
        error = "server.web_root = " + dir + ": not a directory";
        return nullptr;
    }
    const fs::path root(dir);
    fs::recursive_directory_iterator it(root, fs::directory_options::none, ec), end;
    for (; !ec && it != end; it.increment(ec)) {
        const fs::file_status st = it->symlink_status(ec);
        if (ec || !fs::is_regular_file(st)) continue;
        if (site->assets_.size() >= kWebMaxFiles) {
            error = "server.web_root = " + dir + ": more than " + std::to_string(kWebMaxFiles) +
                    " files; point it at the built pages (sdk/js/web/dist)";
            return nullptr;
        }
        const auto size = fs::file_size(it->path(), ec);
        if (ec) break;
        if (site->bytes_ + size > max_bytes) {
            error = "server.web_root = " + dir + ": its files are over server.web_max_bytes (" +
                    std::to_string(max_bytes) + " bytes); raise it or point web_root at less";
            return nullptr;
        }
        std::ifstream in(it->path(), std::ios::binary);
        std::string body((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
        if (!in.good() && !in.eof()) {
            error = "server.web_root: cannot read " + it->path().string();
            return nullptr;
        }
        if (site->bytes_ + body.size() > max_bytes) {  // grew since file_size
            error = "server.web_root = " + dir + ": its files are over server.web_max_bytes (" +
                    std::to_string(max_bytes) + " bytes)";
            return nullptr;
        }
        std::string key = it->path().lexically_relative(root).generic_string();
        StaticAsset asset;
        asset.content_type = content_type_of(key);
        asset.etag = etag_of(body);
        site->bytes_ += body.size();
        asset.body = std::move(body);
        site->assets_.emplace(std::move(key), std::move(asset));
    }
    if (ec) {
        error = "server.web_root = " + dir + ": " + ec.message();
        return nullptr;
    }
    return site;
}

bool StaticSite::has_mount(std::string_view mount) const {
    if (mount.size() < 2) return false;
    const std::string prefix(mount.substr(1));  // "demo/"
    auto it = assets_.lower_bound(prefix);
    return it != assets_.end() && it->first.starts_with(prefix);
}

StaticAnswer StaticSite::answer(std::string_view method, std::string_view path,
                                std::string_view mount,
                                std::string_view if_none_match) const noexcept {
    try {
        if (path.size() + 1 == mount.size() && mount.starts_with(path)) {
            StaticAnswer a;
            a.status = 308;
            a.content_type = kJson;
            a.headers.emplace_back("Location", std::string(mount));
            return a;
        }
        if (!path.starts_with(mount)) return json_error(404, "no such page: " + printable(path));
        if (!has_mount(mount)) return json_error(404, missing_hint_);
        std::string key(path.substr(1));
        if (key.ends_with('/')) key += "index.html";
        const auto it = assets_.find(key);
        if (it == assets_.end()) return json_error(404, "no such file: " + printable(path));
        if (method != "GET" && method != "HEAD") {
            StaticAnswer a = json_error(405, "only GET and HEAD are served here");
            a.headers.emplace_back("Allow", "GET, HEAD");
            return a;
        }
        const StaticAsset& asset = it->second;
        StaticAnswer a;
        a.content_type = asset.content_type;
        a.headers.emplace_back("ETag", asset.etag);
        // Bundles are not content-hashed: revalidate every time (a 304 costs a header only).
        a.headers.emplace_back("Cache-Control", "no-cache");
        security_headers(a);
        if (!if_none_match.empty() && etag_matches(if_none_match, asset.etag)) {
            a.status = 304;
            return a;
        }
        a.asset_body = &asset.body;
        return a;
    } catch (...) {
        StaticAnswer a;
        a.status = 503;
        a.content_type = kJson;
        return a;
    }
}

std::string StaticSite::to_http(const StaticAnswer& a, bool head) {
    std::string r = "HTTP/1.1 " + std::to_string(a.status) + " ";
    r += reason_of(a.status);
    r += "\r\nServer: livepush\r\nConnection: close\r\n";
    if (!a.content_type.empty() && a.status != 304) {
        r += "Content-Type: ";
        r += a.content_type;
        r += "\r\n";
    }
    for (const auto& [name, value] : a.headers) {
        r += name;
        r += ": ";
        r += value;
        r += "\r\n";
    }
    if (a.status != 304) r += "Content-Length: " + std::to_string(a.body().size()) + "\r\n";
    r += "\r\n";
    if (!head && a.status != 304) r += a.body();
    return r;
}

}  // namespace lp::server
