// tests/fuzz/fuzz_jwt: the LOGIN token verifier (handlers/jwt, handlers/jwt_keys) on arbitrary
// token text, with every kind of key configured: an HS256 secret, RS256 and ES256 public keys,
// previous keys of both kinds still valid, and iss/aud/lifetime rules. The first 8 input bytes
// pick "now" so that the time checks run on both sides of every boundary; the rest is the token.
// Any crash, leak or sanitizer report is a bug: verify() must refuse garbage with an error value.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

#include "auth/jwt.hpp"

namespace {

// Test keys only (their private halves made the seed corpus and were thrown away).
constexpr std::string_view kRsaPublic = R"(-----BEGIN PUBLIC KEY-----
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA6m01WOgV+OOQFVFjYa0h
VKAGl2PCxDr1aB83opEMDlzBo7yj4Ab+gH69gXct8HBOITNB+9pwOOmiGp+EQDVK
SXfDoY1UDOSAuz0G/II/DcUHJArTDMYsy44rZUAOuME3sadqEboE7C+I9HY0pxp8
hM9xHnVFBncnrHgdmfo1bPhZ9NsufIcKcGMMUIHeXeAQbXWK0baf6ddzhvGy8Ms6
sMoQvkyylWc/MfopOl4HJgya63JRYYcRC9M05gUSqFqZdaahJ029HJd1UDrW7gpm
9c2M4Iob3CIf+MgAVJ6xdNXpW8rRuXx8u6nncpkipzpiyxLMI9XHy0S7/H32HhlS
vwIDAQAB
-----END PUBLIC KEY-----
)";
constexpr std::string_view kEcPublic = R"(-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE36jmv/sKn00jHNyK0BNrdW/jv0FW
2uIQCepsziK12RXkmI9vbwwCr3W3rDjJkNnOp7rZir+u8XNtJemLnXMK6w==
-----END PUBLIC KEY-----
)";

lp::auth::JwtVerifier make_verifier() {
    lp::auth::JwtPolicy p;
    p.keys.secret = "fuzz-secret-fuzz-secret-fuzz-secret-0001";
    lp::auth::load_public_keys(kRsaPublic, p.keys.public_keys);
    p.previous.secret = "fuzz-previous-secret-fuzz-previous-0002";
    lp::auth::load_public_keys(kEcPublic, p.previous.public_keys);
    lp::auth::load_public_keys(kEcPublic, p.keys.public_keys);
    p.previous_until = 1'800'000'000;
    p.issuer = "https://auth.fuzz";
    p.audience = "livepush";
    p.max_ttl_s = 86400;
    p.leeway_s = 30;
    return lp::auth::JwtVerifier(std::move(p));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const lp::auth::JwtVerifier verifier = make_verifier();
    std::int64_t now = 1'700'000'000;
    if (size >= sizeof now) {
        std::memcpy(&now, data, sizeof now);
        data += sizeof now;
        size -= sizeof now;
    }
    lp::auth::Claims claims;
    verifier.verify(std::string_view(reinterpret_cast<const char*>(data), size), now, claims);
    return 0;
}
