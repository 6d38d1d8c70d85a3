// auth/jwt: JSON Web Tokens for LOGIN (see jwt.hpp for the rules a token must meet).
//
// verify() is fed attacker-controlled bytes on every login, so it never throws and does the
// cheap, unauthenticated work first: split, decode and check the header, then the signature, and
// only then look at the claims. The checks are deliberately stricter than RFC 7519 requires
// wherever leniency would let two different strings stand for the same token or the same user
// (padding, non-canonical base64 tails, leading zeros in sub).
#include "auth/jwt.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <utility>

#include "codec/json_ids.hpp"

namespace lp::auth {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// A login frame body is at most 64 KiB; a real token is a few hundred bytes. The cap bounds the
// HMAC and JSON work an unauthenticated client can make us do.
constexpr std::size_t kMaxTokenSize = 8 * 1024;

constexpr std::size_t kSha256Size = 32;

using Sha256Mac = std::array<unsigned char, kSha256Size>;

// 0..63 for a base64url character, -1 for anything else ('=' included: JWTs carry no padding).
int base64url_value(char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '-') return 62;
    if (c == '_') return 63;
    return -1;
}

Sha256Mac hmac_sha256(std::string_view key, std::string_view data) {
    Sha256Mac mac{};
    unsigned int mac_len = 0;
    // A zero-length key is legal HMAC; a non-null pointer keeps OpenSSL off its NULL-key path.
    static const unsigned char kNoKey = 0;
    const void* key_ptr = key.empty() ? &kNoKey : static_cast<const void*>(key.data());
    HMAC(EVP_sha256(), key_ptr, static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &mac_len);
    return mac;
}

// NumericDate (RFC 7519 section 2) as whole seconds. JSON may carry it as a signed or unsigned
// integer or as a double with a fraction; `round_up` picks the rounding that keeps integer
// comparisons with `now` exact (floor for exp, ceil for nbf). nullopt: not a finite number.
std::optional<std::int64_t> numeric_date(const boost::json::value& v, bool round_up) {
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();
    constexpr auto kMin = std::numeric_limits<std::int64_t>::min();
    if (const auto* i = v.if_int64()) return *i;
    if (const auto* u = v.if_uint64()) return *u > static_cast<std::uint64_t>(kMax) ? kMax : *u;
    if (const auto* d = v.if_double()) {
        if (!std::isfinite(*d)) return std::nullopt;
        const double whole = round_up ? std::ceil(*d) : std::floor(*d);
        // 2^63 as a double; anything at or beyond it saturates.
        if (whole >= 9223372036854775808.0) return kMax;
        if (whole < -9223372036854775808.0) return kMin;
        return static_cast<std::int64_t>(whole);
    }
    return std::nullopt;
}

// The sub claim as a user id (codec/json_ids.hpp): a JSON integer or a decimal string, not 0.
// Doubles are refused even when integral, and so are leading zeros ("007"): two spellings of one
// user would be two different tokens for the same sub.
std::optional<std::uint64_t> user_id_of(const boost::json::value& sub) {
    return codec::json_id(sub, codec::LeadingZeros::refused);
}

// Decodes one base64url segment and parses it as a JSON object.
std::optional<boost::json::object> decode_json_object(std::string_view segment) {
    std::string json;
    if (!base64url_decode(segment, json)) return std::nullopt;
    boost::system::error_code ec;
    boost::json::value parsed = boost::json::parse(json, ec);
    if (ec) return std::nullopt;
    auto* object = parsed.if_object();
    if (object == nullptr) return std::nullopt;
    return std::move(*object);
}

enum class Alg : std::uint8_t { HS256, RS256, ES256 };

