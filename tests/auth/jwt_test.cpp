// Tests for handlers/jwt: what LOGIN accepts and refuses as a token.
//
// Tokens are built here from raw header and payload JSON and signed with OpenSSL directly, so
// the tests do not trust mint_hs256() to produce the shapes they want to attack.
#include "auth/jwt.hpp"

#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <random>
#include <string>

namespace lp::auth {
namespace {

constexpr std::string_view kSecret = "test-secret-of-reasonable-length";
constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::string_view kHs256Header = R"({"alg":"HS256","typ":"JWT"})";

std::string hmac(const EVP_MD* md, std::string_view key, std::string_view data) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    HMAC(md, key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac, &mac_len);
    return std::string(reinterpret_cast<const char*>(mac), mac_len);
}

std::string signing_input(std::string_view header, std::string_view payload) {
    return base64url_encode(header) + "." + base64url_encode(payload);
}

std::string sign(std::string_view header, std::string_view payload,
                 std::string_view secret = kSecret, const EVP_MD* md = EVP_sha256()) {
    const std::string input = signing_input(header, payload);
    return input + "." + base64url_encode(hmac(md, secret, input));
}

std::string payload_with(std::string_view claims) {
    return "{" + std::string(claims) + R"(,"exp":)" + std::to_string(kNow + 3600) + "}";
}

JwtError verify(std::string_view token, Claims& claims, std::int64_t now = kNow) {
    return JwtVerifier(std::string(kSecret), 30).verify(token, now, claims);
}

JwtError verify(std::string_view token, std::int64_t now = kNow) {
    Claims claims;
    return verify(token, claims, now);
}

TEST(Base64Url, RoundTripsEveryLengthWithoutPadding) {
    std::string bytes;
    for (int length = 0; length < 70; ++length) {
        const std::string encoded = base64url_encode(bytes);
        EXPECT_EQ(encoded.find_first_of("=+/"), std::string::npos) << encoded;
        std::string decoded;
        ASSERT_TRUE(base64url_decode(encoded, decoded)) << encoded;
        EXPECT_EQ(decoded, bytes);
        bytes += static_cast<char>(length * 37 + 250);
    }
}

TEST(Base64Url, MatchesKnownEncoding) {
    EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
    EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
    EXPECT_EQ(base64url_encode("fooba"), "Zm9vYmE");
}

TEST(Base64Url, RefusesPaddingAndCharactersOutsideTheAlphabet) {
    std::string out;
    EXPECT_FALSE(base64url_decode("Zm9vYmE=", out));
    EXPECT_FALSE(base64url_decode("+/8", out));
    EXPECT_FALSE(base64url_decode("Zm9v YmE", out));
    EXPECT_FALSE(base64url_decode("Zm9v\nYmE", out));
    EXPECT_FALSE(base64url_decode(std::string_view("Zm\0v", 4), out));
}

TEST(Base64Url, RefusesImpossibleLengthAndNonCanonicalTail) {
    std::string out;
    EXPECT_FALSE(base64url_decode("Zm9vY", out));  // 4k+1 characters
    EXPECT_TRUE(base64url_decode("Zg", out));
    EXPECT_FALSE(base64url_decode("Zh", out));  // same byte, non-zero unused bits
}

TEST(Jwt, MintedTokenVerifies) {
    const std::string token = mint_hs256(kSecret, 42, "anchor", kNow, kNow + 60);
    Claims claims;
    ASSERT_EQ(verify(token, claims), JwtError::None);
    EXPECT_EQ(claims.user_id, 42u);
    EXPECT_EQ(claims.role, "anchor");
    EXPECT_EQ(claims.exp, kNow + 60);
}

TEST(Jwt, MintWritesTheDocumentedHeaderAndPayload) {
    const std::string token = mint_hs256(kSecret, 7, "viewer", 100, 200);
    const auto dot1 = token.find('.');
    const auto dot2 = token.find('.', dot1 + 1);
    std::string header, payload;
    ASSERT_TRUE(base64url_decode(token.substr(0, dot1), header));
    ASSERT_TRUE(base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1), payload));
    EXPECT_EQ(header, R"({"alg":"HS256","typ":"JWT"})");
    EXPECT_EQ(payload, R"({"sub":"7","role":"viewer","iat":100,"exp":200})");
}

TEST(Jwt, MintEscapesRole) {
    const std::string token = mint_hs256(kSecret, 7, "a\"b\\c", kNow, kNow + 60);
    Claims claims;
    ASSERT_EQ(verify(token, claims), JwtError::None);
    EXPECT_EQ(claims.role, "a\"b\\c");
}

