// tests/security/link_test: a stranger on the node-link port (router/node_links, link_hello).
//
// Real redis-server, real livepushd nodes, and an attacker with a raw TCP socket who knows the
// wire format and holds what a user or an eavesdropper can hold: a user token (valid or
// expired), or the bytes a real node sent on an earlier link. Each attack ends with a
// LinkUsers broadcast that, if the link were accepted, would reach a logged-in user; the test
// checks that it does not, that the connection is closed and that the rejection is counted.
// A frame header announcing a large body before the hello is refused on the header.
// The TLS test delivers over mutual-TLS links and refuses a certificate from another CA.
// The flood test opens 2,000 idle link connections and checks the listener sheds them (hello
// deadline, connection cap) and still links a real node afterwards.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "cluster.pb.h"
#include "cluster_fixture.hpp"
#include "codec/stream_decoder.hpp"
#include "redis/client.hpp"

namespace {

using namespace std::chrono_literals;
using lp::testing::eventually;

// ---------------------------------------------------------------- raw sockets

std::uint16_t free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return ntohs(a.sin_port);
}

int connect_to(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return -1;
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

int listen_on(std::uint16_t& port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd, 16);
    socklen_t len = sizeof a;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    port = ntohs(a.sin_port);
    return fd;
}

void send_all(int fd, const std::string& bytes) {
    std::size_t off = 0;
    while (off < bytes.size()) {
        ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
        if (n <= 0) return;  // the peer may already have closed: that is what some tests expect
        off += static_cast<std::size_t>(n);
    }
}

// Reads what arrives within `wait` (stops early at EOF). closed = the peer closed (EOF/reset).
struct Received {
    std::string bytes;
    bool closed = false;
};
Received read_for(int fd, std::chrono::milliseconds wait) {
    Received r;
    auto until = std::chrono::steady_clock::now() + wait;
    while (true) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
            until - std::chrono::steady_clock::now());
        if (left.count() <= 0) return r;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return r;
        char buf[4096];
        ssize_t n = ::recv(fd, buf, sizeof buf, 0);
        if (n <= 0) {
            r.closed = true;
            return r;
        }
        r.bytes.append(buf, static_cast<std::size_t>(n));
    }
}

// The first frame of `code` in `bytes`, re-encoded whole (header + body), or empty.
std::string first_frame(const std::string& bytes, lp::codec::Code code) {
    lp::codec::StreamDecoder d(64 * 1024);
    std::string found;
    d.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(),
           [&](const lp::codec::FrameView& f) {
               if (f.header.code != static_cast<std::uint16_t>(code)) return true;
               found = lp::codec::encode_frame(code, f.header.seq, f.header.flags, f.body);
               return false;
           });
    return found;
}

// ---------------------------------------------------------------- what an attacker sends

std::string varint(std::uint64_t v) {
    std::string out;
    while (v >= 0x80) {
        out += static_cast<char>((v & 0x7F) | 0x80);
        v >>= 7;
    }
    out += static_cast<char>(v);
    return out;
}

std::string bytes_field(int number, const std::string& value) {
    return varint(static_cast<std::uint64_t>(number) << 3 | 2) + varint(value.size()) + value;
}

std::string base64url_decode(const std::string& in) {
    auto val = [](char c) -> int {
        if (c >= 'A' && c <= 'Z') return c - 'A';
        if (c >= 'a' && c <= 'z') return c - 'a' + 26;
        if (c >= '0' && c <= '9') return c - '0' + 52;
        return c == '-' ? 62 : c == '_' ? 63 : -1;
    };
    std::string out;
    unsigned acc = 0;
    int bits = 0;
    for (char c : in) {
        int v = val(c);
        if (v < 0) break;
        acc = acc << 6 | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xFF);
        }
    }
    return out;
}

std::string hex(const std::string& raw) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : raw) {
        out += digits[c >> 4];
        out += digits[c & 15];
    }
    return out;
}

