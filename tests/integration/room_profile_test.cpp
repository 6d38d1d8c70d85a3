// tests/integration/room_profile_test: sender profiles in danmaku (docs/rooms.md "Sender
// profiles") on real nodes: the token's name, avatar, level and medal reach every member of the
// room inside the room.chat push, next to `from` and `text`; a sender without profile claims
// sends no `profile` field; a claim out of bounds refuses the LOGIN with TOKEN_BAD_PROFILE
// naming the claim. Embedded (one node) and on 3 nodes with Redis (sender on n1, receivers on
// n2 and n3), where the profile travels inside the chat payload.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "cluster_fixture.hpp"
#include "livepush.pb.h"

namespace {

namespace json = boost::json;
namespace pb = livepush::v1;
using lp::auth::ProfileClaims;
using lp::client::Connection;
using lp::testing::chat_json;
using lp::testing::eventually;
using lp::testing::NodeProcess;
using lp::testing::room_json;
using lp::testing::token_for;
using namespace std::chrono_literals;

ProfileClaims full_profile() {
    ProfileClaims p;
    p.name = "小明";
    p.avatar = "https://cdn.example.com/u/11.png";
    p.level = 42;
    p.medal_name = "星星";
    p.medal_level = 17;
    return p;
}
// What the room sees of full_profile(): the canonical object, keys in this order.
constexpr const char* kFullProfileJson =
    R"({"name":"小明","avatar":"https://cdn.example.com/u/11.png","level":42,"medal":{"name":"星星","level":17}})";

std::unique_ptr<Connection> connect(std::uint16_t port) {
    auto c = std::make_unique<Connection>(lp::testing::client_options(port));
    EXPECT_FALSE(c->connect());
    return c;
}

std::unique_ptr<Connection> logged_in(std::uint16_t port, const std::string& token) {
    return lp::testing::login_with(lp::testing::client_options(port), token);
}

// The next room.chat push `c` gets, as its payload JSON ("" if none in time).
std::string next_chat(Connection& c) {
    for (;;) {
        auto p = c.next_push(10000ms);
        if (!p) return "";
        if (p->type() == "room.chat") return p->payload();
    }
}

TEST(RoomProfile, AChatCarriesItsSendersProfileToEveryMemberAndNoneWithoutClaims) {
    NodeProcess node;
    auto sender = logged_in(node.tcp_port(), token_for(11, full_profile()));
    auto viewer = logged_in(node.tcp_port(), token_for(12));
    ASSERT_TRUE(viewer->biz("room.enter", room_json(77)));
    ASSERT_TRUE(sender->biz("room.enter", room_json(77)));

    auto sent = sender->biz("room.chat", chat_json(77, "hello"));
    ASSERT_TRUE(sent && sent->code() == 0);
    const std::string want =
        std::string(R"({"from":"11","text":"hello","profile":)") + kFullProfileJson + "}";
    EXPECT_EQ(next_chat(*viewer), want) << "another member gets name, avatar, level and medal";
    EXPECT_EQ(next_chat(*sender), want) << "and so does the sender";

    // A user whose token has no profile claims: no profile field at all.
    auto plain = viewer->biz("room.chat", chat_json(77, "hi"));
    ASSERT_TRUE(plain && plain->code() == 0);
    EXPECT_EQ(next_chat(*sender), R"({"from":"12","text":"hi"})");

    // A browser on a WebSocket text-envelope session gets it too (the envelope carries the
    // payload as a JSON value; the test client turns it back into Push.payload bytes).
    lp::client::Options wo = lp::testing::client_options(node, lp::client::Transport::Ws);
    wo.ws_text = true;
    Connection web(wo);
    ASSERT_FALSE(web.connect());
    auto web_login = web.login(token_for(14), "web");
    ASSERT_TRUE(web_login && web_login->code() == 0);
    ASSERT_TRUE(web.biz("room.enter", room_json(77)));
    ASSERT_TRUE(sender->biz("room.chat", chat_json(77, "to the web")));
    const std::string to_web =
        std::string(R"({"from":"11","text":"to the web","profile":)") + kFullProfileJson + "}";
    EXPECT_EQ(next_chat(web), to_web);
    EXPECT_EQ(next_chat(*sender), to_web);

    // The profile is part of the stored message: a client recovering the room gets it too.
    auto late = logged_in(node.tcp_port(), token_for(13));
    ASSERT_TRUE(late->biz("room.enter", R"({"room_id":77,"last_seq":0})"));
    EXPECT_EQ(next_chat(*late), want);
}

TEST(RoomProfile, AClaimOutOfBoundsRefusesTheLoginWithTokenBadProfile) {
    NodeProcess node;
    struct Case {
        ProfileClaims p;
        const char* claim;
    };
    ProfileClaims long_name, http_avatar, high_level, high_medal;
    long_name.name = std::string(33, 'a');
    http_avatar.avatar = "http://cdn.example.com/a.png";
    high_level.level = 1001;
    high_medal.medal_name = "Fans";
    high_medal.medal_level = 101;
    for (const Case& k : {Case{long_name, "name: "}, Case{http_avatar, "avatar: "},
                          Case{high_level, "level: "}, Case{high_medal, "medal.level: "}}) {
        auto c = connect(node.tcp_port());
        auto r = c->login(token_for(21, k.p), "android");
        ASSERT_TRUE(r) << k.claim;
        EXPECT_EQ(r->code(), pb::TOKEN_BAD_PROFILE) << k.claim;
        EXPECT_NE(r->message().find(k.claim), std::string::npos)
            << "the refusal names the claim: " << r->message();
        EXPECT_TRUE(c->wait_closed(5000ms))
            << "a refused login is closed, as for every token refusal";
    }
    lp::testing::HttpClient api(node.api_port());
    EXPECT_EQ(
        lp::testing::metric_value(api.get("/metrics").body,
                                  R"(livepush_logins_total{result="failed",reason="bad_profile"})"),
        4);
    // The same user with a valid profile is let in.
    logged_in(node.tcp_port(), token_for(21, full_profile()));
}

// `livepushd token` mints the profile claims an operator gives it (the node checks them).
TEST(RoomProfile, LivepushdTokenMintsProfileClaims) {
    const std::string cmd =
        std::string(LIVEPUSHD_PATH) + " token --user 51 --jwt-secret " + lp::testing::kTestSecret +
        " --name Ann --avatar https://cdn.example.com/ann.png --level 7 --medal-name Stars"
        " --medal-level 3";
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[4096] = {};
    const std::size_t n = std::fread(buf, 1, sizeof buf - 1, p);
    ASSERT_EQ(::pclose(p), 0) << cmd;
    std::string token(buf, n);
    while (!token.empty() && token.back() == '\n') token.pop_back();

    NodeProcess node;
    auto sender = logged_in(node.tcp_port(), token);
    ASSERT_TRUE(sender->biz("room.enter", room_json(78)));
    ASSERT_TRUE(sender->biz("room.chat", chat_json(78, "x")));
    EXPECT_EQ(
        next_chat(*sender),
        R"({"from":"51","text":"x","profile":{"name":"Ann",)"
        R"("avatar":"https://cdn.example.com/ann.png","level":7,"medal":{"name":"Stars","level":3}}})");
}

class ClusterRoomProfileTest : public lp::testing::ClusterFixture {};

TEST_F(ClusterRoomProfileTest, AChatSentOnOneNodeReachesMembersOnTheOthersWithItsProfile) {
    start_nodes();
    constexpr std::uint64_t kRoom = 5077;
    auto on_n2 = logged_in(nodes_[1]->tcp_port(), token_for(32));
    auto on_n3 = logged_in(nodes_[2]->tcp_port(), token_for(33));
    ASSERT_TRUE(on_n2->biz("room.enter", room_json(kRoom)));
    ASSERT_TRUE(on_n3->biz("room.enter", room_json(kRoom)));
    auto sender = logged_in(nodes_[0]->tcp_port(), token_for(31, full_profile()));
    ASSERT_TRUE(sender->biz("room.enter", room_json(kRoom)));
    // Every node knows the room's members on the others before the chat.
    ASSERT_TRUE(eventually(
        [&] {
            return lp::testing::json_u64(
                       get(0, "/v1/rooms/" + std::to_string(kRoom)).at("online")) == 3;
        },
        10000ms));

    auto sent = sender->biz("room.chat", chat_json(kRoom, "from n1"));
    ASSERT_TRUE(sent && sent->code() == 0);
    const std::string want =
        std::string(R"({"from":"31","text":"from n1","profile":)") + kFullProfileJson + "}";
    EXPECT_EQ(next_chat(*on_n2), want);
    EXPECT_EQ(next_chat(*on_n3), want);

    EXPECT_EQ(next_chat(*sender), want) << "the sender's own copy";
    // Back the other way, from a user without a profile: no profile field on n1.
    ASSERT_TRUE(on_n3->biz("room.chat", chat_json(kRoom, "plain")));
    EXPECT_EQ(next_chat(*sender), R"({"from":"33","text":"plain"})");

    // Every node checks the claims at login.
    ProfileClaims bad;
    bad.medal_name = std::string(17, 'm');
    bad.medal_level = 1;
    auto c = connect(nodes_[2]->tcp_port());
    auto r = c->login(token_for(34, bad), "android");
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), pb::TOKEN_BAD_PROFILE);
    EXPECT_NE(r->message().find("medal.name: "), std::string::npos) << r->message();
}

}  // namespace
