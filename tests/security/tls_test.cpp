// tests/security/tls_test: the TLS send path under a client that makes the server queue small
// replies while pushes are being written to it.
//
// A TLS write takes several loop turns (OpenSSL is fed one buffer at a time), and a WebSocket
// Pong or a heartbeat reply is short enough to live inside its std::string's own buffer. If the
// bytes of an in-flight write pointed into the send queue, a reallocation of the queue while
// the client keeps pinging would move them under the write: a use-after-free that only a
// sanitizer sees reliably. So the attack is simple: ping (and heartbeat) as fast as possible on
// WSS and TLS TCP while the API pushes to the same users, and require a clean server: no
// AddressSanitizer report in its log and exit 0 on SIGTERM. Run it in the ASan build
// (build-asan) to make it bite; in a plain build it still checks the session survives, and in
// the TSan build (build-tsan) that the loop and the API threads do not race.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <string>
#include <thread>

#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"

namespace {

namespace pb = livepush::v1;
using lp::client::Connection;
using lp::client::Options;
using lp::client::Transport;
using lp::codec::Code;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::TempDir;
using lp::testing::token_for;
using namespace std::chrono_literals;

constexpr auto kAttackTime = 4s;
constexpr std::uint8_t kWsPing = 9;
// Pushes posted but not yet read by the slower client, at most: 768 KiB per session, a dozen
// TLS write batches (64 KiB) queued ahead of the replies, far under the send-queue bound.
constexpr int kMaxUnread = 256;

// A self-signed EC certificate for localhost in `dir`; returns {cert, key}.
std::pair<std::string, std::string> make_certificate(const TempDir& dir) {
    std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout " +
        key + " -out " + cert +
        " -days 1 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null";
    if (std::system(cmd.c_str()) != 0) return {};
    return {cert, key};
}

Options tls_opts(const NodeProcess& node, Transport t, const std::string& ca) {
    Options o;
    o.transport = t;
    o.port = t == Transport::Tcp ? node.tcp_port() : node.ws_port();
    o.tls = true;
    o.ca_file = ca;
    o.timeout = 10s;
    return o;
}

// Sends small control packets as fast as it can for kAttackTime, draining what arrives in
// between so the server is never blocked by a full socket (that would only slow the attack).
// Counts the pushes seen in `pushes`.
void flood_small_replies(Connection& c, Transport t, std::atomic<int>& pushes) {
    const auto until = std::chrono::steady_clock::now() + kAttackTime;
    pb::HeartbeatReq hb;
    while (std::chrono::steady_clock::now() < until && c.is_open()) {
        for (int i = 0; i < 16; ++i) {
            if (t == Transport::Ws)
                c.send_ws_message(kWsPing, "hb");  // a 4-byte Pong comes back
            else
                c.send(Code::Heartbeat, hb);  // a short PONG frame comes back
        }
        while (auto f = c.recv(1ms)) {
            if (f->code() == Code::Push) ++pushes;
        }
    }
}

// Pushes to users 71 and 72 through the API until `stop`, at most kMaxUnread ahead of the
// slower reader. Unpaced, the API outruns a client that a loaded machine starves of CPU (the
// pusher is one cheap thread, each reader decrypts and parses everything): its backlog reached
// 1.7 MiB of the 4 MiB send-queue bound in a 4 s attack, and a session that far behind is
// rightly cut as a slow consumer ("server closed the WebSocket"), which is not what this test
// is about. Paced, the queue still always holds pushes ahead of the replies.
void push_until(const std::atomic<bool>& stop, std::uint16_t api_port, std::atomic<int>& posted,
                const std::atomic<int>& ws_read, const std::atomic<int>& tcp_read) {
    HttpClient api(api_port);
    // Each push is a shared chunk of a few KiB ahead of the short replies in the queue, so
    // a write is larger than what asio's SSL stream hands OpenSSL in one step (8 KiB) and
    // the replies behind the pushes are read from the queue turns later.
    const std::string body =
        R"({"user_ids":[71,72],"type":"t","payload":")" + std::string(3000, 'p') + R"("})";
    while (!stop.load()) {
        if (posted.load() - std::min(ws_read.load(), tcp_read.load()) >= kMaxUnread) {
            std::this_thread::sleep_for(1ms);
            continue;
        }
        if (api.post("/v1/push/users", body).status == 200) ++posted;
    }
}

TEST(TlsSendQueue, SmallRepliesQueuedDuringInFlightPushWritesAreSafe) {
    TempDir dir;
    auto [cert, key] = make_certificate(dir);
    ASSERT_FALSE(cert.empty()) << "openssl must be installed";
    // One loop, so every session's writes and queueing interleave on one thread.
    NodeProcess node({"--tls-cert", cert, "--tls-key", key, "--loops", "1", "--log-level", "warn"});

    Connection wss(tls_opts(node, Transport::Ws, cert));
    ASSERT_FALSE(wss.connect());
    ASSERT_TRUE(wss.login(token_for(71)));
    Connection tls_tcp(tls_opts(node, Transport::Tcp, cert));
    ASSERT_FALSE(tls_tcp.connect());
    ASSERT_TRUE(tls_tcp.login(token_for(72)));

    std::atomic<bool> stop{false};
    std::atomic<int> posted{0};
    std::atomic<int> ws_pushes{0};
    std::atomic<int> tcp_pushes{0};
    std::thread pusher([&] {
        // A server that dies mid-attack closes the API too: stop pushing, the checks below
        // then show why.
        try {
            push_until(stop, node.api_port(), posted, ws_pushes, tcp_pushes);
        } catch (const std::exception&) {
        }
    });
    std::thread tcp_attacker([&] { flood_small_replies(tls_tcp, Transport::Tcp, tcp_pushes); });
    flood_small_replies(wss, Transport::Ws, ws_pushes);
    tcp_attacker.join();
    stop = true;
    pusher.join();

    EXPECT_GT(posted.load(), 0);
    EXPECT_GT(ws_pushes.load(), 0) << "pushes must have flowed during the attack";
    EXPECT_TRUE(wss.is_open()) << wss.last_error().message();
    EXPECT_TRUE(wss.heartbeat()) << "the session must still answer after the attack";

    const int status = node.stop(SIGTERM, 30s);
    const std::string log = node.log();
    EXPECT_EQ(log.find("ERROR: AddressSanitizer"), std::string::npos) << log.substr(0, 6000);
    EXPECT_EQ(log.find("WARNING: ThreadSanitizer"), std::string::npos) << log.substr(0, 6000);
    EXPECT_EQ(status, 0) << log.substr(0, 6000);
}

}  // namespace
