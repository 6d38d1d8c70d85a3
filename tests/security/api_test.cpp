// tests/security/api_test: the internal HTTP API attacked from outside, against a real livepushd.
//
// - A caller without the key announces a 4 MiB body and sends a few KB of it: the 401 must come
//   back without the rest being sent (the key is judged on the header, the body never read).
// - 1,100 connections that send nothing or half a header (more than api.max_connections): a real
//   request on a new connection is still served, and the idle ones are closed by the header
//   deadline.
// Every wait has a generous deadline: the tests pin what happens, not how fast.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "node_process.hpp"

namespace {

using namespace std::chrono_literals;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using Clock = std::chrono::steady_clock;

constexpr const char* kApiKey = "security-test-api-key";

// A plain blocking TCP socket to 127.0.0.1:port; -1 if the connect failed.
int connect_raw(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

bool send_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads until `needle` has arrived, the peer closed, or `within` passed. Returns what came.
std::string read_until(int fd, const std::string& needle, std::chrono::milliseconds within) {
    std::string got;
    const auto deadline = Clock::now() + within;
    while (got.find(needle) == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) break;
        got.append(buf, static_cast<std::size_t>(n));
    }
    return got;
}

// True when the server has closed `fd` (EOF or reset) within `within`.
bool closed_by_server(int fd, std::chrono::milliseconds within) {
    const auto deadline = Clock::now() + within;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
    }
}

void raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

double api_metric(std::uint16_t api_port, const std::string& series) {
    HttpClient http(api_port, kApiKey);
    return lp::testing::metric_value(http.get("/metrics").body, series);
}

// The defence: the key is judged on the header. Without it (the old API read the whole body
// first) the 401 never comes while the caller holds the rest of the body back.
TEST(ApiSecurity, WrongKeyWithA4MiBBodyIsAnswered401BeforeTheBodyIsRead) {
    NodeProcess node({"--api-key", kApiKey});
    const int fd = connect_raw(node.api_port());
    ASSERT_GE(fd, 0);
    const std::string head =
        "POST /v1/push/broadcast HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Authorization: Bearer not-the-key\r\nContent-Type: application/json\r\n"
        "Content-Length: 4194304\r\n\r\n";
    ASSERT_TRUE(send_all(fd, head + std::string(4096, ' ')));
    // The rest of the 4 MiB is never sent. 10 s is far beyond any scheduling delay and far
    // below the idle deadline an old server would wait for the body.
    const std::string answer = read_until(fd, "\"code\":401", 10s);
    EXPECT_EQ(answer.rfind("HTTP/1.1 401", 0), 0u) << "got: " << answer.substr(0, 200);
    EXPECT_NE(answer.find("\"error\""), std::string::npos);
    EXPECT_TRUE(closed_by_server(fd, 10s));
    ::close(fd);
    EXPECT_EQ(api_metric(node.api_port(), R"(livepush_api_rejected_total{reason="unauthorized"})"),
              1);
    // The right key with a body over api.max_body_bytes: 413 from the Content-Length alone.
    const int big = connect_raw(node.api_port());
    ASSERT_GE(big, 0);
    ASSERT_TRUE(send_all(big, "POST /v1/push/broadcast HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                              "Authorization: Bearer " + std::string(kApiKey) +
                              "\r\nContent-Length: 4194305\r\n\r\n"));
    const std::string too_large = read_until(big, "\"code\":413", 10s);
    EXPECT_EQ(too_large.rfind("HTTP/1.1 413", 0), 0u) << "got: " << too_large.substr(0, 200);
    ::close(big);
}

// The defence: at api.max_connections the longest-idle connection is closed for a newcomer.
// Without it (the old API refused every connection over the cap) the real request below is
// closed unanswered. The header deadline is long here so that no idle connection goes away by
// itself before the real request comes.
TEST(ApiSecurity, ElevenHundredIdleConnectionsDoNotKeepARealRequestOut) {
    raise_fd_limit();
    NodeProcess node({"--api-key", kApiKey, "--set", "api.header_timeout_ms=120000"});
    std::vector<int> idle;
    for (int i = 0; i < 1100; ++i) {
        const int fd = connect_raw(node.api_port());
        ASSERT_GE(fd, 0) << "connect " << i << ": " << std::strerror(errno);
        // Half of them send half a header, the others nothing at all.
        if (i % 2 == 0) send_all(fd, "POST /v1/push/user HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        idle.push_back(fd);
    }
    HttpClient http(node.api_port(), kApiKey);
    const auto r = http.post("/v1/push/user", R"({"user_id":42,"type":"t","payload":1})");
    EXPECT_EQ(r.status, 200) << r.body;
    EXPECT_GE(lp::testing::metric_value(http.get("/metrics").body,
                                        R"(livepush_api_rejected_total{reason="evicted_idle"})"),
              1100 - 1024);
    for (int fd : idle) ::close(fd);
}

// The defence: api.header_timeout_ms. Without it (the old API's one 60 s idle deadline) the
// connections stay open well past the wait below.
TEST(ApiSecurity, IdleConnectionsAreClosedAtTheHeaderDeadline) {
    raise_fd_limit();
    NodeProcess node({"--api-key", kApiKey, "--set", "api.header_timeout_ms=1000"});
    std::vector<int> idle;
    for (int i = 0; i < 1100; ++i) {
        const int fd = connect_raw(node.api_port());
        ASSERT_GE(fd, 0) << "connect " << i << ": " << std::strerror(errno);
        if (i % 2 == 0) send_all(fd, "GET /v1/rooms/1 HTTP/1.1\r\nHost: 127.0.0.1\r\n");
        idle.push_back(fd);
    }
    int closed = 0;
    for (int fd : idle) closed += closed_by_server(fd, 20s) ? 1 : 0;
    EXPECT_EQ(closed, 1100);
    for (int fd : idle) ::close(fd);
    HttpClient http(node.api_port(), kApiKey);
    EXPECT_GE(lp::testing::metric_value(http.get("/metrics").body,
                                        R"(livepush_api_rejected_total{reason="header_timeout"})"),
              1000);
}

}  // namespace
