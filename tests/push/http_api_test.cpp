// tests/push/http_api_test: the internal HTTP API (push/http_api) over real HTTP on loopback.
//
// Each test starts an HttpApi on 127.0.0.1:0 in-process, in front of a ScriptedBackend that
// records what reaches it and answers what the test scripted, and talks to it with a Beast
// client: several requests per connection, as business services do.
//
// Over 600 lines (about 1,050): every endpoint's success and refusal cases against one in-process
// fixture; the next split is by endpoint family (pushes, rooms, admin) into files of their own.
#include "push/http_api.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

namespace lp::push {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;
using namespace std::chrono_literals;
using Reply = http::response<http::string_body>;

constexpr const char* kKey = "test-key-0123456789";

// The push service as the API sees it: records requests, answers scripted outcomes.
class ScriptedBackend : public PushBackend {
public:
    PushOutcome push(const PushRequest& req) override {
        std::lock_guard lock(mutex_);
        pushes_.push_back(req);
        if (throw_on_push) throw std::runtime_error("backend exploded");
        if (!scripted_.empty()) {
            PushOutcome o = scripted_.front();
            scripted_.pop_front();
            return o;
        }
        PushOutcome o;
        o.msg_id = next_msg_id_++;
        o.sessions = 2;
        o.stored = req.qos == 1 ? 1 : 0;
        o.room_seq = req.target == Target::Room ? 77 : 0;
        return o;
    }
    UserView user(std::uint64_t id) override {
        std::lock_guard lock(mutex_);
        auto it = users_.find(id);
        return it == users_.end() ? UserView{} : it->second;
    }
    RoomView room(std::uint64_t id) override {
        std::lock_guard lock(mutex_);
        auto it = rooms_.find(id);
        return it == rooms_.end() ? RoomView{} : it->second;
    }
    std::uint64_t kick(std::uint64_t user, const std::string& reason) override {
        std::lock_guard lock(mutex_);
        kicks_.emplace_back(user, reason);
        return users_.count(user) ? users_[user].sessions.size() : 0;
    }
    std::string metrics_text() override { return "livepush_sessions 3"; }  // no final newline
    bool ready(std::string& why) override {
        std::lock_guard lock(mutex_);
        why = not_ready_reason_;
        return not_ready_reason_.empty();
    }

    void script(PushOutcome o) {
        std::lock_guard lock(mutex_);
        scripted_.push_back(std::move(o));
    }
    void set_user(std::uint64_t id, UserView v) {
        std::lock_guard lock(mutex_);
        users_[id] = std::move(v);
    }
    void set_room(std::uint64_t id, RoomView v) {
        std::lock_guard lock(mutex_);
        rooms_[id] = v;
    }
    void set_not_ready(std::string why) {
        std::lock_guard lock(mutex_);
        not_ready_reason_ = std::move(why);
    }
    std::vector<PushRequest> pushes() {
        std::lock_guard lock(mutex_);
        return pushes_;
    }
    std::vector<std::pair<std::uint64_t, std::string>> kicks() {
        std::lock_guard lock(mutex_);
        return kicks_;
    }
    std::atomic<bool> throw_on_push{false};

private:
    std::mutex mutex_;
    std::vector<PushRequest> pushes_;
    std::deque<PushOutcome> scripted_;
    std::map<std::uint64_t, UserView> users_;
    std::map<std::uint64_t, RoomView> rooms_;
    std::vector<std::pair<std::uint64_t, std::string>> kicks_;
    std::string not_ready_reason_;
    std::uint64_t next_msg_id_ = 1001;
};

// One keep-alive connection. Every operation is bounded by a timeout so a broken server fails
// the test instead of hanging it.
class HttpClient {
public:
    HttpClient(std::uint16_t port, std::string key) : stream_(ioc_), key_(std::move(key)) {
        stream_.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    }

    Reply send(http::verb method, const std::string& target, const std::string& body = "",
               const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        write_raw(format(method, target, body, headers));
        return read();
    }
    Reply post(const std::string& target, const std::string& body) {
        return send(http::verb::post, target, body);
    }
    Reply get(const std::string& target) { return send(http::verb::get, target); }

    std::string format(http::verb method, const std::string& target, const std::string& body = "",
                       const std::vector<std::pair<std::string, std::string>>& headers = {}) {
        http::request<http::string_body> req{method, target, 11};
        req.set(http::field::host, "127.0.0.1");
        if (!key_.empty()) req.set(http::field::authorization, "Bearer " + key_);
        if (!body.empty()) req.set(http::field::content_type, "application/json");
        for (const auto& [name, value] : headers) req.set(name, value);
        req.body() = body;
        req.prepare_payload();
        std::ostringstream out;
        out << req;
        return out.str();
    }

    void write_raw(const std::string& bytes) {
        beast::error_code result;
        stream_.expires_after(5s);
        asio::async_write(stream_, asio::buffer(bytes),
                          [&](beast::error_code ec, std::size_t) { result = ec; });
        run();
        if (result) throw beast::system_error(result);
    }

    Reply read() {
        http::response_parser<http::string_body> parser;
        parser.body_limit(boost::none);
        beast::error_code result;
        stream_.expires_after(5s);
        http::async_read(stream_, buffer_, parser,
                         [&](beast::error_code ec, std::size_t) { result = ec; });
        run();
        if (result) throw beast::system_error(result);
        return parser.release();
    }

    // True when the server closes the connection (EOF or reset) within `within`.
    bool closed_by_peer(std::chrono::milliseconds within = 3000ms) {
        beast::error_code result;
        char scratch[4096];
        stream_.expires_after(within);
        for (;;) {
            std::size_t got = 0;
            stream_.async_read_some(asio::buffer(scratch),
                                    [&](beast::error_code ec, std::size_t n) {
                                        result = ec;
                                        got = n;
                                    });
            run();
            if (result) break;
            if (got == 0) break;
        }
        return result == asio::error::eof || result == asio::error::connection_reset;
    }

private:
    void run() {
        ioc_.restart();
        ioc_.run();
    }

