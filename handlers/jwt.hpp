// handlers/jwt: JSON Web Tokens for LOGIN, HS256 (HMAC-SHA256 with the configured secret).
//
// Verification is strict: the header's alg must be exactly HS256 ("none" and every other alg is
// refused, which closes the classic alg-confusion holes), the signature is compared in constant
// time, exp is required and checked with a small leeway, nbf is honoured when present, and sub
// must be an unsigned 64-bit user id (a JSON number or a decimal string).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lp::auth {

enum class JwtError : std::uint8_t {
    None = 0,
    Malformed,     // not three base64url parts, bad JSON, bad types
    BadAlgorithm,  // alg is not HS256 (including "none")
    BadSignature,
    Expired,       // exp missing or in the past (beyond leeway)
    NotYetValid,   // nbf in the future
    NoSubject,     // sub missing or not a user id
};
std::string_view to_string(JwtError e) noexcept;

struct Claims {
    std::uint64_t user_id = 0;
    std::string role;  // "viewer" when absent
    std::string platform;  // the optional "platform" claim: pins LoginReq.platform; empty = absent
    std::int64_t exp = 0;
};

class JwtVerifier {
public:
    explicit JwtVerifier(std::string secret, std::int64_t leeway_s = 30)
        : secret_(std::move(secret)), leeway_s_(leeway_s) {}
    JwtError verify(std::string_view token, std::int64_t now_s, Claims& out) const;

private:
    std::string secret_;
    std::int64_t leeway_s_;
};

// Mints an HS256 token {"sub":"<id>","role":...,"iat":now,"exp":exp}. Used by
// `livepushd token` and by tests.
std::string mint_hs256(std::string_view secret, std::uint64_t user_id, std::string_view role,
                       std::int64_t iat, std::int64_t exp);

// base64url without padding (exposed for tests).
std::string base64url_encode(std::string_view in);
bool base64url_decode(std::string_view in, std::string& out);

}  // namespace lp::auth