// The best hello a token buys: node_id = "header.payload" and, as proof, the token's HMAC
// signature, both as the first link protocol wanted it (hex, field 2) and as the raw 32 bytes
// the challenge-response wants (field 4), with a nonce of our own.
std::string forged_hello(const std::string& token) {
    const auto dot = token.rfind('.');
    const std::string signed_part = token.substr(0, dot);
    const std::string signature = base64url_decode(token.substr(dot + 1));
    std::string body = bytes_field(1, signed_part) + bytes_field(2, hex(signature)) +
                       bytes_field(3, std::string(32, 'x')) + bytes_field(4, signature);
    return lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0, body);
}

std::string broadcast_frame(const std::string& type) {
    livepush::cluster::UserDelivery d;
    d.set_broadcast(true);
    d.set_type(type);
    d.set_payload("{\"forged\":true}");
    d.set_msg_id(424242);
    return lp::codec::encode_frame(lp::codec::Code::LinkUsers, 0, 0, d.SerializeAsString());
}

// ---------------------------------------------------------------- fixture

class LinkAttack : public lp::testing::ClusterFixture {
protected:
    // Node i of the cluster with its link listener on a port chosen here (so the test knows it
    // with any livepushd build) and `extra` flags.
    void start_link_node(int i, std::vector<std::string> extra = {}) {
        link_port_[i] = free_port();
        std::vector<std::string> args = {
            "--redis",       "127.0.0.1:" + std::to_string(redis_->port()),
            "--node-id",     "n" + std::to_string(i + 1),
            "--link-listen", "127.0.0.1:" + std::to_string(link_port_[i]),
            "--loops",       "1"};
        args.insert(args.end(), extra.begin(), extra.end());
        nodes_[i] = std::make_unique<lp::testing::NodeProcess>(args);
        api_[i] = std::make_unique<lp::testing::HttpClient>(nodes_[i]->api_port());
    }

    double rejected(int node, const std::string& reason) {
        return metric(node, "livepush_link_rejected_total{reason=\"" + reason + "\"}");
    }

    // Sends hello + a broadcast on a fresh link connection to node i, as the attacker would,
    // and checks the connection is closed and `user` gets nothing.
    void attack_with(int node, const std::string& hello, lp::client::Connection& user,
                     const std::string& what) {
        int fd = connect_to(link_port_[node]);
        ASSERT_GE(fd, 0);
        read_for(fd, 300ms);  // the challenge, if the node sends one: useless without the secret
        send_all(fd, hello + broadcast_frame(what));
        Received r = read_for(fd, 5000ms);
        ::close(fd);
        auto push = user.next_push(1500ms);
        EXPECT_FALSE(push) << what << ": a forged link delivered \"" << (push ? push->type() : "")
                           << "\" to a user";
        EXPECT_TRUE(r.closed) << what << ": the node kept the forged link open";
    }

    std::array<std::uint16_t, kNodes> link_port_{};
};

TEST_F(LinkAttack, AHelloForgedFromAUserTokenIsRefusedAndDeliversNothing) {
    start_link_node(0);
    auto user = login(0, 1001);
    const double before = std::max(0.0, rejected(0, "bad_proof"));
    const std::string valid = lp::testing::token_for(1001, 3600);
    const std::string expired = lp::testing::token_for(1001, -3600);
    attack_with(0, forged_hello(valid), *user, "valid-token");
    attack_with(0, forged_hello(expired), *user, "expired-token");
    EXPECT_TRUE(eventually([&] { return rejected(0, "bad_proof") >= before + 2; }, 5000ms))
        << "livepush_link_rejected_total{reason=\"bad_proof\"} = " << rejected(0, "bad_proof");
    EXPECT_NE(nodes_[0]->log().find("rejected a connection from 127.0.0.1:"), std::string::npos)
        << "the rejection is logged with the peer's address";
}