    asio::io_context ioc_;
    beast::tcp_stream stream_;
    beast::flat_buffer buffer_;
    std::string key_;
};

json::value body_json(const Reply& r) {
    return json::parse(r.body());
}

std::string error_of(const Reply& r) {
    const auto v = body_json(r);
    return std::string(v.at("error").as_string());
}

class HttpApiTest : public ::testing::Test {
protected:
    void start(ApiOptions options = {}) {
        options.listen = "127.0.0.1:0";
        if (options.key.empty() && use_key_) options.key = kKey;
        api_ = std::make_unique<HttpApi>(options, backend_);
        for (auto& [method, path, handler] : routes_) api_->add_route(method, path, handler);
        api_->start();
        ASSERT_NE(api_->port(), 0);
    }
    void TearDown() override {
        if (api_) api_->stop();
    }
    HttpClient client(std::string key = kKey) { return HttpClient(api_->port(), std::move(key)); }

    std::string metrics() { return client().get("/metrics").body(); }

    ScriptedBackend backend_;
    std::unique_ptr<HttpApi> api_;
    bool use_key_ = true;
    std::vector<std::tuple<std::string, std::string, RouteHandler>> routes_;
};

// Reads the value of one Prometheus sample line, or -1 when absent.
double sample(const std::string& text, const std::string& series) {
    std::istringstream in(text);
    std::string line;
    while (std::getline(in, line)) {
        if (line.size() > series.size() && line.compare(0, series.size(), series) == 0 &&
            line[series.size()] == ' ') {
            return std::stod(line.substr(series.size() + 1));
        }
    }
    return -1;
}

// ------------------------------------------------------------------------------ auth, probes

TEST_F(HttpApiTest, HealthzAnswersWithoutKey) {
    start();
    auto c = client("");
    Reply r = c.get("/healthz");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"status":"ok"})");
    EXPECT_EQ(r[http::field::content_type], "application/json");
    EXPECT_EQ(r[http::field::content_length], std::to_string(r.body().size()));
}

TEST_F(HttpApiTest, EveryOtherRouteNeedsTheKey) {
    start();
    const std::pair<http::verb, std::string> routes[] = {
        {http::verb::post, "/v1/push/user"}, {http::verb::post, "/v1/push/users"},
        {http::verb::post, "/v1/push/room"}, {http::verb::post, "/v1/push/broadcast"},
        {http::verb::get, "/v1/users/1"},    {http::verb::post, "/v1/users/1/kick"},
        {http::verb::get, "/v1/rooms/1"},    {http::verb::get, "/metrics"},
        {http::verb::get, "/readyz"},        {http::verb::get, "/v1/nothing-here"},
        {http::verb::post, "/healthz"},
    };
    const std::string push = R"({"user_id":1,"type":"t","payload":1})";
    for (const std::string key : {"", "wrong-key", "test-key-012345678", "test-key-01234567890"}) {
        for (const auto& [method, target] : routes) {
            // A 401 to a request that announced a body closes the connection (the body is
            // never read): one connection per request.
            auto c = client(key);
            Reply r = c.send(method, target, method == http::verb::post ? push : "");
            EXPECT_EQ(r.result_int(), 401) << target << " key=" << key;
            EXPECT_EQ(r.body(), R"({"error":"missing or bad API key","code":401})");
            EXPECT_EQ(r[http::field::www_authenticate], "Bearer");
        }
    }
    EXPECT_TRUE(backend_.pushes().empty());
    EXPECT_TRUE(backend_.kicks().empty());
}

TEST_F(HttpApiTest, NoKeyConfiguredMeansNoAuth) {
    use_key_ = false;
    start();
    auto c = client("");
    EXPECT_EQ(c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})").result_int(), 200);
    EXPECT_EQ(c.get("/metrics").result_int(), 200);
}

TEST_F(HttpApiTest, ReadyzSaysReadyDegradedOrDraining) {
    start();
    auto c = client();
    Reply r = c.get("/readyz");
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"status":"ready"})");

    backend_.set_not_ready("redis unreachable");
    r = c.get("/readyz");
    EXPECT_EQ(r.result_int(), 503);
    EXPECT_EQ(body_json(r).at("status"), "degraded");
    EXPECT_EQ(body_json(r).at("reason"), "redis unreachable");

    api_->set_draining(true);
    r = c.get("/readyz");
    EXPECT_EQ(r.result_int(), 503);
    EXPECT_EQ(body_json(r).at("status"), "draining");
}

// ------------------------------------------------------------------------------ pushes

