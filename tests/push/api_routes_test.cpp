// tests/push/api_routes_test: the internal API's routes (push/api_routes) without a socket.
//
// Each test hands ApiRoutes a parsed request, the way http_server does after reading one, and
// checks the response: status, JSON body, headers, and what reached a stub PushBackend. The
// connection side (deadlines, limits, keep-alive) is tests/push/http_api_test's.
#include "push/api_routes.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <stdexcept>
#include <string>
#include <vector>

#include "push/api_metrics.hpp"
#include "push/room_state_service.hpp"
#include "router/local_routing.hpp"
#include "server/hub.hpp"

namespace lp::push {
namespace {

namespace json = boost::json;

constexpr std::string_view kKey = "route-test-key";
constexpr std::string_view kBearer = "Bearer route-test-key";

// The push service as the routes see it: records what reaches it, answers what the test set.
class StubBackend : public PushBackend {
public:
    PushOutcome push(const PushRequest& req) override {
        pushes.push_back(req);
        if (throw_on_push) throw std::runtime_error("backend exploded");
        return outcome;
    }
    UserView user(std::uint64_t id) override {
        users_asked.push_back(id);
        return user_view;
    }
    RoomView room(std::uint64_t) override { return room_view; }
    std::uint64_t kick(std::uint64_t user, const std::string& reason) override {
        kicks.emplace_back(user, reason);
        return 2;
    }
    std::string metrics_text() override { return "livepush_sessions 3"; }  // no final newline
    bool ready(std::string& why) override {
        why = not_ready;
        return not_ready.empty();
    }

    PushOutcome outcome;
    UserView user_view;
    RoomView room_view;
    std::string not_ready;
    bool throw_on_push = false;
    std::vector<PushRequest> pushes;
    std::vector<std::uint64_t> users_asked;
    std::vector<std::pair<std::uint64_t, std::string>> kicks;
};

RouteOptions options_with_key() {
    RouteOptions o;
    o.key = std::string(kKey);
    o.max_body_bytes = 1024;
    o.max_user_ids = 3;
    return o;
}

ApiRequest request(std::string_view method, std::string_view target, std::string_view body = {}) {
    ApiRequest r;
    r.method = method;
    r.target = target;
    r.authorization = kBearer;
    r.body = body;
    return r;
}

json::value body_of(const ApiResponse& res) {
    return json::parse(res.body);
}

class ApiRoutesTest : public ::testing::Test {
protected:
    ApiResponse answer(std::string_view method, std::string_view target,
                       std::string_view body = {}) {
        return routes_.answer(request(method, target, body));
    }