TEST_F(LinkAttack, AFrameAnnouncingAMegabyteBeforeTheHelloIsRefusedOnItsHeader) {
    start_link_node(0);
    int fd = connect_to(link_port_[0]);
    ASSERT_GE(fd, 0);
    // A hello header announcing 1 MiB, and a little of it: an unauthenticated peer must not
    // make the node wait for (and buffer) the rest. Well under the 3 s hello deadline.
    std::string frame =
        lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0, std::string(1 << 20, 'x'));
    send_all(fd, frame.substr(0, 4096));
    Received r = read_for(fd, 1500ms);
    ::close(fd);
    EXPECT_TRUE(r.closed) << "the node waits for a 1 MiB body from a peer it does not know";
    EXPECT_TRUE(eventually([&] { return rejected(0, "bad_frame") >= 1; }, 5000ms));
}

TEST_F(LinkAttack, AHelloRecordedFromARealNodeCannotBeReplayed) {
    // A fake node in Redis whose link address is ours: n1 dials it and says its hello there.
    std::uint16_t fake_port = 0;
    int listener = listen_on(fake_port);
    start_link_node(0);
    lp::redis::Client::Options ro;
    ro.port = redis_->port();
    lp::redis::Client redis(ro);
    redis.start();
    ASSERT_TRUE(redis
                    .command_sync({"SET", "lp:node:fake",
                                   "127.0.0.1:1|127.0.0.1:" + std::to_string(fake_port)},
                                  2000ms)
                    .ok());
    ASSERT_TRUE(redis.command_sync({"SADD", "lp:nodes", "fake"}, 2000ms).ok());

    pollfd p{listener, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 10000), 1) << "n1 never dialled the fake node";
    int from_n1 = ::accept(listener, nullptr, nullptr);
    ASSERT_GE(from_n1, 0);
    livepush::cluster::LinkChallenge challenge;
    challenge.set_node_id("fake");
    challenge.set_nonce(std::string(32, 'c'));
    send_all(from_n1, lp::codec::encode_frame(lp::codec::Code::LinkChallenge, 0, 0,
                                              challenge.SerializeAsString()));
    std::string recorded;
    std::string seen;
    auto until = std::chrono::steady_clock::now() + 5000ms;
    while (recorded.empty() && std::chrono::steady_clock::now() < until) {
        Received r = read_for(from_n1, 200ms);
        seen += r.bytes;
        recorded = first_frame(seen, lp::codec::Code::LinkHello);
        if (r.closed) break;
    }
    ASSERT_FALSE(recorded.empty()) << "n1 sent no hello to the fake node";
    // The fake cannot welcome n1 without the secret: n1 drops the link, counts it and retries.
    livepush::cluster::LinkWelcome welcome;
    welcome.set_proof(std::string(32, 'w'));
    send_all(from_n1, lp::codec::encode_frame(lp::codec::Code::LinkWelcome, 0, 0,
                                              welcome.SerializeAsString()));
    EXPECT_TRUE(read_for(from_n1, 5000ms).closed) << "n1 kept a link whose welcome did not verify";
    EXPECT_TRUE(eventually(
        [&] {
            return metric(0, "livepush_link_handshake_failures_total{reason=\"bad_proof\"}") >= 1;
        },
        5000ms));
    EXPECT_EQ(::poll(&p, 1, 10000), 1) << "n1 did not retry after the failed handshake";
    ::close(from_n1);
    ::close(listener);
    redis.command_sync({"SREM", "lp:nodes", "fake"}, 2000ms);
    redis.command_sync({"DEL", "lp:node:fake"}, 2000ms);
    redis.stop();
    ASSERT_FALSE(recorded.empty()) << "n1 sent no hello to the fake node";

    // Replayed to another node of the cluster, where a user is logged in.
    start_link_node(1);
    auto user = login(1, 2002);
    ASSERT_TRUE(eventually(
        [&] {
            return metric(0, "livepush_cluster_nodes") == 2 &&
                   metric(1, "livepush_cluster_nodes") == 2;
        },
        10000ms));
    ASSERT_TRUE(routed(0, 2002));
    const double before = std::max(0.0, rejected(1, "bad_proof"));
    attack_with(1, recorded, *user, "replayed-hello");
    EXPECT_TRUE(eventually([&] { return rejected(1, "bad_proof") >= before + 1; }, 5000ms));
    // n1 and n2 themselves still link: a push from n1 reaches the user on n2.
    post(0, "/v1/push/user", R"({"user_id":2002,"type":"real","payload":1})");
    auto p2 = user->next_push(5000ms);
    ASSERT_TRUE(p2);
    EXPECT_EQ(p2->type(), "real");
}