TEST_F(HttpApiTest, PushUserReachesTheBackendWithEveryField) {
    start();
    auto c = client();
    Reply r = c.post("/v1/push/user",
                     R"({"user_id":"42","type":"pk.result","payload":{"win":true},"qos":1,)"
                     R"("ttl_s":600,"exclude":[1]})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r[http::field::content_type], "application/json");
    EXPECT_EQ(r.body(), R"({"msg_id":"1001","sessions":2,"stored":1})");
    auto pushes = backend_.pushes();
    ASSERT_EQ(pushes.size(), 1u);
    EXPECT_EQ(pushes[0].target, Target::User);
    EXPECT_EQ(pushes[0].user_id, 42u);
    EXPECT_EQ(pushes[0].type, "pk.result");
    EXPECT_EQ(pushes[0].payload, R"({"win":true})");
    EXPECT_EQ(pushes[0].qos, 1);
    EXPECT_EQ(pushes[0].ttl_s, 600u);
    EXPECT_TRUE(pushes[0].exclude.empty());  // not a field of user pushes
}

TEST_F(HttpApiTest, MsgIdIsADecimalStringEvenAbove2To53) {
    start();
    PushOutcome o;
    o.msg_id = 9223372036854775813ull;
    o.sessions = 0;
    o.stored = 1;
    backend_.script(o);
    Reply r = client().post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    EXPECT_EQ(r.body(), R"({"msg_id":"9223372036854775813","sessions":0,"stored":1})");
}

TEST_F(HttpApiTest, PushUsersDedupesIds) {
    start();
    Reply r = client().post("/v1/push/users",
                            R"({"user_ids":[5,"3",5,3,9],"type":"feed.item","payload":[]})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    auto pushes = backend_.pushes();
    ASSERT_EQ(pushes.size(), 1u);
    EXPECT_EQ(pushes[0].target, Target::Users);
    EXPECT_EQ(pushes[0].user_ids, (std::vector<std::uint64_t>{3, 5, 9}));
}

TEST_F(HttpApiTest, PushUsersOverTheLimitIs400NamingTheLimit) {
    ApiOptions o;
    o.max_user_ids = 3;
    start(o);
    auto c = client();
    Reply r = c.post("/v1/push/users", R"({"user_ids":[1,2,3,4],"type":"t","payload":1})");
    EXPECT_EQ(r.result_int(), 400);
    EXPECT_NE(error_of(r).find("at most 3"), std::string::npos) << r.body();
    EXPECT_EQ(
        c.post("/v1/push/users", R"({"user_ids":[1,2,3],"type":"t","payload":1})").result_int(),
        200);
}

TEST_F(HttpApiTest, PushRoomAnswersRoomSeqAndSortsExclude) {
    start();
    Reply r =
        client().post("/v1/push/room",
                      R"({"room_id":88,"type":"gift.effect","payload":{"g":1},"exclude":[9,2,9]})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r.body(), R"({"msg_id":"1001","sessions":2,"stored":0,"room_seq":"77"})");
    auto pushes = backend_.pushes();
    ASSERT_EQ(pushes.size(), 1u);
    EXPECT_EQ(pushes[0].target, Target::Room);
    EXPECT_EQ(pushes[0].room_id, 88u);
    EXPECT_EQ(pushes[0].qos, 0);
    EXPECT_EQ(pushes[0].exclude, (std::vector<std::uint64_t>{2, 9}));
}

TEST_F(HttpApiTest, PushBroadcastReachesTheBackend) {
    start();
    Reply r = client().post("/v1/push/broadcast",
                            R"({"type":"notice","payload":"maintenance at 3","exclude":["7"]})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_FALSE(body_json(r).as_object().contains("room_seq"));
    auto pushes = backend_.pushes();
    ASSERT_EQ(pushes.size(), 1u);
    EXPECT_EQ(pushes[0].target, Target::Broadcast);
    EXPECT_EQ(pushes[0].payload, R"("maintenance at 3")");
    EXPECT_EQ(pushes[0].exclude, (std::vector<std::uint64_t>{7}));
}

TEST_F(HttpApiTest, PayloadArrivesExactlyAsTheCallerWroteIt) {
    start();
    auto c = client();
    // design.md: the payload reaches clients unchanged: spacing, number spelling and all.
    const std::string cases[] = {
        R"({ "a" : 1, "b" : { "c" : [ true, null ] } })",
        R"("just a string with \"quotes\", commas, } and ]")",
        "-17",
        "1.5",
        "123456789012345678901234567890",
        "[ [ 1, [ 2, [ ] ] ], [ ] ]",
        R"({"payload":"nested key of the same name"})",
    };
    for (const auto& in : cases) {
        ASSERT_EQ(c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":)" + in + "}")
                      .result_int(),
                  200);
        EXPECT_EQ(backend_.pushes().back().payload, in);
    }
    // Fields after the payload, and a payload that is not the first member.
    ASSERT_EQ(c.post("/v1/push/user", R"({"type":"t", "payload" :  {"x":[1,2]} , "user_id":1})")
                  .result_int(),
              200);
    EXPECT_EQ(backend_.pushes().back().payload, R"({"x":[1,2]})");
}

TEST_F(HttpApiTest, Base64PayloadArrivesDecoded) {
    start();
    Reply r =
        client().post("/v1/push/user", R"({"user_id":1,"type":"bin","payload_base64":"AAH/gA=="})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(backend_.pushes().back().payload, std::string("\x00\x01\xff\x80", 4));
}

TEST_F(HttpApiTest, BadBodiesAre400NamingWhatToFix) {
    start();
    auto c = client();  // one connection: an error answer does not end keep-alive
    const struct {
        const char* route;
        const char* body;
        const char* names;
    } cases[] = {
        {"/v1/push/user", R"({"user_id":1,"type":"t","payload":)", "not valid JSON"},
        {"/v1/push/user", R"([1,2])", "JSON object"},
        {"/v1/push/user", R"({"type":"t","payload":1})", "\"user_id\" is required"},
        {"/v1/push/user", R"({"user_id":"abc","type":"t","payload":1})", "\"user_id\""},
        {"/v1/push/user", R"({"user_id":0,"type":"t","payload":1})", "\"user_id\""},
        {"/v1/push/user", R"({"user_id":-5,"type":"t","payload":1})", "\"user_id\""},
        {"/v1/push/user", R"({"user_id":1,"payload":1})", "\"type\""},
        {"/v1/push/user", R"({"user_id":1,"type":"t","payload":1,"qos":2})", "\"qos\""},
        {"/v1/push/user", R"({"user_id":1,"type":"t","payload":1,"ttl_s":-1})", "\"ttl_s\""},
        {"/v1/push/user", R"({"user_id":1,"type":"t"})", "\"payload\""},
        {"/v1/push/user", R"({"user_id":1,"type":"t","payload":1,"payload_base64":"AA=="})",
         "\"payload_base64\""},
        {"/v1/push/user", R"({"user_id":1,"type":"t","payload_base64":"not base64!"})",
         "\"payload_base64\""},
        {"/v1/push/room", R"({"room_id":1,"type":"t","payload":1,"qos":1})", "\"qos\" must be 0"},
        {"/v1/push/room", R"({"room_id":1,"type":"t","payload":1,"exclude":[0]})", "\"exclude\""},
        {"/v1/push/users", R"({"user_ids":[],"type":"t","payload":1})", "\"user_ids\""},
        {"/v1/push/broadcast", R"({"type":"t","payload":1,"qos":1})", "\"qos\""},
    };
    for (const auto& t : cases) {
        Reply r = c.post(t.route, t.body);
        EXPECT_EQ(r.result_int(), 400) << t.body;
        EXPECT_EQ(r[http::field::content_type], "application/json");
        const auto v = body_json(r);
        EXPECT_EQ(v.at("code"), 400);
        EXPECT_NE(error_of(r).find(t.names), std::string::npos) << t.body << " -> " << r.body();
    }
    EXPECT_TRUE(backend_.pushes().empty());
}

TEST_F(HttpApiTest, BackendErrorStatusIsPassedThrough) {
    start();
    PushOutcome unavailable;
    unavailable.status = 503;
    unavailable.error = "route store unreachable";
    backend_.script(unavailable);
    PushOutcome coded;
    coded.status = 409;
    coded.error = "duplicate";
    coded.code = 40901;
    backend_.script(coded);
    auto c = client();
    Reply r = c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    EXPECT_EQ(r.result_int(), 503);
    EXPECT_EQ(r.body(), R"({"error":"route store unreachable","code":503})");
    r = c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    EXPECT_EQ(r.result_int(), 409);
    EXPECT_EQ(r.body(), R"({"error":"duplicate","code":40901})");
}

TEST_F(HttpApiTest, BackendExceptionIsA500AndTheConnectionLivesOn) {
    start();
    auto c = client();
    backend_.throw_on_push = true;
    Reply r = c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
    EXPECT_EQ(r.result_int(), 500);
    EXPECT_EQ(body_json(r).at("code"), 500);
    EXPECT_NE(error_of(r).find("backend exploded"), std::string::npos);
    backend_.throw_on_push = false;
    EXPECT_EQ(c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})").result_int(), 200);
}

TEST_F(HttpApiTest, DrainingAnswers503ToPushesOnly) {
    start();
    backend_.set_user(5, UserView{});
    auto c = client();
    api_->set_draining(true);
    for (const auto& [route, body] : std::vector<std::pair<std::string, std::string>>{
             {"/v1/push/user", R"({"user_id":1,"type":"t","payload":1})"},
             {"/v1/push/users", R"({"user_ids":[1],"type":"t","payload":1})"},
             {"/v1/push/room", R"({"room_id":1,"type":"t","payload":1})"},
             {"/v1/push/broadcast", R"({"type":"t","payload":1})"}}) {
        Reply r = c.post(route, body);
        EXPECT_EQ(r.result_int(), 503) << route;
        EXPECT_EQ(body_json(r).at("code"), 503);
    }
    EXPECT_TRUE(backend_.pushes().empty());
    EXPECT_EQ(c.get("/v1/users/5").result_int(), 200);
    EXPECT_EQ(c.get("/v1/rooms/5").result_int(), 200);
    api_->set_draining(false);
    EXPECT_EQ(c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})").result_int(), 200);
}

// ------------------------------------------------------------------------------ users, rooms

TEST_F(HttpApiTest, UserViewListsSessionsWithIdsAsStrings) {
    start();
    UserView v;
    v.online = true;
    v.node = "node-a";
    v.inbox = 4;
    SessionView s;
    s.session_id = 18446744073709551615ull;
    s.platform = "ios";
    s.transport = "ws+tls";
    s.scene = "room";
    s.rooms = {12, 9007199254740993ull};
    s.node = "node-a";
    v.sessions.push_back(s);
    backend_.set_user(7, v);
    Reply r = client().get("/v1/users/7");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r.body(),
              R"({"user_id":"7","online":true,"node":"node-a","inbox":4,"sessions":[)"
              R"({"session_id":"18446744073709551615","platform":"ios","transport":"ws+tls",)"
              R"("scene":"room","rooms":["12","9007199254740993"],"node":"node-a"}]})");
    Reply offline = client().get("/v1/users/8");
    EXPECT_EQ(offline.body(),
              R"({"user_id":"8","online":false,"node":"","inbox":0,"sessions":[]})");
}

