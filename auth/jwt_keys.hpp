// auth/jwt_keys: the public keys RS256 and ES256 tokens are verified with, read from PEM.
//
// Owns the parsed keys (OpenSSL EVP_PKEY) and the one operation done with them: checking a JWS
// signature over a signing input. A key is bound to exactly one JWS alg when it is loaded (an
// RSA key to RS256, a P-256 key to ES256), so a token can never choose how our key is used: its
// alg only selects which of our keys to try. Never signs and never holds a private key.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

struct evp_pkey_st;

namespace lp::auth {

enum class KeyAlg : std::uint8_t { RS256, ES256 };

class PublicKey {
public:
    KeyAlg alg() const noexcept { return alg_; }
    // True if `signature` (JWS form: RSASSA-PKCS1-v1_5 bytes, or raw r||s for ES256) signs
    // `signing_input` under this key. Never throws.
    bool verify(std::string_view signing_input, std::string_view signature) const noexcept;

private:
    friend std::string load_public_keys(std::string_view pem, std::vector<PublicKey>& out);
    std::shared_ptr<evp_pkey_st> key_;
    KeyAlg alg_ = KeyAlg::RS256;
};

// Appends every PUBLIC KEY block of `pem` to `out`. Returns an error (empty on success): no
// key at all, an unreadable block, an RSA key under 2048 bits, or an EC key not on P-256.
std::string load_public_keys(std::string_view pem, std::vector<PublicKey>& out);
// The same for a file; the error names the path.
std::string load_public_keys_file(const std::string& path, std::vector<PublicKey>& out);

}  // namespace lp::auth