TEST_F(LinkAttack, TwoThousandIdleConnectionsAreShedAndARealNodeStillLinks) {
    rlimit rl{};
    ::getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_cur < 4096 && rl.rlim_max >= 4096) {
        rl.rlim_cur = std::min<rlim_t>(rl.rlim_max, 8192);
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
    constexpr int kIdle = 2000;
    start_link_node(0, {"--set", "cluster.link_hello_timeout_ms=500"});
    auto user = login(0, 3003);

    std::vector<int> fds;
    for (int i = 0; i < kIdle; ++i) {
        int fd = connect_to(link_port_[0]);
        ASSERT_GE(fd, 0) << "connect " << i << ": " << std::strerror(errno);
        fds.push_back(fd);
    }
    // Every one is closed by the node: over the cap at once, the rest at the hello deadline.
    int closed = 0;
    std::vector<bool> done(fds.size(), false);
    auto until = std::chrono::steady_clock::now() + 30s;
    while (closed < kIdle && std::chrono::steady_clock::now() < until) {
        std::vector<pollfd> polls;
        std::vector<std::size_t> index;
        for (std::size_t i = 0; i < fds.size(); ++i) {
            if (done[i]) continue;
            polls.push_back({fds[i], POLLIN, 0});
            index.push_back(i);
        }
        if (::poll(polls.data(), polls.size(), 100) <= 0) continue;
        for (std::size_t k = 0; k < polls.size(); ++k) {
            if (!polls[k].revents) continue;
            char buf[4096];
            ssize_t n;
            while ((n = ::recv(polls[k].fd, buf, sizeof buf, MSG_DONTWAIT)) > 0) {
            }
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                done[index[k]] = true;
                ++closed;
            }
        }
    }
    for (int fd : fds) ::close(fd);
    EXPECT_EQ(closed, kIdle) << "idle link connections the node left open";
    const double over_cap = rejected(0, "over_cap");
    const double deadline = rejected(0, "deadline");
    EXPECT_GT(over_cap, 0) << "livepush_link_rejected_total{reason=\"over_cap\"}";
    EXPECT_GT(deadline, 0) << "livepush_link_rejected_total{reason=\"deadline\"}";
    EXPECT_EQ(over_cap + deadline, kIdle);
    EXPECT_LT(nodes_[0]->log().size(), 200u * 1024) << "rejections are rate-limited in the log";

    start_link_node(1);
    ASSERT_TRUE(eventually([&] { return metric(1, "livepush_cluster_nodes") == 2; }, 10000ms));
    ASSERT_TRUE(routed(1, 3003));
    post(1, "/v1/push/user", R"({"user_id":3003,"type":"after-flood","payload":1})");
    auto p = user->next_push(10000ms);
    ASSERT_TRUE(p) << "n2 could not deliver to n1 after the flood";
    EXPECT_EQ(p->type(), "after-flood");
}

// ---------------------------------------------------------------- TLS links

// A CA (ca_<name>.pem) and a certificate it signed (<leaf>.pem, <leaf>.key) in dir.
void make_cert(const std::string& dir, const std::string& ca, const std::string& leaf) {
    const std::string d = dir + "/";
    const std::string ec = " -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes ";
    std::string cmd;
    if (::access((d + ca + ".pem").c_str(), F_OK) != 0)
        cmd += "openssl req -x509" + ec + "-keyout " + d + ca + ".key -out " + d + ca +
               ".pem -days 2 -subj /CN=" + ca + " && ";
    cmd += "openssl req" + ec + "-keyout " + d + leaf + ".key -out " + d + leaf +
           ".csr -subj /CN=" + leaf + " && openssl x509 -req -in " + d + leaf + ".csr -CA " + d +
           ca + ".pem -CAkey " + d + ca + ".key -CAcreateserial -out " + d + leaf + ".pem -days 2";
    ASSERT_EQ(std::system(("(" + cmd + ") >/dev/null 2>&1").c_str()), 0)
        << "openssl must be installed: " << cmd;
}

