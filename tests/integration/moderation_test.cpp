// tests/integration/moderation_test: rooms' moderation (docs/rooms.md "Moderation") on real
// nodes: an embedded node, and 3 nodes sharing a real redis-server. Each refusal with its code
// and numbers (ROOM_MUTED, ROOM_BANNED, SLOW_MODE with retry_after_ms, NOT_ALLOWED for a
// non-moderator and a guest), a timed mute that ends by itself, a ban across nodes (removed at
// once on the node that holds the user, refused on a third), mute_all, a shadow ban (the sender
// sees their own message, nobody else does), GET moderation, and state that outlives a node
// restart. Every wait is on a condition with a generous deadline; no assertion on speed.
#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "../plugins/kafka_mock.hpp"
#include "cluster_fixture.hpp"
#include "livepush.pb.h"

namespace {

namespace pb = livepush::v1;
namespace json = boost::json;
using lp::client::Connection;
using lp::testing::eventually;
using lp::testing::HttpClient;
using lp::testing::json_u64;
using lp::testing::NodeProcess;
using lp::testing::push_of_type;
using lp::testing::token_for;
using namespace std::chrono_literals;

std::unique_ptr<Connection> connect_as(std::uint16_t port, std::uint64_t user,
                                       const std::string& role = "viewer") {
    return lp::testing::login_with(lp::testing::client_options(port),
                                   user ? token_for(user, 3600, role) : std::string());
}

std::string room_data(std::uint64_t room, const std::string& more = "") {
    return R"({"room_id":)" + std::to_string(room) + more + "}";
}

struct Answer {
    int code = -1;
    std::string message;
    json::object data;
};

Answer biz(Connection& c, const std::string& type, const std::string& data) {
    Answer a;
    auto r = c.biz(type, data);
    if (!r) return a;
    a.code = r->code();
    a.message = r->message();
    if (!r->data().empty()) {
        json::value v = json::parse(r->data());
        if (v.is_object()) a.data = v.as_object();
    }
    return a;
}

int chat(Connection& c, std::uint64_t room, const std::string& text, Answer* out = nullptr) {
    Answer a = biz(c, "room.chat", room_data(room, R"(,"text":")" + text + "\""));
    if (out) *out = a;
    return a.code;
}

json::object payload_of(const pb::Push& p) {
    return json::parse(p.payload()).as_object();
}

std::string str(const json::value& v) {
    return v.is_string() ? std::string(v.as_string()) : json::serialize(v);
}

std::string meta(std::uint64_t anchor, std::uint64_t moderator) {
    return R"({"anchor_id":)" + std::to_string(anchor) + R"(,"moderators":[")" +
           std::to_string(moderator) + R"("]})";
}

std::string path(std::uint64_t room, const std::string& what) {
    return "/v1/rooms/" + std::to_string(room) + "/" + what;
}

// ---------------------------------------------------------------- embedded

