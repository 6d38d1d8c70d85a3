// auth/profile: the sender profile a token may carry (claims `name`, `avatar`, `level`,
// `medal {name, level}`), shown next to each of the user's danmaku (room.chat pushes) so that
// clients render a name and a fan medal without a lookup.
//
// The claims are checked once, at login, against fixed bounds (kept small because a profile
// rides on every chat push of its sender to every member of the room), and turned into ONE
// canonical JSON object that the session keeps and the chat handler splices into each payload
// as it is: nothing here runs per chat or per receiver. A claim out of bounds refuses the token
// (JwtError::BadProfile, naming the claim): the token is signed by the platform's own auth
// service, so a bad claim is a bug there, and a refusal that names it is found at the first
// test login, where a dropped claim would only be noticed as missing medals in production.
// A claim that is absent, JSON null, or (name, avatar) an empty string is simply not shown.
//
// This file must never depend on sessions or sockets: tools mint profiles with it too.
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lp::auth {

// The bounds (docs/rooms.md "Sender profiles"). Characters are Unicode code points, so a name
// is at most 4 * 32 = 128 bytes of UTF-8 whatever the script.
inline constexpr std::size_t kProfileNameMaxChars = 32;
inline constexpr std::size_t kProfileAvatarMaxBytes = 256;  // an https:// URL, printable ASCII
inline constexpr std::int64_t kProfileLevelMax = 1000;      // level: 0..1000
inline constexpr std::size_t kMedalNameMaxChars = 16;
inline constexpr std::int64_t kMedalLevelMax = 100;  // medal.level: 0..100

// What a token says about its user's looks, as given to mint_hs256 (tools and tests). Values
// are written as they are, unchecked, so a test can also mint a token that must be refused.
struct ProfileClaims {
    std::string name;    // empty = no claim
    std::string avatar;  // empty = no claim
    std::optional<std::int64_t> level;
    std::optional<std::string> medal_name;  // a medal is written when either part is set
    std::optional<std::int64_t> medal_level;
    bool empty() const noexcept {
        return name.empty() && avatar.empty() && !level && !medal_name && !medal_level;
    }
};

// Reads the profile claims of a verified token's payload. On success returns true and sets
// `json` to the canonical object {"name","avatar","level","medal":{"name","level"}} with only
// the claims present (empty string when there is none). On a claim out of bounds returns false
// and sets `why` to "<claim>: <rule>" (e.g. "medal.level: must be an integer 0..100").
bool read_profile(const boost::json::object& payload, std::string& json, std::string& why);

// Adds the claims in `p` to a token payload under construction (mint_hs256).
void write_profile(const ProfileClaims& p, boost::json::object& payload);

}  // namespace lp::auth
