// fuzz_http_request: what the internal HTTP API does with a caller's bytes before and after the
// key, at fuzzer-chosen split points: Beast's request parser with the API's limits (8 KiB of
// header; no body limit until the header is judged, then api.max_body_bytes), the header
// checks (the bearer key in constant time, Content-Type, the target split into path and query,
// path ids), and the body rules of push/request_parse on every complete body.
//
// Oracles: the header verdicts are the same whether the bytes arrive in chunks or at once; a
// key check never accepts anything but "Bearer <key>"; a parsed push names at most the limit's
// user ids and a valid target; nothing throws out of the parsing functions.
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <cstdlib>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "chunked_input.hpp"
#include "push/request_parse.hpp"

namespace {

namespace http = boost::beast::http;

constexpr std::string_view kKey = "fuzz-api-key-0123456789";
constexpr std::uint32_t kHeaderLimit = 8 * 1024;  // as push/http_api.cpp
constexpr std::uint64_t kMaxBody = 64 * 1024;     // small, so the limit is reachable
constexpr lp::push::PushBodyLimits kLimits{100};

struct HeaderVerdict {
    bool done = false;
    bool authorized = false;
    bool json = false;
    std::optional<std::uint64_t> length;
    std::string path;
    bool operator==(const HeaderVerdict&) const = default;
};

HeaderVerdict judge(const http::request<http::string_body>& head,
                    std::optional<std::uint64_t> length) {
    HeaderVerdict v;
    v.done = true;
    const auto auth = head.find(http::field::authorization);
    const std::string_view auth_value =
        auth == head.end() ? std::string_view{} : std::string_view(auth->value());
    v.authorized = lp::push::bearer_key_matches(auth_value, kKey);
    if (v.authorized) {
        // Only the scheme (any case) and the exact key, with surrounding spaces, may pass.
        std::string_view rest = auth_value;
        while (!rest.empty() && (rest.front() == ' ' || rest.front() == '\t'))
            rest.remove_prefix(1);
        if (rest.size() < 7 || rest.find(kKey) == std::string_view::npos) std::abort();
    }
    const auto type = head.find(http::field::content_type);
    v.json = type != head.end() && lp::push::is_json_media_type(type->value());
    v.length = length;
    std::map<std::string, std::string> query;
    lp::push::split_target(head.target(), v.path, query);
    if (v.path.find('?') != std::string::npos) std::abort();
    for (std::string_view prefix : {"/v1/users/", "/v1/rooms/"}) {
        if (std::string_view(v.path).starts_with(prefix)) {
            const auto id = lp::push::parse_path_id(std::string_view(v.path).substr(prefix.size()));
            if (id && *id == 0) std::abort();
        }
    }
    return v;
}

void check_body(std::string_view body) {
    using lp::push::Target;
    for (Target t : {Target::User, Target::Users, Target::Room, Target::Broadcast}) {
        lp::push::PushRequest req;
        std::string error;
        if (lp::push::parse_push_body(t, body, kLimits, req, error)) {
            if (req.user_ids.size() > kLimits.max_user_ids) std::abort();
            if (req.type.empty() || req.type.size() > 64) std::abort();
            if (req.qos != 0 && req.qos != 1) std::abort();
        } else if (error.empty()) {
            std::abort();  // a refusal always says what to fix
        }
    }
    std::string reason;
    std::string error;
    if (!lp::push::parse_kick_body(body, reason, error) && error.empty()) std::abort();
}

// Parses like an API connection: header first, then judged, then the body under its limit.
HeaderVerdict parse(const lp::fuzz::ChunkedInput& in, bool chunked) {
    http::request_parser<http::string_body> parser;
    parser.header_limit(kHeaderLimit);
    parser.body_limit(boost::none);
    parser.eager(false);
    HeaderVerdict verdict;
    std::string pending;  // bytes received and not yet consumed by the parser
    bool failed = false;
    auto feed = [&](const std::uint8_t* data, std::size_t n) {
        pending.append(reinterpret_cast<const char*>(data), n);
        while (!failed && !pending.empty() && !parser.is_done()) {
            boost::beast::error_code ec;
            const std::size_t used = parser.put(boost::asio::buffer(pending), ec);
            // Even with need_more the parser may have taken the start line: drop what it used.
            pending.erase(0, used);
            if (ec == http::error::need_more) break;
            if (ec) {
                failed = true;
                break;
            }
            if (parser.is_header_done() && !verdict.done) {
                std::optional<std::uint64_t> length;
                if (const auto l = parser.content_length()) length = *l;
                verdict = judge(parser.get(), length);
                if (!verdict.authorized || (length && *length > kMaxBody)) {
                    failed = true;  // the API answers 401/413 here and reads no body
                    break;
                }
                parser.body_limit(kMaxBody);
            }
            if (used == 0) break;
        }
        return !failed;
    };
    if (chunked) {
        lp::fuzz::for_each_chunk(
            in, [&](std::uint8_t* chunk, std::size_t n) { return feed(chunk, n); });
    } else {
        feed(in.stream, in.size);
    }
    if (!failed && parser.is_done()) {
        const std::string& body = parser.get().body();
        if (body.size() > kMaxBody) std::abort();
        check_body(body);
    }
    return verdict;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = lp::fuzz::split_input(data, size);
    const HeaderVerdict chunked = parse(input, true);
    const HeaderVerdict whole = parse(input, false);
    if (!(chunked == whole)) std::abort();
    // The body rules straight on the raw bytes too: request bodies reach them unparsed.
    check_body(std::string_view(reinterpret_cast<const char*>(input.stream), input.size));
    return 0;
}