TEST(Moderation, AnchorMutesForASecondTheViewerIsRefusedWithTheTimeLeftThenChatsAgain) {
    NodeProcess node;
    HttpClient api(node.api_port());
    const std::uint64_t room = 501;
    ASSERT_EQ(api.request("PUT", path(room, "meta"), meta(100, 101), "application/json").status,
              200);
    auto anchor = connect_as(node.tcp_port(), 100, "anchor");
    auto viewer = connect_as(node.tcp_port(), 200);
    ASSERT_EQ(biz(*anchor, "room.enter", room_data(room)).code, 0);
    ASSERT_EQ(biz(*viewer, "room.enter", room_data(room)).code, 0);
    ASSERT_EQ(chat(*viewer, room, "before"), 0);

    Answer muted = biz(*anchor, "room.mute", room_data(room, R"(,"user_id":200,"duration_s":1)"));
    ASSERT_EQ(muted.code, 0) << muted.message;
    EXPECT_GT(json_u64(muted.data.at("until_ms")), 0u);
    auto notice = push_of_type(*viewer, "room.notice");
    ASSERT_TRUE(notice) << "the room is told";
    auto n = payload_of(*notice);
    EXPECT_EQ(str(n.at("action")), "mute");
    EXPECT_EQ(str(n.at("user_id")), "200");
    EXPECT_EQ(str(n.at("by")), "100");
    EXPECT_GT(json_u64(n.at("until_ms")), 0u);

    Answer refused;
    ASSERT_EQ(chat(*viewer, room, "muted", &refused), pb::ROOM_MUTED);
    EXPECT_NE(refused.message.find("more s"), std::string::npos) << refused.message;
    EXPECT_GT(json_u64(refused.data.at("until_ms")), 0u);
    EXPECT_LE(json_u64(refused.data.at("remaining_ms")), 1000u);
    EXPECT_TRUE(eventually([&] { return chat(*viewer, room, "again") == 0; }, 10000ms, 200ms))
        << "a one-second mute ends by itself";

    // duration 0: until unmuted.
    ASSERT_EQ(biz(*anchor, "room.mute", room_data(room, R"(,"user_id":200)")).code, 0);
    ASSERT_EQ(chat(*viewer, room, "x", &refused), pb::ROOM_MUTED);
    EXPECT_EQ(json_u64(refused.data.at("until_ms")), 0u);
    ASSERT_EQ(biz(*anchor, "room.unmute", room_data(room, R"(,"user_id":200)")).code, 0);
    EXPECT_EQ(chat(*viewer, room, "free"), 0);
}

TEST(Moderation, ANonModeratorAndAGuestGetNotAllowedAnAdminMayModerateAnyRoom) {
    NodeProcess node({"--guests", "true"});
    const std::uint64_t room = 502;
    auto viewer = connect_as(node.tcp_port(), 201);
    auto guest = connect_as(node.tcp_port(), 0);
    auto admin = connect_as(node.tcp_port(), 202, "admin");
    auto target = connect_as(node.tcp_port(), 203);
    for (auto* c : {viewer.get(), guest.get(), admin.get(), target.get()})
        ASSERT_EQ(biz(*c, "room.enter", room_data(room)).code, 0);
    const std::string mute = room_data(room, R"(,"user_id":203)");
    Answer a = biz(*viewer, "room.mute", mute);
    EXPECT_EQ(a.code, pb::NOT_ALLOWED) << a.message;
    EXPECT_NE(a.message.find("anchor"), std::string::npos) << a.message;
    EXPECT_EQ(biz(*guest, "room.ban", mute).code, pb::NOT_ALLOWED);
    EXPECT_EQ(biz(*viewer, "room.mute_all", room_data(room, R"(,"on":true)")).code,
              pb::NOT_ALLOWED);
    EXPECT_EQ(chat(*target, room, "still free"), 0);
    EXPECT_EQ(biz(*admin, "room.mute", mute).code, 0) << "an admin moderates any room";
    EXPECT_EQ(chat(*target, room, "now muted"), pb::ROOM_MUTED);
    EXPECT_EQ(biz(*viewer, "room.mute", room_data(room)).code, pb::BAD_BIZ_DATA)
        << "user_id is required";
}

