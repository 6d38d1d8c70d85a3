// tests/push/request_parse_test: the push API's input rules without sockets: bodies to
// PushRequest, path ids, base64, Content-Type, the bearer key and query strings.
#include "push/request_parse.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lp::push {
namespace {

struct Parsed {
    bool ok = false;
    PushRequest request;
    std::string error;
};

Parsed parse(Target target, std::string_view body, std::uint32_t max_user_ids = 10000) {
    Parsed p;
    p.ok = parse_push_body(target, body, {max_user_ids}, p.request, p.error);
    return p;
}

TEST(PushBody, UserPushCarriesEveryField) {
    auto p =
        parse(Target::User,
              R"({"user_id":42,"type":"pk.result","payload":{"a":[1, 2]},"qos":1,"ttl_s":30})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.target, Target::User);
    EXPECT_EQ(p.request.user_id, 42u);
    EXPECT_EQ(p.request.type, "pk.result");
    EXPECT_EQ(p.request.payload, R"({"a":[1, 2]})") << "the payload text is forwarded unchanged";
    EXPECT_EQ(p.request.qos, 1);
    EXPECT_EQ(p.request.ttl_s, 30u);
}

TEST(PushBody, IdsMayBeNumbersOrDecimalStringsUpTo64Bits) {
    auto p = parse(Target::User, R"({"user_id":"18446744073709551615","type":"t","payload":1})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.user_id, 18446744073709551615u);
    p = parse(Target::User, R"({"user_id":18446744073709551615,"type":"t","payload":1})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.user_id, 18446744073709551615u);
}

TEST(PushBody, BadIdsAreRefusedNamingTheField) {
    for (const char* id : {R"("abc")", "0", R"("0")", "-1", "1.5", R"("")", R"(" 1")", R"("+1")",
                           R"("18446744073709551616")", "true", "[1]", "{}"}) {
        auto p =
            parse(Target::User, std::string(R"({"type":"t","payload":1,"user_id":)") + id + "}");
        EXPECT_FALSE(p.ok) << id;
        EXPECT_NE(p.error.find("\"user_id\""), std::string::npos) << p.error;
    }
}

TEST(PushBody, MissingFieldsAreNamed) {
    EXPECT_EQ(parse(Target::User, R"({"type":"t","payload":1})").error, "\"user_id\" is required");
    EXPECT_EQ(parse(Target::Room, R"({"type":"t","payload":1})").error, "\"room_id\" is required");
    EXPECT_EQ(parse(Target::Users, R"({"type":"t","payload":1})").error,
              "\"user_ids\" is required");
    EXPECT_EQ(parse(Target::User, R"({"user_id":1,"payload":1})").error, "\"type\" is required");
    EXPECT_NE(parse(Target::User, R"({"user_id":1,"type":"t"})").error.find("\"payload\""),
              std::string::npos);
}

TEST(PushBody, NotJsonOrNotAnObjectIsRefused) {
    EXPECT_NE(parse(Target::User, R"({"user_id":1,)").error.find("not valid JSON"),
              std::string::npos);
    EXPECT_EQ(parse(Target::User, "[1]").error, "body must be a JSON object");
    EXPECT_NE(parse(Target::User, "").error.find("not valid JSON"), std::string::npos);
}

TEST(PushBody, TypeIsOneTo64Bytes) {
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":"","payload":1})").ok);
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":7,"payload":1})").ok);
    std::string t64(64, 't');
    EXPECT_TRUE(parse(Target::Broadcast, R"({"type":")" + t64 + R"(","payload":1})").ok);
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":")" + t64 + R"(x","payload":1})").ok);
}

TEST(PushBody, QosIsZeroOrOneAndZeroForRoomsAndBroadcasts) {
    EXPECT_EQ(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"qos":2})").error,
              "\"qos\" must be 0 or 1");
    EXPECT_FALSE(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"qos":-1})").ok);
    EXPECT_FALSE(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"qos":"1"})").ok);
    EXPECT_FALSE(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"qos":1.0})").ok);
    auto room = parse(Target::Room, R"({"room_id":1,"type":"t","payload":1,"qos":1})");
    EXPECT_NE(room.error.find("\"qos\" must be 0 for room"), std::string::npos) << room.error;
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":"t","payload":1,"qos":1})").ok);
    EXPECT_TRUE(parse(Target::Room, R"({"room_id":1,"type":"t","payload":1,"qos":0})").ok);
    EXPECT_TRUE(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"qos":null})").ok);
}

TEST(PushBody, TtlIsANonNegative32BitInteger) {
    EXPECT_TRUE(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"ttl_s":0})").ok);
    EXPECT_EQ(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"ttl_s":4294967295})")
                  .request.ttl_s,
              4294967295u);
    for (const char* ttl : {"-1", "4294967296", "1.5", R"("10")"}) {
        auto p = parse(Target::User,
                       std::string(R"({"user_id":1,"type":"t","payload":1,"ttl_s":)") + ttl + "}");
        EXPECT_FALSE(p.ok) << ttl;
        EXPECT_NE(p.error.find("\"ttl_s\""), std::string::npos);
    }
}

