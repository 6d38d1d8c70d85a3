// plugins/sdk/json_reply: a plugin route's JSON answers in the API's shapes (docs/api.md), for
// plugins that parse with Boost.JSON. Optional and header-only, like json_ids.hpp and
// json_text.hpp: plugin.hpp, the SDK's interface, stays std-only.
//
// Every API error is the body {"error": "<what to fix>", "code": <status>} with that HTTP
// status; json_error writes it, so each plugin does not spell it again. json_body_object reads
// a request body that must be a JSON object, and says why not with a 400 in that shape.
#pragma once

#include <boost/json.hpp>
#include <optional>
#include <string>
#include <utility>

#include "plugins/sdk/plugin.hpp"

namespace lp::sdk {

// 200 with `body` as the JSON answer.
inline Reply json_ok(const boost::json::value& body) {
    return {200, {}, boost::json::serialize(body)};
}

// `status` (4xx: the caller can fix it; 503: a dependency is down) with the API's error body.
inline Reply json_error(int status, std::string message) {
    boost::json::object body;
    body["error"] = message;
    body["code"] = status;
    return {status, std::move(message), boost::json::serialize(body)};
}

// The body as a JSON object; nullopt, with `err` set to the 400 saying what is wrong, when it
// is not valid JSON or not an object.
inline std::optional<boost::json::object> json_body_object(const std::string& body,
                                                           std::optional<Reply>& err) {
    boost::system::error_code ec;
    auto value = boost::json::parse(body, ec);
    if (ec) {
        err = json_error(400, "malformed JSON body: " + ec.message());
        return std::nullopt;
    }
    if (!value.is_object()) {
        err = json_error(400, "the body must be a JSON object");
        return std::nullopt;
    }
    return std::move(value.as_object());
}

}  // namespace lp::sdk