TEST_F(HttpApiTest, RoomViewAnswersCounts) {
    start();
    backend_.set_room(3, RoomView{120, 4567, 9, {}});
    Reply r = client().get("/v1/rooms/3");
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"room_id":"3","online":120,"room_seq":"4567","epoch":"9"})");
}

TEST_F(HttpApiTest, BadIdInThePathIs400) {
    start();
    auto c = client();
    for (const char* target : {"/v1/users/abc", "/v1/users/0", "/v1/rooms/-1",
                               "/v1/rooms/18446744073709551616", "/v1/users/1x/kick"}) {
        Reply r = c.send(std::string(target).ends_with("kick") ? http::verb::post : http::verb::get,
                         target);
        EXPECT_EQ(r.result_int(), 400) << target;
        EXPECT_NE(error_of(r).find("id in the path"), std::string::npos) << r.body();
    }
}

TEST_F(HttpApiTest, KickTakesAReasonAndDefaultsToAdmin) {
    start();
    UserView v;
    v.online = true;
    v.sessions.resize(2);
    backend_.set_user(11, v);
    auto c = client();
    Reply r = c.post("/v1/users/11/kick", R"({"reason":"banned"})");
    ASSERT_EQ(r.result_int(), 200) << r.body();
    EXPECT_EQ(r.body(), R"({"kicked":2})");
    r = c.send(http::verb::post, "/v1/users/11/kick");
    EXPECT_EQ(r.body(), R"({"kicked":2})");
    r = c.send(http::verb::post, "/v1/users/12/kick");  // offline: nothing to kick, not an error
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_EQ(r.body(), R"({"kicked":0})");
    r = c.post("/v1/users/11/kick", R"({"reason":42})");
    EXPECT_EQ(r.result_int(), 400);
    const auto kicks = backend_.kicks();
    ASSERT_EQ(kicks.size(), 3u);
    EXPECT_EQ(kicks[0], (std::pair<std::uint64_t, std::string>{11, "banned"}));
    EXPECT_EQ(kicks[1], (std::pair<std::uint64_t, std::string>{11, "admin"}));
    EXPECT_EQ(kicks[2], (std::pair<std::uint64_t, std::string>{12, "admin"}));
}

