// Tests for codec/body_json: text envelope v1.1. BizReq.data, Result.data and Push.payload as
// JSON values, base64 under "dataB64"/"payloadB64" for bytes that are not a JSON value (or are
// a JSON string), the v1.0 base64 string still read, and what is refused.
#include <gtest/gtest.h>

#include <string>

#include "codec/envelope.hpp"
#include "livepush.pb.h"

namespace lp::codec {
namespace {

namespace pb = livepush::v1;

TEST(BodyJsonV11, BizReqDataTravelsAsTheJsonValueBothWays) {
    pb::BizReq req;
    req.set_type("room.enter");
    req.set_data(R"({"room_id":1,"last_seq":0})");
    EXPECT_EQ(to_json(req), R"({"type":"room.enter","data":{"room_id":1,"last_seq":0}})");
    pb::BizReq back;
    ASSERT_TRUE(parse_body(to_json(req), true, back));
    EXPECT_EQ(back.data(), req.data());
    EXPECT_EQ(back.type(), "room.enter");
}

TEST(BodyJsonV11, EveryKindOfJsonValueButAStringOrNullIsSpliced) {
    for (const char* value :
         {"[1,2,{\"a\":null}]", "42", "-1.5", "true", "false", "{}", "{\"t\":\"caf\xc3\xa9\"}"}) {
        pb::Push push;
        push.set_payload(value);
        EXPECT_EQ(to_json(push), std::string(R"({"payload":)") + value + "}");
        pb::Push back;
        ASSERT_TRUE(parse_body(to_json(push), true, back)) << value;
        EXPECT_EQ(back.payload(), value) << "a compact value comes back byte for byte";
    }
}

TEST(BodyJsonV11, ValidJsonIsSplicedVerbatimNotReformatted) {
    pb::Result r;
    r.set_data("{ \"price\" : 1.50 }\n");
    EXPECT_EQ(to_json(r), "{\"data\":{ \"price\" : 1.50 }\n}");
    pb::Result back;
    ASSERT_TRUE(parse_body(to_json(r), true, back));
    EXPECT_EQ(back.data(), R"({"price":1.5})") << "read back: the same value, compact";
}

TEST(BodyJsonV11, BytesThatAreNotAJsonValueTravelAsBase64InPayloadB64) {
    struct Case {
        std::string bytes, b64;
    } cases[] = {
        {"plain text", "cGxhaW4gdGV4dA=="},
        {"\"a json string\"", "ImEganNvbiBzdHJpbmci"},  // a string would read as v1.0 base64
        {"null", "bnVsbA=="},                           // null would read as no bytes
        {"{\"a\":1", "eyJhIjox"},                       // truncated
        {"{\"a\":1}{}", "eyJhIjoxfXt9"},                // two values
        {"{\"x\":\"\xff\"}", "eyJ4Ijoi/yJ9"},           // invalid UTF-8 inside a string
        {"1e999", "MWU5OTk="},                          // a number no double holds
    };
    for (const auto& c : cases) {
        pb::Push push;
        push.set_msg_id(5);
        push.set_payload(c.bytes);
        EXPECT_EQ(to_json(push), R"({"msgId":"5","payloadB64":")" + c.b64 + "\"}") << c.bytes;
        pb::Push back;
        ASSERT_TRUE(parse_body(to_json(push), true, back)) << c.bytes;
        EXPECT_EQ(back.payload(), c.bytes);
    }
    // Deeper than a client's default JSON parser would read inside the envelope: base64.
    pb::Result deep;
    deep.set_data(std::string(30, '[') + std::string(30, ']'));
    EXPECT_NE(to_json(deep).find("\"dataB64\":"), std::string::npos) << to_json(deep);
    pb::Result fits;
    fits.set_data(std::string(29, '[') + std::string(29, ']'));
    EXPECT_EQ(to_json(fits), "{\"data\":" + fits.data() + "}");
}

TEST(BodyJsonV11, TheV10Base64StringIsStillReadOnInput) {
    pb::BizReq req;
    // "eyJyb29tX2lkIjoxfQ==" is base64 of {"room_id":1}: what v1.0 text clients send.
    ASSERT_TRUE(parse_body(R"({"type":"room.enter","data":"eyJyb29tX2lkIjoxfQ=="})", true, req));
    EXPECT_EQ(req.data(), R"({"room_id":1})");
    ASSERT_TRUE(parse_body(R"({"type":"room.enter","dataB64":"eyJyb29tX2lkIjoxfQ=="})", true, req));
    EXPECT_EQ(req.data(), R"({"room_id":1})");
    pb::Push push;
    ASSERT_TRUE(parse_body(R"({"payload":"eyJnaWZ0Ijoicm9zZSJ9"})", true, push));
    EXPECT_EQ(push.payload(), R"({"gift":"rose"})");
    ASSERT_TRUE(parse_body(R"({"type":"t","data":null})", true, req));
    EXPECT_EQ(req.data(), "") << "null means not given, as for every other field";
}

TEST(BodyJsonV11, MalformedOrAmbiguousDataIsRefused) {
    pb::BizReq req;
    req.set_type("left over");
    for (const char* body : {
             R"({"type":"room.enter","data":"not base64!"})",
             R"({"type":"room.enter","data":{"a":1},"dataB64":"e30="})",  // both: which one?
             R"({"type":"room.enter","dataB64":{"a":1}})",                // base64 must be a string
             R"({"type":"room.enter","data":{"a":1e999}})",               // not a double
             R"({"type":7,"data":{"a":1}})",            // rest of the body checked
             R"({"type":"room.enter","data":{"a":1})",  // not JSON
             R"([{"type":"room.enter"}])",
         }) {
        EXPECT_FALSE(parse_body(body, true, req)) << body;
        EXPECT_EQ(req.ByteSizeLong(), 0u) << "no half-parsed fields left behind: " << body;
    }
}

TEST(BodyJsonV11, MessagesWithoutAJsonBytesFieldKeepTheStandardMapping) {
    pb::LoginReq login;
    login.set_token("t");
    EXPECT_EQ(to_json(login), R"({"token":"t"})");
    pb::Kick kick;
    kick.set_reason("draining");
    EXPECT_EQ(to_json(kick), R"({"reason":"draining"})");
}

}  // namespace
}  // namespace lp::codec