JwtError check_header(const boost::json::object& header, Alg& alg_out) {
    const auto* alg = header.if_contains("alg");
    if (alg == nullptr || !alg->is_string()) return JwtError::BadAlgorithm;
    const std::string_view name = alg->get_string();
    if (name == "HS256")
        alg_out = Alg::HS256;
    else if (name == "RS256")
        alg_out = Alg::RS256;
    else if (name == "ES256")
        alg_out = Alg::ES256;
    else
        return JwtError::BadAlgorithm;
    if (const auto* typ = header.if_contains("typ"); typ != nullptr && !typ->is_string()) {
        return JwtError::Malformed;
    }
    // RFC 7515 section 4.1.11: extensions listed in "crit" must be understood or the token
    // refused. We understand none.
    if (header.contains("crit")) return JwtError::Malformed;
    return JwtError::None;
}

bool holds_key_for(const JwtKeys& keys, Alg alg) {
    if (alg == Alg::HS256) return !keys.secret.empty();
    const KeyAlg want = alg == Alg::RS256 ? KeyAlg::RS256 : KeyAlg::ES256;
    for (const auto& k : keys.public_keys) {
        if (k.alg() == want) return true;
    }
    return false;
}

// True if one of `keys` of the token's alg made `signature`. An HS256 token is checked against
// the secret alone: public key bytes are never an HMAC key.
bool signed_by(const JwtKeys& keys, Alg alg, std::string_view input, std::string_view signature) {
    if (alg == Alg::HS256) {
        // An empty secret would let anyone mint tokens; refuse everything rather than trust it.
        if (keys.secret.empty() || signature.size() != kSha256Size) return false;
        const Sha256Mac expected = hmac_sha256(keys.secret, input);
        return CRYPTO_memcmp(expected.data(), signature.data(), kSha256Size) == 0;
    }
    const KeyAlg want = alg == Alg::RS256 ? KeyAlg::RS256 : KeyAlg::ES256;
    for (const auto& k : keys.public_keys) {
        if (k.alg() == want && k.verify(input, signature)) return true;
    }
    return false;
}

bool audience_matches(const boost::json::value& aud, std::string_view want) {
    if (const auto* s = aud.if_string()) return *s == want;
    if (const auto* a = aud.if_array()) {
        for (const auto& v : *a) {
            if (const auto* s = v.if_string(); s != nullptr && *s == want) return true;
        }
    }
    return false;
}

// iss, aud and the lifetime bound, each only when configured.
JwtError check_policy(const boost::json::object& payload, std::int64_t now_s, std::int64_t exp,
                      const JwtPolicy& policy) {
    if (!policy.issuer.empty()) {
        const auto* iss = payload.if_contains("iss");
        if (iss == nullptr || !iss->is_string() || iss->get_string() != policy.issuer)
            return JwtError::BadIssuer;
    }
    if (!policy.audience.empty()) {
        const auto* aud = payload.if_contains("aud");
        if (aud == nullptr || !audience_matches(*aud, policy.audience))
            return JwtError::BadAudience;
    }
    if (policy.max_ttl_s > 0) {
        // From the earlier of iat and now: a token dated in the future gains nothing by it.
        std::int64_t start = now_s;
        if (const auto* iat_value = payload.if_contains("iat")) {
            const auto iat = numeric_date(*iat_value, /*round_up=*/false);
            if (!iat) return JwtError::Malformed;
            start = std::min(start, *iat);
        }
        const std::int64_t leeway = policy.leeway_s < 0 ? 0 : policy.leeway_s;
        // exp - start > max_ttl + leeway, in 128 bits so that no claim can overflow it.
        if (static_cast<__int128>(exp) - start > static_cast<__int128>(policy.max_ttl_s) + leeway)
            return JwtError::TooLongLived;
    }
    return JwtError::None;
}

