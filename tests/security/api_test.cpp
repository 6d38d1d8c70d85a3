// tests/security/api_test: the internal HTTP API attacked from outside, against a real livepushd.
//
// - A caller without the key announces a 4 MiB body and sends a few KB of it: the 401 must come
//   back without the rest being sent (the key is judged on the header, the body never read).
// - 1,100 connections that send nothing or half a header (more than api.max_connections): a real
//   request on a new connection is still served, and the idle ones are closed by the header
//   deadline.
// Every wait has a generous deadline: the tests pin what happens, not how fast.
#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "http_client.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"

namespace {

using namespace std::chrono_literals;
using lp::testing::closed_by_server;
using lp::testing::connect_raw;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::raise_fd_limit;
using lp::testing::read_until;
using lp::testing::send_all;

constexpr const char* kApiKey = "security-test-api-key";

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
    ASSERT_TRUE(send_all(big,
                         "POST /v1/push/broadcast HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         "Authorization: Bearer " +
                             std::string(kApiKey) + "\r\nContent-Length: 4194305\r\n\r\n"));
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

// --dev publishes its secret and API key: asked to listen beyond loopback, it refuses (exit 2)
// instead of starting.
TEST(ApiSecurity, DevModeRefusesAnExplicitNonLoopbackListener) {
    for (const char* flag : {"--tcp-listen", "--api-listen"}) {
        try {
            NodeProcess node({"--dev", flag, "0.0.0.0:0"});
            ADD_FAILURE() << "--dev started with " << flag << " 0.0.0.0:0";
        } catch (const std::runtime_error& e) {
            EXPECT_NE(std::string(e.what()).find("not a loopback address"), std::string::npos)
                << e.what();
        }
    }
}

}  // namespace
