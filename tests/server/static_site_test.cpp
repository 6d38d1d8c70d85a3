// static_site_test: the in-memory web pages (server/static_site.hpp) without a socket: what a
// GET, a HEAD and a revalidation get, that no request path can name a file outside the pages
// (they are map keys, never opened), and the bounds load() holds to.
#include "server/static_site.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "server/ws_upgrade.hpp"

namespace {

namespace fs = std::filesystem;
using lp::server::StaticAnswer;
using lp::server::StaticSite;

class Pages {
public:
    Pages() {
        char pattern[] = "/tmp/lp_static_site_XXXXXX";
        root_ = ::mkdtemp(pattern);
        write("demo/index.html", "<html>demo</html>");
        write("demo/app.js", "console.log('demo')");
        write("demo/app.css", "body{}");
        write("console/index.html", "<html>console</html>");
    }
    ~Pages() {
        std::error_code ec;
        fs::remove_all(root_, ec);
    }
    void write(const std::string& rel, const std::string& text) const {
        const fs::path p = fs::path(root_) / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
    }
    const std::string& root() const { return root_; }

private:
    std::string root_;
};

std::string header(const StaticAnswer& a, std::string_view name) {
    for (const auto& [n, v] : a.headers)
        if (n == name) return v;
    return {};
}

std::shared_ptr<const StaticSite> load(const Pages& pages, std::size_t max = 1 << 20) {
    std::string error;
    auto site = StaticSite::load(pages.root(), max, error);
    EXPECT_TRUE(site) << error;
    return site;
}

TEST(StaticSite, ServesAFileWithItsTypeEtagCacheAndSecurityHeaders) {
    Pages pages;
    auto site = load(pages);
    ASSERT_TRUE(site);
    EXPECT_EQ(site->files(), 4u);
    const StaticAnswer a = site->answer("GET", "/demo/app.js", "/demo/", "");
    EXPECT_EQ(a.status, 200u);
    EXPECT_EQ(a.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(a.body(), "console.log('demo')");
    EXPECT_EQ(header(a, "Cache-Control"), "no-cache");
    EXPECT_EQ(header(a, "X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(header(a, "X-Frame-Options"), "DENY");
    EXPECT_NE(header(a, "Content-Security-Policy").find("frame-ancestors 'none'"),
              std::string::npos);
    EXPECT_EQ(header(a, "ETag").size(), 18u);  // "\"" + 16 hex digits + "\""
    EXPECT_EQ(site->answer("GET", "/demo/app.css", "/demo/", "").content_type,
              "text/css; charset=utf-8");
    // A directory is its index.html.
    const StaticAnswer index = site->answer("GET", "/demo/", "/demo/", "");
    EXPECT_EQ(index.status, 200u);
    EXPECT_EQ(index.body(), "<html>demo</html>");
    EXPECT_EQ(index.content_type, "text/html; charset=utf-8");
}

TEST(StaticSite, HeadHasTheLengthButNoBodyOnTheWire) {
    Pages pages;
    auto site = load(pages);
    ASSERT_TRUE(site);
    const StaticAnswer a = site->answer("HEAD", "/demo/app.js", "/demo/", "");
    EXPECT_EQ(a.status, 200u);
    const std::string wire = StaticSite::to_http(a, true);
    EXPECT_NE(wire.find("Content-Length: 19\r\n"), std::string::npos) << wire;
    EXPECT_TRUE(wire.ends_with("\r\n\r\n")) << wire;
    EXPECT_TRUE(StaticSite::to_http(a, false).ends_with("console.log('demo')"));
}

TEST(StaticSite, AMatchingIfNoneMatchIsA304WithoutBody) {
    Pages pages;
    auto site = load(pages);
    ASSERT_TRUE(site);
    const std::string etag = header(site->answer("GET", "/demo/app.js", "/demo/", ""), "ETag");
    for (const std::string inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
        const StaticAnswer a = site->answer("GET", "/demo/app.js", "/demo/", inm);
        EXPECT_EQ(a.status, 304u) << inm;
        const std::string wire = StaticSite::to_http(a, false);
        EXPECT_EQ(wire.find("Content-Length"), std::string::npos) << wire;
        EXPECT_NE(wire.find("ETag: " + etag), std::string::npos);
    }
    EXPECT_EQ(site->answer("GET", "/demo/app.js", "/demo/", "\"stale\"").status, 200u);
}

TEST(StaticSite, NoRequestPathReachesAFileOutsideThePages) {
    Pages pages;
    auto site = load(pages);
    ASSERT_TRUE(site);
    for (const char* path :
         {"/demo/../../etc/passwd", "/demo/%2e%2e/%2e%2e/etc/passwd",
          "/demo/..%2f..%2fetc%2fpasswd", "/demo/../console/index.html", "/demo/./app.js",
          "/demo//app.js", "/demo/app.js%00", "/demo/%2e%2e/console/index.html",
          "/demo/\\..\\..\\etc\\passwd", "/etc/passwd", "/demo/app.js/", "/console/index.html"}) {
        const StaticAnswer a = site->answer("GET", path, "/demo/", "");
        EXPECT_EQ(a.status, 404u) << path;
        EXPECT_NE(a.body().find("\"error\""), std::string::npos) << path;
        EXPECT_EQ(a.content_type, "application/json") << path;
    }
}

TEST(StaticSite, OnlyGetAndHead) {
    Pages pages;
    auto site = load(pages);
    ASSERT_TRUE(site);
    for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "TRACE"}) {
        const StaticAnswer a = site->answer(method, "/demo/", "/demo/", "");
        EXPECT_EQ(a.status, 405u) << method;
        EXPECT_EQ(header(a, "Allow"), "GET, HEAD");
    }
}

TEST(StaticSite, TheMountWithoutItsSlashRedirects) {
    Pages pages;
    auto site = load(pages);
    ASSERT_TRUE(site);
    const StaticAnswer a = site->answer("GET", "/demo", "/demo/", "");
    EXPECT_EQ(a.status, 308u);
    EXPECT_EQ(header(a, "Location"), "/demo/");
}

TEST(StaticSite, UnbuiltPagesAre404sThatSayHowToBuildThem) {
    const StaticSite empty;
    const StaticAnswer a = empty.answer("GET", "/demo/", "/demo/", "");
    EXPECT_EQ(a.status, 404u);
    EXPECT_NE(a.body().find("npm run build"), std::string::npos) << a.body();
}

TEST(StaticSite, LoadRefusesPagesOverTheByteBoundNamingTheKey) {
    Pages pages;
    pages.write("demo/big.js", std::string(4096, 'x'));
    std::string error;
    EXPECT_FALSE(StaticSite::load(pages.root(), 4000, error));
    EXPECT_NE(error.find("server.web_max_bytes"), std::string::npos) << error;
    EXPECT_TRUE(StaticSite::load(pages.root(), 8192, error)) << error;
}

TEST(StaticSite, LoadRefusesAMissingDirectoryAndSkipsSymlinks) {
    std::string error;
    EXPECT_FALSE(StaticSite::load("/nonexistent/lp-web", 1 << 20, error));
    EXPECT_NE(error.find("server.web_root"), std::string::npos) << error;
    Pages pages;
    fs::create_symlink("/etc/hostname", fs::path(pages.root()) / "demo" / "leak.txt");
    auto site = StaticSite::load(pages.root(), 1 << 20, error);
    ASSERT_TRUE(site) << error;
    EXPECT_EQ(site->answer("GET", "/demo/leak.txt", "/demo/", "").status, 404u);
}

TEST(WsUpgrade, AnotherPathCarriesTheRequestForAPlainHttpHandler) {
    const auto v = lp::server::judge_upgrade(
        "HEAD /demo/app.js?x=1 HTTP/1.1\r\nHost: a\r\nIf-None-Match: \"abc\"\r\n\r\n", {});
    EXPECT_EQ(v.status, 404);
    EXPECT_TRUE(v.other_path);
    EXPECT_EQ(v.method, "HEAD");
    EXPECT_EQ(v.target, "/demo/app.js?x=1");
    EXPECT_EQ(v.if_none_match, "\"abc\"");
}

}  // namespace
