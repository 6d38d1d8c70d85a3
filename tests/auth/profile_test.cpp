// Tests for auth/profile: which profile claims (name, avatar, level, medal) a token may carry,
// the canonical JSON a session keeps of them, and the refusal (naming the claim) of a claim out
// of its bounds, both on a parsed payload and through JwtVerifier.
#include "auth/profile.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <string>

#include "auth/jwt.hpp"

namespace lp::auth {
namespace {

namespace json = boost::json;

struct Read {
    bool ok = false;
    std::string json, why;
};

Read read(std::string_view payload_json) {
    Read r;
    r.ok = read_profile(json::parse(payload_json).as_object(), r.json, r.why);
    return r;
}

std::string repeat(std::string_view s, std::size_t n) {
    std::string out;
    for (std::size_t i = 0; i < n; ++i) out += s;
    return out;
}

std::string name_claim(const std::string& name) {
    return R"({"name":")" + name + R"("})";
}
std::string medal_claim(const std::string& name, int level) {
    return R"({"medal":{"name":")" + name + R"(","level":)" + std::to_string(level) + "}}";
}

TEST(Profile, AFullProfileBecomesOneCanonicalObjectInAFixedOrder) {
    auto r = read(R"({"sub":"1","medal":{"level":12,"name":"Fans","extra":true},"level":40,)"
                  R"("avatar":"https://cdn.example.com/a/1.png","name":"小明","exp":1})");
    ASSERT_TRUE(r.ok) << r.why;
    EXPECT_EQ(r.json, R"({"name":"小明","avatar":"https://cdn.example.com/a/1.png","level":40,)"
                      R"("medal":{"name":"Fans","level":12}})")
        << "known keys only, in the documented order, other token claims left out";
}

TEST(Profile, NoClaimsNullsAndEmptyStringsGiveNoProfile) {
    for (const char* p :
         {R"({"sub":"1"})", R"({"name":null,"avatar":null,"level":null,"medal":null})",
          R"({"name":"","avatar":""})"}) {
        auto r = read(p);
        EXPECT_TRUE(r.ok) << p << ": " << r.why;
        EXPECT_EQ(r.json, "") << p;
    }
    auto only_level = read(R"({"level":0})");
    ASSERT_TRUE(only_level.ok);
    EXPECT_EQ(only_level.json, R"({"level":0})") << "level 0 is a level, not an absence";
}

TEST(Profile, NameIsBoundedInCharactersNotBytes) {
    EXPECT_TRUE(read(name_claim(repeat("a", 32))).ok);
    EXPECT_TRUE(read(name_claim(repeat("星", 32))).ok)
        << "32 CJK characters (96 bytes) are a fine name";
    EXPECT_TRUE(read(name_claim(repeat("😀", 32))).ok) << "32 four-byte characters";
    auto r = read(name_claim(repeat("a", 33)));
    EXPECT_FALSE(r.ok);
    EXPECT_EQ(r.why.rfind("name: ", 0), 0u) << r.why;
    EXPECT_FALSE(read(name_claim(repeat("星", 33))).ok);
}

TEST(Profile, NameRefusesControlAndBidiOverrideCharacters) {
    for (const char* bad :
         {R"(a\nb)", R"(a\u0000b)", R"(a\u007fb)", R"(a\u0085b)", R"(a\u202eb)", R"(a\u2067b)"}) {
        auto r = read(name_claim(bad));
        EXPECT_FALSE(r.ok) << bad;
        EXPECT_EQ(r.why.rfind("name: ", 0), 0u) << r.why;
    }
    EXPECT_TRUE(read(name_claim("a b-c_d.é")).ok);
}

TEST(Profile, NonStringNameIsRefused) {
    EXPECT_FALSE(read(R"({"name":42})").ok);
    EXPECT_FALSE(read(R"({"name":["a"]})").ok);
}

TEST(Profile, AvatarMustBeAShortPrintableHttpsUrl) {
    const std::string base = "https://cdn.example.com/";
    EXPECT_TRUE(read(R"({"avatar":")" + base + "a%20b.png?x=1#f\"}").ok);
    const std::string at_bound = base + repeat("a", 256 - base.size());
    EXPECT_TRUE(read(R"({"avatar":")" + at_bound + "\"}").ok) << "256 bytes";
    for (const std::string& bad :
         {at_bound + "a", std::string("http://cdn.example.com/a.png"), std::string("https://"),
          std::string("https:///path"), std::string("javascript:alert(1)"), base + "a b.png",
          base + "a<b", base + "é.png", std::string("HTTPS://cdn.example.com/a")}) {
        auto r = read(R"({"avatar":")" + bad + "\"}");
        EXPECT_FALSE(r.ok) << bad;
        EXPECT_EQ(r.why.rfind("avatar: ", 0), 0u) << r.why;
    }
    EXPECT_FALSE(read(R"({"avatar":{"url":"https://x"}})").ok);
}

TEST(Profile, LevelIsAnInteger0To1000) {
    EXPECT_TRUE(read(R"({"level":1000})").ok);
    for (const char* bad :
         {R"({"level":1001})", R"({"level":-1})", R"({"level":5.0})", R"({"level":"5"})",
          R"({"level":true})", R"({"level":18446744073709551615})"}) {
        auto r = read(bad);
        EXPECT_FALSE(r.ok) << bad;
        EXPECT_EQ(r.why, "level: must be an integer 0..1000") << bad;
    }
}

TEST(Profile, MedalNeedsANameOf1To16CharactersAndALevel0To100) {
    EXPECT_TRUE(read(medal_claim(repeat("粉", 16), 100)).ok);
    EXPECT_TRUE(read(medal_claim("x", 0)).ok);
    auto long_name = read(medal_claim(repeat("粉", 17), 1));
    EXPECT_FALSE(long_name.ok);
    EXPECT_EQ(long_name.why.rfind("medal.name: ", 0), 0u) << long_name.why;
    EXPECT_FALSE(read(medal_claim("", 1)).ok) << "a medal without a name cannot be drawn";
    auto high = read(medal_claim("x", 101));
    EXPECT_FALSE(high.ok);
    EXPECT_EQ(high.why, "medal.level: must be an integer 0..100");
    EXPECT_EQ(read(R"({"medal":{"name":"x"}})").why, "medal.level: must be an integer 0..100");
    EXPECT_EQ(read(R"({"medal":{"level":3}})").why.rfind("medal.name: ", 0), 0u);
    EXPECT_EQ(read(R"({"medal":"Fans"})").why, "medal: must be an object {name, level}");
}

TEST(Profile, AProfileAtEveryBoundIsAtMost516BytesOfJson) {
    // The largest characters (4 bytes), the longest URL, the widest numbers (docs/rooms.md).
    const std::string avatar = "https://" + repeat("a", 256 - 8);
    auto r =
        read(R"({"name":")" + repeat("😀", 32) + R"(","avatar":")" + avatar + R"(","level":1000,)" +
             R"("medal":{"name":")" + repeat("😀", 16) + R"(","level":100}})");
    ASSERT_TRUE(r.ok) << r.why;
    EXPECT_EQ(r.json.size(), 516u);
    // Quotes are escaped (2 bytes each) but are 1-byte characters: 32 of them are still smaller.
    auto quotes = read(name_claim(repeat(R"(\")", 32)));
    ASSERT_TRUE(quotes.ok) << quotes.why;
    EXPECT_LT(quotes.json.size(), 4 * 32 + 10u);
}

// Through the verifier: a signed token's claims end in Claims::profile, or the token is refused
// with BadProfile and the claim named. mint_hs256 writes the claims unchecked.
constexpr std::string_view kSecret = "profile-test-secret-of-reasonable-length";
constexpr std::int64_t kNow = 1'700'000'000;

TEST(ProfileJwt, AVerifiedTokenCarriesItsProfile) {
    ProfileClaims p;
    p.name = "Ann";
    p.avatar = "https://cdn.example.com/ann.png";
    p.level = 7;
    p.medal_name = "Stars";
    p.medal_level = 3;
    Claims c;
    ASSERT_EQ(JwtVerifier(std::string(kSecret))
                  .verify(mint_hs256(kSecret, 5, "viewer", kNow, kNow + 60, {}, {}, p), kNow, c),
              JwtError::None);
    EXPECT_EQ(c.user_id, 5u);
    EXPECT_EQ(c.profile, R"({"name":"Ann","avatar":"https://cdn.example.com/ann.png","level":7,)"
                         R"("medal":{"name":"Stars","level":3}})");

    Claims plain;
    ASSERT_EQ(JwtVerifier(std::string(kSecret))
                  .verify(mint_hs256(kSecret, 5, "viewer", kNow, kNow + 60), kNow, plain),
              JwtError::None);
    EXPECT_EQ(plain.profile, "");
}

TEST(ProfileJwt, AClaimOutOfBoundsRefusesTheTokenAndNamesTheClaim) {
    ProfileClaims p;
    p.name = "Ann";
    p.medal_name = "Stars";
    p.medal_level = 101;
    Claims c;
    EXPECT_EQ(JwtVerifier(std::string(kSecret))
                  .verify(mint_hs256(kSecret, 5, "viewer", kNow, kNow + 60, {}, {}, p), kNow, c),
              JwtError::BadProfile);
    EXPECT_EQ(c.profile_error, "medal.level: must be an integer 0..100");
}

TEST(ProfileJwt, ABadSignatureIsRefusedAsSuchBeforeTheProfileIsRead) {
    ProfileClaims p;
    p.level = 5000;
    Claims c;
    EXPECT_EQ(
        JwtVerifier(std::string(kSecret))
            .verify(mint_hs256("another-secret", 5, "viewer", kNow, kNow + 60, {}, {}, p), kNow, c),
        JwtError::BadSignature);
}

}  // namespace
}  // namespace lp::auth
