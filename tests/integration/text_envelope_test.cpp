// tests/integration/text_envelope_test: text envelope v1.1 end to end, against a real livepushd
// over real WebSocket text sessions. The frames are written and read as raw JSON text, the way
// a browser does, so what is pinned is the wire form itself: BizReq.data sent as a JSON value,
// Result.data and Push.payload received as JSON values with default fields left out, bytes that
// are not JSON received as "payloadB64", the v1.0 base64 string still accepted, and a BIZ body
// that is neither refused with ERROR and a close.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "http_client.hpp"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "test_clients.hpp"

namespace {

namespace json = boost::json;
using lp::client::Connection;
using lp::client::Frame;
using lp::client::Options;
using lp::client::Transport;
using lp::codec::Code;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::token_for;
using namespace std::chrono_literals;

constexpr std::uint8_t kText = 1;

// A browser-like text session: every frame written by hand as envelope JSON text.
class Browser {
public:
    Browser(const NodeProcess& node) : c_(options(node)) {}

    void connect() { ASSERT_FALSE(c_.connect()); }
    // Sends {"code":C,"seq":S,"body":<body>} and returns the reply with that seq.
    std::optional<Frame> call(Code code, const std::string& body) {
        const std::uint32_t seq = next_seq_++;
        c_.send_ws_message(kText, "{\"code\":" + std::to_string(static_cast<int>(code)) +
                                      ",\"seq\":" + std::to_string(seq) + ",\"body\":" + body +
                                      "}");
        return c_.wait_for([seq](const Frame& f) { return f.header.seq == seq; });
    }
    json::object login(std::uint64_t user) {
        auto f = call(Code::Login, R"({"token":")" + token_for(user) + R"(","platform":"web"})");
        EXPECT_TRUE(f && f->text && f->code() == Code::LoginResult);
        return f ? body_of(*f) : json::object{};
    }
    std::optional<Frame> next_push() { return c_.wait_code(Code::Push); }
    Connection& connection() { return c_; }

