// push/request_parse: the rules of the push API's inputs (design.md section 5), apart from HTTP.
//
// Turns JSON bodies into PushRequest, path pieces into ids, and judges the headers the API
// cares about (Content-Type, Authorization). It holds no sockets and no Beast, so every rule is
// unit-testable on its own, and http_api.cpp stays about HTTP. Nothing here throws on bad
// input: a caller's mistake is a false return and a message that names the field to fix.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "push/api.hpp"

namespace lp::push {

struct PushBodyLimits {
    std::uint32_t max_user_ids = 10000;  // "user_ids" and "exclude" entries per request
};

// Parses the body of POST /v1/push/{user,users,room,broadcast}, chosen by `target`.
// On success `out` is complete (ids deduplicated, "exclude" sorted and unique). On failure
// returns false and `error` says what to fix; the API answers 400 with it.
bool parse_push_body(Target target, std::string_view body, const PushBodyLimits& limits,
                     PushRequest& out, std::string& error);

// Body of POST /v1/users/{id}/kick: empty, or an object with an optional "reason" string.
// `reason` is "admin" when none is given.
bool parse_kick_body(std::string_view body, std::string& reason, std::string& error);

// An id as it appears in a path segment: decimal digits only, non-zero, fits 64 bits.
std::optional<std::uint64_t> parse_path_id(std::string_view text);

// Standard base64 (RFC 4648 section 4). Trailing '=' padding is optional; any other character
// outside the alphabet, or a length no encoder produces, is refused.
bool decode_base64(std::string_view text, std::string& out);

// True for "application/json", any case, with or without parameters ("; charset=utf-8").
bool is_json_media_type(std::string_view content_type);

// True when `authorization` is "Bearer <key>" (scheme in any case). The time taken depends on
// the length of `key` only, not on how much of it a guess gets right.
bool bearer_key_matches(std::string_view authorization, std::string_view key);

// Splits a request target into its path and its query parameters, percent-decoded ('+' in the
// query is a space). A repeated parameter keeps its last value.
void split_target(std::string_view target, std::string& path,
                  std::map<std::string, std::string>& query);

}  // namespace lp::push
