// tests/integration/gateway_test: a real livepushd process and real clients over loopback:
// login over every transport and body form, heartbeats and deadlines, bad input, duplicate
// logins, room chat fan-out, TLS on both listeners, and the SIGTERM drain.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <cstdlib>
#include <functional>
#include <memory>
#include <set>
#include <thread>

#include "auth/jwt.hpp"
#include "codec/envelope.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "test_clients.hpp"

namespace {

namespace pb = livepush::v1;
using lp::client::Connection;
using lp::client::Options;
using lp::client::Transport;
using lp::codec::Code;
using lp::testing::client_options;
using lp::testing::NodeProcess;
using lp::testing::room_json;
using lp::testing::token_for;
using namespace std::chrono_literals;

std::unique_ptr<Connection> logged_in(const Options& o, std::uint64_t user,
                                      const std::string& platform = "android") {
    return lp::testing::login_with(o, token_for(user), platform);
}

boost::json::object biz_data(const pb::Result& r) {
    return boost::json::parse(r.data()).as_object();
}

// ------------------------------------------------------------------ login

TEST(GatewayLogin, TcpLoginAnswersUserNodeIntervalAndTime) {
    NodeProcess node({"--heartbeat-interval-ms", "15000"});
    Connection c(client_options(node));
    ASSERT_FALSE(c.connect());
    auto res = c.login(token_for(77));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->code(), 0);
    EXPECT_EQ(res->user_id(), 77u);
    EXPECT_EQ(res->node_id(), "test-node");
    EXPECT_EQ(res->heartbeat_interval_ms(), 15000u);
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    EXPECT_NEAR(static_cast<double>(res->server_time_ms()), static_cast<double>(now), 5000.0);
}

TEST(GatewayLogin, WebSocketBinaryLoginAndHeartbeat) {
    NodeProcess node;
    Connection c(client_options(node, Transport::Ws));
    ASSERT_FALSE(c.connect());
    auto res = c.login(token_for(5));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->code(), 0);
    auto pong = c.heartbeat();
    ASSERT_TRUE(pong);
    EXPECT_GT(pong->server_time_ms(), 0u);
}

TEST(GatewayLogin, JsonBodySessionGetsJsonOnEveryFrame) {
    NodeProcess node;
    Options o = client_options(node);
    o.json_body = true;
    Connection c(o);
    ASSERT_FALSE(c.connect());
    // Every frame the session receives, in order: read with recv() (not the request helpers,
    // which hand back only the parsed reply) so that none goes unchecked.
    std::vector<lp::client::Frame> frames;
    auto read_until = [&](const std::function<bool(const lp::client::Frame&)>& last) {
        while (auto f = c.recv(5000ms)) {
            frames.push_back(*f);
            if (last(*f)) return true;
        }
        return false;
    };
    auto reply_to = [](std::uint32_t seq) {
        return [seq](const lp::client::Frame& f) { return f.header.seq == seq; };
    };
    pb::LoginReq login;
    login.set_token(token_for(6));
    login.set_platform("android");
    ASSERT_TRUE(read_until(reply_to(c.send(Code::Login, login))));
    EXPECT_EQ(frames.back().code(), Code::LoginResult);
    ASSERT_TRUE(read_until(reply_to(c.send(Code::Heartbeat, pb::HeartbeatReq()))));
    EXPECT_EQ(frames.back().code(), Code::Pong);
    auto body = boost::json::parse(frames.back().body).as_object();
    EXPECT_FALSE(body.contains("code"))
        << "v1.1 leaves a success's code 0 out: " << frames.back().body;
    EXPECT_TRUE(body.contains("serverTimeMs"));

    pb::BizReq enter;
    enter.set_type("room.enter");
    enter.set_data(room_json(3));
    ASSERT_TRUE(read_until(reply_to(c.send(Code::Biz, enter))));
    EXPECT_EQ(frames.back().code(), Code::BizResult);
    pb::BizReq chat;
    chat.set_type("room.chat");
    chat.set_data(R"({"room_id":3,"text":"hi"})");
    const std::uint32_t chat_seq = c.send(Code::Biz, chat);
    bool answered = false, pushed = false;
    ASSERT_TRUE(read_until([&](const lp::client::Frame& f) {
        answered |= f.header.seq == chat_seq && f.code() == Code::BizResult;
        pushed |= f.code() == Code::Push;
        return answered && pushed;
    })) << "room.chat is answered and comes back as a PUSH";
    for (const auto& f : frames) {
        if (f.code() != Code::Push) continue;
        auto pj = boost::json::parse(f.body).as_object();
        EXPECT_EQ(pj.at("type").as_string(), "room.chat");
        EXPECT_EQ(pj.at("roomId").as_string(), "3");  // uint64 as a string, per the JSON mapping
        EXPECT_TRUE(pj.at("payload").is_object()) << "the payload as its JSON value: " << f.body;
    }
    // A login elsewhere on the same platform: the KICK is a frame of this session too.
    auto second = logged_in(client_options(node), 6, "android");
    ASSERT_TRUE(read_until([](const lp::client::Frame& f) { return f.code() == Code::Kick; }));

    std::set<Code> codes;
    for (const auto& f : frames) {
        codes.insert(f.code());
        EXPECT_TRUE(f.json()) << lp::codec::code_name(f.header.code)
                              << " of a JSON session must carry JSON_BODY";
        boost::system::error_code ec;
        auto v = boost::json::parse(f.body, ec);
        EXPECT_TRUE(!ec && v.is_object())
            << lp::codec::code_name(f.header.code) << " body is not a JSON object: " << f.body;
    }
    EXPECT_EQ(codes, (std::set<Code>{Code::LoginResult, Code::Pong, Code::BizResult, Code::Push,
                                     Code::Kick}))
        << "every kind of frame this session can get was seen";
}