    static json::object body_of(const Frame& f) {
        boost::system::error_code ec;
        json::value v = json::parse(f.body, ec);
        EXPECT_FALSE(ec) << f.body;
        return !ec && v.is_object() ? v.as_object() : json::object{};
    }

private:
    static Options options(const NodeProcess& node) {
        Options o = lp::testing::client_options(node, Transport::Ws);
        o.ws_text = true;
        return o;
    }
    Connection c_;
    std::uint32_t next_seq_ = 1;
};

TEST(TextEnvelopeV11, LoginResultLeavesDefaultFieldsOut) {
    NodeProcess node;
    Browser b(node);
    b.connect();
    const json::object login = b.login(7);
    EXPECT_EQ(login.at("userId").as_string(), "7");
    EXPECT_FALSE(login.contains("code")) << "code 0 is the default: " << json::serialize(login);
    EXPECT_FALSE(login.contains("message")) << json::serialize(login);
    EXPECT_FALSE(login.contains("data")) << json::serialize(login);
}

TEST(TextEnvelopeV11, BizWithJsonDataGetsResultDataAsAJsonValue) {
    NodeProcess node;
    Browser b(node);
    b.connect();
    b.login(8);
    auto r = b.call(Code::Biz, R"({"type":"room.enter","data":{"room_id":31}})");
    ASSERT_TRUE(r && r->code() == Code::BizResult);
    const json::object body = Browser::body_of(*r);
    EXPECT_FALSE(body.contains("code")) << "success: " << r->body;
    EXPECT_FALSE(body.contains("userId")) << r->body;
    EXPECT_FALSE(body.contains("nodeId")) << r->body;
    EXPECT_FALSE(body.contains("heartbeatIntervalMs")) << r->body;
    EXPECT_EQ(body.at("type").as_string(), "room.enter");
    ASSERT_TRUE(body.at("data").is_object()) << "Result.data is the JSON value: " << r->body;
    EXPECT_EQ(body.at("data").at("online").to_number<int>(), 1) << r->body;
}

TEST(TextEnvelopeV11, RoomAndUserPushesArriveWithJsonPayloads) {
    NodeProcess node;
    HttpClient api(node.api_port());
    Browser b(node);
    b.connect();
    b.login(9);
    ASSERT_TRUE(b.call(Code::Biz, R"({"type":"room.enter","data":{"room_id":32}})"));

    auto res = api.post("/v1/push/room", R"({"room_id":32,"type":"gift","payload":{"n":[1,2]}})");
    ASSERT_EQ(res.status, 200) << res.body;
    auto room = b.next_push();
    ASSERT_TRUE(room && room->text);
    json::object p = Browser::body_of(*room);
    EXPECT_EQ(p.at("type").as_string(), "gift");
    EXPECT_EQ(p.at("roomId").as_string(), "32");
    EXPECT_EQ(json::serialize(p.at("payload")), R"({"n":[1,2]})") << room->body;

    res = api.post("/v1/push/user", R"({"user_id":9,"type":"note","payload":{"text":"hi"}})");
    ASSERT_EQ(res.status, 200) << res.body;
    auto user = b.next_push();
    ASSERT_TRUE(user && user->text);
    p = Browser::body_of(*user);
    EXPECT_EQ(p.at("type").as_string(), "note");
    EXPECT_FALSE(p.contains("roomId")) << "a user push has no room: " << user->body;
    EXPECT_EQ(json::serialize(p.at("payload")), R"({"text":"hi"})") << user->body;

    // Bytes that are not JSON (the API's payload_base64) arrive as base64 in "payloadB64".
    res = api.post("/v1/push/user", R"({"user_id":9,"type":"raw","payload_base64":"/wBh"})");
    ASSERT_EQ(res.status, 200) << res.body;
    auto raw = b.next_push();
    ASSERT_TRUE(raw);
    p = Browser::body_of(*raw);
    EXPECT_FALSE(p.contains("payload")) << raw->body;
    EXPECT_EQ(p.at("payloadB64").as_string(), "/wBh") << raw->body;
}

TEST(TextEnvelopeV11, AV10ClientSendingBase64DataStillWorks) {
    NodeProcess node;
    Browser b(node);
    b.connect();
    b.login(10);
    // base64 of {"room_id":33}: what a v1.0 text client sends.
    auto r = b.call(Code::Biz, R"({"type":"room.enter","data":"eyJyb29tX2lkIjozM30="})");
    ASSERT_TRUE(r && r->code() == Code::BizResult);
    json::object body = Browser::body_of(*r);
    EXPECT_FALSE(body.contains("code")) << r->body;
    EXPECT_EQ(body.at("data").at("online").to_number<int>(), 1) << r->body;
    r = b.call(Code::Biz,
               R"({"type":"room.chat","dataB64":"eyJyb29tX2lkIjozMywidGV4dCI6ImhpIn0="})");
    ASSERT_TRUE(r && r->code() == Code::BizResult);
    EXPECT_FALSE(Browser::body_of(*r).contains("code")) << "room.chat in dataB64: " << r->body;
}

TEST(TextEnvelopeV11, DataGivenTwiceIsAnErrorAndTheConnectionCloses) {
    NodeProcess node;
    Browser b(node);
    b.connect();
    b.login(11);
    auto e = b.call(Code::Biz, R"({"type":"room.enter","data":{"room_id":1},"dataB64":"e30="})");
    ASSERT_TRUE(e);
    ASSERT_EQ(e->code(), Code::Error) << e->body;
    const json::object body = Browser::body_of(*e);
    EXPECT_EQ(body.at("code").to_number<int>(), 1004) << "BAD_BODY: " << e->body;
    EXPECT_NE(std::string(body.at("message").as_string()).find("dataB64"), std::string::npos)
        << "the message says what to send: " << e->body;
    EXPECT_TRUE(b.connection().wait_closed(3000ms));
}

}  // namespace