TEST_F(LinkAttack, TlsLinksDeliverAndRefuseACertificateFromAnotherCa) {
    lp::testing::TempDir dir;
    make_cert(dir.path(), "ca1", "node");
    make_cert(dir.path(), "ca2", "rogue");
    const std::string d = dir.path() + "/";
    auto tls = [&](const std::string& leaf) {
        return std::vector<std::string>{"--link-tls-cert", d + leaf + ".pem", "--link-tls-key",
                                        d + leaf + ".key", "--link-tls-ca",   d + "ca1.pem"};
    };
    start_link_node(0, tls("node"));
    start_link_node(1, tls("node"));
    auto user = login(0, 4004);
    ASSERT_TRUE(eventually([&] { return metric(1, "livepush_cluster_nodes") == 2; }, 10000ms));
    ASSERT_TRUE(routed(1, 4004));
    post(1, "/v1/push/user", R"({"user_id":4004,"type":"over-tls","payload":1})");
    auto p = user->next_push(10000ms);
    ASSERT_TRUE(p) << "n2 could not deliver to n1 over a TLS link";
    EXPECT_EQ(p->type(), "over-tls");

    // A plain-TCP stranger never reaches the hello.
    const double tls_before = std::max(0.0, rejected(0, "tls"));
    attack_with(0, forged_hello(lp::testing::token_for(4004)), *user, "plain-tcp");

    // A node with the cluster secret but a certificate from another CA: n1 refuses it at the
    // TLS handshake, so its push never arrives.
    start_link_node(2, tls("rogue"));
    post(2, "/v1/push/user", R"({"user_id":4004,"type":"from-rogue","payload":1})");
    auto rogue = user->next_push(3000ms);
    EXPECT_FALSE(rogue) << "a node with another CA's certificate delivered \""
                        << (rogue ? rogue->type() : "") << "\"";
    EXPECT_TRUE(eventually([&] { return rejected(0, "tls") >= tls_before + 2; }, 10000ms))
        << "livepush_link_rejected_total{reason=\"tls\"} = " << rejected(0, "tls");
}

// ---------------------------------------------------------------- start-up policy

struct Exit {
    int code = -1;
    std::string output;
};

// Runs livepushd in cluster mode with `args` (no LIVEPUSH_CLUSTER_SECRET in its environment)
// and returns its exit code and output. It must refuse before touching Redis or a port.
Exit run_cluster_node(const std::string& args) {
    const std::string cmd =
        std::string("env -u LIVEPUSH_CLUSTER_SECRET ") + LIVEPUSHD_PATH +
        " --redis 127.0.0.1:1 --tcp-listen 127.0.0.1:0 --ws-listen '' --api-listen '' " + args +
        " 2>&1";
    Exit e;
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return e;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) e.output += buf;
    int status = ::pclose(p);
    e.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    return e;
}

TEST(LinkSecretPolicy, ClusterModeRefusesToStartWithoutAStrongSeparateSecret) {
    const std::string jwt = "a-jwt-secret-that-is-long-enough-0123456789";
    const std::string api = "an-api-key-that-is-long-enough-0123456789";
    const std::string base = "--jwt-secret " + jwt + " --api-key " + api;
    struct Case {
        std::string args, says;
    } cases[] = {
        {base, "cluster.secret is required"},
        {base + " --cluster-secret short", "at least 32"},
        {base + " --set cluster.secret=" + jwt, "must differ from auth.jwt_secret"},
        {base + " --cluster-secret " + api, "must differ from api.key"},
    };
    for (const auto& c : cases) {
        Exit e = run_cluster_node(c.args);
        EXPECT_EQ(e.code, 2) << c.args << "\n" << e.output;
        EXPECT_NE(e.output.find(c.says), std::string::npos) << c.args << "\n" << e.output;
    }
}

}  // namespace