TEST(GatewayLogin, WebSocketTextEnvelopeSession) {
    NodeProcess node;
    Options o = client_options(node, Transport::Ws);
    o.ws_text = true;
    Connection c(o);
    ASSERT_FALSE(c.connect());
    auto res = c.login(token_for(8));
    ASSERT_TRUE(res);
    EXPECT_EQ(res->code(), 0);
    EXPECT_EQ(res->user_id(), 8u);
    std::uint32_t seq = c.send(Code::Heartbeat, pb::HeartbeatReq());
    auto pong = c.wait_for([&](const lp::client::Frame& f) { return f.header.seq == seq; });
    ASSERT_TRUE(pong);
    EXPECT_TRUE(pong->text) << "a text-envelope session gets text replies";
    EXPECT_EQ(pong->code(), Code::Pong);
}

TEST(GatewayLogin, BadTokensGetAResultCodeAndTheConnectionCloses) {
    NodeProcess node;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    struct Case {
        std::string token;
        int code;
    } cases[] = {
        {token_for(1, -3600), pb::TOKEN_EXPIRED},
        {lp::auth::mint_hs256("wrong-secret", 1, "viewer", now, now + 60), pb::TOKEN_INVALID},
        // alg:none with the payload of a valid token
        {"eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0." +
             token_for(1).substr(token_for(1).find('.') + 1,
                                 token_for(1).rfind('.') - token_for(1).find('.') - 1) +
             ".",
         pb::TOKEN_INVALID},
        {"not-a-token", pb::TOKEN_INVALID},
    };
    for (const auto& tc : cases) {
        Connection c(client_options(node));
        ASSERT_FALSE(c.connect());
        auto res = c.login(tc.token);
        ASSERT_TRUE(res) << tc.token;
        EXPECT_EQ(res->code(), tc.code) << tc.token << ": " << res->message();
        EXPECT_TRUE(c.wait_closed(3000ms)) << "connection must close after a refused login";
    }
}

