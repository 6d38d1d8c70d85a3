// push/api_reply: the HTTP API's JSON answers, written once for the files that make up
// ApiRoutes (api_routes.cpp, api_room_state.cpp): a JSON body with its status, and the API's
// error body {"error": "<what to fix>", "code": <int>} (docs/api.md "Errors").
#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <utility>

#include "push/api_routes.hpp"

namespace lp::push {

inline ApiResponse json_reply(unsigned status, std::string body) {
    ApiResponse res;
    res.status = status;
    res.body = std::move(body);
    return res;
}

// `code` is the HTTP status for most errors, a livepush error code where the docs name one.
inline ApiResponse api_error(unsigned status, std::string_view message, int code) {
    boost::json::object o;
    o["error"] = message;
    o["code"] = code;
    return json_reply(status, boost::json::serialize(o));
}

}  // namespace lp::push
