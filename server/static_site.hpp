// server/static_site: static web pages (the live-room demo, the operator console) served from
// memory.
//
// What it owns: an immutable map from a relative path ("demo/index.html") to the file's bytes,
// content type and ETag, read once at start-up from one directory (server.web_root), bounded
// in total size and in files; and the HTTP answer to a GET or HEAD of a path under a mount
// ("/demo/"): 200 with Content-Type, ETag, Cache-Control and security headers, 304 on a
// matching If-None-Match, 404 (JSON, saying how to build the pages when there are none), 405.
//
// Why from memory: serving is then a map lookup on the exact path the request named. No path
// from a request is ever decoded, joined to a directory or opened, so "../", "%2e%2e", NUL
// bytes or symlinks in a request cannot reach a file outside the pages: they are simply not
// keys. The map never changes after load(), so any thread may answer from it at once.
//
// What it must never do: throw from answer(), open a file after load(), or follow a symlink.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace lp::server {

struct StaticAsset {
    std::string body;
    std::string_view content_type;  // one of static_site.cpp's constants
    std::string etag;               // "\"<16 hex digits>\"": a hash of the bytes
};

// Bounds on what load() reads (server.web_max_bytes; the file count is fixed).
inline constexpr std::size_t kDefaultWebMaxBytes = 8 * 1024 * 1024;
inline constexpr std::size_t kWebMaxFiles = 1000;

// The Content-Security-Policy of every page: scripts, styles and connections to this origin
// only (its WebSocket endpoint included), no frames, no plugins, no inline script.
inline constexpr std::string_view kPageCsp =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'";

// One HTTP answer, apart from the connection's framing (HTTP version, keep-alive).
struct StaticAnswer {
    unsigned status = 200;
    std::string_view content_type;
    std::vector<std::pair<std::string_view, std::string>> headers;
    // The body: an asset's bytes (owned by the site) or an error's JSON (owned here). A HEAD's
    // Content-Length is the GET's, with no body sent.
    const std::string* asset_body = nullptr;
    std::string own_body;
    std::string_view body() const noexcept { return asset_body ? *asset_body : own_body; }
};

class StaticSite {
public:
    StaticSite() = default;  // empty: every path is a 404 that says how to build the pages

    // Reads every regular file under `dir` (recursively; symlinks skipped), keyed by its path
    // relative to `dir` with '/' separators. Returns empty and sets `error` (naming the key and
    // the limit) when `dir` is not a readable directory, holds more than kWebMaxFiles files or
    // more than `max_bytes` bytes.
    static std::shared_ptr<const StaticSite> load(const std::string& dir, std::size_t max_bytes,
                                                  std::string& error);

    // `missing_hint` is the 404 message when the site has no file under the mount at all
    // (the pages were never built).
    void set_missing_hint(std::string hint) { missing_hint_ = std::move(hint); }

    // Answers `method` on `path` (the request target without its query string) for the mount
    // `mount` ("/demo/" serves keys "demo/..."); `if_none_match` is that header's value, or
    // empty. The mount without its slash ("/demo") is a 308 to the mount. Never throws.
    StaticAnswer answer(std::string_view method, std::string_view path, std::string_view mount,
                        std::string_view if_none_match) const noexcept;

    // The whole HTTP/1.1 response (Connection: close), a HEAD's without its body.
    static std::string to_http(const StaticAnswer& a, bool head);

    std::size_t files() const noexcept { return assets_.size(); }
    std::size_t bytes() const noexcept { return bytes_; }
    bool has_mount(std::string_view mount) const;

private:
    std::map<std::string, StaticAsset, std::less<>> assets_;
    std::size_t bytes_ = 0;
    std::string missing_hint_ =
        "the web pages are not built: cd sdk/js/web && npm ci && npm run build";
};

}  // namespace lp::server