JwtError check_claims(const boost::json::object& payload, std::int64_t now_s, std::int64_t leeway_s,
                      Claims& out) {
    constexpr auto kMax = std::numeric_limits<std::int64_t>::max();

    const auto* exp_value = payload.if_contains("exp");
    if (exp_value == nullptr) return JwtError::Expired;
    const auto exp = numeric_date(*exp_value, /*round_up=*/false);
    if (!exp) return JwtError::Malformed;
    // now > exp + leeway, written so that neither side can overflow.
    if (*exp <= kMax - leeway_s && now_s > *exp + leeway_s) return JwtError::Expired;

    if (const auto* nbf_value = payload.if_contains("nbf")) {
        const auto nbf = numeric_date(*nbf_value, /*round_up=*/true);
        if (!nbf) return JwtError::Malformed;
        // now + leeway < nbf
        if (now_s <= kMax - leeway_s && now_s + leeway_s < *nbf) return JwtError::NotYetValid;
    }

    const auto* sub = payload.if_contains("sub");
    if (sub == nullptr) return JwtError::NoSubject;
    const auto user_id = user_id_of(*sub);
    if (!user_id) return JwtError::NoSubject;

    std::string role = "viewer";
    if (const auto* role_value = payload.if_contains("role")) {
        if (!role_value->is_string()) return JwtError::Malformed;
        role = std::string(role_value->get_string());
    }

    std::string platform;
    if (const auto* platform_value = payload.if_contains("platform")) {
        if (!platform_value->is_string()) return JwtError::Malformed;
        platform = std::string(platform_value->get_string());
    }

    out.user_id = *user_id;
    out.role = std::move(role);
    out.platform = std::move(platform);
    out.exp = *exp;
    return JwtError::None;
}

}  // namespace

std::string_view to_string(JwtError e) noexcept {
    switch (e) {
        case JwtError::None:
            return "ok";
        case JwtError::Malformed:
            return "malformed token";
        case JwtError::BadAlgorithm:
            return "token algorithm is not one this server holds a key for (HS256, RS256, ES256)";
        case JwtError::BadSignature:
            return "bad token signature";
        case JwtError::Expired:
            return "token expired or without exp";
        case JwtError::NotYetValid:
            return "token not yet valid (nbf)";
        case JwtError::NoSubject:
            return "token sub is not a user id";
        case JwtError::BadIssuer:
            return "token iss is not the configured issuer (auth.issuer)";
        case JwtError::BadAudience:
            return "token aud does not name the configured audience (auth.audience)";
        case JwtError::TooLongLived:
            return "token lifetime (exp - iat) is over auth.max_token_ttl_s";
        case JwtError::BadProfile:
            return "a profile claim of the token is out of its bounds";
    }
    return "unknown token error";
}

std::string base64url_encode(std::string_view in) {
    std::string out;
    out.reserve((in.size() * 4 + 2) / 3);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        const std::uint32_t n = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                                (std::uint32_t(std::uint8_t(in[i + 1])) << 8) |
                                std::uint32_t(std::uint8_t(in[i + 2]));
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
        out += kAlphabet[n & 63];
    }
    const std::size_t rest = in.size() - i;
    if (rest == 1) {
        const std::uint32_t n = std::uint32_t(std::uint8_t(in[i])) << 16;
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
    } else if (rest == 2) {
        const std::uint32_t n = (std::uint32_t(std::uint8_t(in[i])) << 16) |
                                (std::uint32_t(std::uint8_t(in[i + 1])) << 8);
        out += kAlphabet[(n >> 18) & 63];
        out += kAlphabet[(n >> 12) & 63];
        out += kAlphabet[(n >> 6) & 63];
    }
    return out;
}

bool base64url_decode(std::string_view in, std::string& out) {
    out.clear();
    // 4k+1 characters cannot come from any byte string.
    if (in.size() % 4 == 1) return false;
    out.reserve(in.size() * 3 / 4);
    std::uint32_t bits = 0;
    int bit_count = 0;
    for (char c : in) {
        const int value = base64url_value(c);
        if (value < 0) return false;
        bits = (bits << 6) | static_cast<std::uint32_t>(value);
        bit_count += 6;
        if (bit_count >= 8) {
            bit_count -= 8;
            out += static_cast<char>((bits >> bit_count) & 0xFF);
            bits &= (1u << bit_count) - 1;  // keep only the bits not yet emitted
        }
    }
    // The unused low bits of the last character must be zero, so that each byte string has
    // exactly one encoding (otherwise "...Q" and "...R" would carry the same signature).
    return bits == 0;
}

