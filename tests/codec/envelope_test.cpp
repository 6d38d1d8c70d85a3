// Tests for codec/envelope: the WebSocket text envelope and body conversions in both the
// protobuf JSON mapping and binary protobuf.
#include "codec/envelope.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "livepush.pb.h"

namespace lp::codec {
namespace {

EnvelopeError decode(std::string_view text, Envelope* out = nullptr) {
    Envelope scratch;
    return decode_envelope(text, out ? *out : scratch);
}

TEST(Envelope, DecodesCodeSeqAndBody) {
    Envelope env;
    ASSERT_EQ(decode(R"({"code":1001,"seq":7,"body":{"token":"t","platform":"web"}})", &env),
              EnvelopeError::None);
    EXPECT_EQ(env.code, 1001);
    EXPECT_EQ(env.seq, 7u);
    EXPECT_EQ(boost::json::parse(env.body_json),
              boost::json::parse(R"({"token":"t","platform":"web"})"));
}

TEST(Envelope, MissingBodyMeansAnEmptyObject) {
    Envelope env;
    ASSERT_EQ(decode(R"({"code":1004,"seq":3})", &env), EnvelopeError::None);
    EXPECT_EQ(env.body_json, "{}");
    ASSERT_EQ(decode(R"({"code":1004,"seq":3,"body":null})", &env), EnvelopeError::None);
    EXPECT_EQ(env.body_json, "{}");
}

TEST(Envelope, MissingSeqMeansZero) {
    Envelope env;
    env.seq = 99;
    ASSERT_EQ(decode(R"({"code":1004})", &env), EnvelopeError::None);
    EXPECT_EQ(env.seq, 0u);
}

TEST(Envelope, AcceptsTheLargestSeqAndIgnoresUnknownMembers) {
    Envelope env;
    ASSERT_EQ(decode(R"({"code":1003,"seq":4294967295,"trace":"x","body":{}})", &env),
              EnvelopeError::None);
    EXPECT_EQ(env.seq, 4294967295u);
}

TEST(Envelope, RejectsAMissingUnknownOrMistypedCode) {
    for (std::string_view text :
         {R"({"seq":1})", R"({"code":9999})", R"({"code":"1001"})", R"({"code":-1})",
          R"({"code":66537})", R"({"code":1001.5})", R"({"code":null})", R"({"code":true})"}) {
        EXPECT_EQ(decode(text), EnvelopeError::BadCode) << text;
    }
}

TEST(Envelope, RejectsASeqThatIsNotAnUnsigned32BitNumber) {
    for (std::string_view text : {R"({"code":1001,"seq":-1})", R"({"code":1001,"seq":4294967296})",
                                  R"({"code":1001,"seq":"1"})", R"({"code":1001,"seq":1.5})"}) {
        EXPECT_EQ(decode(text), EnvelopeError::BadSeq) << text;
    }
}

TEST(Envelope, RejectsABodyThatIsNotAnObject) {
    for (std::string_view text : {R"({"code":1001,"body":[]})", R"({"code":1001,"body":"x"})",
                                  R"({"code":1001,"body":1})"}) {
        EXPECT_EQ(decode(text), EnvelopeError::BadBody) << text;
    }
}

TEST(Envelope, RejectsABodyWithANumberBeyondTheDoubleRange) {
    // Boost.JSON reads 1e400 as infinity and would write it back as "Infinity", not JSON: the
    // body could not be parsed again (a fuzz_envelope find). Rejected up front instead.
    for (std::string_view text :
         {R"({"code":1005,"body":{"msgIds":["37055",6e251151]}})",
          R"({"code":1003,"body":{"type":"x","data":{"a":[1,{"b":-1e400}]}}})"}) {
        EXPECT_EQ(decode(text), EnvelopeError::BadBody) << text;
    }
    Envelope env;
    EXPECT_EQ(decode(R"({"code":1003,"body":{"data":{"a":1e308,"b":-2.5e-300}}})", &env),
              EnvelopeError::None)
        << "large but finite numbers are fine";
}

TEST(Envelope, RejectsJsonThatIsNotAnObject) {
    for (std::string_view text : {"[1001,1,{}]", "\"login\"", "42", "null"}) {
        EXPECT_EQ(decode(text), EnvelopeError::NotObject) << text;
    }
}

TEST(Envelope, RejectsTextThatIsNotJson) {
    for (std::string_view text : {"", "{", "hello", R"({"code":1001,})", "{\"code\":1001} x",
                                  "{\"code\":1001,\"s\":\"\xFF\"}"}) {
        EXPECT_EQ(decode(text), EnvelopeError::NotJson) << text;
    }
}

TEST(Envelope, LeavesTheOutputUntouchedOnError) {
    Envelope env;
    env.code = 1;
    env.body_json = "keep";
    EXPECT_EQ(decode(R"({"code":1001,"body":[]})", &env), EnvelopeError::BadBody);
    EXPECT_EQ(env.code, 1);
    EXPECT_EQ(env.body_json, "keep");
}

TEST(Envelope, EncodesInTheDocumentedShape) {
    EXPECT_EQ(encode_envelope(2001, 5, R"({"code":0})"),
              R"({"code":2001,"seq":5,"body":{"code":0}})");
    EXPECT_EQ(encode_envelope(3001, 0, ""), R"({"code":3001,"seq":0,"body":{}})");
}

TEST(Envelope, EncodeThenDecodeRoundTrips) {
    Envelope env;
    ASSERT_EQ(decode(encode_envelope(2003, 4294967295u, R"({"type":"room.enter"})"), &env),
              EnvelopeError::None);
    EXPECT_EQ(env.code, 2003);
    EXPECT_EQ(env.seq, 4294967295u);
    EXPECT_EQ(env.body_json, R"({"type":"room.enter"})");
}

TEST(Envelope, EveryErrorHasADescription) {
    for (auto e : {EnvelopeError::None, EnvelopeError::NotJson, EnvelopeError::NotObject,
                   EnvelopeError::BadCode, EnvelopeError::BadSeq, EnvelopeError::BadBody}) {
        EXPECT_FALSE(to_string(e).empty());
    }
}

livepush::v1::LoginReq sample_login() {
    livepush::v1::LoginReq req;
    req.set_token("eyJhbGciOiJIUzI1NiJ9.e30.sig");
    req.set_device_id("dev-1");
    req.set_platform("web");
    req.mutable_resume()->set_room_id(18446744073709551615ull);
    req.mutable_resume()->set_last_seq(42);
    return req;
}

void expect_same(const google::protobuf::Message& a, const google::protobuf::Message& b) {
    EXPECT_EQ(a.SerializeAsString(), b.SerializeAsString())
        << a.ShortDebugString() << " vs " << b.ShortDebugString();
}

TEST(Body, LoginReqRoundTripsThroughJson) {
    const auto req = sample_login();
    const std::string json = serialize_body(req, true);
    EXPECT_NE(json.find(R"("deviceId":"dev-1")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("roomId":"18446744073709551615")"), std::string::npos) << json;
    livepush::v1::LoginReq back;
    ASSERT_TRUE(parse_body(json, true, back));
    expect_same(back, req);
}

TEST(Body, LoginReqRoundTripsThroughBinary) {
    const auto req = sample_login();
    livepush::v1::LoginReq back;
    ASSERT_TRUE(parse_body(serialize_body(req, false), false, back));
    expect_same(back, req);
}

TEST(Body, JsonAcceptsProtoAndCamelCaseNamesAndNumbersOrStringsForIds) {
    livepush::v1::Push a, b, c;
    ASSERT_TRUE(parse_body(R"({"room_id":"77","room_seq":5})", true, a));
    ASSERT_TRUE(parse_body(R"({"roomId":"77","roomSeq":"5"})", true, b));
    ASSERT_TRUE(parse_body(R"({"roomId":77,"roomSeq":5})", true, c));
    for (const auto* p : {&a, &b, &c}) {
        EXPECT_EQ(p->room_id(), 77u);
        EXPECT_EQ(p->room_seq(), 5u);
    }
}

TEST(Body, JsonIgnoresUnknownFields) {
    livepush::v1::LoginReq req;
    ASSERT_TRUE(parse_body(R"({"token":"t","futureField":{"x":[1,2]}})", true, req));
    EXPECT_EQ(req.token(), "t");
}

TEST(Body, JsonRejectsWrongTypesAndNonJson) {
    livepush::v1::Push push;
    EXPECT_FALSE(parse_body(R"({"roomId":"not a number"})", true, push));
    EXPECT_FALSE(parse_body(R"({"roomId":-1})", true, push));
    EXPECT_FALSE(parse_body("{", true, push));
    EXPECT_FALSE(parse_body("[]", true, push));
}

TEST(Body, PushPrintsUint64AsStringsAndPayloadAsItsJsonValue) {
    livepush::v1::Push push;
    push.set_msg_id(18446744073709551615ull);
    push.set_type("gift");
    push.set_room_id(9);
    push.set_room_seq(3);
    push.set_payload(R"({"gift":"rose"})");
    push.set_sent_at_ms(1700000000000ull);
    const std::string json = to_json(push);
    EXPECT_NE(json.find(R"("msgId":"18446744073709551615")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("roomId":"9")"), std::string::npos) << json;
    EXPECT_NE(json.find(R"("sentAtMs":"1700000000000")"), std::string::npos) << json;
    // The payload's wire form: the JSON value itself in JSON (v1.1; base64 in v1.0), the raw
    // bytes (field 5, length-delimited) in binary protobuf.
    EXPECT_NE(json.find(R"("payload":{"gift":"rose"})"), std::string::npos) << json;
    const std::string binary = serialize_body(push, false);
    EXPECT_NE(binary.find(std::string("\x2a\x0f") + R"({"gift":"rose"})"), std::string::npos);
    livepush::v1::Push odd;  // bytes that are not UTF-8, and a length that needs padding
    odd.set_payload(
        std::string("\xff\x00"
                    "a",
                    3));
    EXPECT_EQ(to_json(odd), R"({"payloadB64":"/wBh"})");
    livepush::v1::Push odd_back;
    ASSERT_TRUE(parse_body(to_json(odd), true, odd_back));
    EXPECT_EQ(odd_back.payload(), odd.payload());
    livepush::v1::Push back;
    ASSERT_TRUE(parse_body(json, true, back));
    expect_same(back, push);
    ASSERT_TRUE(parse_body(serialize_body(push, false), false, back));
    expect_same(back, push);
}

TEST(Body, FieldsAtTheirDefaultAreLeftOut) {
    livepush::v1::Result ok;
    EXPECT_EQ(to_json(ok), "{}") << "a successful Result has no \"code\" (0 is the default)";
    EXPECT_EQ(serialize_body(ok, true), "{}");
    livepush::v1::Result biz;
    biz.set_type("room.enter");
    biz.set_data(R"({"online":1})");
    EXPECT_EQ(to_json(biz), R"({"type":"room.enter","data":{"online":1}})")
        << "no \"userId\":\"0\", \"nodeId\":\"\" or \"heartbeatIntervalMs\":0";
    livepush::v1::Result refused;
    refused.set_code(livepush::v1::BAD_BODY);
    EXPECT_EQ(to_json(refused), R"({"code":1004})");
}

TEST(Body, EmptyBodyIsAValidEmptyMessageInBothModes) {
    livepush::v1::LoginReq req = sample_login();
    ASSERT_TRUE(parse_body("", false, req));
    EXPECT_EQ(req.ByteSizeLong(), 0u);
    req = sample_login();
    ASSERT_TRUE(parse_body("", true, req));
    EXPECT_EQ(req.ByteSizeLong(), 0u);
}

TEST(Body, BinaryRejectsTruncatedProtobuf) {
    const std::string full = serialize_body(sample_login(), false);
    livepush::v1::LoginReq req;
    for (std::size_t len : {std::size_t{1}, std::size_t{5}, full.size() - 1}) {
        EXPECT_FALSE(parse_body(std::string_view(full).substr(0, len), false, req)) << len;
        EXPECT_EQ(req.ByteSizeLong(), 0u);  // no half-parsed fields left behind
    }
}

TEST(Body, BinaryRejectsGarbage) {
    livepush::v1::LoginReq req;
    EXPECT_FALSE(parse_body("\xFF\xFF\xFF\xFF", false, req));
    EXPECT_FALSE(parse_body(R"({"token":"json sent without JSON_BODY"})", false, req));
}

}  // namespace
}  // namespace lp::codec
