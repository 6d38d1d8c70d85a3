// tests/security/token_test: what a real node accepts as a LOGIN token once auth is configured
// beyond a bare secret: an ES256 key file next to the secret, a required issuer and audience,
// a lifetime bound; and what it refuses: alg confusion (an HS256 token HMAC'd with the public
// key file's bytes), alg none, a foreign issuer or audience, a year-long token. Each refusal has
// its code and its reason in livepush_logins_total. And a node with a short secret does not
// start at all.
#include <gtest/gtest.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>

#include "auth/jwt.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"

namespace {

namespace pb = livepush::v1;
using lp::auth::base64url_encode;
using lp::auth::mint_hs256;
using lp::client::Connection;
using lp::client::Options;
using lp::testing::HttpClient;
using lp::testing::kTestSecret;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::TempDir;

constexpr const char* kIssuer = "https://auth.test";
constexpr const char* kAudience = "livepush-test";

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// A P-256 key pair: the public half written as PEM to `path`, the private one returned.
EVP_PKEY* make_es256_key(const std::string& path) {
    EVP_PKEY* key = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
    FILE* f = std::fopen(path.c_str(), "w");
    PEM_write_PUBKEY(f, key);
    std::fclose(f);
    return key;
}

std::string es256_token(EVP_PKEY* key, const std::string& payload) {
    const std::string input =
        base64url_encode(R"({"alg":"ES256","typ":"JWT"})") + "." + base64url_encode(payload);
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key);
    std::size_t len = 0;
    const auto* in = reinterpret_cast<const unsigned char*>(input.data());
    EVP_DigestSign(ctx, nullptr, &len, in, input.size());
    std::string der(len, '\0');
    EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(der.data()), &len, in, input.size());
    EVP_MD_CTX_free(ctx);
    const auto* p = reinterpret_cast<const unsigned char*>(der.data());
    ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(len));
    unsigned char raw[64];
    BN_bn2binpad(ECDSA_SIG_get0_r(sig), raw, 32);
    BN_bn2binpad(ECDSA_SIG_get0_s(sig), raw + 32, 32);
    ECDSA_SIG_free(sig);
    return input + "." + base64url_encode(std::string(reinterpret_cast<const char*>(raw), 64));
}

std::string claims(std::int64_t ttl, const std::string& iss = kIssuer,
                   const std::string& aud = kAudience) {
    const auto now = now_s();
    return R"({"sub":"9","iat":)" + std::to_string(now) + R"(,"exp":)" + std::to_string(now + ttl) +
           R"(,"iss":")" + iss + R"(","aud":[")" + aud + R"("]})";
}

std::string read_file(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// The LOGIN result code for `token` on a fresh connection.
int login_code(const NodeProcess& node, const std::string& token) {
    Options o;
    o.port = node.tcp_port();
    Connection c(o);
    if (c.connect()) return -1;
    auto r = c.login(token);
    return r ? r->code() : -2;
}

TEST(Tokens, PublicKeyIssuerAudienceAndLifetimeAreEnforcedByTheNode) {
    TempDir dir;
    const std::string pem_path = dir.path() + "/jwt.pub.pem";
    EVP_PKEY* key = make_es256_key(pem_path);
    NodeProcess node({"--jwt-public-key", pem_path, "--jwt-issuer", kIssuer, "--jwt-audience",
                      kAudience, "--max-token-ttl-s", "3600"});
    const auto now = now_s();

    EXPECT_EQ(login_code(node, es256_token(key, claims(600))), 0);
    EXPECT_EQ(
        login_code(node, mint_hs256(kTestSecret, 9, "viewer", now, now + 600, kIssuer, kAudience)),
        0);

    // Alg confusion: HS256 with the public key file as the HMAC key.
    EXPECT_EQ(login_code(node, mint_hs256(read_file(pem_path), 9, "viewer", now, now + 600, kIssuer,
                                          kAudience)),
              pb::TOKEN_INVALID);
    const std::string none =
        base64url_encode(R"({"alg":"none"})") + "." + base64url_encode(claims(600)) + ".";
    EXPECT_EQ(login_code(node, none), pb::TOKEN_INVALID);
    EXPECT_EQ(login_code(node, es256_token(key, claims(600, "https://evil.test"))),
              pb::TOKEN_BAD_ISSUER);
    EXPECT_EQ(login_code(node, es256_token(key, claims(600, kIssuer, "other-service"))),
              pb::TOKEN_BAD_AUDIENCE);
    EXPECT_EQ(login_code(node, es256_token(key, claims(365 * 86400))), pb::TOKEN_TOO_LONG_LIVED);
    EVP_PKEY_free(key);

    HttpClient api(node.api_port());
    const std::string m = api.get("/metrics").body;
    for (const char* reason :
         {"bad_signature", "bad_algorithm", "bad_issuer", "bad_audience", "too_long_lived"}) {
        EXPECT_GE(metric_value(m, std::string(R"(livepush_logins_total{result="failed",reason=")") +
                                      reason + "\"}"),
                  1)
            << reason;
    }
}

TEST(Tokens, ShortSecretRefusesToStartWithExitTwo) {
    const std::string cmd =
        std::string(LIVEPUSHD_PATH) +
        " --jwt-secret only-23-bytes-of-secret --tcp-listen 127.0.0.1:0 --ws-listen '' "
        "--api-listen '' 2>&1";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    std::string out;
    char buf[512];
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    const int status = ::pclose(p);
    ASSERT_TRUE(WIFEXITED(status)) << out;
    EXPECT_EQ(WEXITSTATUS(status), 2) << out;
    EXPECT_NE(out.find("at least 32"), std::string::npos) << out;
}

}  // namespace
