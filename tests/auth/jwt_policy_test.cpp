// Tests for handlers/jwt with a JwtPolicy: RS256 and ES256 public keys (handlers/jwt_keys),
// alg confusion, iss/aud, the lifetime bound and key rotation.
//
// Keys are generated here and tokens signed with OpenSSL directly (the server never signs with
// a private key), so every token shape the tests attack is built by hand.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <memory>
#include <string>

#include "auth/jwt.hpp"

namespace lp::auth {
namespace {

constexpr std::int64_t kNow = 1'700'000'000;
constexpr std::string_view kSecret = "policy-test-secret-of-32-bytes-or-more";

using KeyPtr = std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)>;

KeyPtr generate(const char* type) {
    if (std::string_view(type) == "RSA")
        return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048}), &EVP_PKEY_free);
    if (std::string_view(type) == "RSA1024")
        return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{1024}), &EVP_PKEY_free);
    if (std::string_view(type) == "P384")
        return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "secp384r1"), &EVP_PKEY_free);
    return KeyPtr(EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256"), &EVP_PKEY_free);
}

std::string public_pem(EVP_PKEY* key) {
    BIO* bio = BIO_new(BIO_s_mem());
    PEM_write_bio_PUBKEY(bio, key);
    char* data = nullptr;
    long len = BIO_get_mem_data(bio, &data);
    std::string pem(data, static_cast<std::size_t>(len));
    BIO_free(bio);
    return pem;
}

// The JWS signature of `input` under a private key: PKCS#1 v1.5 for RSA, raw r||s for EC.
std::string jws_signature(EVP_PKEY* key, std::string_view input) {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    std::size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSign(ctx, nullptr, &len, in, input.size());
    std::string sig(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len, in, input.size());
    EVP_MD_CTX_free(ctx);
    sig.resize(len);
    if (EVP_PKEY_get_base_id(key) != EVP_PKEY_EC) return sig;
    const auto* p = reinterpret_cast<const unsigned char*>(sig.data());
    ECDSA_SIG* es = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(sig.size()));
    unsigned char raw[64] = {};
    BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + 32, 32);
    ECDSA_SIG_free(es);
    return std::string(reinterpret_cast<const char*>(raw), sizeof raw);
}

std::string hs256_signature(std::string_view secret, std::string_view input) {
    unsigned char mac[32];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac, &len);
    return std::string(reinterpret_cast<const char*>(mac), len);
}

std::string claims(std::string_view extra = {}, std::int64_t exp = kNow + 3600) {
    std::string c =
        R"({"sub":"7","iat":)" + std::to_string(kNow) + R"(,"exp":)" + std::to_string(exp);
    if (!extra.empty()) c += "," + std::string(extra);
    return c + "}";
}

std::string token(std::string_view alg, std::string_view payload, EVP_PKEY* key,
                  std::string_view secret = kSecret) {
    const std::string input =
        base64url_encode(R"({"alg":")" + std::string(alg) + R"(","typ":"JWT"})") + "." +
        base64url_encode(payload);
    const std::string sig = key ? jws_signature(key, input) : hs256_signature(secret, input);
    return input + "." + base64url_encode(sig);
}

struct Keys {
    KeyPtr rsa = generate("RSA");
    KeyPtr ec = generate("P256");
    KeyPtr rsa_old = generate("RSA");
};
const Keys& keys() {
    static const Keys k;
    return k;
}

std::vector<PublicKey> load(const std::string& pem) {
    std::vector<PublicKey> out;
    EXPECT_EQ(load_public_keys(pem, out), "");
    return out;
}

JwtError check(const JwtPolicy& p, const std::string& t, std::int64_t now = kNow) {
    Claims c;
    return JwtVerifier(p).verify(t, now, c);
}

JwtPolicy public_only() {
    JwtPolicy p;
    p.keys.public_keys = load(public_pem(keys().rsa.get()) + public_pem(keys().ec.get()));
    return p;
}

TEST(JwtKeys, Rs256AndEs256FromOnePemFileVerify) {
    const JwtPolicy p = public_only();
    ASSERT_EQ(p.keys.public_keys.size(), 2u);
    Claims c;
    EXPECT_EQ(JwtVerifier(p).verify(token("RS256", claims(), keys().rsa.get()), kNow, c),
              JwtError::None);
    EXPECT_EQ(c.user_id, 7u);
    EXPECT_EQ(check(p, token("ES256", claims(), keys().ec.get())), JwtError::None);
}

