// auth/jwt_keys: PEM public keys and JWS signature checks with OpenSSL EVP (see jwt_keys.hpp).
#include "auth/jwt_keys.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <fstream>
#include <iterator>

namespace lp::auth {
namespace {

constexpr int kMinRsaBits = 2048;
constexpr std::size_t kEs256HalfSize = 32;  // r and s of a P-256 signature, big-endian

struct MdCtxFree {
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
    void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

// JWS carries an ES256 signature as r||s (RFC 7518 section 3.4); EVP wants DER. Empty on failure.
std::string es256_der(std::string_view raw) {
    if (raw.size() != 2 * kEs256HalfSize) return {};
    const auto* bytes = reinterpret_cast<const unsigned char*>(raw.data());
    std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
    BIGNUM* r = BN_bin2bn(bytes, kEs256HalfSize, nullptr);
    BIGNUM* s = BN_bin2bn(bytes + kEs256HalfSize, kEs256HalfSize, nullptr);
    if (!sig || !r || !s || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
        BN_free(r);
        BN_free(s);
        return {};
    }
    unsigned char* der = nullptr;
    const int len = i2d_ECDSA_SIG(sig.get(), &der);
    if (len <= 0) return {};
    std::string out(reinterpret_cast<const char*>(der), static_cast<std::size_t>(len));
    OPENSSL_free(der);
    return out;
}

}  // namespace

bool PublicKey::verify(std::string_view signing_input, std::string_view signature) const noexcept {
    if (!key_) return false;
    std::string der;
    if (alg_ == KeyAlg::ES256) {
        der = es256_der(signature);
        if (der.empty()) return false;
        signature = der;
    } else if (signature.size() != static_cast<std::size_t>(EVP_PKEY_get_size(key_.get()))) {
        return false;
    }
    std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
    if (!ctx || EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key_.get()) != 1) {
        ERR_clear_error();
        return false;
    }
    const int ok = EVP_DigestVerify(
        ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()), signature.size(),
        reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size());
    ERR_clear_error();  // a bad signature leaves errors on this thread's queue
    return ok == 1;
}

std::string load_public_keys(std::string_view pem, std::vector<PublicKey>& out) {
    constexpr std::string_view kBegin = "-----BEGIN ";
    constexpr std::string_view kEnd = "-----END PUBLIC KEY-----";
    std::size_t loaded = 0;
    // Each block is parsed on its own so that a bad one is an error, not the end of the file.
    for (std::size_t at = pem.find(kBegin); at != std::string_view::npos;
         at = pem.find(kBegin, at)) {
        const std::string number = std::to_string(loaded + 1);
        if (pem.substr(at).rfind("-----BEGIN PUBLIC KEY-----", 0) != 0)
            return "block " + number + " is not a PUBLIC KEY (SubjectPublicKeyInfo) block";
        const std::size_t end = pem.find(kEnd, at);
        if (end == std::string_view::npos) return "block " + number + " has no END line";
        const std::string_view block = pem.substr(at, end + kEnd.size() - at);
        at = end + kEnd.size();
        std::unique_ptr<BIO, decltype(&BIO_free)> bio(
            BIO_new_mem_buf(block.data(), static_cast<int>(block.size())), &BIO_free);
        EVP_PKEY* raw = bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr) : nullptr;
        ERR_clear_error();
        if (raw == nullptr) return "PUBLIC KEY block " + number + " could not be read";
        PublicKey k;
        k.key_ = std::shared_ptr<evp_pkey_st>(raw, &EVP_PKEY_free);
        const int type = EVP_PKEY_get_base_id(raw);
        if (type == EVP_PKEY_RSA) {
            if (EVP_PKEY_get_bits(raw) < kMinRsaBits)
                return "RSA key " + number + " has " + std::to_string(EVP_PKEY_get_bits(raw)) +
                       " bits; at least 2048 are required";
            k.alg_ = KeyAlg::RS256;
        } else if (type == EVP_PKEY_EC) {
            char group[64] = {};
            std::size_t len = 0;
            if (EVP_PKEY_get_group_name(raw, group, sizeof group, &len) != 1 ||
                std::string_view(group, len) != "prime256v1")
                return "EC key " + number + " is not on P-256 (ES256 needs prime256v1)";
            k.alg_ = KeyAlg::ES256;
        } else {
            return "key " + number + " is neither RSA nor EC (RS256 or ES256)";
        }
        out.push_back(std::move(k));
        ++loaded;
    }
    if (loaded == 0) return "no PEM PUBLIC KEY block found";
    return {};
}

std::string load_public_keys_file(const std::string& path, std::vector<PublicKey>& out) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return path + ": cannot be read";
    const std::string pem((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (auto err = load_public_keys(pem, out); !err.empty()) return path + ": " + err;
    return {};
}

}  // namespace lp::auth