TEST(PushBody, UserIdsAreDedupedAndLimited) {
    auto p = parse(Target::Users, R"({"user_ids":[3,"1",3,2,1],"type":"t","payload":1})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.user_ids, (std::vector<std::uint64_t>{1, 2, 3}));

    auto over = parse(Target::Users, R"({"user_ids":[1,2,3],"type":"t","payload":1})", 2);
    EXPECT_FALSE(over.ok);
    EXPECT_NE(over.error.find("at most 2"), std::string::npos) << over.error;

    EXPECT_FALSE(parse(Target::Users, R"({"user_ids":[],"type":"t","payload":1})").ok);
    EXPECT_FALSE(parse(Target::Users, R"({"user_ids":5,"type":"t","payload":1})").ok);
    auto bad = parse(Target::Users, R"({"user_ids":[1,0],"type":"t","payload":1})");
    EXPECT_NE(bad.error.find("\"user_ids\"[1]"), std::string::npos) << bad.error;
}

TEST(PushBody, ExcludeIsSortedAndUnique) {
    auto p = parse(Target::Room, R"({"room_id":9,"type":"t","payload":1,"exclude":[5,"2",5,1]})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.exclude, (std::vector<std::uint64_t>{1, 2, 5}));
    auto b = parse(Target::Broadcast, R"({"type":"t","payload":1,"exclude":[7]})");
    ASSERT_TRUE(b.ok) << b.error;
    EXPECT_EQ(b.request.exclude, (std::vector<std::uint64_t>{7}));
    EXPECT_FALSE(parse(Target::Room, R"({"room_id":9,"type":"t","payload":1,"exclude":["x"]})").ok);
}

TEST(PushBody, PayloadIsAnyJsonValueForwardedAsWritten) {
    const std::pair<const char*, const char*> cases[] = {
        {R"({ "k" : [ 1 , { "n" : null } ] })", R"({ "k" : [ 1 , { "n" : null } ] })"},
        {R"("text \u00e9")", R"("text \u00e9")"},
        {"12345", "12345"},
        {"2.50", "2.50"},
        {"[[[]], [1, [2]]]", "[[[]], [1, [2]]]"},
        {"true", "true"},
    };
    for (const auto& [in, want] : cases) {
        auto p = parse(Target::Broadcast, std::string(R"({"type":"t","payload":)") + in + "}");
        ASSERT_TRUE(p.ok) << in << ": " << p.error;
        EXPECT_EQ(p.request.payload, want);
    }
}

TEST(PushBody, Base64PayloadArrivesAsBytes) {
    auto p = parse(Target::Broadcast, R"({"type":"t","payload_base64":"AP9oaQ=="})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.payload, std::string("\x00\xffhi", 4));
}

TEST(PushBody, ExactlyOneOfPayloadAndPayloadBase64) {
    EXPECT_FALSE(
        parse(Target::Broadcast, R"({"type":"t","payload":1,"payload_base64":"AA=="})").ok);
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":"t"})").ok);
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":"t","payload":null})").ok);
    EXPECT_TRUE(parse(Target::Broadcast, R"({"type":"t","payload":1,"payload_base64":null})").ok);
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":"t","payload_base64":"!!"})").ok);
    EXPECT_FALSE(parse(Target::Broadcast, R"({"type":"t","payload_base64":5})").ok);
}

// A room push's class (alias priority): one of the four names; unset = the type's default;
// anything else, both at once, or a class on a user push is a 400 naming the field.
TEST(PushBody, RoomClassIsOneOfFourNamesAliasPriority) {
    using lp::server::MsgClass;
    auto p = parse(Target::Room, R"({"room_id":1,"type":"t","payload":1,"class":"high"})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.cls, MsgClass::High);
    p = parse(Target::Room, R"({"room_id":1,"type":"t","payload":1,"priority":"low"})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_EQ(p.request.cls, MsgClass::Low);
    p = parse(Target::Room, R"({"room_id":1,"type":"t","payload":1})");
    ASSERT_TRUE(p.ok) << p.error;
    EXPECT_FALSE(p.request.cls.has_value());
    for (const char* bad : {R"("urgent")", R"("HIGH")", "1", "null", R"("")"}) {
        p = parse(Target::Room,
                  std::string(R"({"room_id":1,"type":"t","payload":1,"class":)") + bad + "}");
        if (std::string(bad) == "null") {
            EXPECT_TRUE(p.ok) << "null is absent";
            continue;
        }
        EXPECT_FALSE(p.ok) << bad;
        EXPECT_NE(p.error.find("\"class\" must be one of"), std::string::npos) << p.error;
    }
    EXPECT_FALSE(parse(Target::Room,
                       R"({"room_id":1,"type":"t","payload":1,"class":"low","priority":"low"})")
                     .ok);
    p = parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"class":"high"})");
    EXPECT_EQ(p.error, "\"class\" applies to room pushes only");
}