TEST(Moderation, ABanTakesTheUserOutWithRoomBannedAndRoomEnterIsRefusedUntilUnbanned) {
    NodeProcess node;
    HttpClient api(node.api_port());
    const std::uint64_t room = 503;
    auto banned = connect_as(node.tcp_port(), 300);
    auto other = connect_as(node.tcp_port(), 301);
    ASSERT_EQ(biz(*banned, "room.enter", room_data(room)).code, 0);
    ASSERT_EQ(biz(*other, "room.enter", room_data(room)).code, 0);

    auto r = api.post(path(room, "ban"), R"({"user_id":"300"})");
    ASSERT_EQ(r.status, 200) << r.body;
    auto push = push_of_type(*banned, "room.banned");
    ASSERT_TRUE(push) << "the banned user is told";
    EXPECT_EQ(str(payload_of(*push).at("room_id")), std::to_string(room));
    auto notice = push_of_type(*other, "room.notice");
    ASSERT_TRUE(notice);
    EXPECT_EQ(str(payload_of(*notice).at("action")), "ban");
    EXPECT_EQ(str(payload_of(*notice).at("by")), "system") << "the API acts as system";
    EXPECT_EQ(chat(*banned, room, "hello"), pb::NOT_IN_ROOM) << "out of the room at once";
    Answer enter = biz(*banned, "room.enter", room_data(room));
    EXPECT_EQ(enter.code, pb::ROOM_BANNED) << enter.message;
    EXPECT_EQ(json_u64(enter.data.at("until_ms")), 0u) << "until unbanned";

    auto view = api.get(path(room, "moderation"));
    ASSERT_EQ(view.status, 200) << view.body;
    auto v = view.json().as_object();
    ASSERT_EQ(v.at("banned").as_array().size(), 1u) << view.body;
    EXPECT_EQ(str(v.at("banned").as_array()[0].at("user_id")), "300");
    EXPECT_FALSE(v.at("mute_all").as_bool());
    EXPECT_EQ(json_u64(v.at("slow_mode_s")), 0u);

    const std::string metrics = api.get("/metrics").body;
    EXPECT_EQ(
        lp::testing::metric_value(metrics, R"(livepush_moderation_actions_total{action="ban"})"),
        1);
    EXPECT_GE(lp::testing::metric_value(
                  metrics, R"(livepush_moderation_refusals_total{code="ROOM_BANNED"})"),
              1);
    EXPECT_EQ(lp::testing::metric_value(metrics, "livepush_moderation_evicted_sessions_total"), 1);

    ASSERT_EQ(api.post(path(room, "unban"), R"({"user_id":300})").status, 200);
    EXPECT_EQ(biz(*banned, "room.enter", room_data(room)).code, 0) << "unbanned: may enter";
    EXPECT_EQ(api.post(path(room, "ban"), R"({"user_id":"x"})").status, 400);
}

TEST(Moderation, MuteAllLeavesOnlyAnchorAndModeratorsAndSlowModeSaysWhenToRetry) {
    NodeProcess node;
    HttpClient api(node.api_port());
    const std::uint64_t room = 504;
    ASSERT_EQ(api.request("PUT", path(room, "meta"), meta(110, 111), "application/json").status,
              200);
    auto anchor = connect_as(node.tcp_port(), 110, "anchor");
    auto mod = connect_as(node.tcp_port(), 111);
    auto viewer = connect_as(node.tcp_port(), 210);
    for (auto* c : {anchor.get(), mod.get(), viewer.get()})
        ASSERT_EQ(biz(*c, "room.enter", room_data(room)).code, 0);

    ASSERT_EQ(biz(*mod, "room.mute_all", room_data(room, R"(,"on":true)")).code, 0);
    EXPECT_EQ(chat(*viewer, room, "hi"), pb::ROOM_MUTED);
    EXPECT_EQ(chat(*anchor, room, "hi"), 0);
    EXPECT_EQ(chat(*mod, room, "hi"), 0);
    ASSERT_EQ(api.post(path(room, "mute_all"), R"({"on":false})").status, 200);
    EXPECT_EQ(chat(*viewer, room, "hi"), 0);

    ASSERT_EQ(biz(*anchor, "room.slow_mode", room_data(room, R"(,"interval_s":30)")).code, 0);
    EXPECT_EQ(chat(*viewer, room, "one"), 0);
    Answer slow;
    ASSERT_EQ(chat(*viewer, room, "two", &slow), pb::SLOW_MODE);
    const auto retry = json_u64(slow.data.at("retry_after_ms"));
    EXPECT_GT(retry, 25000u);
    EXPECT_LE(retry, 30000u);
    EXPECT_NE(slow.message.find("retry in"), std::string::npos) << slow.message;
    EXPECT_EQ(chat(*mod, room, "a"), 0) << "moderators are exempt";
    EXPECT_EQ(chat(*mod, room, "b"), 0);
    ASSERT_EQ(biz(*anchor, "room.slow_mode", room_data(room, R"(,"interval_s":0)")).code, 0);
    EXPECT_EQ(chat(*viewer, room, "three"), 0) << "0 = off";
}