// ------------------------------------------------------------------------------ HTTP errors

TEST_F(HttpApiTest, UnknownRouteIs404) {
    start();
    auto c = client();
    for (const char* target : {"/", "/v1/push", "/v1/push/user/", "/v1/users/", "/v1/users/1/ban",
                               "/v1/rooms/1/x", "/metricsx"}) {
        Reply r = c.get(target);
        EXPECT_EQ(r.result_int(), 404) << target;
        EXPECT_EQ(body_json(r).at("code"), 404);
    }
}

TEST_F(HttpApiTest, WrongMethodIs405WithAllow) {
    start();
    auto c = client();
    const std::tuple<http::verb, std::string, std::string> cases[] = {
        {http::verb::get, "/v1/push/user", "POST"},  {http::verb::put, "/v1/push/room", "POST"},
        {http::verb::post, "/v1/users/1", "GET"},    {http::verb::get, "/v1/users/1/kick", "POST"},
        {http::verb::delete_, "/v1/rooms/1", "GET"}, {http::verb::post, "/metrics", "GET"},
        {http::verb::post, "/healthz", "GET"},
    };
    for (const auto& [method, target, allow] : cases) {
        Reply r = c.send(method, target);
        EXPECT_EQ(r.result_int(), 405) << target;
        EXPECT_EQ(r[http::field::allow], allow) << target;
        EXPECT_EQ(body_json(r).at("code"), 405);
    }
}

TEST_F(HttpApiTest, OversizedBodyIs413AndCloses) {
    ApiOptions o;
    o.max_body_bytes = 1024;
    start(o);
    auto c = client();
    const std::string big =
        R"({"user_id":1,"type":"t","payload":")" + std::string(64 * 1024, 'x') + "\"}";
    Reply r = c.post("/v1/push/user", big);
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_EQ(body_json(r).at("code"), 413);
    EXPECT_NE(error_of(r).find("1024"), std::string::npos);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_TRUE(backend_.pushes().empty());
    EXPECT_NE(
        metrics().find(R"(livepush_api_requests_total{route="/v1/push/user",status="413"} 1)"),
        std::string::npos);
}

TEST_F(HttpApiTest, OversizedChunkedBodyIs413) {
    ApiOptions o;
    o.max_body_bytes = 1024;
    start(o);
    auto c = client();
    std::string raw = "POST /v1/push/user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                      std::string(kKey) + "\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 4; ++i) raw += "400\r\n" + std::string(1024, 'x') + "\r\n";
    raw += "0\r\n\r\n";
    c.write_raw(raw);
    Reply r = c.read();
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpApiTest, HeaderOverLimitIs431) {
    start();
    auto c = client();
    Reply r = c.send(http::verb::get, "/healthz", "", {{"X-Padding", std::string(16 * 1024, 'p')}});
    EXPECT_EQ(r.result_int(), 431);
    EXPECT_EQ(body_json(r).at("code"), 431);
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpApiTest, NonJsonContentTypeIs415ButMissingIsAccepted) {
    start();
    auto c = client();
    const std::string body = R"({"user_id":1,"type":"t","payload":1})";
    Reply r = c.send(http::verb::post, "/v1/push/user", body, {{"Content-Type", "text/plain"}});
    EXPECT_EQ(r.result_int(), 415);
    EXPECT_EQ(body_json(r).at("code"), 415);
    r = c.send(http::verb::post, "/v1/push/user", body,
               {{"Content-Type", "application/json; charset=utf-8"}});
    EXPECT_EQ(r.result_int(), 200);
    // No Content-Type at all (curl -d sends a form type; scripts often send none).
    std::string raw = c.format(http::verb::post, "/v1/push/user", body);
    raw.erase(raw.find("Content-Type: application/json\r\n"),
              std::string("Content-Type: application/json\r\n").size());
    c.write_raw(raw);
    EXPECT_EQ(c.read().result_int(), 200);
    EXPECT_EQ(backend_.pushes().size(), 2u);
}

