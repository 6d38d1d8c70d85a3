// tests/security/ws_test: the WebSocket listener attacked from outside, against a real livepushd.
//
// - Each protocol violation is closed with the status RFC 6455 gives it, so a client (and its
//   logs) can tell what it did wrong: 1009 a message over server.ws_max_message, 1007 a text
//   message that is not UTF-8, 1002 a frame without the mask bit a client must set.
// - With server.ws_allowed_origins set, a browser upgrade from another Origin gets 403 and no
//   session; a request without Origin (not a browser) is let in.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "codec/websocket.hpp"
#include "http_client.hpp"
#include "node_process.hpp"
#include "raw_socket.hpp"

namespace {

using namespace std::chrono_literals;
using lp::testing::connect_raw;
using lp::testing::NodeProcess;
using lp::testing::read_some;
using lp::testing::read_until;
using lp::testing::send_all;
namespace ws = lp::codec::ws;

constexpr std::uint8_t kKey[4] = {0x12, 0x34, 0x56, 0x78};

std::string upgrade_request(const std::string& origin = {}) {
    std::string r =
        "GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n";
    if (!origin.empty()) r += "Origin: " + origin + "\r\n";
    return r + "\r\n";
}

// Opens a WebSocket session; -1 when the upgrade was not answered 101.
int open_session(std::uint16_t port) {
    const int fd = connect_raw(port);
    if (fd < 0) return -1;
    send_all(fd, upgrade_request());
    const std::string answer = read_until(fd, "\r\n\r\n", 10s);
    if (answer.rfind("HTTP/1.1 101", 0) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

// Sends `bytes` on a fresh session and returns the status of the Close frame the server
// answers with (nothing if none came within the deadline).
std::optional<std::uint16_t> close_status_after(std::uint16_t port, const std::string& bytes) {
    const int fd = open_session(port);
    if (fd < 0) {
        ADD_FAILURE() << "WebSocket upgrade failed";
        return std::nullopt;
    }
    send_all(fd, bytes);
    ws::FrameDecoder decoder(ws::FrameDecoder::Role::Client, 1 << 20);
    std::optional<std::uint16_t> status;
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (!status && std::chrono::steady_clock::now() < deadline) {
        std::string chunk;
        const bool open = read_some(fd, chunk, 500ms);
        decoder.feed(
            reinterpret_cast<std::uint8_t*>(chunk.data()), chunk.size(), [&](const ws::Message& m) {
                if (m.opcode == ws::Opcode::Close && m.payload.size() >= 2) {
                    status =
                        static_cast<std::uint16_t>((static_cast<std::uint8_t>(m.payload[0]) << 8) |
                                                   static_cast<std::uint8_t>(m.payload[1]));
                }
                return true;
            });
        if (!open) break;
    }
    ::close(fd);
    return status;
}

TEST(WebSocketSecurity, AMessageOverTheLimitIsClosedWith1009) {
    NodeProcess node({"--ws-max-message", "1000"});
    const auto status = close_status_after(
        node.ws_port(), ws::encode_masked_frame(ws::Opcode::Binary, std::string(2000, 'x'), kKey));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1009);
}

TEST(WebSocketSecurity, TextThatIsNotUtf8IsClosedWith1007) {
    NodeProcess node;
    const auto status = close_status_after(
        node.ws_port(),
        ws::encode_masked_frame(ws::Opcode::Text, "{\"code\":1004} \xFF\xFE", kKey));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1007);
}

TEST(WebSocketSecurity, AnUnmaskedClientFrameIsClosedWith1002) {
    NodeProcess node;
    const auto status =
        close_status_after(node.ws_port(), ws::encode_frame(ws::Opcode::Binary, "unmasked"));
    ASSERT_TRUE(status.has_value());
    EXPECT_EQ(*status, 1002);
}

TEST(WebSocketSecurity, ABrowserUpgradeFromAnOriginNotListedGets403) {
    NodeProcess node(
        {"--set", "server.ws_allowed_origins=https://app.example.com, https://admin.example.com"});
    auto answer_to = [&](const std::string& origin) {
        const int fd = connect_raw(node.ws_port());
        EXPECT_GE(fd, 0);
        send_all(fd, upgrade_request(origin));
        std::string answer = read_until(fd, "\r\n\r\n", 10s);
        ::close(fd);
        return answer.substr(0, answer.find("\r\n"));
    };
    EXPECT_EQ(answer_to("https://evil.example.net"), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(answer_to("null"), "HTTP/1.1 403 Forbidden");
    EXPECT_EQ(answer_to("https://app.example.com"), "HTTP/1.1 101 Switching Protocols");
    EXPECT_EQ(answer_to("HTTPS://ADMIN.example.com"), "HTTP/1.1 101 Switching Protocols");
    EXPECT_EQ(answer_to(""), "HTTP/1.1 101 Switching Protocols");  // no Origin: not a browser
    lp::testing::HttpClient api(node.api_port());
    EXPECT_EQ(lp::testing::metric_value(api.get("/metrics").body,
                                        R"(livepush_ws_upgrades_refused_total{reason="origin"})"),
              2);
}

}  // namespace