    StubBackend backend_;
    ApiMetrics metrics_;
    ApiRoutes routes_{options_with_key(), backend_, metrics_};
};

TEST_F(ApiRoutesTest, UnknownRouteIs404WithAJsonError) {
    const ApiResponse res = answer("GET", "/v1/nope?x=1");
    EXPECT_EQ(res.status, 404u);
    EXPECT_EQ(res.content_type, "application/json");
    EXPECT_EQ(body_of(res), json::parse(R"({"error":"no such route: GET /v1/nope","code":404})"));
}

TEST_F(ApiRoutesTest, WrongMethodIs405NamingTheMethodToUse) {
    const ApiResponse res = answer("GET", "/v1/push/user");
    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(res.header("Allow"), "POST");
    EXPECT_EQ(body_of(res).at("error"), "GET is not allowed on /v1/push/user; use POST");
    EXPECT_EQ(answer("POST", "/v1/users/7").header("Allow"), "GET");
    EXPECT_EQ(answer("GET", "/v1/users/7/kick").header("Allow"), "POST");
}

TEST_F(ApiRoutesTest, MalformedBodyIs400WithAJsonErrorAndNeverReachesTheBackend) {
    const ApiResponse res = answer("POST", "/v1/push/user", "{not json");
    EXPECT_EQ(res.status, 400u);
    const json::value body = body_of(res);
    EXPECT_EQ(body.at("code"), 400);
    EXPECT_FALSE(body.at("error").as_string().empty());
    EXPECT_EQ(
        answer("POST", "/v1/push/users", R"({"user_ids":[1,2,3,4],"type":"t","payload":1})").status,
        400u)
        << "max_user_ids is the routes' limit";
    EXPECT_TRUE(backend_.pushes.empty());
}

TEST_F(ApiRoutesTest, PushIsAnsweredFromTheBackendWithIdsAsDecimalStrings) {
    backend_.outcome.msg_id = 9007199254740993;  // 2^53 + 1: lost as a JSON double
    backend_.outcome.sessions = 2;
    backend_.outcome.stored = 1;
    const ApiResponse res =
        answer("POST", "/v1/push/user", R"({"user_id":"42","type":"t","payload":{"a":1},"qos":1})");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(body_of(res),
              json::parse(R"({"msg_id":"9007199254740993","sessions":2,"stored":1})"));
    ASSERT_EQ(backend_.pushes.size(), 1u);
    EXPECT_EQ(backend_.pushes[0].target, Target::User);
    EXPECT_EQ(backend_.pushes[0].user_id, 42u);
    EXPECT_EQ(backend_.pushes[0].payload, R"({"a":1})");
    EXPECT_EQ(backend_.pushes[0].qos, 1);
}

TEST_F(ApiRoutesTest, RoomPushAnswersRoomSeqOrNullWhenTheHomeDidNotAnswer) {
    backend_.outcome.room_seq = 77;
    const ApiResponse res =
        answer("POST", "/v1/push/room", R"({"room_id":5,"type":"t","payload":1})");
    EXPECT_EQ(body_of(res).at("room_seq"), "77");
    EXPECT_EQ(backend_.pushes.at(0).target, Target::Room);
    backend_.outcome.room_seq_known = false;
    EXPECT_TRUE(body_of(answer("POST", "/v1/push/room", R"({"room_id":5,"type":"t","payload":1})"))
                    .at("room_seq")
                    .is_null());
}

TEST_F(ApiRoutesTest, BackendRefusalKeepsItsStatusAndCode) {
    backend_.outcome.status = 429;
    backend_.outcome.code = kInboxShareFull;
    backend_.outcome.error = "inbox share full";
    const ApiResponse res =
        answer("POST", "/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    EXPECT_EQ(res.status, 429u);
    EXPECT_EQ(body_of(res), json::parse(R"({"error":"inbox share full","code":3009})"));
}

TEST_F(ApiRoutesTest, BackendExceptionIsA500JsonError) {
    backend_.throw_on_push = true;
    const ApiResponse res = answer("POST", "/v1/push/broadcast", R"({"type":"t","payload":1})");
    EXPECT_EQ(res.status, 500u);
    EXPECT_EQ(body_of(res).at("error"), "internal error: backend exploded");
}

TEST_F(ApiRoutesTest, NonJsonContentTypeIs415AndAMissingOneIsAccepted) {
    ApiRequest r = request("POST", "/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    r.content_type = "text/plain";
    EXPECT_EQ(routes_.answer(r).status, 415u);
    r.content_type = "application/json; charset=utf-8";
    EXPECT_EQ(routes_.answer(r).status, 200u);
    r.content_type.reset();
    EXPECT_EQ(routes_.answer(r).status, 200u);
}

TEST_F(ApiRoutesTest, EveryRouteButHealthzNeedsTheKey) {
    ApiRequest r = request("GET", "/v1/users/1");
    r.authorization.reset();
    ApiResponse res = routes_.answer(r);
    EXPECT_EQ(res.status, 401u);
    EXPECT_EQ(res.header("WWW-Authenticate"), "Bearer");
    r.authorization = "Bearer wrong";
    EXPECT_EQ(routes_.answer(r).status, 401u);
    r.target = "/healthz";
    res = routes_.answer(r);
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"({"status":"ok"})");
    EXPECT_TRUE(backend_.users_asked.empty());
}

TEST_F(ApiRoutesTest, TheHeaderIsJudgedBeforeAnyBody) {
    ApiRequest head = request("POST", "/v1/push/user");
    EXPECT_FALSE(routes_.answer_header(head, 100, true).has_value()) << "key good, size fine";

    const auto too_large = routes_.answer_header(head, 1025, true);
    ASSERT_TRUE(too_large.has_value());
    EXPECT_EQ(too_large->status, 413u);
    EXPECT_EQ(body_of(*too_large).at("error"), "body over api.max_body_bytes (1024 bytes)");

    head.authorization = "Bearer wrong";
    const auto refused = routes_.answer_header(head, 1025, true);
    ASSERT_TRUE(refused.has_value());
    EXPECT_EQ(refused->status, 401u) << "the key is judged before the size: no limit leaks";

    head.target = "/healthz";
    head.method = "GET";
    EXPECT_FALSE(routes_.answer_header(head, std::nullopt, false).has_value());
    EXPECT_EQ(routes_.answer_header(head, 10, true)->status, 401u)
        << "/healthz takes no body from a caller without the key";

    const std::string text = metrics_.text();
    EXPECT_NE(text.find(R"(livepush_api_rejected_total{reason="unauthorized"} 2)"),
              std::string::npos);
    EXPECT_NE(text.find(R"(livepush_api_rejected_total{reason="too_large"} 1)"), std::string::npos);
}

TEST_F(ApiRoutesTest, OverTheRateIs429WithRetryAfterButProbesAreExempt) {
    StubBackend backend;
    ApiMetrics metrics;
    RouteOptions o = options_with_key();
    o.max_requests_per_s = 1;
    ApiRoutes routes(o, backend, metrics);
    const ApiRequest push =
        request("POST", "/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    EXPECT_EQ(routes.answer(push).status, 200u);
    const ApiResponse limited = routes.answer(push);
    EXPECT_EQ(limited.status, 429u);
    EXPECT_EQ(limited.header("Retry-After"), "1");
    EXPECT_EQ(routes.answer(request("GET", "/healthz")).status, 200u);
    EXPECT_EQ(routes.answer(request("GET", "/metrics")).status, 200u);
    EXPECT_NE(metrics.text().find(R"(livepush_api_rejected_total{reason="rate"} 1)"),
              std::string::npos);
}

TEST_F(ApiRoutesTest, DrainingRefusesPushesAndReadyzSaysSo) {
    EXPECT_EQ(answer("GET", "/readyz").body, R"({"status":"ready"})");
    backend_.not_ready = "redis down";
    EXPECT_EQ(body_of(answer("GET", "/readyz")),
              json::parse(R"({"status":"degraded","reason":"redis down"})"));
    routes_.set_draining(true);
    const ApiResponse res =
        answer("POST", "/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    EXPECT_EQ(res.status, 503u);
    EXPECT_EQ(answer("GET", "/readyz").status, 503u);
    EXPECT_EQ(body_of(answer("GET", "/readyz")).at("status"), "draining");
    EXPECT_TRUE(backend_.pushes.empty());
    EXPECT_EQ(answer("GET", "/v1/users/1").status, 200u) << "views still work while draining";
}

TEST_F(ApiRoutesTest, UserViewRoomViewAndKickSpeakIdsAsStrings) {
    backend_.user_view.online = true;
    backend_.user_view.node = "n1";
    backend_.user_view.sessions.push_back({18446744073709551615u, "ios", "ws", "room", {9}, "n1"});
    const json::value user = body_of(answer("GET", "/v1/users/18446744073709551615"));
    EXPECT_EQ(user.at("user_id"), "18446744073709551615");
    EXPECT_EQ(user.at("sessions").at(0).at("session_id"), "18446744073709551615");
    EXPECT_EQ(user.at("sessions").at(0).at("rooms").at(0), "9");

    backend_.room_view = {4, 11, 2, ""};
    EXPECT_EQ(body_of(answer("GET", "/v1/rooms/3")),
              json::parse(R"({"room_id":"3","online":4,"room_seq":"11","epoch":"2"})"));

    EXPECT_EQ(answer("POST", "/v1/users/5/kick", R"({"reason":"abuse"})").body, R"({"kicked":2})");
    EXPECT_EQ(answer("POST", "/v1/users/6/kick").status, 200u);
    ASSERT_EQ(backend_.kicks.size(), 2u);
    EXPECT_EQ(backend_.kicks[0], std::make_pair(std::uint64_t{5}, std::string("abuse")));
    EXPECT_EQ(backend_.kicks[1], std::make_pair(std::uint64_t{6}, std::string("admin")));

    EXPECT_EQ(answer("GET", "/v1/users/abc").status, 400u);
    EXPECT_EQ(answer("GET", "/v1/rooms/0").status, 400u);
    EXPECT_EQ(answer("GET", "/v1/users/").status, 404u);
}

TEST_F(ApiRoutesTest, PluginRoutesMatchExactBeforeLongestPrefix) {
    std::vector<HttpRequest> seen;
    auto reply = [&seen](std::string body) {
        return [&seen, body](const HttpRequest& r) {
            seen.push_back(r);
            return HttpReply{201, body};
        };
    };
    routes_.add_route("POST", "/v1/pk/", reply(R"({"by":"prefix"})"));
    routes_.add_route("POST", "/v1/pk/match/", reply(R"({"by":"longer prefix"})"));
    routes_.add_route("GET", "/v1/pk/match/start", reply(R"({"by":"exact"})"));

    ApiResponse res = answer("GET", "/v1/pk/match/start?room=%41+b", "");
    EXPECT_EQ(res.status, 201u);
    EXPECT_EQ(res.body, R"({"by":"exact"})");
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].path, "/v1/pk/match/start");
    EXPECT_EQ(seen[0].query.at("room"), "A b");

    EXPECT_EQ(answer("POST", "/v1/pk/match/x", "{}").body, R"({"by":"longer prefix"})");
    EXPECT_EQ(answer("POST", "/v1/pk/other", R"({"n":1})").body, R"({"by":"prefix"})");
    EXPECT_EQ(seen.back().body, R"({"n":1})");
    EXPECT_EQ(seen.back().method, "POST");

    res = answer("DELETE", "/v1/pk/match/start");
    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(res.header("Allow"), "GET");
    EXPECT_THROW(routes_.add_route("GET", "no-slash", reply("{}")), std::invalid_argument);
}

// An {id} segment matches one non-empty path segment, never a slash; /v1/rooms/{id} itself
// stays the room view.
TEST_F(ApiRoutesTest, AnIdSegmentInAPatternMatchesOneSegment) {
    routes_.add_route("POST", "/v1/rooms/{id}/mute", [](const HttpRequest& r) {
        return HttpReply{200, "\"" + r.path + "\""};
    });
    ApiResponse res = answer("POST", "/v1/rooms/42/mute", "{}");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, R"("/v1/rooms/42/mute")");
    EXPECT_EQ(res.route, "/v1/rooms/{id}/mute") << "the pattern is the label";
    EXPECT_EQ(answer("POST", "/v1/rooms//mute", "{}").status, 404u);
    EXPECT_EQ(answer("POST", "/v1/rooms/4/2/mute", "{}").status, 404u);
    EXPECT_EQ(answer("POST", "/v1/rooms/42/mutex", "{}").status, 404u);
    EXPECT_EQ(answer("GET", "/v1/rooms/42/mute").status, 405u);
    EXPECT_EQ(answer("GET", "/v1/rooms/42").status, 200u) << "the room view is untouched";
}

TEST_F(ApiRoutesTest, PluginStatusOutOfRangeIsA500NamingTheRoute) {
    routes_.add_route("GET", "/v1/bad", [](const HttpRequest&) { return HttpReply{42, "{}"}; });
    const ApiResponse res = answer("GET", "/v1/bad");
    EXPECT_EQ(res.status, 500u);
    EXPECT_EQ(body_of(res).at("error"), "route /v1/bad answered with HTTP status 42");
}

TEST_F(ApiRoutesTest, EveryAnswerNamesTheRoutePatternNeverTheRawPath) {
    EXPECT_EQ(answer("GET", "/v1/users/123").route, "/v1/users/{id}");
    EXPECT_EQ(answer("GET", "/v1/users/abc").route, "/v1/users/{id}");
    EXPECT_EQ(answer("POST", "/v1/users/5/kick").route, "/v1/users/{id}/kick");
    EXPECT_EQ(answer("GET", "/v1/rooms/5?x=1").route, "/v1/rooms/{id}");
    EXPECT_EQ(answer("GET", "/v1/push/user").route, "/v1/push/user") << "a 405 too";
    EXPECT_EQ(answer("GET", "/nope").route, "unmatched");
    routes_.add_route("GET", "/v1/pk/", [](const HttpRequest&) { return HttpReply{}; });
    EXPECT_EQ(answer("GET", "/v1/pk/anything").route, "/v1/pk/");
    EXPECT_EQ(routes_.answer_unreadable(431, "header too big", "POST", "/v1/push/room").route,
              "/v1/push/room");
    EXPECT_EQ(routes_.answer_unreadable(400, "not HTTP", "", "").route, "unmatched");
    ApiRequest keyless = request("GET", "/v1/rooms/1");
    keyless.authorization.reset();
    EXPECT_EQ(routes_.answer_header(keyless, std::nullopt, false)->route, "/v1/rooms/{id}");
}

TEST_F(ApiRoutesTest, MetricsRouteServesTheBackendsTextThenTheApisOwn) {
    metrics_.record("/v1/users/{id}", 200, std::chrono::milliseconds(1));
    const ApiResponse res = answer("GET", "/metrics");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.content_type, "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(res.body, "livepush_sessions 3\n" + metrics_.text())
        << "the backend's text gets the newline it lacked";
    EXPECT_NE(
        res.body.find(R"(livepush_api_requests_total{route="/v1/users/{id}",status="200"} 1)"),
        std::string::npos);
}

// The exact text of the API's families, as the hand-written writer before codec::PromText
// produced it: names, labels, bucket bounds and number forms are what dashboards rely on.
// The room state routes (api_room_state.cpp) over the memory store and an embedded node's
// routing without loops: the route table, methods, labels and answers; the store and the push
// are tests/integration/room_state_test's.
TEST_F(ApiRoutesTest, RoomStateRoutesAnswerWithVersionsAndTheirOwnLabels) {
    EXPECT_EQ(answer("GET", "/v1/rooms/5/state").status, 404u) << "no service: not served";
    server::Hub hub({});
    router::LocalRouting routing(hub);
    router::MemoryRoomStateStore store;
    std::uint64_t ids = 0;
    RoomStateService service({}, store, routing, [&] { return ++ids; });
    routes_.set_room_state(&service);

    ApiResponse res = answer("GET", "/v1/rooms/5/state");
    EXPECT_EQ(res.status, 200u);
    EXPECT_EQ(res.body, "{}");
    EXPECT_EQ(res.route, "/v1/rooms/{id}/state");
    res = answer("PUT", "/v1/rooms/5/state/title", R"({"text":"hi"})");
    EXPECT_EQ(res.status, 200u) << res.body;
    EXPECT_EQ(res.body, R"({"version":1})");
    EXPECT_EQ(res.route, "/v1/rooms/{id}/state/{key}");
    EXPECT_EQ(answer("GET", "/v1/rooms/5/state").body,
              R"({"title":{"value":{"text":"hi"},"version":1}})");
    EXPECT_EQ(answer("DELETE", "/v1/rooms/5/state/title").body, R"({"version":2})");
    EXPECT_EQ(answer("DELETE", "/v1/rooms/5/state/title").status, 404u);

    res = answer("POST", "/v1/rooms/5/state/title", "1");
    EXPECT_EQ(res.status, 405u);
    EXPECT_EQ(res.header("Allow"), "PUT, DELETE");
    EXPECT_EQ(answer("PUT", "/v1/rooms/5/state").header("Allow"), "GET");
    EXPECT_EQ(answer("PUT", "/v1/rooms/x/state/title", "1").status, 400u);
    EXPECT_EQ(answer("GET", "/v1/rooms/5/other").status, 404u);
    EXPECT_EQ(body_of(answer("PUT", "/v1/rooms/5/state/a%20b", "1")).at("code"), 3018);
    EXPECT_EQ(body_of(answer("PUT", "/v1/rooms/5/state/big", std::string(5000, '1'))).at("code"),
              3019);
    EXPECT_EQ(answer("GET", "/v1/rooms/5").route, "/v1/rooms/{id}") << "the room view as before";
}

TEST(ApiMetricsText, IsExactlyTheFormerText) {
    using namespace std::chrono;
    ApiMetrics m;
    m.record("/v1/push/user", 200, microseconds(3000));
    m.record("/v1/push/user", 200, microseconds(100));
    m.record("/v1/x\"y\\", 404, milliseconds(2000));
    m.record("unmatched", 413, microseconds(500));
    m.count_rejected(ApiMetrics::Rejection::Rate);
    m.count_rejected(ApiMetrics::Rejection::HeaderTimeout);
    m.count_rejected(ApiMetrics::Rejection::HeaderTimeout);
    m.connection_opened();
    m.connection_opened();
    m.connection_closed();
    const std::string expected =
        R"(# HELP livepush_api_requests_total Internal API requests by route pattern and HTTP status.
# TYPE livepush_api_requests_total counter
livepush_api_requests_total{route="/v1/push/user",status="200"} 2
livepush_api_requests_total{route="/v1/x\"y\\",status="404"} 1
livepush_api_requests_total{route="unmatched",status="413"} 1
# HELP livepush_api_request_duration_seconds Time from a request's header to its answer being ready.
# TYPE livepush_api_request_duration_seconds histogram
livepush_api_request_duration_seconds_bucket{le="0.0005"} 2
livepush_api_request_duration_seconds_bucket{le="0.001"} 2
livepush_api_request_duration_seconds_bucket{le="0.0025"} 2
livepush_api_request_duration_seconds_bucket{le="0.005"} 3
livepush_api_request_duration_seconds_bucket{le="0.01"} 3
livepush_api_request_duration_seconds_bucket{le="0.025"} 3
livepush_api_request_duration_seconds_bucket{le="0.05"} 3
livepush_api_request_duration_seconds_bucket{le="0.1"} 3
livepush_api_request_duration_seconds_bucket{le="0.25"} 3
livepush_api_request_duration_seconds_bucket{le="0.5"} 3
livepush_api_request_duration_seconds_bucket{le="0.75"} 3
livepush_api_request_duration_seconds_bucket{le="1"} 3
livepush_api_request_duration_seconds_bucket{le="+Inf"} 4
livepush_api_request_duration_seconds_sum 2.0036
livepush_api_request_duration_seconds_count 4
# HELP livepush_api_rejected_total API work refused: rate (429), unauthorized (401 on the header), too_large (413 on Content-Length), over_connections (new connection refused at max_connections), evicted_idle (oldest idle connection closed to admit a new one), header_timeout (no full header within header_timeout_ms).
# TYPE livepush_api_rejected_total counter
livepush_api_rejected_total{reason="rate"} 1
livepush_api_rejected_total{reason="unauthorized"} 0
livepush_api_rejected_total{reason="too_large"} 0
livepush_api_rejected_total{reason="over_connections"} 0
livepush_api_rejected_total{reason="evicted_idle"} 0
livepush_api_rejected_total{reason="header_timeout"} 2
# HELP livepush_api_connections Open API connections.
# TYPE livepush_api_connections gauge
livepush_api_connections 1
)";
    EXPECT_EQ(m.text(), expected);
}

}  // namespace
}  // namespace lp::push