TEST_F(HttpApiTest, OverTheRateIs429AndCounted) {
    ApiOptions o;
    o.max_requests_per_s = 5;
    start(o);
    auto c = client();
    int accepted = 0;
    int limited = 0;
    const auto began = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) {
        Reply r = c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})");
        if (r.result_int() == 200) ++accepted;
        if (r.result_int() == 429) {
            ++limited;
            EXPECT_EQ(r[http::field::retry_after], "1");
            EXPECT_EQ(body_json(r).at("code"), 429);
        }
    }
    const double took_s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
    EXPECT_GE(accepted, 5);                                     // the burst...
    EXPECT_LE(accepted, 5 + static_cast<int>(took_s * 5) + 1);  // ...and what refilled meanwhile
    EXPECT_GT(limited, 0);
    EXPECT_EQ(accepted + limited, 20);
    // Probes and scrapes are not rate limited.
    for (int i = 0; i < 10; ++i) EXPECT_EQ(c.get("/healthz").result_int(), 200);
    const std::string text = c.get("/metrics").body();
    EXPECT_EQ(sample(text, R"(livepush_api_rejected_total{reason="rate"})"), limited);
}

TEST_F(HttpApiTest, AtTheCapTheLongestIdleConnectionMakesRoom) {
    ApiOptions o;
    o.max_connections = 2;
    start(o);
    auto a = client();
    EXPECT_EQ(a.get("/healthz").result_int(), 200);
    auto b = client();
    EXPECT_EQ(b.get("/healthz").result_int(), 200);
    // Both wait idle for their next request: the newcomer is served, and `a`, idle the
    // longest, is closed for it.
    auto c = client();
    EXPECT_EQ(c.get("/healthz").result_int(), 200);
    EXPECT_TRUE(a.closed_by_peer());
    EXPECT_EQ(b.get("/healthz").result_int(), 200);
    EXPECT_EQ(
        sample(c.get("/metrics").body(), R"(livepush_api_rejected_total{reason="evicted_idle"})"),
        1);
}

TEST_F(HttpApiTest, AtTheCapANewConnectionIsRefusedWhenEveryOneIsBusy) {
    ApiOptions o;
    o.max_connections = 2;
    start(o);
    const std::string body = R"({"user_id":1,"type":"t","payload":1})";
    auto a = client();
    auto b = client();
    // Each is in the middle of a request: its header judged (the 100 Continue says so), its
    // body not yet sent.
    const std::string raw =
        a.format(http::verb::post, "/v1/push/user", body, {{"Expect", "100-continue"}});
    const std::string head = raw.substr(0, raw.size() - body.size());
    a.write_raw(head);
    EXPECT_EQ(a.read().result_int(), 100);
    b.write_raw(head);
    EXPECT_EQ(b.read().result_int(), 100);
    auto refused = client();
    EXPECT_TRUE(refused.closed_by_peer());
    a.write_raw(body);
    EXPECT_EQ(a.read().result_int(), 200);
    b.write_raw(body);
    EXPECT_EQ(b.read().result_int(), 200);
    EXPECT_EQ(sample(a.get("/metrics").body(),
                     R"(livepush_api_rejected_total{reason="over_connections"})"),
              1);
}

TEST_F(HttpApiTest, WrongKeyIs401BeforeTheBodyIsRead) {
    start();
    auto c = client("not-the-key");
    // A 4 MiB body is announced and only 4 KiB of it sent: the answer must not wait for the rest.
    c.write_raw(
        "POST /v1/push/user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer not-the-key\r\n"
        "Content-Type: application/json\r\nContent-Length: 4194304\r\n\r\n" +
        std::string(4096, 'x'));
    Reply r = c.read();
    EXPECT_EQ(r.result_int(), 401);
    EXPECT_EQ(body_json(r).at("code"), 401);
    EXPECT_FALSE(r.keep_alive());
    EXPECT_TRUE(c.closed_by_peer());
    EXPECT_TRUE(backend_.pushes().empty());
    EXPECT_EQ(sample(metrics(), R"(livepush_api_rejected_total{reason="unauthorized"})"), 1);
}

TEST_F(HttpApiTest, DeclaredBodyOverTheLimitIs413BeforeItIsSent) {
    ApiOptions o;
    o.max_body_bytes = 1024;
    start(o);
    auto c = client();
    c.write_raw("POST /v1/push/user HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
                std::string(kKey) + "\r\nContent-Length: 1025\r\n\r\n");
    Reply r = c.read();
    EXPECT_EQ(r.result_int(), 413);
    EXPECT_NE(error_of(r).find("api.max_body_bytes"), std::string::npos);
    EXPECT_TRUE(c.closed_by_peer());
    // Without the key the limit is not even disclosed: 401.
    auto stranger = client("not-the-key");
    stranger.write_raw("POST /v1/push/user HTTP/1.1\r\nHost: x\r\nContent-Length: 99999\r\n\r\n");
    EXPECT_EQ(stranger.read().result_int(), 401);
    EXPECT_EQ(sample(metrics(), R"(livepush_api_rejected_total{reason="too_large"})"), 1);
}

TEST_F(HttpApiTest, AHeaderNotCompleteByTheHeaderDeadlineIsClosedAndCounted) {
    ApiOptions o;
    o.header_timeout_ms = 200;
    start(o);
    auto slow = client();
    slow.write_raw("GET /healthz HTTP/1.1\r\nHost: x\r\n");  // and never the blank line
    EXPECT_TRUE(slow.closed_by_peer(3000ms));
    auto silent = client();  // sends nothing at all
    EXPECT_TRUE(silent.closed_by_peer(3000ms));
    EXPECT_EQ(sample(metrics(), R"(livepush_api_rejected_total{reason="header_timeout"})"), 2);
}

// ------------------------------------------------------------------------------ connections

TEST_F(HttpApiTest, KeepAliveServesManyRequestsOnOneConnection) {
    start();
    auto c = client();
    for (int i = 1; i <= 50; ++i) {
        Reply r = c.post("/v1/push/user",
                         R"({"user_id":)" + std::to_string(i) + R"(,"type":"t","payload":1})");
        ASSERT_EQ(r.result_int(), 200);
        EXPECT_TRUE(r.keep_alive());
    }
    EXPECT_EQ(backend_.pushes().size(), 50u);
    EXPECT_EQ(sample(c.get("/metrics").body(), "livepush_api_connections"), 1);
}

