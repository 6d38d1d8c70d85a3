// tests/integration/room_hooks_test: the plugins' room hooks (SDK 5) in real livepushd nodes,
// embedded and on 3 nodes with Redis, each scenario written once and run on both:
// - wordfilter masks a listed word (ASCII any case, Chinese one '*' per code point) in what the
//   room sees and tells the sender, and masks the new list's words after the file changes;
// - a plugin's deny reaches the sender as CHAT_REJECTED with its reason, and nobody sees it;
// - a filter that sleeps past plugins.filter_timeout_ms: fail-open publishes the original
//   text, fail-closed refuses with CHAT_FILTER_TIMEOUT;
// - on_room_leave runs on room.leave, a disconnect and a kick;
// - welcome: the push arrives delay_s after entering, not for a viewer who left (or dropped)
//   before, once a day per user (across nodes), never for a recharged user nor a guest;
// - a plugin built against SDK 4 still loads and serves next to the hooks.
#include <gtest/gtest.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "cluster_fixture.hpp"
#include "livepush.pb.h"

#if !defined(LIVEPUSH_HOOKTEST_PLUGIN) || !defined(LIVEPUSH_ECHO_V4_PLUGIN)
#error "the test plugins' shared objects must be named"
#endif

namespace {

namespace json = boost::json;
namespace pb = livepush::v1;
using lp::client::Connection;
using lp::testing::eventually;
using lp::testing::HttpClient;
using lp::testing::NodeProcess;
using lp::testing::push_of_type;
using namespace std::chrono_literals;

// One embedded node or three cluster nodes; scenarios address node i modulo their number.
struct Nodes {
    std::vector<NodeProcess*> node;
    std::vector<HttpClient*> api;
    NodeProcess& at(int i) { return *node[i % node.size()]; }
    HttpClient& api_at(int i) { return *api[i % api.size()]; }
    double metric_sum(const std::string& name) {
        double sum = 0;
        for (auto* a : api)
            sum += std::max(0.0, lp::testing::metric_value(a->get("/metrics").body, name));
        return sum;
    }
    std::unique_ptr<Connection> login(int i, std::uint64_t user,
                                      const std::string& platform = "android") {
        return lp::testing::logged_in(at(i).tcp_port(), user, "viewer", platform);
    }
    // Enters every connection into `room` and waits until node 0 counts them all.
    void enter_all(std::uint64_t room, const std::vector<Connection*>& cs) {
        for (auto* c : cs) {
            auto r = c->biz("room.enter", lp::testing::room_json(room));
            ASSERT_TRUE(r && r->code() == 0);
        }
        ASSERT_TRUE(eventually(
            [&] {
                auto body = api_at(0).get("/v1/rooms/" + std::to_string(room)).json();
                return lp::testing::json_u64(body.as_object().at("online")) == cs.size();
            },
            10000ms));
    }
};

std::string chat(std::uint64_t room, const std::string& text) {
    json::object o;
    o["room_id"] = room;
    o["text"] = text;
    return json::serialize(o);
}

// The text of the next room.chat `c` gets ("" if none in time).
std::string next_chat_text(Connection& c, std::chrono::milliseconds t = 5000ms) {
    const auto until = std::chrono::steady_clock::now() + t;
    while (std::chrono::steady_clock::now() < until) {
        auto p = c.next_push(200ms);
        if (p && p->type() == "room.chat")
            return std::string(json::parse(p->payload()).as_object().at("text").as_string());
    }
    return "";
}

void write_file(const std::string& path, const std::string& text) {
    const std::string tmp = path + ".tmp";
    std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
    std::filesystem::rename(tmp, path);  // whole, as an operator should
}

std::string temp_word_file() {
    return (std::filesystem::temp_directory_path() /
            ("lp-words-" + std::to_string(::getpid()) + "-" +
             std::to_string(std::chrono::steady_clock::now().time_since_epoch().count())))
        .string();
}

std::vector<std::string> wordfilter_args(const std::string& path) {
    return {"--set", "plugins.enabled=wordfilter",
            "--set", "plugins.wordfilter.file=" + path,
            "--set", "plugins.wordfilter.reload_ms=100",
            "--set", std::string("plugins.load=") + LIVEPUSH_ECHO_V4_PLUGIN};
}
std::vector<std::string> hooktest_args(std::vector<std::string> more = {}) {
    std::vector<std::string> a = {"--set", "plugins.enabled=", "--set",
                                  std::string("plugins.load=") + LIVEPUSH_HOOKTEST_PLUGIN};
    a.insert(a.end(), more.begin(), more.end());
    return a;
}
std::vector<std::string> welcome_args() {
    return {"--set", "plugins.enabled=welcome", "--set", "plugins.welcome.delay_s=3",
            "--set", "auth.guests=true"};
}

// ---------------------------------------------------------------- scenarios

void word_filter_masks_and_reloads(Nodes& n, const std::string& path) {
    constexpr std::uint64_t kRoom = 701;
    auto sender = n.login(0, 11);
    auto viewer = n.login(1, 12);
    n.enter_all(kRoom, {sender.get(), viewer.get()});

    auto r = sender->biz("room.chat", chat(kRoom, "a BadWord, 坏蛋!"));
    ASSERT_TRUE(r);
    ASSERT_EQ(r->code(), 0) << r->message();
    auto data = json::parse(r->data()).as_object();
    ASSERT_TRUE(data.if_contains("text")) << "not rewritten: " << r->data();
    EXPECT_EQ(data.at("text").as_string(), "a *******, **!");
    EXPECT_TRUE(data.at("rewritten").as_bool()) << "the sender learns what the room saw";
    EXPECT_EQ(next_chat_text(*viewer), "a *******, **!");
    EXPECT_EQ(next_chat_text(*sender), "a *******, **!");

    // A plugin built for SDK 4 is loaded next to the filter and answers as before.
    auto echo = sender->biz("echo.say", R"({"text":"hi"})");
    ASSERT_TRUE(echo);
    EXPECT_EQ(echo->code(), 0) << echo->message();

    // The file changes: the new list replaces the old one on every node within a poll or two.
    write_file(path, "hello\n");
    EXPECT_TRUE(eventually(
        [&] {
            auto res = viewer->biz("room.chat", chat(kRoom, "hello badword"));
            return res && res->code() == 0 &&
                   json::parse(res->data()).as_object().if_contains("text") &&
                   json::parse(res->data()).as_object().at("text").as_string() == "***** badword";
        },
        10000ms, 200ms))
        << "the new word is masked, the old one no longer";
    EXPECT_TRUE(eventually(
        [&] {
            auto res = sender->biz("room.chat", chat(kRoom, "Hello"));
            return res && res->code() == 0 &&
                   json::parse(res->data()).as_object().if_contains("text");
        },
        10000ms, 200ms))
        << "and on the sender's node";
    EXPECT_GE(n.metric_sum("livepush_plugin_wordfilter_reloads_total"), 2.0 * n.node.size());
}

void deny_reaches_the_sender(Nodes& n) {
    constexpr std::uint64_t kRoom = 702;
    auto sender = n.login(1, 21);
    auto viewer = n.login(2, 22);
    n.enter_all(kRoom, {sender.get(), viewer.get()});
    auto r = sender->biz("room.chat", chat(kRoom, "please deny this"));
    ASSERT_TRUE(r);
    EXPECT_EQ(r->code(), pb::CHAT_REJECTED);
    EXPECT_NE(r->message().find("hooktest says no"), std::string::npos) << r->message();
    auto ok = sender->biz("room.chat", chat(kRoom, "fine"));
    ASSERT_TRUE(ok && ok->code() == 0);
    EXPECT_EQ(next_chat_text(*viewer), "fine") << "the refused chat was never published";
    EXPECT_EQ(n.metric_sum(R"(livepush_chat_filter_total{result="denied"})"), 1);
}

void slow_filter_past_the_timeout(Nodes& n, bool fail_open) {
    constexpr std::uint64_t kRoom = 703;
    auto sender = n.login(0, 31);
    auto viewer = n.login(1, 32);
    n.enter_all(kRoom, {sender.get(), viewer.get()});
    auto r = sender->biz("room.chat", chat(kRoom, "sleep now"));
    ASSERT_TRUE(r);
    if (fail_open) {
        EXPECT_EQ(r->code(), 0) << r->message();
        EXPECT_EQ(next_chat_text(*viewer), "sleep now") << "the original, never the late rewrite";
    } else {
        EXPECT_EQ(r->code(), pb::CHAT_FILTER_TIMEOUT);
        EXPECT_NE(r->message().find("plugins.filter_timeout_ms"), std::string::npos)
            << r->message();
        // The sender's next chat waits behind the sleeper on its worker (one user's chats run
        // in order): once the sleeper is done, it is judged in time.
        ASSERT_TRUE(eventually([&] { return n.metric_sum("livepush_chat_filter_late_total") == 1; },
                               5000ms));
        auto ok = sender->biz("room.chat", chat(kRoom, "quick"));
        ASSERT_TRUE(ok && ok->code() == 0) << ok->message();
        EXPECT_EQ(next_chat_text(*viewer), "quick") << "the refused chat was never published";
    }
    EXPECT_EQ(n.metric_sum(R"(livepush_chat_filter_total{result="timeout"})"), 1);
    EXPECT_TRUE(
        eventually([&] { return n.metric_sum("livepush_chat_filter_late_total") == 1; }, 5000ms));
}

void leave_hook_on_leave_disconnect_and_kick(Nodes& n) {
    constexpr std::uint64_t kRoom = 704;
    auto a = n.login(0, 41);
    auto b = n.login(1, 42);
    auto c = n.login(2, 43);
    n.enter_all(kRoom, {a.get(), b.get(), c.get()});
    ASSERT_TRUE(eventually(
        [&] { return n.metric_sum("livepush_plugin_hooktest_enter_total") == 3; }, 5000ms));
    ASSERT_TRUE(a->biz("room.leave", R"({"room_id":704})"));
    b.reset();  // disconnects
    auto kicked = n.api_at(2).post("/v1/users/43/kick", "{}");
    EXPECT_EQ(kicked.status, 200) << kicked.body;
    EXPECT_TRUE(eventually(
        [&] { return n.metric_sum("livepush_plugin_hooktest_leave_total") == 3; }, 10000ms))
        << "room.leave, a disconnect and a kick each call on_room_leave";
}

void welcome_push_once_a_day_not_after_leaving_nor_for_recharged(Nodes& n) {
    auto stays = n.login(0, 51);
    auto leaves = n.login(1, 52);
    auto drops = n.login(2, 53);
    auto recharged = n.login(0, 54);
    auto res = n.api_at(2).post("/v1/welcome/recharged", R"({"user_id":54})");
    ASSERT_EQ(res.status, 200) << res.body;
    EXPECT_EQ(n.api_at(1).post("/v1/welcome/recharged", R"({"user_id":"x"})").status, 400);

    Connection guest(lp::testing::client_options(n.at(1).tcp_port()));
    ASSERT_FALSE(guest.connect());
    auto gl = guest.login("", "android");
    ASSERT_TRUE(gl && gl->code() == 0) << "a guest (auth.guests)";

    n.enter_all(801, {stays.get(), leaves.get(), drops.get(), recharged.get(), &guest});
    // Two rooms at once: two jobs, and the day's mark lets one push through.
    ASSERT_TRUE(stays->biz("room.enter", R"({"room_id":804})"));
    ASSERT_TRUE(leaves->biz("room.leave", R"({"room_id":801})"));
    drops.reset();

    auto p = push_of_type(*stays, "welcome.first_recharge", 10000ms);
    ASSERT_TRUE(p) << "a viewer still in the room after delay_s gets the pop-up";
    const std::string room(json::parse(p->payload()).as_object().at("room_id").as_string());
    EXPECT_TRUE(room == "801" || room == "804") << room;
    stays->ack({p->msg_id()});  // qos1: unacked, it would come again

    // The same user in another room, and on a second device on another node: not again today.
    ASSERT_TRUE(stays->biz("room.leave", R"({"room_id":801})"));
    ASSERT_TRUE(stays->biz("room.enter", R"({"room_id":802})"));
    auto second_device = n.login(2, 51, "ios");
    ASSERT_TRUE(second_device->biz("room.enter", R"({"room_id":803})"));
    EXPECT_FALSE(push_of_type(*stays, "welcome.first_recharge", 3000ms)) << "one a day";
    EXPECT_FALSE(push_of_type(*second_device, "welcome.first_recharge", 100ms)) << "one a day";
    EXPECT_FALSE(push_of_type(*leaves, "welcome.first_recharge", 100ms)) << "cancelled on leave";
    EXPECT_FALSE(push_of_type(*recharged, "welcome.first_recharge", 100ms)) << "recharged";
    EXPECT_FALSE(push_of_type(guest, "welcome.first_recharge", 100ms)) << "guests are skipped";
    EXPECT_EQ(n.metric_sum("livepush_plugin_welcome_skipped_guest_total"), 1);
    EXPECT_EQ(n.metric_sum("livepush_plugin_welcome_pushed_total"), 1)
        << "welcome metrics: scheduled=" << n.metric_sum("livepush_plugin_welcome_scheduled_total")
        << " cancelled=" << n.metric_sum("livepush_plugin_welcome_cancelled_total")
        << " today=" << n.metric_sum("livepush_plugin_welcome_skipped_today_total")
        << " recharged=" << n.metric_sum("livepush_plugin_welcome_skipped_recharged_total")
        << " enter=" << n.metric_sum("livepush_room_hook_visits_total")
        << " failed=" << n.metric_sum("livepush_plugin_welcome_push_failed_total");
    EXPECT_EQ(n.metric_sum("livepush_plugin_welcome_cancelled_total"), 2)
        << "a room.leave and a disconnect before delay_s (the stayer's job had run)";
    EXPECT_EQ(n.metric_sum("livepush_plugin_welcome_skipped_today_total"), 3)
        << "the second room's job, and the two entries after the pop-up";
    EXPECT_GE(n.metric_sum("livepush_plugin_welcome_skipped_recharged_total"), 1);
}

// ---------------------------------------------------------------- embedded

class RoomHooksEmbedded : public ::testing::Test {
protected:
    Nodes& start(std::vector<std::string> args) {
        node_ = std::make_unique<NodeProcess>(std::move(args));
        api_ = std::make_unique<HttpClient>(node_->api_port());
        nodes_ = Nodes{{node_.get()}, {api_.get()}};
        return nodes_;
    }
    std::unique_ptr<NodeProcess> node_;
    std::unique_ptr<HttpClient> api_;
    Nodes nodes_;
};

TEST_F(RoomHooksEmbedded, WordFilterMasksAndReloadsWhenTheFileChanges) {
    const auto path = temp_word_file();
    write_file(path, "badword\n坏蛋\n");
    word_filter_masks_and_reloads(start(wordfilter_args(path)), path);
    std::filesystem::remove(path);
}

TEST_F(RoomHooksEmbedded, APluginsDenyReachesTheSenderAsChatRejected) {
    deny_reaches_the_sender(start(hooktest_args()));
}

TEST_F(RoomHooksEmbedded, ASlowFilterFailOpenPublishesTheOriginal) {
    slow_filter_past_the_timeout(start(hooktest_args({"--set", "plugins.filter_timeout_ms=100",
                                                      "--set", "plugins.hooktest.sleep_ms=1000"})),
                                 true);
}

TEST_F(RoomHooksEmbedded, ASlowFilterFailClosedIsRefusedWithChatFilterTimeout) {
    slow_filter_past_the_timeout(start(hooktest_args({"--set", "plugins.filter_timeout_ms=100",
                                                      "--set", "plugins.filter_fail_open=false",
                                                      "--set", "plugins.hooktest.sleep_ms=1000"})),
                                 false);
}

TEST_F(RoomHooksEmbedded, OnRoomLeaveRunsOnLeaveDisconnectAndKick) {
    leave_hook_on_leave_disconnect_and_kick(start(hooktest_args()));
}

TEST_F(RoomHooksEmbedded, WelcomePushOnceADayNotAfterLeavingNorForRecharged) {
    welcome_push_once_a_day_not_after_leaving_nor_for_recharged(start(welcome_args()));
}

// ---------------------------------------------------------------- 3 nodes with Redis

class RoomHooksCluster : public lp::testing::ClusterFixture {
protected:
    Nodes& start(std::vector<std::string> args) {
        start_nodes(std::move(args));
        for (int i = 0; i < kNodes; ++i) {
            nodes.node.push_back(nodes_[i].get());
            nodes.api.push_back(api_[i].get());
        }
        return nodes;
    }
    Nodes nodes;
};

TEST_F(RoomHooksCluster, WordFilterMasksAndReloadsWhenTheFileChanges) {
    const auto path = temp_word_file();
    write_file(path, "badword\n坏蛋\n");
    word_filter_masks_and_reloads(start(wordfilter_args(path)), path);
    std::filesystem::remove(path);
}

TEST_F(RoomHooksCluster, APluginsDenyReachesTheSenderAsChatRejected) {
    deny_reaches_the_sender(start(hooktest_args()));
}

TEST_F(RoomHooksCluster, ASlowFilterFailOpenPublishesTheOriginal) {
    slow_filter_past_the_timeout(start(hooktest_args({"--set", "plugins.filter_timeout_ms=100",
                                                      "--set", "plugins.hooktest.sleep_ms=1000"})),
                                 true);
}

TEST_F(RoomHooksCluster, ASlowFilterFailClosedIsRefusedWithChatFilterTimeout) {
    slow_filter_past_the_timeout(start(hooktest_args({"--set", "plugins.filter_timeout_ms=100",
                                                      "--set", "plugins.filter_fail_open=false",
                                                      "--set", "plugins.hooktest.sleep_ms=1000"})),
                                 false);
}

TEST_F(RoomHooksCluster, OnRoomLeaveRunsOnLeaveDisconnectAndKick) {
    leave_hook_on_leave_disconnect_and_kick(start(hooktest_args()));
}

TEST_F(RoomHooksCluster, WelcomePushOnceADayAcrossNodesNotAfterLeavingNorForRecharged) {
    welcome_push_once_a_day_not_after_leaving_nor_for_recharged(start(welcome_args()));
}

}  // namespace
