// tests/integration/test_clients: the client-side helpers the end-to-end suites share: a
// client's options for a node, a client that connected and logged in (a failed connect or a
// refused LOGIN is a test failure, the client is returned either way), the room.enter/room.chat
// bodies, waiting for the next push of one type, a POST to the API that must answer a given
// status, and reading an id or count from the API's JSON.
// One copy here instead of one per test file; header-only, like eventually.hpp.
#pragma once

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"

namespace lp::testing {

// Options for a client of `port`, with the suites' 5 s answer timeout.
inline client::Options client_options(std::uint16_t port,
                                      client::Transport t = client::Transport::Tcp) {
    client::Options o;
    o.transport = t;
    o.port = port;
    o.timeout = std::chrono::milliseconds(5000);
    return o;
}

// The same for `node`'s listener of transport `t` (TCP or WebSocket).
inline client::Options client_options(const NodeProcess& node,
                                      client::Transport t = client::Transport::Tcp) {
    return client_options(t == client::Transport::Tcp ? node.tcp_port() : node.ws_port(), t);
}

// A client that connected with `o` and logged in with `token` (empty: a guest): connect must
// succeed and LOGIN_RESULT must come with code 0.
inline std::unique_ptr<client::Connection> login_with(const client::Options& o,
                                                      const std::string& token,
                                                      const std::string& platform = "android") {
    auto c = std::make_unique<client::Connection>(o);
    EXPECT_FALSE(c->connect()) << "connect to port " << o.port;
    auto r = c->login(token, platform);
    EXPECT_TRUE(r && r->code() == 0) << (r ? r->message() : "no LOGIN_RESULT");
    return c;
}

// A client of `port` logged in as `user` with `role` (token_for).
inline std::unique_ptr<client::Connection> logged_in(std::uint16_t port, std::uint64_t user,
                                                     const std::string& role = "viewer",
                                                     const std::string& platform = "android") {
    return login_with(client_options(port), token_for(user, 3600, role), platform);
}

// {"room_id":N}: room.enter's (and room.leave's) body.
inline std::string room_json(std::uint64_t room) {
    return R"({"room_id":)" + std::to_string(room) + "}";
}

// {"room_id":N,"text":"..."}: room.chat's body (`text` written as given, unescaped).
inline std::string chat_json(std::uint64_t room, const std::string& text) {
    return R"({"room_id":)" + std::to_string(room) + R"(,"text":")" + text + "\"}";
}

// room.enter's result data, or an empty object when it failed (a test failure).
inline boost::json::object enter_room(client::Connection& c, std::uint64_t room) {
    auto r = c.biz("room.enter", room_json(room));
    EXPECT_TRUE(r && r->code() == 0) << (r ? r->message() : "no BIZ_RESULT");
    if (!r || r->code() != 0) return {};
    return boost::json::parse(r->data()).as_object();
}

// The next push of `type` within `wait`, others skipped (nullopt if none came).
inline std::optional<livepush::v1::Push> push_of_type(
    client::Connection& c, const std::string& type,
    std::chrono::milliseconds wait = std::chrono::milliseconds(5000),
    std::chrono::milliseconds poll = std::chrono::milliseconds(200)) {
    const auto until = std::chrono::steady_clock::now() + wait;
    while (std::chrono::steady_clock::now() < until) {
        auto p = c.next_push(poll);
        if (p && p->type() == type) return p;
    }
    return std::nullopt;
}

// POSTs `body` to the API; the answer must have `status`. Its JSON object when that is 200,
// else an empty object.
inline boost::json::object post_json(HttpClient& api, const std::string& path,
                                     const std::string& body, int status = 200) {
    auto r = api.post(path, body);
    EXPECT_EQ(r.status, status) << path << " " << body << " -> " << r.body;
    return r.status == 200 ? r.json().as_object() : boost::json::object{};
}

// Ids come back as decimal strings (docs/api.md); counts as numbers. Either reads here.
inline std::uint64_t json_u64(const boost::json::value& v) {
    return v.is_string() ? std::stoull(std::string(v.as_string())) : v.to_number<std::uint64_t>();
}

}  // namespace lp::testing
