// auth/profile: checks a token's profile claims against their bounds and writes them once as
// canonical JSON (see profile.hpp). Runs on every login after the signature is verified, so on
// bytes a trusted issuer signed; it is still bounded work (the token itself is at most 8 KiB).
#include "auth/profile.hpp"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace lp::auth {
namespace {

namespace json = boost::json;

// Decodes the code point starting at s[i] (valid UTF-8) and advances i past it.
char32_t next_code_point(std::string_view s, std::size_t& i) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    int extra = b0 < 0x80 ? 0 : b0 < 0xE0 ? 1 : b0 < 0xF0 ? 2 : 3;
    char32_t cp = extra == 0   ? b0
                  : extra == 1 ? (b0 & 0x1F)
                  : extra == 2 ? (b0 & 0x0F)
                               : (b0 & 0x07);
    ++i;
    for (; extra > 0 && i < s.size(); --extra, ++i)
        cp = (cp << 6) | (static_cast<unsigned char>(s[i]) & 0x3F);
    return cp;
}

// Control characters would break a danmaku line (C0, DEL, C1); bidi embeddings, overrides and
// isolates would let a name reverse the text shown after it (the sender's message).
bool shown_as_text(char32_t cp) noexcept {
    if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F)) return false;
    if (cp >= 0x202A && cp <= 0x202E) return false;
    if (cp >= 0x2066 && cp <= 0x2069) return false;
    return true;
}

// A display name of 1..max_chars code points that are all shown as text.
bool display_name_ok(std::string_view s, std::size_t max_chars) noexcept {
    if (s.empty() || s.size() > 4 * max_chars) return false;
    std::size_t chars = 0;
    for (std::size_t i = 0; i < s.size();) {
        if (!shown_as_text(next_code_point(s, i))) return false;
        if (++chars > max_chars) return false;
    }
    return true;
}

// An https URL of printable ASCII with a host, without the characters RFC 3986 says must be
// percent-encoded (so it can be put in an HTML attribute or a URL bar as it is).
bool avatar_ok(std::string_view s) noexcept {
    constexpr std::string_view kScheme = "https://";
    if (s.size() > kProfileAvatarMaxBytes || !s.starts_with(kScheme)) return false;
    if (s.size() == kScheme.size() || s[kScheme.size()] == '/') return false;
    for (char c : s) {
        if (c <= 0x20 || c >= 0x7F) return false;
        if (std::string_view("\"<>\\^`{|}").find(c) != std::string_view::npos) return false;
    }
    return true;
}

// A JSON integer in 0..max (doubles are refused, even when whole, as for sub).
std::optional<std::int64_t> bounded_int(const json::value& v, std::int64_t max) noexcept {
    if (const auto* i = v.if_int64(); i && *i >= 0 && *i <= max) return *i;
    if (const auto* u = v.if_uint64(); u && *u <= static_cast<std::uint64_t>(max))
        return static_cast<std::int64_t>(*u);
    return std::nullopt;
}

const json::value* claim(const json::object& o, std::string_view key) {
    const auto* v = o.if_contains(key);
    return v && !v->is_null() ? v : nullptr;
}

std::string chars_rule(std::size_t max) {
    return "must be a string of 1.." + std::to_string(max) +
           " characters, without control or bidi-override characters";
}

}  // namespace

bool read_profile(const json::object& payload, std::string& out, std::string& why) {
    out.clear();
    json::object profile;
    if (const auto* name = claim(payload, "name")) {
        const auto* s = name->if_string();
        if (!s || (!s->empty() && !display_name_ok(*s, kProfileNameMaxChars))) {
            why = "name: " + chars_rule(kProfileNameMaxChars);
            return false;
        }
        if (!s->empty()) profile["name"] = *s;
    }
    if (const auto* avatar = claim(payload, "avatar")) {
        const auto* s = avatar->if_string();
        if (!s || (!s->empty() && !avatar_ok(*s))) {
            why = "avatar: must be an https:// URL of at most " +
                  std::to_string(kProfileAvatarMaxBytes) +
                  " bytes of printable ASCII (percent-encode the rest)";
            return false;
        }
        if (!s->empty()) profile["avatar"] = *s;
    }
    if (const auto* level = claim(payload, "level")) {
        const auto n = bounded_int(*level, kProfileLevelMax);
        if (!n) {
            why = "level: must be an integer 0.." + std::to_string(kProfileLevelMax);
            return false;
        }
        profile["level"] = *n;
    }
    if (const auto* medal = claim(payload, "medal")) {
        const auto* m = medal->if_object();
        if (!m) {
            why = "medal: must be an object {name, level}";
            return false;
        }
        const auto* name = m->if_contains("name");
        const auto* s = name ? name->if_string() : nullptr;
        if (!s || !display_name_ok(*s, kMedalNameMaxChars)) {
            why = "medal.name: " + chars_rule(kMedalNameMaxChars);
            return false;
        }
        const auto* level = m->if_contains("level");
        const auto n = level ? bounded_int(*level, kMedalLevelMax) : std::nullopt;
        if (!n) {
            why = "medal.level: must be an integer 0.." + std::to_string(kMedalLevelMax);
            return false;
        }
        json::object canonical;
        canonical["name"] = *s;
        canonical["level"] = *n;
        profile["medal"] = std::move(canonical);
    }
    if (!profile.empty()) out = json::serialize(profile);
    return true;
}

void write_profile(const ProfileClaims& p, json::object& payload) {
    if (!p.name.empty()) payload["name"] = p.name;
    if (!p.avatar.empty()) payload["avatar"] = p.avatar;
    if (p.level) payload["level"] = *p.level;
    if (p.medal_name || p.medal_level) {
        json::object medal;
        if (p.medal_name) medal["name"] = *p.medal_name;
        if (p.medal_level) medal["level"] = *p.medal_level;
        payload["medal"] = std::move(medal);
    }
}

}  // namespace lp::auth
