// web_pages_test: the node's web pages over real sockets (app/web_pages.hpp, docs/console.md):
// the demo at /demo/ on the WebSocket listener and the console at /console/ on the API
// listener, served from memory with their headers, HEAD and 304; no path, raw or encoded,
// reaches a file outside the pages; the --dev token and gift routes exist only with --dev;
// plain HTTP on the WebSocket listener keeps its per-IP budget and is counted; the console's
// data route needs the key; and a node whose pages are over server.web_max_bytes refuses to
// start, naming the key; and in a cluster the overview lists every live node.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "cluster_fixture.hpp"
#include "http_client.hpp"
#include "node_process.hpp"

namespace {

namespace fs = std::filesystem;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::TempDir;

constexpr const char* kKey = "web-pages-test-api-key-0123456789";

// The built pages, as a test makes them: a temporary web_root.
struct WebRoot {
    TempDir dir;
    WebRoot() {
        write("demo/index.html", "<!doctype html><title>demo</title>");
        write("demo/demo.js", "console.log('demo')");
        write("console/index.html", "<!doctype html><title>console</title>");
    }
    void write(const std::string& rel, const std::string& text) const {
        const fs::path p = fs::path(dir.path()) / rel;
        fs::create_directories(p.parent_path());
        std::ofstream(p, std::ios::binary) << text;
    }
};

struct Raw {
    int status = 0;
    std::string head;  // status line and headers
    std::string body;
    std::string header(const std::string& name) const {
        const std::string key = "\r\n" + name + ": ";
        const auto at = head.find(key);
        if (at == std::string::npos) return {};
        const auto start = at + key.size();
        return head.substr(start, head.find("\r\n", start) - start);
    }
};

// One request on a new connection, read until the server closes it (bounded by 10 s).
Raw raw_request(std::uint16_t port, const std::string& request) {
    Raw r;
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{10, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return r;
    }
    (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
    std::string all;
    char buf[4096];
    for (;;) {
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        all.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fd);
    const auto end = all.find("\r\n\r\n");
    if (all.size() < 12 || end == std::string::npos) return r;
    r.status = std::atoi(all.substr(9, 3).c_str());
    r.head = all.substr(0, end);
    r.body = all.substr(end + 4);
    return r;
}

Raw get(std::uint16_t port, const std::string& target, const std::string& method = "GET",
        const std::string& extra = {}) {
    return raw_request(port, method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra +
                                 "Connection: close\r\n\r\n");
}

TEST(WebPages, DemoIsServedFromMemoryWithItsHeadersHeadAnd304) {
    WebRoot root;
    NodeProcess node({"--demo", "true", "--web-root", root.dir.path()});
    const Raw page = get(node.ws_port(), "/demo/");
    ASSERT_EQ(page.status, 200) << page.head << page.body;
    EXPECT_EQ(page.body, "<!doctype html><title>demo</title>");
    EXPECT_EQ(page.header("Content-Type"), "text/html; charset=utf-8");
    EXPECT_EQ(page.header("X-Content-Type-Options"), "nosniff");
    EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
    EXPECT_EQ(page.header("Cache-Control"), "no-cache");
    EXPECT_NE(page.header("Content-Security-Policy").find("connect-src 'self'"), std::string::npos);
    const std::string etag = page.header("ETag");
    ASSERT_FALSE(etag.empty());

    const Raw head = get(node.ws_port(), "/demo/demo.js", "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), "19");
    EXPECT_EQ(head.body, "");

    const Raw again = get(node.ws_port(), "/demo/", "GET", "If-None-Match: " + etag + "\r\n");
    EXPECT_EQ(again.status, 304);
    EXPECT_EQ(again.body, "");

    // The edits a page's files see after start are not served: they were read once.
    root.write("demo/index.html", "changed");
    EXPECT_EQ(get(node.ws_port(), "/demo/").body, "<!doctype html><title>demo</title>");

    EXPECT_EQ(get(node.ws_port(), "/demo/", "POST").status, 405);
    EXPECT_EQ(get(node.ws_port(), "/demo").status, 308);

    HttpClient api(node.api_port());
    const std::string metrics = api.get("/metrics").body;
    EXPECT_GE(lp::testing::metric_value(metrics, "livepush_ws_http_requests_total{answer=\"ok\"}"),
              3);
    EXPECT_EQ(lp::testing::metric_value(metrics,
                                        "livepush_ws_http_requests_total{answer=\"not_modified\"}"),
              1);
}

TEST(WebPages, NoPathRawOrEncodedReachesAFileOutsideThePages) {
    WebRoot root;
    NodeProcess node({"--dev", "--web-root", root.dir.path(), "--api-key", kKey});
    for (const char* path :
         {"/demo/../../etc/passwd", "/demo/%2e%2e/%2e%2e/etc/passwd",
          "/demo/..%2f..%2f..%2fetc%2fpasswd", "/demo/%2E%2E/console/index.html",
          "/demo/....//....//etc/passwd", "/demo/%252e%252e/etc/passwd", "/../etc/passwd"}) {
        const Raw r = get(node.ws_port(), path);
        EXPECT_EQ(r.status, 404) << path << "\n" << r.head;
        EXPECT_EQ(r.body.find("root:"), std::string::npos) << path;
        if (!std::string_view(path).starts_with("/demo/")) continue;
        const Raw c = get(node.api_port(), std::string(path).replace(1, 4, "console"));
        EXPECT_EQ(c.status, 404) << path << "\n" << c.head;
        EXPECT_EQ(c.body.find("root:"), std::string::npos) << path;
    }
}

TEST(WebPages, DevRoutesMintAWorkingTokenAndQueueAGift) {
    WebRoot root;
    NodeProcess node({"--dev", "--web-root", root.dir.path()});
    const Raw token = get(node.ws_port(), "/demo/token?role=anchor&user=7&room=3");
    ASSERT_EQ(token.status, 200) << token.head << token.body;
    EXPECT_EQ(token.header("Cache-Control"), "no-store");
    const auto t = boost::json::parse(token.body).as_object();
    EXPECT_EQ(t.at("user_id").as_string(), "7");
    EXPECT_EQ(t.at("role").as_string(), "anchor");
    EXPECT_EQ(t.at("anchor_of").as_string(), "3");
    EXPECT_GT(t.at("token").as_string().size(), 40u);
    EXPECT_EQ(get(node.ws_port(), "/demo/token?role=root&user=7").status, 400);
    EXPECT_EQ(get(node.ws_port(), "/demo/token?user=0").status, 400);
    EXPECT_EQ(get(node.ws_port(), "/demo/token?role=viewer&user=1", "POST").status, 405);

    // The anchor's token made user 7 the anchor of room 3 (the API sees the meta).
    HttpClient api(node.api_port(), "livepush-dev-api-key");
    bool anchored = false;
    for (int i = 0; i < 100 && !anchored; ++i) {
        anchored =
            api.get("/v1/rooms/3/moderation").body.find("\"anchor_id\":\"7\"") != std::string::npos;
        if (!anchored) ::usleep(50 * 1000);
    }
    EXPECT_TRUE(anchored) << api.get("/v1/rooms/3/moderation").body;

    const std::string json = "Content-Type: application/json\r\n";
    const Raw gift = get(node.ws_port(), "/demo/gift?room=3&gift=2&count=1&user=9", "POST", json);
    EXPECT_EQ(gift.status, 202) << gift.body;
    EXPECT_EQ(gift.body, R"({"queued":true})");
    EXPECT_EQ(get(node.ws_port(), "/demo/gift?room=3&gift=2&user=9").status, 405);
    EXPECT_EQ(get(node.ws_port(), "/demo/gift?room=3&user=9", "POST", json).status, 400);
    EXPECT_EQ(get(node.ws_port(), "/demo/gift?room=3&gift=2&user=9&value=1e9", "POST", json).status,
              400);
}

// A page on another site must not drive a developer's --dev node: a form it posts cannot carry
// application/json (that would need a CORS preflight the node never answers), and a script's
// request names its Origin. The demo's own requests (same origin, JSON) still work.
// Old code: the form-encoded POST and the foreign-Origin requests were answered 202/200.
TEST(WebPages, DevRoutesRefuseCrossSiteRequests) {
    WebRoot root;
    NodeProcess node({"--dev", "--web-root", root.dir.path()});
    const std::string self = "127.0.0.1:" + std::to_string(node.ws_port());
    const auto request = [&](const std::string& method, const std::string& target,
                             const std::string& headers) {
        return raw_request(node.ws_port(), method + " " + target + " HTTP/1.1\r\nHost: " + self +
                                               "\r\n" + headers + "Connection: close\r\n\r\n");
    };
    const std::string gift = "/demo/gift?room=3&gift=2&count=1&user=9";

    // What a cross-site <form method=post> sends: form-encoded, with the attacker's Origin or
    // (a form from a page that withholds it) none.
    const Raw form = request("POST", gift,
                             "Content-Type: application/x-www-form-urlencoded\r\n"
                             "Content-Length: 0\r\n");
    EXPECT_EQ(form.status, 403) << form.body;
    EXPECT_NE(form.body.find("application/json"), std::string::npos) << form.body;
    const Raw form_origin = request("POST", gift,
                                    "Origin: https://evil.example\r\n"
                                    "Content-Type: text/plain\r\nContent-Length: 0\r\n");
    EXPECT_EQ(form_origin.status, 403) << form_origin.body;
    EXPECT_EQ(request("POST", gift, "Content-Length: 0\r\n").status, 403) << "no Content-Type";

    // A foreign Origin is refused even with JSON; so are "null" and another port of this host.
    for (const std::string origin :
         {"https://evil.example", "null", "http://127.0.0.1:1", "http://localhost"}) {
        const Raw r =
            request("POST", gift, "Origin: " + origin + "\r\nContent-Type: application/json\r\n");
        EXPECT_EQ(r.status, 403) << origin << " " << r.body;
        EXPECT_NE(r.body.find("Origin must match Host"), std::string::npos) << r.body;
        const Raw t = request("GET", "/demo/token?role=admin&user=1", "Origin: " + origin + "\r\n");
        EXPECT_EQ(t.status, 403) << origin << " " << t.body;
        EXPECT_EQ(t.body.find("eyJ"), std::string::npos) << "no JWT for " << origin;
    }

    // The demo page's own requests: same origin, JSON.
    const Raw own =
        request("POST", gift,
                "Origin: http://" + self + "\r\nContent-Type: application/json; charset=utf-8\r\n");
    EXPECT_EQ(own.status, 202) << own.body;
    const Raw token =
        request("GET", "/demo/token?role=viewer&user=1", "Origin: http://" + self + "\r\n");
    EXPECT_EQ(token.status, 200) << token.body;
    EXPECT_EQ(get(node.ws_port(), "/demo/token?role=viewer&user=1").status, 200) << "no Origin";
}

TEST(WebPages, DevRoutesDoNotExistWithoutDev) {
    WebRoot root;
    NodeProcess node({"--demo", "true", "--web-root", root.dir.path()});
    EXPECT_EQ(get(node.ws_port(), "/demo/").status, 200);
    const Raw token = get(node.ws_port(), "/demo/token?role=admin&user=1");
    EXPECT_EQ(token.status, 404) << token.body;
    EXPECT_EQ(token.body.find("eyJ"), std::string::npos);  // no JWT
    EXPECT_EQ(get(node.ws_port(), "/demo/gift?room=1&gift=1&user=1", "POST").status, 404);
}

TEST(WebPages, WithoutDemoTheWebSocketListenerServesNoPage) {
    WebRoot root;
    NodeProcess node({"--web-root", root.dir.path()});
    const Raw r = get(node.ws_port(), "/demo/");
    EXPECT_EQ(r.status, 404);
    EXPECT_NE(r.body.find("WebSocket endpoint is /ws"), std::string::npos) << r.body;
}

TEST(WebPages, PlainHttpOnTheWebSocketListenerSharesThePerIpLoginBudget) {
    WebRoot root;
    // No trusted proxy: loopback is an ordinary client address here.
    NodeProcess node({"--dev", "--web-root", root.dir.path(), "--trusted-proxies", "",
                      "--login-rate-per-ip", "1"});
    int limited = 0;
    for (int i = 0; i < 6; ++i) {
        const Raw r = get(node.ws_port(), "/demo/");
        if (r.status == 429) {
            ++limited;
            EXPECT_EQ(r.header("Retry-After"), "1");
            EXPECT_NE(r.body.find("server.login_rate_per_ip"), std::string::npos);
        }
    }
    EXPECT_GE(limited, 3);  // burst of 2, then about one a second
    HttpClient api(node.api_port(), "livepush-dev-api-key");
    EXPECT_GE(lp::testing::metric_value(api.get("/metrics").body,
                                        "livepush_ws_http_requests_total{answer=\"rate_limited\"}"),
              3);
}

TEST(WebPages, ConsolePagesNeedNoKeyButItsDataDoes) {
    WebRoot root;
    NodeProcess node({"--web-root", root.dir.path(), "--api-key", kKey});
    const Raw page = get(node.api_port(), "/console/");
    ASSERT_EQ(page.status, 200) << page.head;
    EXPECT_EQ(page.body, "<!doctype html><title>console</title>");
    EXPECT_EQ(page.header("X-Frame-Options"), "DENY");
    const Raw head = get(node.api_port(), "/console/index.html", "HEAD");
    EXPECT_EQ(head.status, 200);
    EXPECT_EQ(head.header("Content-Length"), std::to_string(page.body.size()));
    EXPECT_EQ(head.body, "");
    EXPECT_EQ(
        get(node.api_port(), "/console/", "GET", "If-None-Match: " + page.header("ETag") + "\r\n")
            .status,
        304);
    EXPECT_EQ(get(node.api_port(), "/console/nope.js").status, 404);
    EXPECT_EQ(get(node.api_port(), "/console/", "POST").status, 401);  // not a page: the key

    HttpClient keyless(node.api_port());
    EXPECT_EQ(keyless.get("/v1/console/overview").status, 401);
    HttpClient api(node.api_port(), kKey);
    const auto overview = api.get("/v1/console/overview");
    ASSERT_EQ(overview.status, 200) << overview.body;
    const auto o = overview.json().as_object();
    EXPECT_EQ(o.at("mode").as_string(), "embedded");
    EXPECT_TRUE(o.at("sessions").as_object().contains("ws"));
    EXPECT_TRUE(o.at("top_rooms").is_array());
    EXPECT_EQ(api.get("/v1/console/overview?top=0").status, 400);
}

TEST(WebPages, ConsoleOffServesNothing) {
    WebRoot root;
    NodeProcess node({"--web-root", root.dir.path(), "--api-console", "false"});
    EXPECT_EQ(get(node.api_port(), "/console/").status, 404);
}

TEST(WebPages, PagesOverTheByteBoundRefuseTheStartNamingTheKey) {
    WebRoot root;
    root.write("demo/big.js", std::string(8192, 'x'));
    const std::string out = root.dir.path() + "/start.log";
    const std::string command = std::string("timeout 20 '") + LIVEPUSHD_PATH +
                                "' --dev --tcp-listen 127.0.0.1:0 --ws-listen 127.0.0.1:0 "
                                "--api-listen 127.0.0.1:0 --web-max-bytes 4096 --web-root '" +
                                root.dir.path() + "' >'" + out + "' 2>&1";
    const int status = std::system(command.c_str());
    ASSERT_TRUE(WIFEXITED(status));
    EXPECT_EQ(WEXITSTATUS(status), 1);
    std::ifstream in(out);
    const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    EXPECT_NE(text.find("server.web_max_bytes"), std::string::npos) << text;
}

class WebPagesCluster : public lp::testing::ClusterFixture {};

TEST_F(WebPagesCluster, TheOverviewListsEveryLiveNode) {
    start_nodes();
    const auto o = api_[1]->get("/v1/console/overview").json().as_object();
    EXPECT_EQ(o.at("mode").as_string(), "cluster");
    EXPECT_EQ(o.at("node").as_string(), "n2");
    std::vector<std::string> ids;
    for (const auto& n : o.at("nodes").as_array())
        ids.emplace_back(n.as_object().at("id").as_string());
    std::sort(ids.begin(), ids.end());
    EXPECT_EQ(ids, (std::vector<std::string>{"n1", "n2", "n3"}));
}

}  // namespace