TEST(GatewayLogin, PacketBeforeLoginIsAnErrorAndCloses) {
    NodeProcess node;
    Connection c(client_options(node));
    ASSERT_FALSE(c.connect());
    auto pong = c.heartbeat();  // allowed before login
    ASSERT_TRUE(pong);
    pb::BizReq biz;
    biz.set_type("room.enter");
    c.send(Code::Biz, biz);
    auto err = c.wait_code(Code::Error);
    ASSERT_TRUE(err);
    pb::Error e;
    ASSERT_TRUE(err->parse(e));
    EXPECT_EQ(e.code(), pb::NOT_LOGGED_IN);
    EXPECT_TRUE(c.wait_closed(3000ms));
}

TEST(GatewayLogin, SecondLoginOnSamePlatformKicksTheFirst) {
    NodeProcess node({"--loops", "2"});
    auto first = logged_in(client_options(node), 900, "android");
    auto web =
        logged_in(client_options(node, Transport::Ws), 900, "web");  // another platform: both stay
    auto second = logged_in(client_options(node, Transport::Ws), 900, "android");
    auto kick = first->wait_code(Code::Kick);
    ASSERT_TRUE(kick);
    pb::Kick k;
    ASSERT_TRUE(kick->parse(k));
    EXPECT_EQ(k.reason(), "replaced");
    EXPECT_TRUE(first->wait_closed(3000ms));
    EXPECT_TRUE(second->heartbeat());
    EXPECT_TRUE(web->heartbeat()) << "a login on another platform must not be kicked";
}

// ------------------------------------------------------------------ liveness

TEST(GatewayLiveness, MissedHeartbeatsCloseTheSession) {
    NodeProcess node({"--heartbeat-interval-ms", "200"});
    auto idle = logged_in(client_options(node), 1);
    auto alive = logged_in(client_options(node), 2);
    auto start = std::chrono::steady_clock::now();
    // `alive` heartbeats every 100 ms for 1.5 s; `idle` sends nothing.
    while (std::chrono::steady_clock::now() - start < 1500ms) {
        ASSERT_TRUE(alive->heartbeat()) << "a heartbeating session must stay open";
        std::this_thread::sleep_for(100ms);
    }
    auto kick = idle->wait_code(Code::Kick, 2000ms);
    ASSERT_TRUE(kick) << "3 missed heartbeats (600 ms) must close the session";
    pb::Kick k;
    ASSERT_TRUE(kick->parse(k));
    EXPECT_EQ(k.reason(), "heartbeat_timeout");
    EXPECT_TRUE(idle->wait_closed(2000ms));
    EXPECT_TRUE(alive->heartbeat());
}

TEST(GatewayLiveness, ConnectionsThatNeverLogInAreClosedAtTheLoginDeadline) {
    NodeProcess node({"--login-timeout-ms", "300"});
    Connection tcp(client_options(node));
    Connection ws(client_options(node, Transport::Ws));
    ASSERT_FALSE(tcp.connect());
    ASSERT_FALSE(ws.connect());
    auto err = tcp.wait_code(Code::Error, 3000ms);
    ASSERT_TRUE(err);
    pb::Error e;
    ASSERT_TRUE(err->parse(e));
    EXPECT_EQ(e.code(), pb::LOGIN_TIMEOUT);
    EXPECT_TRUE(tcp.wait_closed(3000ms));
    EXPECT_TRUE(ws.wait_closed(3000ms));
}

// ------------------------------------------------------------------ bad input

TEST(GatewayBadInput, GarbageClosesOnlyThatConnection) {
    NodeProcess node({"--loops", "2"});
    std::vector<std::unique_ptr<Connection>> others;
    for (int i = 0; i < 100; ++i) {
        auto c =
            logged_in(i % 2 ? client_options(node) : client_options(node, Transport::Ws), 1000 + i);
        ASSERT_TRUE(c->biz("room.enter", room_json(42)));
        others.push_back(std::move(c));
    }
    auto bad = logged_in(client_options(node), 999);
    bad->send_raw("GET / HTTP/1.1\r\n\r\n this is not a frame");
    auto err = bad->wait_code(Code::Error);
    ASSERT_TRUE(err);
    pb::Error e;
    ASSERT_TRUE(err->parse(e));
    EXPECT_EQ(e.code(), pb::BAD_MAGIC);
    EXPECT_FALSE(e.message().empty());
    EXPECT_TRUE(bad->wait_closed(3000ms));

    // Everyone else still works: heartbeats and a room message reach all 100.
    for (auto& c : others) ASSERT_TRUE(c->heartbeat());
    ASSERT_TRUE(others[0]->biz("room.chat", R"({"room_id":42,"text":"still here"})"));
    for (auto& c : others) {
        auto p = c->next_push();
        ASSERT_TRUE(p);
        EXPECT_EQ(p->type(), "room.chat");
    }
}