// The example token of jwt.io, signed by another implementation: proves the HMAC input and
// encoding match. It carries no exp, so it gets as far as the claims and stops there.
TEST(Jwt, InteroperatesWithJwtIoExample) {
    const std::string token =
        "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
        "eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ."
        "SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    Claims claims;
    EXPECT_EQ(JwtVerifier("your-256-bit-secret").verify(token, kNow, claims), JwtError::Expired);
    EXPECT_EQ(JwtVerifier("another-secret").verify(token, kNow, claims), JwtError::BadSignature);
}

// RFC 7515 appendix A.1: typ before alg, CRLF inside the JSON, a binary key. Valid signature and
// exp, no sub.
TEST(Jwt, InteroperatesWithRfc7515Example) {
    std::string key;
    ASSERT_TRUE(base64url_decode(
        "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow",
        key));
    const std::string token =
        "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
        "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0"
        "cnVlfQ."
        "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    Claims claims;
    EXPECT_EQ(JwtVerifier(key).verify(token, 1300819380, claims), JwtError::NoSubject);
    EXPECT_EQ(JwtVerifier(key, 0).verify(token, 1300819381, claims), JwtError::Expired);
}

TEST(Jwt, RoleDefaultsToViewer) {
    Claims claims;
    ASSERT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"9")")), claims), JwtError::None);
    EXPECT_EQ(claims.user_id, 9u);
    EXPECT_EQ(claims.role, "viewer");
}

TEST(Jwt, TypIsOptional) {
    EXPECT_EQ(verify(sign(R"({"alg":"HS256"})", payload_with(R"("sub":"9")"))), JwtError::None);
}

TEST(Jwt, ExpiredTokenRefused) {
    const std::string token = mint_hs256(kSecret, 1, "viewer", kNow - 3600, kNow - 31);
    EXPECT_EQ(verify(token), JwtError::Expired);
}

TEST(Jwt, ExpiryWithinLeewayAccepted) {
    const std::string token = mint_hs256(kSecret, 1, "viewer", kNow - 3600, kNow - 30);
    EXPECT_EQ(verify(token), JwtError::None);  // now == exp + leeway
    EXPECT_EQ(verify(token, kNow + 1), JwtError::Expired);
}

TEST(Jwt, ExpFarInTheFutureDoesNotOverflow) {
    const std::string token = sign(kHs256Header, R"({"sub":"1","exp":9223372036854775807})");
    EXPECT_EQ(verify(token), JwtError::None);
    EXPECT_EQ(verify(sign(kHs256Header, R"({"sub":"1","exp":1e300})")), JwtError::None);
}

TEST(Jwt, FractionalExpIsHonoured) {
    const std::string payload = R"({"sub":"1","exp":)" + std::to_string(kNow) + ".5}";
    Claims claims;
    EXPECT_EQ(
        JwtVerifier(std::string(kSecret), 0).verify(sign(kHs256Header, payload), kNow, claims),
        JwtError::None);
    EXPECT_EQ(
        JwtVerifier(std::string(kSecret), 0).verify(sign(kHs256Header, payload), kNow + 1, claims),
        JwtError::Expired);
}

TEST(Jwt, MissingExpRefused) {
    EXPECT_EQ(verify(sign(kHs256Header, R"({"sub":"1"})")), JwtError::Expired);
}

TEST(Jwt, NonNumericExpIsMalformed) {
    EXPECT_EQ(verify(sign(kHs256Header, R"({"sub":"1","exp":"1999999999"})")), JwtError::Malformed);
    EXPECT_EQ(verify(sign(kHs256Header, R"({"sub":"1","exp":null})")), JwtError::Malformed);
}

TEST(Jwt, NbfInFutureRefused) {
    const std::string payload = payload_with(R"("sub":"1","nbf":)" + std::to_string(kNow + 31));
    EXPECT_EQ(verify(sign(kHs256Header, payload)), JwtError::NotYetValid);
}

TEST(Jwt, NbfWithinLeewayAccepted) {
    const std::string payload = payload_with(R"("sub":"1","nbf":)" + std::to_string(kNow + 30));
    EXPECT_EQ(verify(sign(kHs256Header, payload)), JwtError::None);
}

TEST(Jwt, NonNumericNbfIsMalformed) {
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"1","nbf":"soon")"))),
              JwtError::Malformed);
}