TEST(Moderation, AShadowBannedSenderSeesTheirOwnMessageNobodyElseDoes) {
    NodeProcess node;
    HttpClient api(node.api_port());
    const std::uint64_t room = 505;
    auto shadowed = connect_as(node.tcp_port(), 400);
    auto watcher = connect_as(node.tcp_port(), 401);
    auto speaker = connect_as(node.tcp_port(), 402);
    for (auto* c : {shadowed.get(), watcher.get(), speaker.get()})
        ASSERT_EQ(biz(*c, "room.enter", room_data(room)).code, 0);
    ASSERT_EQ(api.post(path(room, "shadow_ban"), R"({"user_id":400,"duration_s":600})").status,
              200);
    ASSERT_EQ(chat(*shadowed, room, "unseen"), 0) << "the sender is not told";
    auto own = push_of_type(*shadowed, "room.chat");
    ASSERT_TRUE(own) << "the sender sees their own message";
    EXPECT_NE(own->payload().find("unseen"), std::string::npos);
    ASSERT_EQ(chat(*speaker, room, "seen"), 0);
    auto got = push_of_type(*watcher, "room.chat");
    ASSERT_TRUE(got);
    EXPECT_NE(got->payload().find("seen"), std::string::npos);
    EXPECT_EQ(got->payload().find("unseen"), std::string::npos)
        << "the next chat another member gets is the one after: the shadowed one never came";
    auto view = api.get(path(room, "moderation")).json().as_object();
    EXPECT_EQ(view.at("shadow_banned").as_array().size(), 1u);
}

// The audit log: with Kafka, every action (the shadow ban too) is an event on the topic
// `moderation`, keyed by room, read here by another process (kcat).
TEST(Moderation, EveryActionIsAnAuditEventOnTheKafkaTopicModeration) {
    lp::test::KafkaMockCluster kafka(1);
    kafka.create_topic("moderation", 1);
    NodeProcess node({"--kafka", kafka.bootstraps()});
    HttpClient api(node.api_port());
    const std::uint64_t room = 506;
    ASSERT_EQ(api.post(path(room, "ban"), R"({"user_id":61})").status, 200);
    ASSERT_EQ(api.post(path(room, "shadow_ban"), R"({"user_id":62})").status, 200);
    std::string got;
    EXPECT_TRUE(eventually(
        [&] {
            got.clear();
            FILE* p = ::popen(("kcat -C -b " + kafka.bootstraps() +
                               " -t moderation -o beginning -e -q -f '%k %s\\n' 2>/dev/null")
                                  .c_str(),
                              "r");
            if (!p) return false;
            char buf[4096];
            std::size_t n;
            while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) got.append(buf, n);
            ::pclose(p);
            return got.find("shadow_ban") != std::string::npos;
        },
        20000ms, 500ms))
        << got;
    EXPECT_EQ(got.rfind("506 {", 0), 0u) << "keyed by room: " << got;
    EXPECT_NE(got.find(R"("action":"ban","room_id":"506","user_id":"61","by":"system")"),
              std::string::npos)
        << got;
}

// ---------------------------------------------------------------- 3 nodes with Redis

class ClusterModeration : public lp::testing::ClusterFixture {
protected:
    int put_meta(int node, std::uint64_t room, std::uint64_t anchor, std::uint64_t moderator) {
        return api_[node]
            ->request("PUT", path(room, "meta"), meta(anchor, moderator), "application/json")
            .status;
    }
};