TEST(GatewayBadInput, OversizedBodyAndUnknownCodeAreRefused) {
    NodeProcess node({"--max-body", "1024"});
    {
        Connection c(client_options(node));
        ASSERT_FALSE(c.connect());
        std::uint8_t hdr[16];
        lp::codec::encode_header({0, 1003, 1, 4096}, hdr);
        c.send_raw(std::string(reinterpret_cast<char*>(hdr), 16));
        auto err = c.wait_code(Code::Error);
        ASSERT_TRUE(err);
        pb::Error e;
        ASSERT_TRUE(err->parse(e));
        EXPECT_EQ(e.code(), pb::BODY_TOO_LARGE);
        EXPECT_TRUE(c.wait_closed(3000ms));
    }
    {
        auto c = logged_in(client_options(node), 3);
        c->send_raw(lp::codec::encode_frame(Code::Push, 9, 0, ""));  // a server code from a client
        auto err = c->wait_code(Code::Error);
        ASSERT_TRUE(err);
        pb::Error e;
        ASSERT_TRUE(err->parse(e));
        EXPECT_EQ(e.code(), pb::UNKNOWN_CODE);
        EXPECT_TRUE(c->wait_closed(3000ms));
    }
}

TEST(GatewayBadInput, UnknownBizTypeAnswersWithACodeAndKeepsTheConnection) {
    NodeProcess node;
    auto c = logged_in(client_options(node), 4);
    auto res = c->biz("no.such.type", "{}");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->code(), pb::UNKNOWN_BIZ_TYPE);
    EXPECT_EQ(res->type(), "no.such.type");
    auto bad = c->biz("room.enter", "[1,2]");
    ASSERT_TRUE(bad);
    EXPECT_EQ(bad->code(), pb::BAD_BIZ_DATA);
    auto inf = c->biz("room.chat", R"({"room_id":5,"text":"x","n":1e400})");
    ASSERT_TRUE(inf);
    EXPECT_EQ(inf->code(), pb::BAD_BIZ_DATA)
        << "a number JSON cannot write back (it would go upstream as Infinity)";
    auto notin = c->biz("room.chat", R"({"room_id":5,"text":"x"})");
    ASSERT_TRUE(notin);
    EXPECT_EQ(notin->code(), pb::NOT_IN_ROOM);
    EXPECT_EQ(notin->data(), "{}") << "an error result's data is still a JSON object";
    auto scene = c->biz("scene.set", R"({"scene":"lobby"})");
    ASSERT_TRUE(scene);
    EXPECT_EQ(scene->code(), 0);
    EXPECT_EQ(scene->data(), "{}") << "scene.set answers the {} the docs promise, not nothing";
    EXPECT_TRUE(c->heartbeat()) << "BIZ errors must not close the connection";
}