TEST(JwtKeys, TamperedPayloadOrForeignKeyRefused) {
    const JwtPolicy p = public_only();
    std::string t = token("RS256", claims(), keys().rsa.get());
    const auto dot = t.find('.');
    std::string forged = t.substr(0, dot + 1) + base64url_encode(claims(R"("role":"admin")")) +
                         t.substr(t.rfind('.'));
    EXPECT_EQ(check(p, forged), JwtError::BadSignature);
    EXPECT_EQ(check(p, token("RS256", claims(), keys().rsa_old.get())), JwtError::BadSignature);
    // An ES256 signature in DER form (what EVP makes) instead of JWS's raw r||s is refused.
    const std::string input = t.substr(0, t.rfind('.'));
    EXPECT_EQ(check(p, input + "." + base64url_encode(std::string(70, 'x'))),
              JwtError::BadSignature);
}

TEST(JwtKeys, AlgMustMatchTheKindOfKeyHeld) {
    JwtPolicy rsa_only;
    rsa_only.keys.public_keys = load(public_pem(keys().rsa.get()));
    EXPECT_EQ(check(rsa_only, token("ES256", claims(), keys().ec.get())), JwtError::BadAlgorithm);
    // RS256 header over an EC signature: tried against RSA keys only, and fails.
    EXPECT_EQ(check(rsa_only, token("RS256", claims(), keys().ec.get())), JwtError::BadSignature);
}

TEST(JwtKeys, Hs256RefusedWithOnlyAPublicKeyAcceptedWithASecretToo) {
    JwtPolicy p = public_only();
    EXPECT_EQ(check(p, token("HS256", claims(), nullptr)), JwtError::BadAlgorithm);
    p.keys.secret = std::string(kSecret);
    EXPECT_EQ(check(p, token("HS256", claims(), nullptr)), JwtError::None);
}

TEST(JwtKeys, AlgConfusionWithThePublicKeyAsHmacSecretRefused) {
    JwtPolicy p = public_only();
    const std::string pem = public_pem(keys().rsa.get());
    EXPECT_EQ(check(p, token("HS256", claims(), nullptr, pem)), JwtError::BadAlgorithm);
    p.keys.secret = std::string(kSecret);
    EXPECT_EQ(check(p, token("HS256", claims(), nullptr, pem)), JwtError::BadSignature);
}

TEST(JwtKeys, AlgNoneRefusedWithPublicKeys) {
    const std::string none =
        base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims()) + ".";
    EXPECT_EQ(check(public_only(), none), JwtError::BadAlgorithm);
}

TEST(JwtKeys, WeakOrUnsupportedOrMissingKeysRefusedAtLoad) {
    std::vector<PublicKey> out;
    EXPECT_NE(load_public_keys(public_pem(generate("RSA1024").get()), out), "");
    EXPECT_NE(load_public_keys(public_pem(generate("P384").get()), out), "");
    EXPECT_NE(load_public_keys("", out), "");
    EXPECT_NE(load_public_keys("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n", out),
              "");
    EXPECT_NE(load_public_keys_file("/nonexistent/key.pem", out), "");
}