TEST_F(ClusterModeration, ABanThroughNodeOneTakesTheUserOutOnNodeTwoAndHoldsOnNodeThree) {
    start_nodes();
    const std::uint64_t room = 601;
    auto banned = login(1, 700);
    auto member = login(2, 701);
    ASSERT_EQ(biz(*banned, "room.enter", room_data(room)).code, 0);
    ASSERT_EQ(biz(*member, "room.enter", room_data(room)).code, 0);
    post(0, path(room, "ban"), R"({"user_id":700,"duration_s":600})");
    auto push = push_of_type(*banned, "room.banned", 10000ms);
    ASSERT_TRUE(push) << "n2 takes the user out and tells them";
    EXPECT_GT(json_u64(payload_of(*push).at("until_ms")), 0u);
    auto notice = push_of_type(*member, "room.notice", 10000ms);
    ASSERT_TRUE(notice) << "members on n3 are told";
    EXPECT_EQ(str(payload_of(*notice).at("action")), "ban");
    EXPECT_EQ(chat(*banned, room, "hi"), pb::NOT_IN_ROOM);

    // n3 has the room cached (its member): it takes the ban at its next sync, within a second;
    // until then an entry would be undone by that sync (the user taken out again).
    auto again = login(2, 700, "ios");
    Answer enter;
    EXPECT_TRUE(eventually(
        [&] {
            enter = biz(*again, "room.enter", room_data(room));
            if (enter.code == 0) biz(*again, "room.leave", room_data(room));
            return enter.code == pb::ROOM_BANNED;
        },
        10000ms, 200ms))
        << "n3 refuses the banned user: " << enter.message;
    ASSERT_EQ(enter.code, pb::ROOM_BANNED);
    EXPECT_GT(json_u64(enter.data.at("remaining_ms")), 500000u);
}

TEST_F(ClusterModeration, EveryRefusalHoldsOnEveryNodeAndATimedMuteEnds) {
    start_nodes();
    const std::uint64_t room = 602;
    ASSERT_EQ(put_meta(0, room, 800, 801), 200);
    auto anchor = login(0, 800, "android", lp::client::Transport::Tcp, "anchor");
    auto mod = login(1, 801);
    auto viewer = login(2, 802);
    auto other = login(0, 803);
    for (auto* c : {anchor.get(), mod.get(), viewer.get(), other.get()})
        ASSERT_EQ(biz(*c, "room.enter", room_data(room)).code, 0);

    EXPECT_EQ(biz(*other, "room.mute", room_data(room, R"(,"user_id":802)")).code, pb::NOT_ALLOWED)
        << "a viewer on n1 is no moderator";
    // The moderator on n2 mutes the viewer on n3 for a second.
    ASSERT_EQ(biz(*mod, "room.mute", room_data(room, R"(,"user_id":802,"duration_s":1)")).code, 0);
    EXPECT_TRUE(push_of_type(*viewer, "room.notice", 10000ms)) << "the notice reaches n3";
    // Within the cluster's sync (a second at most) the mute holds on n3, then it ends.
    bool refused =
        eventually([&] { return chat(*viewer, room, "x") == pb::ROOM_MUTED; }, 10000ms, 200ms);
    (void)refused;  // the mute may already be over when n3's check runs: the end is what counts
    EXPECT_TRUE(eventually([&] { return chat(*viewer, room, "back") == 0; }, 10000ms, 200ms));

    ASSERT_EQ(biz(*mod, "room.mute", room_data(room, R"(,"user_id":802,"duration_s":600)")).code,
              0);
    EXPECT_TRUE(
        eventually([&] { return chat(*viewer, room, "x") == pb::ROOM_MUTED; }, 10000ms, 200ms))
        << "a mute set on n2 holds on n3";
    post(1, path(room, "unmute"), R"({"user_id":802})");
    EXPECT_TRUE(eventually([&] { return chat(*viewer, room, "free") == 0; }, 10000ms, 200ms));

    post(2, path(room, "mute_all"), R"({"on":true})");
    EXPECT_TRUE(
        eventually([&] { return chat(*other, room, "x") == pb::ROOM_MUTED; }, 10000ms, 200ms))
        << "mute_all set through n3 holds on n1";
    EXPECT_EQ(chat(*anchor, room, "anchor speaks"), 0);
    post(2, path(room, "mute_all"), R"({"on":false})");
    EXPECT_TRUE(eventually([&] { return chat(*other, room, "ok") == 0; }, 10000ms, 200ms));

    ASSERT_EQ(biz(*anchor, "room.slow_mode", room_data(room, R"(,"interval_s":60)")).code, 0);
    Answer slow;
    EXPECT_TRUE(eventually(
        [&] {
            chat(*viewer, room, "a");
            return chat(*viewer, room, "b", &slow) == pb::SLOW_MODE;
        },
        10000ms, 200ms))
        << "slow mode set on n1 holds on n3";
    EXPECT_GT(json_u64(slow.data.at("retry_after_ms")), 50000u);
    EXPECT_EQ(chat(*mod, room, "m1"), 0);
    EXPECT_EQ(chat(*mod, room, "m2"), 0) << "moderators are exempt";

    auto view = get(1, path(room, "moderation"));
    EXPECT_EQ(str(view.at("anchor_id")), "800");
    EXPECT_EQ(json_u64(view.at("slow_mode_s")), 60u);
}