TEST(Jwt, AlgNoneWithEmptySignatureRefused) {
    const std::string token =
        signing_input(R"({"alg":"none","typ":"JWT"})", payload_with(R"("sub":"1")")) + ".";
    EXPECT_EQ(verify(token), JwtError::BadAlgorithm);
}

TEST(Jwt, AlgNoneWithSignatureRefused) {
    // Even a signature that is right for the bytes must not rescue alg none.
    EXPECT_EQ(verify(sign(R"({"alg":"none"})", payload_with(R"("sub":"1")"))),
              JwtError::BadAlgorithm);
}

TEST(Jwt, AlgIsMatchedExactly) {
    for (const char* header :
         {R"({"alg":"None"})", R"({"alg":"hs256"})", R"({"alg":"HS256 "})", R"({"alg":""})",
          R"({"alg":null})", R"({"alg":["HS256"]})", R"({"typ":"JWT"})", R"({})"}) {
        EXPECT_EQ(verify(sign(header, payload_with(R"("sub":"1")"))), JwtError::BadAlgorithm)
            << header;
    }
}

TEST(Jwt, AlgHs512Refused) {
    const std::string token =
        sign(R"({"alg":"HS512","typ":"JWT"})", payload_with(R"("sub":"1")"), kSecret, EVP_sha512());
    EXPECT_EQ(verify(token), JwtError::BadAlgorithm);
}

TEST(Jwt, WrongKeyRefused) {
    const std::string token = mint_hs256("some-other-secret", 1, "admin", kNow, kNow + 60);
    EXPECT_EQ(verify(token), JwtError::BadSignature);
}

TEST(Jwt, TamperedPayloadRefused) {
    const std::string token = mint_hs256(kSecret, 1, "viewer", kNow, kNow + 60);
    const auto dot1 = token.find('.');
    const auto dot2 = token.find('.', dot1 + 1);
    const std::string forged_payload =
        base64url_encode(R"({"sub":"1","role":"admin","iat":)" + std::to_string(kNow) +
                         R"(,"exp":)" + std::to_string(kNow + 60) + "}");
    const std::string forged = token.substr(0, dot1 + 1) + forged_payload + token.substr(dot2);
    EXPECT_EQ(verify(forged), JwtError::BadSignature);
}

TEST(Jwt, TamperedSignatureRefused) {
    std::string token = mint_hs256(kSecret, 1, "viewer", kNow, kNow + 60);
    token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
    EXPECT_EQ(verify(token), JwtError::BadSignature);
}

TEST(Jwt, TruncatedOrOverlongSignatureRefused) {
    const std::string token = mint_hs256(kSecret, 1, "viewer", kNow, kNow + 60);
    const std::string without_signature = token.substr(0, token.rfind('.') + 1);
    EXPECT_EQ(verify(without_signature), JwtError::BadSignature);
    EXPECT_EQ(verify(without_signature + "AAAA"), JwtError::BadSignature);
    EXPECT_EQ(verify(token + "AAAA"), JwtError::BadSignature);
}

TEST(Jwt, EmptySecretRefusesEverything) {
    const std::string token = mint_hs256("", 1, "viewer", kNow, kNow + 60);
    Claims claims;
    // No key for HS256 at all: the algorithm itself is refused.
    EXPECT_EQ(JwtVerifier("").verify(token, kNow, claims), JwtError::BadAlgorithm);
}

TEST(Jwt, GarbageIsMalformed) {
    const std::string good = mint_hs256(kSecret, 1, "viewer", kNow, kNow + 60);
    for (const std::string& token : {
             std::string(""),
             std::string("abc"),
             std::string("a.b"),
             std::string(".."),
             std::string("..."),
             good + ".",
             good + ".x",
             std::string("!!!.eyJ9.abc"),
             "=" + good,
             good.substr(0, good.find('.')) + "$" + good.substr(good.find('.')),
             std::string(10000, 'a'),
         }) {
        EXPECT_EQ(verify(token), JwtError::Malformed) << token;
    }
}

TEST(Jwt, BadBase64InPayloadIsRefused) {
    const std::string good = mint_hs256(kSecret, 1, "viewer", kNow, kNow + 60);
    const auto dot1 = good.find('.');
    std::string token = good;
    token.insert(dot1 + 1, "*");
    // The signature covers the bytes as sent, so the tampering fails the signature first.
    EXPECT_NE(verify(token), JwtError::None);
    // Correctly signed but undecodable payload.
    const std::string header = base64url_encode(kHs256Header);
    const std::string input = header + ".e*";
    EXPECT_EQ(verify(input + "." + base64url_encode(hmac(EVP_sha256(), kSecret, input))),
              JwtError::Malformed);
}