TEST(GatewayBadInput, BizDataAsAJsonObjectOnAJsonSessionIsTheValueAndDataTwiceIsRefused) {
    NodeProcess node;
    Options o = client_options(node);
    o.json_body = true;
    auto c = logged_in(o, 8);
    // v1.1: BizReq.data written as the JSON object itself is the data (v1.0 refused it).
    c->send_raw(lp::codec::encode_frame(Code::Biz, 7, lp::codec::kJsonBody,
                                        R"({"type":"room.enter","data":{"room_id":1}})"));
    auto ok = c->wait_for([](const lp::client::Frame& f) { return f.header.seq == 7; });
    ASSERT_TRUE(ok);
    pb::Result r;
    ASSERT_TRUE(ok->parse(r));
    EXPECT_EQ(r.code(), 0) << r.message();
    // The value and its base64 both: ambiguous, refused with a message naming the forms.
    c->send_raw(lp::codec::encode_frame(
        Code::Biz, 8, lp::codec::kJsonBody,
        R"({"type":"room.enter","data":{"room_id":1},"dataB64":"eyJyb29tX2lkIjoxfQ=="})"));
    auto err = c->wait_code(Code::Error);
    ASSERT_TRUE(err);
    pb::Error e;
    ASSERT_TRUE(err->parse(e));
    EXPECT_EQ(e.code(), pb::BAD_BODY);
    EXPECT_NE(e.message().find("base64"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("dataB64"), std::string::npos) << e.message();
    EXPECT_TRUE(c->wait_closed(3000ms));
}

TEST(GatewayBadInput, BizOverTheRateLimitIsRefusedAndTheConnectionStays) {
    NodeProcess node({"--biz-rate-per-s", "5"});
    auto c = logged_in(client_options(node), 6);
    int limited = 0;
    for (int i = 0; i < 20; ++i) {
        auto r = c->biz("scene.set", R"({"scene":"lobby"})");
        ASSERT_TRUE(r);
        if (r->code() == pb::RATE_LIMITED) ++limited;
    }
    EXPECT_GE(limited, 10) << "a burst of 20 over a 5/s limit";
    EXPECT_TRUE(c->heartbeat()) << "rate limiting must not close the connection";
    std::this_thread::sleep_for(1100ms);
    auto again = c->biz("scene.set", R"({"scene":"lobby"})");
    ASSERT_TRUE(again);
    EXPECT_EQ(again->code(), 0) << "the bucket refills";
}

// ------------------------------------------------------------------ rooms

TEST(GatewayRooms, RoomEnterReportsOnlineCountAndSeq) {
    NodeProcess node({"--loops", "2"});
    auto a = logged_in(client_options(node), 11);
    auto b = logged_in(client_options(node, Transport::Ws), 12);
    auto ra = a->biz("room.enter", room_json(500));
    ASSERT_TRUE(ra);
    EXPECT_EQ(biz_data(*ra).at("online").to_number<std::uint64_t>(), 1u);
    auto rb = b->biz("room.enter", R"({"room_id":"500"})");  // ids as decimal strings too
    ASSERT_TRUE(rb);
    EXPECT_EQ(biz_data(*rb).at("online").to_number<std::uint64_t>(), 2u);
    ASSERT_TRUE(a->biz("room.chat", R"({"room_id":500,"text":"one"})"));
    auto again = b->biz("room.enter", room_json(500));  // entering twice counts once
    ASSERT_TRUE(again);
    EXPECT_EQ(biz_data(*again).at("online").to_number<std::uint64_t>(), 2u);
    EXPECT_EQ(biz_data(*again).at("room_seq"), "1");  // 64-bit values are decimal strings
    auto left = b->biz("room.leave", room_json(500));
    ASSERT_TRUE(left);
    EXPECT_EQ(left->code(), 0);
    EXPECT_EQ(biz_data(*left).at("online").to_number<std::uint64_t>(), 1u);
}

TEST(GatewayRooms, RoomChatReachesEveryOneOf200MembersOnceAndNobodyElse) {
    NodeProcess node({"--loops", "2"});
    std::vector<std::unique_ptr<Connection>> members, outsiders;
    for (int i = 0; i < 200; ++i) {
        Options o = i % 3 == 0 ? client_options(node) : client_options(node, Transport::Ws);
        if (i % 5 == 1) o.json_body = true;
        if (i % 7 == 2 && o.transport == Transport::Ws) o.ws_text = true;
        auto c = logged_in(o, 10000 + i);
        auto r = c->biz("room.enter", room_json(77));
        ASSERT_TRUE(r);
        ASSERT_EQ(r->code(), 0);
        members.push_back(std::move(c));
    }
    for (int i = 0; i < 20; ++i) {
        auto c = logged_in(i % 2 ? client_options(node) : client_options(node, Transport::Ws),
                           20000 + i);
        if (i % 2 == 0) {
            ASSERT_TRUE(c->biz("room.enter", room_json(78)));
        }
        outsiders.push_back(std::move(c));
    }
    auto sent = members[17]->biz("room.chat", R"({"room_id":77,"text":"hello room"})");
    ASSERT_TRUE(sent);
    ASSERT_EQ(sent->code(), 0);
    std::uint64_t seq = std::stoull(std::string(biz_data(*sent).at("room_seq").as_string()));
    for (std::size_t i = 0; i < members.size(); ++i) {
        auto p = members[i]->next_push();
        ASSERT_TRUE(p) << "member " << i << " got no push";
        EXPECT_EQ(p->type(), "room.chat");
        EXPECT_EQ(p->room_id(), 77u);
        EXPECT_EQ(p->room_seq(), seq);
        EXPECT_EQ(p->msg_id(), sent->msg_id());
        auto payload = boost::json::parse(p->payload()).as_object();
        EXPECT_EQ(payload.at("text").as_string(), "hello room");
        EXPECT_EQ(payload.at("from").as_string(), "10017");
    }
    // Exactly once: a heartbeat round trip later, nobody has a second copy.
    for (auto& m : members) {
        ASSERT_TRUE(m->heartbeat());
        EXPECT_FALSE(m->next_push(0ms)) << "a member got the chat twice";
    }
    for (auto& o : outsiders) {
        ASSERT_TRUE(o->heartbeat());
        EXPECT_FALSE(o->next_push(0ms)) << "a non-member got the room chat";
    }
}

// ------------------------------------------------------------------ TLS

TEST(GatewayTls, HandshakeAndLoginOnBothListeners) {
    lp::testing::TempDir dir;
    std::string cert = dir.path() + "/cert.pem", key = dir.path() + "/key.pem";
    std::string cmd =
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
        "-keyout " +
        key + " -out " + cert +
        " -days 1 -subj /CN=localhost "
        "-addext subjectAltName=DNS:localhost,IP:127.0.0.1 2>/dev/null";
    ASSERT_EQ(std::system(cmd.c_str()), 0) << "openssl must be installed";
    NodeProcess node({"--tls-cert", cert, "--tls-key", key});
    for (Transport t : {Transport::Tcp, Transport::Ws}) {
        Options o = client_options(node, t);
        o.tls = true;
        o.ca_file = cert;  // verify against the generated certificate
        Connection c(o);
        ASSERT_FALSE(c.connect()) << "TLS handshake on " << (t == Transport::Tcp ? "TCP" : "WS");
        auto res = c.login(token_for(31));
        ASSERT_TRUE(res);
        EXPECT_EQ(res->code(), 0);
        EXPECT_TRUE(c.heartbeat());
    }
    // A plain client on the TLS port gets nowhere.
    Connection plain(client_options(node));
    ASSERT_FALSE(plain.connect());
    EXPECT_FALSE(plain.login(token_for(32)));
}

// ------------------------------------------------------------------ shutdown

TEST(GatewayShutdown, SigtermKicksEverySessionWithDrainingAndExitsZero) {
    NodeProcess node({"--loops", "2"});
    std::vector<std::unique_ptr<Connection>> conns;
    for (int i = 0; i < 20; ++i)
        conns.push_back(
            logged_in(i % 2 ? client_options(node) : client_options(node, Transport::Ws), 300 + i));
    auto t0 = std::chrono::steady_clock::now();
    ::kill(node.pid(), SIGTERM);
    for (auto& c : conns) {
        auto kick = c->wait_code(Code::Kick, 5000ms);
        ASSERT_TRUE(kick);
        pb::Kick k;
        ASSERT_TRUE(kick->parse(k));
        EXPECT_EQ(k.reason(), "draining");
        EXPECT_TRUE(c->wait_closed(3000ms));
    }
    EXPECT_EQ(node.stop(0, 10000ms), 0) << node.log();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 8s);
}

}  // namespace
