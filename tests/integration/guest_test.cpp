// tests/integration/guest_test: guest viewers (auth.guests) against real livepushd nodes:
// an empty token logs in as a guest with an id of the guest range and role guest, watches a
// room (pushes, recovery), and is refused room.chat, im.send and closed plugin BIZ types with
// NOT_ALLOWED while a type the plugin opened works; guests off refuses an empty token as
// before; the per-node guest cap (GUEST_LIMIT); a guest flood from one address is cut by the
// per-IP limits; and on 3 nodes with Redis, guest ids never collide and a guest on n2 gets a
// room push published through n1.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "cluster_fixture.hpp"
#include "eventually.hpp"
#include "http_client.hpp"
#include "livepush.pb.h"
#include "load-test/client.hpp"
#include "node_process.hpp"
#include "test_clients.hpp"

namespace {

namespace pb = livepush::v1;
using lp::client::Connection;
using lp::client::Options;
using lp::testing::eventually;
using lp::testing::HttpClient;
using lp::testing::json_u64;
using lp::testing::metric_value;
using lp::testing::NodeProcess;
using lp::testing::push_of_type;
using lp::testing::token_for;
using namespace std::chrono_literals;

constexpr std::uint64_t kGuestBase = 1ull << 63;

struct Login {
    std::unique_ptr<Connection> conn;
    int code = -1;  // -1: no LOGIN_RESULT (closed at accept)
    std::uint64_t user_id = 0;
    std::string role;
    std::string message;
};

Login sign_in(std::uint16_t port, const std::string& token, const std::string& from = "") {
    Options o = lp::testing::client_options(port);
    o.bind_address = from;
    Login l;
    l.conn = std::make_unique<Connection>(o);
    if (l.conn->connect()) return l;
    if (auto r = l.conn->login(token, "web")) {
        l.code = r->code();
        l.user_id = r->user_id();
        l.role = r->role();
        l.message = r->message();
    }
    return l;
}

double metric(HttpClient& api, const std::string& name) {
    return metric_value(api.get("/metrics").body, name);
}

int biz_code(Connection& c, const std::string& type, const std::string& data,
             std::string* message = nullptr) {
    auto r = c.biz(type, data);
    if (!r) return -1;
    if (message) *message = r->message();
    return r->code();
}

TEST(GuestViewers, GuestWatchesARoomButMayNotChatSendOrCallClosedPluginTypes) {
    NodeProcess node(
        {"--guests", "true", "--set", std::string("plugins.load=") + LIVEPUSH_ECHO_PLUGIN});
    HttpClient api(node.api_port());
    auto guest = sign_in(node.tcp_port(), "");
    ASSERT_EQ(guest.code, 0) << guest.message;
    EXPECT_GE(guest.user_id, kGuestBase) << "a guest id is in the reserved range";
    EXPECT_EQ(guest.role, "guest");
    auto other = sign_in(node.tcp_port(), "");
    ASSERT_EQ(other.code, 0);
    EXPECT_NE(other.user_id, guest.user_id) << "each guest gets its own id";

    auto shown = api.get("/v1/users/" + std::to_string(guest.user_id));
    ASSERT_EQ(shown.status, 200) << shown.body;
    EXPECT_TRUE(shown.json().as_object().at("online").as_bool())
        << "the API shows a guest like a user";
    ASSERT_EQ(biz_code(*guest.conn, "room.enter", R"({"room_id":7})"), 0)
        << "guests may enter rooms";
    auto pushed =
        api.post("/v1/push/room", R"({"room_id":7,"type":"gift.effect","payload":{"n":1}})");
    ASSERT_EQ(pushed.status, 200) << pushed.body;
    auto p = push_of_type(*guest.conn, "gift.effect");
    ASSERT_TRUE(p) << "a guest in a room receives its pushes";
    EXPECT_EQ(p->room_id(), 7u);

    std::string why;
    EXPECT_EQ(biz_code(*guest.conn, "room.chat", R"({"room_id":7,"text":"hi"})", &why),
              pb::NOT_ALLOWED);
    EXPECT_NE(why.find("guests may not chat"), std::string::npos) << why;
    EXPECT_EQ(biz_code(*guest.conn, "im.send", R"({"to":1,"payload":{"t":"x"}})"), pb::NOT_ALLOWED);
    EXPECT_EQ(biz_code(*guest.conn, "echo.throw", "{}"), pb::NOT_ALLOWED)
        << "a plugin type not opened to guests";
    EXPECT_EQ(biz_code(*guest.conn, "echo.say", R"({"text":"hello"})"), 0)
        << "echo opens echo.say to guests";
    EXPECT_EQ(biz_code(*guest.conn, "room.leave", R"({"room_id":7})"), 0);

    // Recovery: what the room got while the guest was out comes back on re-entering with last_seq.
    ASSERT_EQ(
        api.post("/v1/push/room", R"({"room_id":7,"type":"gift.missed","payload":{"n":2}})").status,
        200);
    ASSERT_EQ(biz_code(*guest.conn, "room.enter",
                       "{\"room_id\":7,\"last_seq\":" + std::to_string(p->room_seq()) + "}"),
              0);
    auto missed = push_of_type(*guest.conn, "gift.missed");
    ASSERT_TRUE(missed) << "a guest recovers the room messages it missed";
    EXPECT_GT(missed->room_seq(), p->room_seq());

    // A real user cannot send a private message into a guest id's (non-existent) inbox, and a
    // qos1 push to a guest is delivered online-only: no inbox is written for it.
    auto user = sign_in(node.tcp_port(), token_for(42));
    ASSERT_EQ(user.code, 0);
    EXPECT_EQ(user.role, "viewer");
    EXPECT_EQ(biz_code(*user.conn, "im.send",
                       "{\"to\":\"" + std::to_string(guest.user_id) + "\",\"payload\":1}"),
              pb::NOT_ALLOWED);
    auto qos1 = api.post("/v1/push/user", "{\"user_id\":\"" + std::to_string(guest.user_id) +
                                              "\",\"type\":\"note\",\"payload\":{},\"qos\":1}");
    ASSERT_EQ(qos1.status, 200) << qos1.body;
    EXPECT_EQ(qos1.json().as_object().at("sessions").to_number<int>(), 1)
        << "delivered to the online guest";
    auto gone = other.user_id;
    other.conn->close();
    ASSERT_TRUE(eventually([&] { return metric(api, "livepush_guest_sessions") == 1; }, 10000ms));
    auto offline = api.post("/v1/push/user", "{\"user_id\":\"" + std::to_string(gone) +
                                                 "\",\"type\":\"note\",\"payload\":{},\"qos\":1}");
    ASSERT_EQ(offline.status, 200) << offline.body;
    EXPECT_EQ(offline.json().as_object().at("stored").to_number<int>(), 0)
        << "no inbox for a guest id";

    // With guests on, a token cannot claim an id of the guest range.
    auto forged = sign_in(node.tcp_port(), token_for(kGuestBase + 5));
    EXPECT_EQ(forged.code, pb::TOKEN_NO_SUBJECT) << forged.message;

    EXPECT_EQ(metric(api, "livepush_guest_logins_total"), 2);
    EXPECT_GE(metric(api, "livepush_guest_biz_refused_total"), 3);
}

TEST(GuestViewers, EmptyTokenIsRefusedWhenGuestsAreOff) {
    NodeProcess node;
    HttpClient api(node.api_port());
    auto l = sign_in(node.tcp_port(), "");
    EXPECT_EQ(l.code, pb::TOKEN_INVALID) << l.message;
    EXPECT_TRUE(l.conn->wait_closed(3000ms));
    EXPECT_EQ(metric(api, R"(livepush_guest_logins_refused_total{reason="off"})"), 1);
    EXPECT_EQ(sign_in(node.tcp_port(), token_for(kGuestBase + 5)).code, 0)
        << "with guests off the range is not reserved";
}

TEST(GuestViewers, GuestCapRefusesWithGuestLimitButNotTokens) {
    NodeProcess node({"--guests", "true", "--guest-max-sessions", "3"});
    HttpClient api(node.api_port());
    std::vector<Login> held;
    for (int i = 0; i < 3; ++i) {
        held.push_back(sign_in(node.tcp_port(), ""));
        ASSERT_EQ(held.back().code, 0) << "guest " << i << " is within the cap";
    }
    auto over = sign_in(node.tcp_port(), "");
    EXPECT_EQ(over.code, pb::GUEST_LIMIT) << over.message;
    EXPECT_TRUE(over.conn->wait_closed(3000ms));
    EXPECT_EQ(sign_in(node.tcp_port(), token_for(7)).code, 0)
        << "users with a token are not counted";
    EXPECT_EQ(metric(api, R"(livepush_guest_logins_refused_total{reason="limit"})"), 1);
    EXPECT_EQ(metric(api, R"(livepush_limit_hits_total{limit="guest_max_sessions"})"), 1);
    EXPECT_EQ(metric(api, "livepush_guest_sessions"), 3);

    held.front().conn->close();
    bool back = false;
    for (int i = 0; i < 100 && !back; ++i) {
        std::this_thread::sleep_for(50ms);
        back = sign_in(node.tcp_port(), "").code == 0;
    }
    EXPECT_TRUE(back) << "a guest who leaves gives the slot back";
}

TEST(GuestViewers, GuestFloodFromOneAddressIsCutByThePerIpLimits) {
    {
        NodeProcess node({"--guests", "true", "--max-connections-per-ip", "10",
                          "--login-rate-per-ip", "1000", "--trusted-proxies", "127.0.0.3"});
        std::vector<Login> held;
        for (int i = 0; i < 10; ++i) {
            held.push_back(sign_in(node.tcp_port(), "", "127.0.0.1"));
            ASSERT_EQ(held.back().code, 0) << "guest connection " << i;
        }
        EXPECT_EQ(sign_in(node.tcp_port(), "", "127.0.0.1").code, -1)
            << "the 11th guest connection is closed at accept";
        EXPECT_EQ(sign_in(node.tcp_port(), "", "127.0.0.2").code, 0) << "another address";
    }
    NodeProcess node({"--guests", "true", "--login-rate-per-ip", "5", "--max-connections-per-ip",
                      "1000", "--trusted-proxies", "127.0.0.3"});
    HttpClient api(node.api_port());
    int ok = 0, limited = 0;
    for (int i = 0; i < 40; ++i) {
        auto l = sign_in(node.tcp_port(), "", "127.0.0.1");
        ok += l.code == 0;
        limited += l.code == pb::LOGIN_RATE_LIMITED;
    }
    EXPECT_GE(limited, 10) << ok
                           << " of 40 guest logins from one address within moments were accepted";
    EXPECT_LE(metric(api, "livepush_guest_logins_total"), ok);
}

class GuestViewersCluster : public lp::testing::ClusterFixture {};

TEST_F(GuestViewersCluster, GuestIdsFromThreeNodesNeverCollideAndAGuestOnN2GetsARoomPushFromN1) {
    start_nodes({"--guests", "true"});
    std::set<std::uint64_t> ids;
    std::vector<Login> held;
    for (int round = 0; round < 10; ++round) {
        for (int n = 0; n < kNodes; ++n) {
            held.push_back(sign_in(nodes_[n]->tcp_port(), ""));
            ASSERT_EQ(held.back().code, 0) << held.back().message;
            EXPECT_GE(held.back().user_id, kGuestBase);
            EXPECT_TRUE(ids.insert(held.back().user_id).second)
                << "guest id " << held.back().user_id << " twice";
        }
    }
    EXPECT_EQ(ids.size(), 30u);

    auto& guest = held[1];  // on n2
    ASSERT_EQ(biz_code(*guest.conn, "room.enter", R"({"room_id":31})"), 0);
    EXPECT_EQ(biz_code(*guest.conn, "room.chat", R"({"room_id":31,"text":"hi"})"), pb::NOT_ALLOWED);
    std::optional<pb::Push> got;
    ASSERT_TRUE(eventually(
        [&] {
            post(0, "/v1/push/room", R"({"room_id":31,"type":"gift.effect","payload":{"n":1}})");
            got = push_of_type(*guest.conn, "gift.effect", 300ms);
            return got.has_value();
        },
        15000ms))
        << "a room push published on n1 reaches the guest on n2";
    EXPECT_EQ(got->room_id(), 31u);
    EXPECT_EQ(metric(1, "livepush_guest_sessions"), 10);

    // qos1 through n1 to a guest on n2: delivered; to a guest who left: nothing in the (Redis)
    // inbox.
    ASSERT_TRUE(routed(0, guest.user_id));
    auto to_guest = post(0, "/v1/push/user",
                         "{\"user_id\":\"" + std::to_string(guest.user_id) +
                             "\",\"type\":\"note\",\"payload\":{},\"qos\":1}");
    EXPECT_EQ(json_u64(to_guest.at("stored")), 0u);
    EXPECT_TRUE(push_of_type(*guest.conn, "note"))
        << "a qos1 push reaches the online guest across nodes";
    auto& leaver = held[4];  // on n2 too
    const auto left_id = leaver.user_id;
    leaver.conn->close();
    ASSERT_TRUE(eventually([&] { return metric(1, "livepush_guest_sessions") == 9; }, 10000ms));
    auto to_left = post(0, "/v1/push/user",
                        "{\"user_id\":\"" + std::to_string(left_id) +
                            "\",\"type\":\"note\",\"payload\":{},\"qos\":1}");
    EXPECT_EQ(json_u64(to_left.at("stored")), 0u) << "no inbox is written for a guest id";
}

}  // namespace