TEST(JwtPolicy, IssuerMustMatchWhenConfigured) {
    JwtPolicy p;
    p.keys.secret = std::string(kSecret);
    p.issuer = "https://auth.example";
    EXPECT_EQ(check(p, token("HS256", claims(R"("iss":"https://auth.example")"), nullptr)),
              JwtError::None);
    EXPECT_EQ(check(p, token("HS256", claims(R"("iss":"https://evil.example")"), nullptr)),
              JwtError::BadIssuer);
    EXPECT_EQ(check(p, token("HS256", claims(R"("iss":["https://auth.example"])"), nullptr)),
              JwtError::BadIssuer);
    EXPECT_EQ(check(p, token("HS256", claims(), nullptr)), JwtError::BadIssuer);
}

TEST(JwtPolicy, AudienceAsStringOrArrayWhenConfigured) {
    JwtPolicy p;
    p.keys.secret = std::string(kSecret);
    p.audience = "livepush";
    EXPECT_EQ(check(p, token("HS256", claims(R"("aud":"livepush")"), nullptr)), JwtError::None);
    EXPECT_EQ(check(p, token("HS256", claims(R"("aud":["billing","livepush"])"), nullptr)),
              JwtError::None);
    EXPECT_EQ(check(p, token("HS256", claims(R"("aud":["billing"])"), nullptr)),
              JwtError::BadAudience);
    EXPECT_EQ(check(p, token("HS256", claims(R"("aud":"billing")"), nullptr)),
              JwtError::BadAudience);
    EXPECT_EQ(check(p, token("HS256", claims(R"("aud":7)"), nullptr)), JwtError::BadAudience);
    EXPECT_EQ(check(p, token("HS256", claims(), nullptr)), JwtError::BadAudience);
}

TEST(JwtPolicy, LifetimeOverTheMaximumRefused) {
    JwtPolicy p;
    p.keys.secret = std::string(kSecret);
    p.max_ttl_s = 86400;
    p.leeway_s = 30;
    EXPECT_EQ(check(p, token("HS256", claims({}, kNow + 86400), nullptr)), JwtError::None);
    EXPECT_EQ(check(p, token("HS256", claims({}, kNow + 86400 + 31), nullptr)),
              JwtError::TooLongLived);
    EXPECT_EQ(check(p, token("HS256", claims({}, kNow + 10 * 365 * 86400LL), nullptr)),
              JwtError::TooLongLived);
    // No iat: measured from now.
    const std::string no_iat = R"({"sub":"7","exp":)" + std::to_string(kNow + 2 * 86400) + "}";
    EXPECT_EQ(check(p, token("HS256", no_iat, nullptr)), JwtError::TooLongLived);
    // An iat in the future does not stretch the window.
    const std::string future_iat = R"({"sub":"7","iat":)" + std::to_string(kNow + 86400) +
                                   R"(,"exp":)" + std::to_string(kNow + 2 * 86400) + "}";
    EXPECT_EQ(check(p, token("HS256", future_iat, nullptr)), JwtError::TooLongLived);
    p.max_ttl_s = 0;  // no limit
    EXPECT_EQ(check(p, token("HS256", claims({}, kNow + 10 * 365 * 86400LL), nullptr)),
              JwtError::None);
}

TEST(JwtRotation, PreviousSecretAcceptedUntilTheConfiguredTimeOnly) {
    JwtPolicy p;
    p.keys.secret = "new-secret-new-secret-new-secret-1";
    p.previous.secret = "old-secret-old-secret-old-secret-0";
    p.previous_until = kNow + 600;
    const std::string old_token =
        token("HS256", claims({}, kNow + 7200), nullptr, p.previous.secret);
    const std::string new_token = token("HS256", claims({}, kNow + 7200), nullptr, p.keys.secret);
    EXPECT_EQ(check(p, old_token, kNow), JwtError::None);
    EXPECT_EQ(check(p, new_token, kNow), JwtError::None);
    EXPECT_EQ(check(p, old_token, kNow + 600), JwtError::BadSignature);
    EXPECT_EQ(check(p, new_token, kNow + 600), JwtError::None);
    p.previous_until = 0;  // no previous key
    EXPECT_EQ(check(p, old_token, kNow), JwtError::BadSignature);
}

TEST(JwtRotation, PreviousPublicKeyAcceptedUntilTheConfiguredTimeOnly) {
    JwtPolicy p;
    p.keys.public_keys = load(public_pem(keys().rsa.get()));
    p.previous.public_keys = load(public_pem(keys().rsa_old.get()));
    p.previous_until = kNow + 600;
    const std::string old_token = token("RS256", claims({}, kNow + 7200), keys().rsa_old.get());
    EXPECT_EQ(check(p, old_token, kNow), JwtError::None);
    EXPECT_EQ(check(p, old_token, kNow + 601), JwtError::BadSignature);
    EXPECT_EQ(check(p, token("RS256", claims({}, kNow + 7200), keys().rsa.get()), kNow + 601),
              JwtError::None);
}

// Keys a reload replaced (app/node apply_reload): each retired set until its own end; a token
// verified by one says so (the previous-key login metric counts it), one by the current keys not.
TEST(JwtRotation, RetiredKeysAcceptedUntilTheirOwnEndAndMarked) {
    JwtPolicy p;
    p.keys.secret = "newest-secret-newest-secret-newest-2";
    JwtKeys older, oldest;
    older.secret = "older-secret-older-secret-older-sec-1";
    oldest.public_keys = load(public_pem(keys().rsa_old.get()));
    p.retired.push_back({oldest, kNow + 100});
    p.retired.push_back({older, kNow + 600});
    const std::string by_older = token("HS256", claims({}, kNow + 7200), nullptr, older.secret);
    const std::string by_oldest = token("RS256", claims({}, kNow + 7200), keys().rsa_old.get());
    const std::string by_newest = token("HS256", claims({}, kNow + 7200), nullptr, p.keys.secret);
    JwtVerifier v(p);
    Claims c;
    EXPECT_EQ(v.verify(by_newest, kNow, c), JwtError::None);
    EXPECT_FALSE(c.by_previous_key);
    EXPECT_EQ(v.verify(by_older, kNow, c), JwtError::None);
    EXPECT_TRUE(c.by_previous_key);
    EXPECT_EQ(v.verify(by_oldest, kNow + 99, c), JwtError::None);
    EXPECT_TRUE(c.by_previous_key);
    // RS256 is no longer held by anyone once the oldest set is past its end.
    EXPECT_EQ(v.verify(by_oldest, kNow + 100, c), JwtError::BadAlgorithm);
    EXPECT_EQ(v.verify(by_older, kNow + 599, c), JwtError::None);
    EXPECT_EQ(v.verify(by_older, kNow + 600, c), JwtError::BadSignature);
    EXPECT_EQ(v.verify(by_newest, kNow + 600, c), JwtError::None);
}

}  // namespace
}  // namespace lp::auth