TEST(PushBody, UnknownFieldsAreIgnored) {
    EXPECT_TRUE(parse(Target::User, R"({"user_id":1,"type":"t","payload":1,"future":{"x":1}})").ok);
}

TEST(Base64, DecodesStandardAlphabetWithOrWithoutPadding) {
    std::string out;
    ASSERT_TRUE(decode_base64("", out));
    EXPECT_EQ(out, "");
    ASSERT_TRUE(decode_base64("Zm9vYmFy", out));
    EXPECT_EQ(out, "foobar");
    ASSERT_TRUE(decode_base64("Zm9vYg==", out));
    EXPECT_EQ(out, "foob");
    ASSERT_TRUE(decode_base64("Zm9vYg", out));
    EXPECT_EQ(out, "foob");
    ASSERT_TRUE(decode_base64("Zm9vYmE=", out));
    EXPECT_EQ(out, "fooba");
    ASSERT_TRUE(decode_base64("+/+/", out));
    EXPECT_EQ(out, "\xfb\xff\xbf");
}

TEST(Base64, RefusesWhatNoEncoderWrites) {
    std::string out;
    for (const char* bad : {"Zm9vY", "Zm9vYg=", "Zm9v YmFy", "Zm9v-_", "Zm==Zm9v", "=", "Zg==="}) {
        EXPECT_FALSE(decode_base64(bad, out)) << bad;
    }
}

TEST(KickBody, ReasonDefaultsToAdmin) {
    std::string reason, error;
    ASSERT_TRUE(parse_kick_body("", reason, error));
    EXPECT_EQ(reason, "admin");
    ASSERT_TRUE(parse_kick_body("{}", reason, error));
    EXPECT_EQ(reason, "admin");
    ASSERT_TRUE(parse_kick_body(R"({"reason":"banned"})", reason, error));
    EXPECT_EQ(reason, "banned");
    EXPECT_FALSE(parse_kick_body(R"({"reason":5})", reason, error));
    EXPECT_NE(error.find("\"reason\""), std::string::npos);
    EXPECT_FALSE(parse_kick_body("{", reason, error));
}

TEST(PathId, DigitsOnlyNonZero64Bit) {
    EXPECT_EQ(parse_path_id("42"), 42u);
    EXPECT_EQ(parse_path_id("18446744073709551615"), 18446744073709551615u);
    for (const char* bad : {"", "0", "abc", "-1", "+1", "1a", "18446744073709551616", " 1"}) {
        EXPECT_FALSE(parse_path_id(bad).has_value()) << bad;
    }
}

TEST(MediaType, JsonWithParametersAnyCase) {
    EXPECT_TRUE(is_json_media_type("application/json"));
    EXPECT_TRUE(is_json_media_type("Application/JSON; charset=utf-8"));
    EXPECT_TRUE(is_json_media_type(" application/json "));
    EXPECT_FALSE(is_json_media_type("text/plain"));
    EXPECT_FALSE(is_json_media_type("application/jsonx"));
    EXPECT_FALSE(is_json_media_type(""));
}

TEST(BearerKey, MatchesOnlyTheExactKey) {
    EXPECT_TRUE(bearer_key_matches("Bearer s3cret", "s3cret"));
    EXPECT_TRUE(bearer_key_matches("bearer s3cret", "s3cret"));
    EXPECT_FALSE(bearer_key_matches("Bearer s3cre", "s3cret"));
    EXPECT_FALSE(bearer_key_matches("Bearer s3cretx", "s3cret"));
    EXPECT_FALSE(bearer_key_matches("Bearer S3cret", "s3cret"));
    EXPECT_FALSE(bearer_key_matches("Basic s3cret", "s3cret"));
    EXPECT_FALSE(bearer_key_matches("s3cret", "s3cret"));
    EXPECT_FALSE(bearer_key_matches("", "s3cret"));
    EXPECT_FALSE(bearer_key_matches("Bearer ", ""));
}

TEST(Target, SplitsPathAndDecodesQuery) {
    std::string path;
    std::map<std::string, std::string> query;
    split_target("/v1/gift/send?room=12&name=a%20b+c&flag&x=%zz", path, query);
    EXPECT_EQ(path, "/v1/gift/send");
    EXPECT_EQ(query.at("room"), "12");
    EXPECT_EQ(query.at("name"), "a b c");
    EXPECT_EQ(query.at("flag"), "");
    EXPECT_EQ(query.at("x"), "%zz");
    split_target("/healthz", path, query);
    EXPECT_EQ(path, "/healthz");
    EXPECT_TRUE(query.empty());
}

}  // namespace
}  // namespace lp::push