TEST_F(ClusterModeration, AShadowBanOnNodeOneHidesTheSendersMessagesOnEveryOtherNode) {
    start_nodes();
    const std::uint64_t room = 603;
    auto shadowed = login(1, 900);
    auto watcher = login(2, 901);
    auto speaker = login(0, 902);
    for (auto* c : {shadowed.get(), watcher.get(), speaker.get()})
        ASSERT_EQ(biz(*c, "room.enter", room_data(room)).code, 0);
    post(0, path(room, "shadow_ban"), R"({"user_id":900})");
    // n2 learns it within its sync; from then on the watcher on n3 never sees 900's chat.
    ASSERT_TRUE(eventually([&] { return metric(1, "livepush_moderation_reloads_total") >= 1; },
                           10000ms, 200ms));
    ASSERT_EQ(chat(*shadowed, room, "unseen"), 0);
    auto own = push_of_type(*shadowed, "room.chat");
    ASSERT_TRUE(own) << "the sender sees their own message";
    EXPECT_NE(own->payload().find("unseen"), std::string::npos);
    ASSERT_EQ(chat(*speaker, room, "seen"), 0);
    auto got = push_of_type(*watcher, "room.chat", 10000ms);
    ASSERT_TRUE(got);
    EXPECT_EQ(got->payload().find("unseen"), std::string::npos) << got->payload();
}

TEST_F(ClusterModeration, StateSurvivesANodeRestart) {
    start_nodes();
    const std::uint64_t room = 604;
    post(0, path(room, "ban"), R"({"user_id":950})");
    post(0, path(room, "mute"), R"({"user_id":951,"duration_s":600})");
    start_node(1);  // n2 again, with the same id
    ASSERT_TRUE(
        eventually([&] { return metric(1, "livepush_cluster_nodes") == kNodes; }, 10000ms, 200ms));
    auto view = get(1, path(room, "moderation"));
    ASSERT_EQ(view.at("banned").as_array().size(), 1u) << json::serialize(view);
    ASSERT_EQ(view.at("muted").as_array().size(), 1u);
    EXPECT_GT(json_u64(view.at("muted").as_array()[0].at("until_ms")), 0u);
    auto banned = login(1, 950);
    EXPECT_EQ(biz(*banned, "room.enter", room_data(room)).code, pb::ROOM_BANNED)
        << "the restarted n2 refuses the banned user";
    auto muted = login(1, 951);
    ASSERT_EQ(biz(*muted, "room.enter", room_data(room)).code, 0);
    EXPECT_EQ(chat(*muted, room, "x"), pb::ROOM_MUTED);
}

}  // namespace
