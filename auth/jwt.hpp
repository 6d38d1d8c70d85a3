// auth/jwt: JSON Web Tokens for LOGIN: HS256 (HMAC-SHA256 with the configured secret), and
// RS256 / ES256 with configured PEM public keys (auth/jwt_keys).
//
// Verification is strict: the header's alg must be HS256, RS256 or ES256 and must match a kind
// of key we hold ("none" and every other alg are refused; an HS256 token is checked against the
// configured secret only, never against public key bytes, which closes alg confusion), an HMAC
// is compared in constant time, exp is required and checked with a small leeway, nbf is honoured
// when present, sub must be an unsigned 64-bit user id (a JSON number or a decimal string), and,
// when configured, iss and aud must match and exp may lie at most max_ttl_s after iat (or now).
// Key rotation: a previous key set is accepted too until a configured unix time, and so are the
// key sets a reload replaced (JwtPolicy::retired), each until its own end of overlap.
// The optional profile claims (name, avatar, level, medal) are checked by auth/profile.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "auth/jwt_keys.hpp"
#include "auth/profile.hpp"

namespace lp::auth {

enum class JwtError : std::uint8_t {
    None = 0,
    Malformed,     // not three base64url parts, bad JSON, bad types
    BadAlgorithm,  // alg is not HS256 (including "none")
    BadSignature,
    Expired,       // exp missing or in the past (beyond leeway)
    NotYetValid,   // nbf in the future
    NoSubject,     // sub missing or not a user id
    BadIssuer,     // iss missing or not the configured issuer
    BadAudience,   // aud missing or without the configured audience
    TooLongLived,  // exp further after iat (or now) than the configured maximum lifetime
    BadProfile,    // a profile claim out of its bounds (Claims::profile_error says which)
};
std::string_view to_string(JwtError e) noexcept;

struct Claims {
    std::uint64_t user_id = 0;
    std::string role;      // "viewer" when absent
    std::string platform;  // the optional "platform" claim: pins LoginReq.platform; empty = absent
    std::int64_t exp = 0;
    // The profile claims as canonical JSON (auth/profile.hpp), "" when the token has none.
    std::string profile;
    std::string profile_error;  // on BadProfile: "<claim>: <rule>"
    // Verified by a previous or retired key (rotation overlap), not by the current keys.
    bool by_previous_key = false;
};

// The keys a token may be signed with. An empty secret means HS256 is refused.
struct JwtKeys {
    std::string secret;                  // HS256
    std::vector<PublicKey> public_keys;  // RS256 / ES256
    bool empty() const noexcept { return secret.empty() && public_keys.empty(); }
};

// Clock skew allowed on exp and nbf, in seconds; also app/config's auth.leeway_s default.
inline constexpr std::int64_t kDefaultLeewayS = 30;

struct JwtPolicy {
    JwtKeys keys;
    JwtKeys previous;                 // rotation: also accepted while now < previous_until
    std::int64_t previous_until = 0;  // unix seconds; 0 = no previous keys
    // Keys a configuration reload replaced (app/reload: auth.key_overlap_s): each set is
    // accepted while now < its `until` (unix seconds), then refused like any unknown key.
    struct Retired {
        JwtKeys keys;
        std::int64_t until = 0;
    };
    std::vector<Retired> retired;
    std::string issuer;          // required iss; empty = not checked
    std::string audience;        // required in aud (a string or an array); empty = not checked
    std::int64_t max_ttl_s = 0;  // longest exp - iat (or exp - now); 0 = no limit
    std::int64_t leeway_s = kDefaultLeewayS;
};

class JwtVerifier {
public:
    // HS256 with `secret` and no iss/aud/lifetime rules (tools and tests).
    explicit JwtVerifier(std::string secret, std::int64_t leeway_s = kDefaultLeewayS);
    explicit JwtVerifier(JwtPolicy policy) : policy_(std::move(policy)) {}
    JwtError verify(std::string_view token, std::int64_t now_s, Claims& out) const;
    const JwtPolicy& policy() const noexcept { return policy_; }

private:
    JwtPolicy policy_;
};

// Mints an HS256 token {"sub":"<id>","role":...,"iat":now,"exp":exp[,"iss":...][,"aud":...]}
// (iss and aud only when not empty), with the profile claims that `profile` sets (unchecked).
// Used by `livepushd token`, the load-test tools and tests.
std::string mint_hs256(std::string_view secret, std::uint64_t user_id, std::string_view role,
                       std::int64_t iat, std::int64_t exp, std::string_view issuer = {},
                       std::string_view audience = {}, const ProfileClaims& profile = {});

// base64url without padding (exposed for tests).
std::string base64url_encode(std::string_view in);
bool base64url_decode(std::string_view in, std::string& out);

}  // namespace lp::auth