TEST_F(HttpApiTest, PipelinedRequestsAreAnsweredInOrder) {
    start();
    auto c = client();
    std::string both =
        c.format(http::verb::post, "/v1/push/user", R"({"user_id":1,"type":"first","payload":1})") +
        c.format(http::verb::get, "/v1/rooms/4") +
        c.format(http::verb::post, "/v1/push/user", R"({"user_id":2,"type":"second","payload":2})");
    c.write_raw(both);
    EXPECT_EQ(c.read().body(), R"({"msg_id":"1001","sessions":2,"stored":0})");
    EXPECT_EQ(body_json(c.read()).at("room_id"), "4");
    EXPECT_EQ(c.read().body(), R"({"msg_id":"1002","sessions":2,"stored":0})");
}

TEST_F(HttpApiTest, GarbageOnOneConnectionDoesNotDisturbAnother) {
    start();
    auto good = client();
    EXPECT_EQ(good.get("/healthz").result_int(), 200);
    auto bad = client();
    bad.write_raw("HELLO \x01\x02 WORLD\r\n\r\n");
    Reply r = bad.read();
    EXPECT_EQ(r.result_int(), 400);
    EXPECT_EQ(body_json(r).at("code"), 400);
    EXPECT_TRUE(bad.closed_by_peer());
    auto binary = client();
    binary.write_raw(std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11));
    EXPECT_TRUE(binary.closed_by_peer());
    EXPECT_EQ(good.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})").result_int(),
              200);
}

TEST_F(HttpApiTest, Expect100ContinueIsHonoured) {
    start();
    auto c = client();
    const std::string body = R"({"user_id":1,"type":"t","payload":1})";
    std::string raw =
        c.format(http::verb::post, "/v1/push/user", body, {{"Expect", "100-continue"}});
    c.write_raw(raw.substr(0, raw.size() - body.size()));
    EXPECT_EQ(c.read().result_int(), 100);
    c.write_raw(body);
    EXPECT_EQ(c.read().result_int(), 200);
}

TEST_F(HttpApiTest, Http10WithoutKeepAliveIsClosedAfterTheAnswer) {
    start();
    auto c = client();
    c.write_raw("GET /healthz HTTP/1.0\r\n\r\n");
    Reply r = c.read();
    EXPECT_EQ(r.result_int(), 200);
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpApiTest, IdleConnectionsAreClosed) {
    ApiOptions o;
    o.idle_timeout_ms = 200;
    start(o);
    auto c = client();
    EXPECT_EQ(c.get("/healthz").result_int(), 200);
    const auto before = std::chrono::steady_clock::now();
    EXPECT_TRUE(c.closed_by_peer(3000ms));
    EXPECT_LT(std::chrono::steady_clock::now() - before, 2s);
}

TEST_F(HttpApiTest, StopClosesOpenConnections) {
    start();
    auto c = client();
    EXPECT_EQ(c.get("/healthz").result_int(), 200);
    const auto before = std::chrono::steady_clock::now();
    api_->stop();
    EXPECT_LT(std::chrono::steady_clock::now() - before, 1s);
    EXPECT_TRUE(c.closed_by_peer());
}

TEST_F(HttpApiTest, StartFailsWhenThePortIsTaken) {
    start();
    ApiOptions o;
    o.listen = "127.0.0.1:" + std::to_string(api_->port());
    HttpApi second(o, backend_);
    EXPECT_THROW(second.start(), std::runtime_error);
    ApiOptions garbage;
    garbage.listen = "127.0.0.1";
    HttpApi third(garbage, backend_);
    EXPECT_THROW(third.start(), std::runtime_error);
}

TEST_F(HttpApiTest, ConcurrentClientsOnSeveralThreads) {
    ApiOptions o;
    o.threads = 2;
    start(o);
    constexpr int kClients = 4;
    constexpr int kEach = 100;
    std::atomic<int> ok{0};
    std::vector<std::thread> clients;
    for (int i = 0; i < kClients; ++i) {
        clients.emplace_back([&] {
            auto c = client();
            for (int j = 0; j < kEach; ++j) {
                if (c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})")
                        .result_int() == 200) {
                    ++ok;
                }
            }
        });
    }
    for (auto& t : clients) t.join();
    EXPECT_EQ(ok.load(), kClients * kEach);
    EXPECT_EQ(backend_.pushes().size(), static_cast<std::size_t>(kClients * kEach));
}

// ------------------------------------------------------------------------------ metrics