TEST(Jwt, NonObjectJsonIsMalformed) {
    EXPECT_EQ(verify(sign(R"(["HS256"])", payload_with(R"("sub":"1")"))), JwtError::Malformed);
    EXPECT_EQ(verify(sign("not json", payload_with(R"("sub":"1")"))), JwtError::Malformed);
    EXPECT_EQ(verify(sign(kHs256Header, "42")), JwtError::Malformed);
    EXPECT_EQ(verify(sign(kHs256Header, R"({"sub":"1",)")), JwtError::Malformed);
    EXPECT_EQ(verify(sign(kHs256Header, std::string(5000, '[') + std::string(5000, ']'))),
              JwtError::Malformed);
}

TEST(Jwt, CritHeaderRefused) {
    EXPECT_EQ(verify(sign(R"({"alg":"HS256","crit":["exp"]})", payload_with(R"("sub":"1")"))),
              JwtError::Malformed);
}

TEST(Jwt, MissingSubRefused) {
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("role":"viewer")"))), JwtError::NoSubject);
}

TEST(Jwt, SubZeroRefused) {
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":0)"))), JwtError::NoSubject);
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"0")"))), JwtError::NoSubject);
}

TEST(Jwt, NegativeSubRefused) {
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":-5)"))), JwtError::NoSubject);
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"-5")"))), JwtError::NoSubject);
}

TEST(Jwt, SubAsStringAccepted) {
    Claims claims;
    ASSERT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"123456789")")), claims),
              JwtError::None);
    EXPECT_EQ(claims.user_id, 123456789u);
}

TEST(Jwt, SubAsNumberAccepted) {
    Claims claims;
    ASSERT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":123456789)")), claims),
              JwtError::None);
    EXPECT_EQ(claims.user_id, 123456789u);
}

TEST(Jwt, SubUpToMaxUint64Accepted) {
    Claims claims;
    ASSERT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":18446744073709551615)")), claims),
              JwtError::None);
    EXPECT_EQ(claims.user_id, 18446744073709551615u);
    ASSERT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"18446744073709551615")")), claims),
              JwtError::None);
    EXPECT_EQ(claims.user_id, 18446744073709551615u);
}

TEST(Jwt, SubAbove2To64Refused) {
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":18446744073709551616)"))),
              JwtError::NoSubject);
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"18446744073709551616")"))),
              JwtError::NoSubject);
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"99999999999999999999999")"))),
              JwtError::NoSubject);
}

TEST(Jwt, SubThatIsNotAPlainDecimalRefused) {
    for (const char* sub : {R"("+5")", R"(" 5")", R"("5 ")", R"("05")", R"("")", R"("0x10")",
                            R"("5a")", "5.0", "5e0", "true", "null", "[5]", R"({"id":5})"}) {
        EXPECT_EQ(verify(sign(kHs256Header, payload_with(std::string(R"("sub":)") + sub))),
                  JwtError::NoSubject)
            << sub;
    }
}

TEST(Jwt, NonStringRoleIsMalformed) {
    EXPECT_EQ(verify(sign(kHs256Header, payload_with(R"("sub":"1","role":7)"))),
              JwtError::Malformed);
}

TEST(Jwt, RandomBytesNeverVerify) {
    std::mt19937 rng(12345);
    std::uniform_int_distribution<int> byte(0, 255);
    const std::string alphabet = "ABCxyz019-_.=+/{}\"";
    std::uniform_int_distribution<std::size_t> pick(0, alphabet.size() - 1);
    for (int round = 0; round < 2000; ++round) {
        std::string token(static_cast<std::size_t>(round % 120), '\0');
        for (char& c : token) c = round % 2 ? static_cast<char>(byte(rng)) : alphabet[pick(rng)];
        EXPECT_NE(verify(token), JwtError::None);
    }
}

TEST(Jwt, EveryErrorHasAMessage) {
    for (auto e :
         {JwtError::None, JwtError::Malformed, JwtError::BadAlgorithm, JwtError::BadSignature,
          JwtError::Expired, JwtError::NotYetValid, JwtError::NoSubject, JwtError::BadIssuer,
          JwtError::BadAudience, JwtError::TooLongLived}) {
        EXPECT_FALSE(to_string(e).empty());
    }
}

}  // namespace
}  // namespace lp::auth