JwtVerifier::JwtVerifier(std::string secret, std::int64_t leeway_s) {
    policy_.keys.secret = std::move(secret);
    policy_.leeway_s = leeway_s;
}

JwtError JwtVerifier::verify(std::string_view token, std::int64_t now_s, Claims& out) const {
    try {
        if (token.empty() || token.size() > kMaxTokenSize) return JwtError::Malformed;
        const auto first_dot = token.find('.');
        if (first_dot == std::string_view::npos) return JwtError::Malformed;
        const auto second_dot = token.find('.', first_dot + 1);
        if (second_dot == std::string_view::npos) return JwtError::Malformed;
        if (token.find('.', second_dot + 1) != std::string_view::npos) return JwtError::Malformed;

        const std::string_view header_part = token.substr(0, first_dot);
        const std::string_view payload_part =
            token.substr(first_dot + 1, second_dot - first_dot - 1);
        const std::string_view signature_part = token.substr(second_dot + 1);

        const auto header = decode_json_object(header_part);
        if (!header) return JwtError::Malformed;
        Alg alg = Alg::HS256;
        if (const auto e = check_header(*header, alg); e != JwtError::None) return e;
        // The current keys, then the previous ones and those a reload retired, each while its
        // overlap lasts.
        std::vector<const JwtKeys*> older;
        if (policy_.previous_until > 0 && now_s < policy_.previous_until)
            older.push_back(&policy_.previous);
        for (const auto& r : policy_.retired)
            if (now_s < r.until) older.push_back(&r.keys);
        bool held = holds_key_for(policy_.keys, alg);
        for (const auto* k : older) held = held || holds_key_for(*k, alg);
        if (!held) return JwtError::BadAlgorithm;

        std::string signature;
        if (!base64url_decode(signature_part, signature)) return JwtError::Malformed;
        const std::string_view input = token.substr(0, second_dot);
        out.by_previous_key = false;
        if (!signed_by(policy_.keys, alg, input, signature)) {
            bool by_older = false;
            for (const auto* k : older) by_older = by_older || signed_by(*k, alg, input, signature);
            if (!by_older) return JwtError::BadSignature;
            out.by_previous_key = true;
        }

        const auto payload = decode_json_object(payload_part);
        if (!payload) return JwtError::Malformed;
        const std::int64_t leeway = policy_.leeway_s < 0 ? 0 : policy_.leeway_s;
        if (const auto e = check_claims(*payload, now_s, leeway, out); e != JwtError::None)
            return e;
        if (const auto e = check_policy(*payload, now_s, out.exp, policy_); e != JwtError::None)
            return e;
        // Last: only a token this server would otherwise accept gets its profile read.
        if (!read_profile(*payload, out.profile, out.profile_error)) return JwtError::BadProfile;
        return JwtError::None;
    } catch (...) {
        // Only allocation failure can get here; a login must fail, not take the process down.
        return JwtError::Malformed;
    }
}

std::string mint_hs256(std::string_view secret, std::uint64_t user_id, std::string_view role,
                       std::int64_t iat, std::int64_t exp, std::string_view issuer,
                       std::string_view audience, const ProfileClaims& profile) {
    boost::json::object payload;
    payload["sub"] = std::to_string(user_id);
    payload["role"] = role;
    payload["iat"] = iat;
    payload["exp"] = exp;
    if (!issuer.empty()) payload["iss"] = issuer;
    if (!audience.empty()) payload["aud"] = audience;
    write_profile(profile, payload);

    std::string signing_input = base64url_encode(R"({"alg":"HS256","typ":"JWT"})");
    signing_input += '.';
    signing_input += base64url_encode(boost::json::serialize(payload));
    const Sha256Mac mac = hmac_sha256(secret, signing_input);

    std::string token = std::move(signing_input);
    token += '.';
    token +=
        base64url_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), mac.size()));
    return token;
}

}  // namespace lp::auth