TEST_F(HttpApiTest, MetricsCarryBackendTextAndRequestCountersThatMove) {
    start();
    auto c = client();
    ASSERT_EQ(c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})").result_int(), 200);
    ASSERT_EQ(c.get("/v1/users/123").result_int(), 200);
    ASSERT_EQ(c.get("/v1/users/456").result_int(), 200);
    ASSERT_EQ(c.get("/v1/users/abc").result_int(), 400);
    ASSERT_EQ(c.get("/nope").result_int(), 404);

    Reply r = c.get("/metrics");
    ASSERT_EQ(r.result_int(), 200);
    EXPECT_EQ(r[http::field::content_type], "text/plain; version=0.0.4; charset=utf-8");
    const std::string& text = r.body();
    EXPECT_NE(text.find("livepush_sessions 3\n"), std::string::npos);
    EXPECT_EQ(sample(text, R"(livepush_api_requests_total{route="/v1/push/user",status="200"})"),
              1);
    EXPECT_EQ(sample(text, R"(livepush_api_requests_total{route="/v1/users/{id}",status="200"})"),
              2);
    EXPECT_EQ(sample(text, R"(livepush_api_requests_total{route="/v1/users/{id}",status="400"})"),
              1);
    EXPECT_EQ(sample(text, R"(livepush_api_requests_total{route="unmatched",status="404"})"), 1);
    EXPECT_EQ(text.find("/v1/users/123"), std::string::npos);  // patterns, never raw paths
    EXPECT_NE(text.find("# TYPE livepush_api_request_duration_seconds histogram"),
              std::string::npos);
    const double count = sample(text, "livepush_api_request_duration_seconds_count");
    EXPECT_EQ(count, 5);
    EXPECT_EQ(sample(text, R"(livepush_api_request_duration_seconds_bucket{le="+Inf"})"), count);
    EXPECT_GE(sample(text, R"(livepush_api_request_duration_seconds_bucket{le="0.0005"})"), 0);
    EXPECT_GE(sample(text, "livepush_api_request_duration_seconds_sum"), 0);

    ASSERT_EQ(c.post("/v1/push/user", R"({"user_id":1,"type":"t","payload":1})").result_int(), 200);
    const std::string later = c.get("/metrics").body();
    EXPECT_EQ(sample(later, R"(livepush_api_requests_total{route="/v1/push/user",status="200"})"),
              2);
    EXPECT_EQ(sample(later, R"(livepush_api_requests_total{route="/metrics",status="200"})"), 1);
    EXPECT_EQ(sample(later, "livepush_api_request_duration_seconds_count"), count + 2);
    EXPECT_EQ(api_->metrics_text().find("livepush_sessions"), std::string::npos);
    EXPECT_NE(api_->metrics_text().find("livepush_api_requests_total"), std::string::npos);
}

TEST_F(HttpApiTest, HistogramBucketsAreCumulative) {
    start();
    auto c = client();
    for (int i = 0; i < 5; ++i) c.get("/healthz");
    const std::string text = c.get("/metrics").body();
    double previous = 0;
    for (const char* le : {"0.0005", "0.001", "0.0025", "0.005", "0.01", "0.025", "0.05", "0.1",
                           "0.25", "0.5", "0.75", "1", "+Inf"}) {
        const double v = sample(
            text, std::string(R"(livepush_api_request_duration_seconds_bucket{le=")") + le + "\"}");
        EXPECT_GE(v, previous) << le;
        previous = v;
    }
    EXPECT_EQ(previous, 5);
}

// ------------------------------------------------------------------------------ plugin routes

TEST_F(HttpApiTest, PluginRoutesMatchExactOrPrefixAndMethod) {
    std::mutex seen_mutex;
    std::vector<HttpRequest> seen;
    auto record = [&](int status, std::string body) {
        return [&, status, body](const HttpRequest& req) {
            std::lock_guard lock(seen_mutex);
            seen.push_back(req);
            return HttpReply{status, body};
        };
    };
    routes_.emplace_back("POST", "/v1/gift/send", record(202, R"({"queued":true})"));
    routes_.emplace_back("GET", "/v1/gift/", record(200, R"({"prefix":true})"));
    routes_.emplace_back("GET", "/v1/gift/send", record(200, R"({"exact_get":true})"));
    routes_.emplace_back("POST", "/v1/pk/boom",
                         [](const HttpRequest&) -> HttpReply { throw std::runtime_error("pk!"); });
    routes_.emplace_back("GET", "/v1/pk/odd", [](const HttpRequest&) { return HttpReply{0, ""}; });
    start();
    auto c = client();

    Reply r = c.post("/v1/gift/send?room=12&who=a%20b", R"({"gift":3})");
    EXPECT_EQ(r.result_int(), 202);
    EXPECT_EQ(r.body(), R"({"queued":true})");
    EXPECT_EQ(r[http::field::content_type], "application/json");
    {
        std::lock_guard lock(seen_mutex);
        ASSERT_EQ(seen.size(), 1u);
        EXPECT_EQ(seen[0].method, "POST");
        EXPECT_EQ(seen[0].path, "/v1/gift/send");
        EXPECT_EQ(seen[0].query.at("room"), "12");
        EXPECT_EQ(seen[0].query.at("who"), "a b");
        EXPECT_EQ(seen[0].body, R"({"gift":3})");
    }
    EXPECT_EQ(c.get("/v1/gift/send").body(), R"({"exact_get":true})");
    EXPECT_EQ(c.get("/v1/gift/board/7").body(), R"({"prefix":true})");
    r = c.send(http::verb::delete_, "/v1/gift/send");
    EXPECT_EQ(r.result_int(), 405);
    EXPECT_EQ(r[http::field::allow], "POST, GET");
    r = c.send(http::verb::post, "/v1/gift/board/7");
    EXPECT_EQ(r.result_int(), 405);
    EXPECT_EQ(r[http::field::allow], "GET");
    r = c.post("/v1/pk/boom", "{}");
    EXPECT_EQ(r.result_int(), 500);
    EXPECT_NE(error_of(r).find("pk!"), std::string::npos);
    r = c.get("/v1/pk/odd");
    EXPECT_EQ(r.result_int(), 500);
    EXPECT_EQ(c.get("/v1/pk/other").result_int(), 404);
    EXPECT_EQ(client("").get("/v1/gift/board/7").result_int(), 401);
    const std::string text = c.get("/metrics").body();
    EXPECT_EQ(sample(text, R"(livepush_api_requests_total{route="/v1/gift/",status="200"})"), 1);
}

TEST_F(HttpApiTest, AddRouteAfterStartIsAProgrammerError) {
    start();
    EXPECT_THROW(api_->add_route("GET", "/v1/x", [](const HttpRequest&) { return HttpReply{}; }),
                 std::logic_error);
}

}  // namespace
}  // namespace lp::push
