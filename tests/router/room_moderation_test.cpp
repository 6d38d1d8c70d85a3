// tests/router/room_moderation_test: RoomModerationService's rules without a node: who may act
// on whom, what is told to the room (room.notice through Routing, never for a shadow ban) and
// to the audit log (every action), the refusals of check_chat (mute, mute_all, slow mode with
// retry_after_ms, exemptions) and the bounds; the cache answers nothing for a room it has not
// loaded and forgets an idle room without members. Over the memory store, an empty hub and a
// routing that records what is published.
#include "router/room_moderation.hpp"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <mutex>

#include "livepush.pb.h"
#include "router/memory_moderation_store.hpp"
#include "server/hub.hpp"

namespace {

namespace pb = livepush::v1;
using lp::router::ModAction;
using lp::router::ModRequest;
using lp::router::ModVerdict;
using lp::server::Role;

// Records room publishes; nothing else is used by the service.
class RecordingRouting final : public lp::router::Routing {
public:
    std::vector<lp::router::RoomMessage> published;
    void on_login(lp::server::Session&) override {}
    void on_logout(lp::server::Session&) override {}
    void forward_room_likes(const std::vector<std::pair<std::uint64_t, std::uint64_t>>&) override {}
    bool room_is_home(std::uint64_t) const override { return true; }
    std::uint64_t room_online_elsewhere(std::uint64_t) const override { return 0; }
    void fetch_room(std::uint64_t, std::optional<std::uint64_t>,
                    std::function<void(lp::router::HomeRoom)> done) override {
        done({});
    }
    std::uint64_t publish_room(lp::router::RoomMessage m) override {
        published.push_back(std::move(m));
        return 0;
    }
    RoomPublished publish_room_wait(lp::router::RoomMessage m) override {
        publish_room(std::move(m));
        return {};
    }
    RoomView room_view(std::uint64_t) override { return {}; }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> home_rooms_online() override { return {}; }
    void publish_room_unsequenced(const lp::router::RoomMessage&) override {}
    UsersPushed push_users(const std::vector<std::uint64_t>&, const lp::router::UserMessage&,
                           lp::router::LocalDelivery&) override {
        return {};
    }
    std::uint64_t broadcast(const lp::server::SharedPacket&, const lp::router::UserMessage&,
                            const std::vector<std::uint64_t>&) override {
        return 0;
    }
    std::uint64_t kick(std::uint64_t, const std::string&) override { return 0; }
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>&) override { return {}; }
    std::vector<RemoteSession> sessions_elsewhere(std::uint64_t) override { return {}; }
    bool ready(std::string&) const override { return true; }
};

class RoomModerationTest : public ::testing::Test {
protected:
    RoomModerationTest() { make(3, std::chrono::milliseconds(10000)); }
    void make(std::size_t max_entries, std::chrono::milliseconds idle) {
        lp::router::ModerationOptions o;
        o.max_moderators = 2;
        o.max_entries = max_entries;
        o.cache_idle = idle;
        store = std::make_unique<lp::router::MemoryModerationStore>(max_entries);
        service = std::make_unique<lp::router::RoomModerationService>(
            o, *store, hub, routing, [this] { return ++ids; },
            [this](const std::string& key, const std::string& json) {
                audit.emplace_back(key, json);
            });
    }
    ModVerdict act(ModRequest r) {
        ModVerdict out;
        out.code = -1;
        service->act(std::move(r), [&](ModVerdict v) { out = std::move(v); });  // memory: at once
        return out;
    }
    static ModRequest req(ModAction a, std::uint64_t by, Role role = Role::Viewer,
                          std::uint64_t target = 0) {
        ModRequest r;
        r.room = 7;
        r.action = a;
        r.user = target;
        r.by = {by, role, false};
        return r;
    }
    void set_meta() {
        ModRequest m = req(ModAction::Meta, 0);
        m.by.system = true;
        m.anchor = 100;
        m.moderators = {101, 102};
        ASSERT_EQ(act(m).code, 0);
    }

    lp::server::Hub hub{{}};
    RecordingRouting routing;
    std::uint64_t ids = 0;
    std::vector<std::pair<std::string, std::string>> audit;
    std::unique_ptr<lp::router::MemoryModerationStore> store;
    std::unique_ptr<lp::router::RoomModerationService> service;
};

TEST_F(RoomModerationTest, OnlyTheAnchorModeratorsAdminsAndTheApiActAndModeratorsSpareTheirPeers) {
    set_meta();
    EXPECT_EQ(act(req(ModAction::Mute, 5, Role::Viewer, 6)).code, pb::NOT_ALLOWED);
    EXPECT_EQ(act(req(ModAction::Mute, 5, Role::Anchor, 6)).code, pb::NOT_ALLOWED)
        << "the anchor role of another room is not this room's anchor";
    EXPECT_EQ(act(req(ModAction::Mute, 101, Role::Viewer, 6)).code, 0) << "a moderator";
    EXPECT_EQ(act(req(ModAction::Mute, 101, Role::Viewer, 100)).code, pb::NOT_ALLOWED)
        << "a moderator may not mute the anchor";
    EXPECT_EQ(act(req(ModAction::Ban, 101, Role::Viewer, 102)).code, pb::NOT_ALLOWED)
        << "nor another moderator";
    EXPECT_EQ(act(req(ModAction::Mute, 100, Role::Viewer, 102)).code, 0) << "the anchor may";
    EXPECT_EQ(act(req(ModAction::Mute, 9, Role::Admin, 100)).code, 0) << "so may an admin";
    ModRequest meta = req(ModAction::Meta, 100);
    EXPECT_EQ(act(meta).code, pb::NOT_ALLOWED) << "the meta is the API's";
    meta.by.system = true;
    meta.moderators = {1, 2, 3};
    EXPECT_EQ(act(meta).code, pb::BAD_BIZ_DATA) << "over max_moderators";
}

TEST_F(RoomModerationTest, EveryActionButTheShadowBanIsToldToTheRoomAndAllAreAudited) {
    set_meta();
    ASSERT_EQ(audit.size(), 1u) << "the meta is audited";
    EXPECT_TRUE(routing.published.empty()) << "but not told to the room";
    ModRequest mute = req(ModAction::Mute, 101, Role::Viewer, 6);
    mute.duration_s = 60;
    ModVerdict v = act(mute);
    ASSERT_EQ(v.code, 0);
    EXPECT_GT(v.until_ms, 0u);
    ASSERT_EQ(routing.published.size(), 1u);
    const auto& n = routing.published[0];
    EXPECT_EQ(n.type, "room.notice");
    EXPECT_EQ(n.room, 7u);
    auto p = boost::json::parse(n.payload).as_object();
    EXPECT_EQ(p.at("action").as_string(), "mute");
    EXPECT_EQ(p.at("user_id").as_string(), "6");
    EXPECT_EQ(p.at("by").as_string(), "101");
    EXPECT_EQ(p.at("until_ms").to_number<std::uint64_t>(), v.until_ms);
    EXPECT_EQ(act(req(ModAction::ShadowBan, 101, Role::Viewer, 8)).code, 0);
    EXPECT_EQ(routing.published.size(), 1u) << "nobody may notice a shadow ban";
    EXPECT_EQ(audit.size(), 3u) << "the audit log does";
    EXPECT_NE(audit.back().second.find("shadow_ban"), std::string::npos);
    EXPECT_EQ(audit.back().first, "7") << "keyed by room";
}

TEST_F(RoomModerationTest, ChatIsRefusedWhileMutedMutedForAllOrTooSoonInSlowMode) {
    set_meta();
    bool loaded = false;
    service->load(7, [&] { loaded = true; });
    ASSERT_TRUE(loaded);
    ASSERT_EQ(act(req(ModAction::Mute, 100, Role::Viewer, 6)).code, 0);
    EXPECT_EQ(service->check_chat(7, 6, Role::Viewer).code, pb::ROOM_MUTED);
    EXPECT_EQ(service->check_chat(7, 5, Role::Viewer).code, 0);

    ModRequest all = req(ModAction::MuteAll, 101);
    all.on = true;
    ASSERT_EQ(act(all).code, 0);
    EXPECT_EQ(service->check_chat(7, 5, Role::Viewer).code, pb::ROOM_MUTED);
    EXPECT_EQ(service->check_chat(7, 101, Role::Viewer).code, 0) << "a moderator still chats";
    EXPECT_EQ(service->check_chat(7, 9, Role::Admin).code, 0) << "and an admin";
    all.on = false;
    ASSERT_EQ(act(all).code, 0);

    ModRequest slow = req(ModAction::SlowMode, 100);
    slow.interval_s = 10;
    ASSERT_EQ(act(slow).code, 0);
    EXPECT_EQ(service->check_chat(7, 5, Role::Viewer).code, 0);
    ModVerdict v = service->check_chat(7, 5, Role::Viewer);
    EXPECT_EQ(v.code, pb::SLOW_MODE);
    EXPECT_GT(v.retry_after_ms, 9000u);
    EXPECT_LE(v.retry_after_ms, 10000u);
    EXPECT_EQ(service->check_chat(7, 100, Role::Viewer).code, 0) << "the anchor is exempt";
    EXPECT_EQ(service->check_chat(7, 100, Role::Viewer).code, 0);

    ASSERT_EQ(act(req(ModAction::ShadowBan, 100, Role::Viewer, 4)).code, 0);
    v = service->check_chat(7, 4, Role::Viewer);
    EXPECT_EQ(v.code, 0) << "a shadow-banned sender is not told";
    EXPECT_TRUE(v.shadow);
}

TEST_F(RoomModerationTest, ListsAreBoundedAndTheCacheForgetsAnIdleRoomWithoutMembers) {
    make(2, std::chrono::milliseconds(0));
    set_meta();
    EXPECT_EQ(act(req(ModAction::Ban, 100, Role::Viewer, 1)).code, 0);
    EXPECT_EQ(act(req(ModAction::Ban, 100, Role::Viewer, 2)).code, 0);
    EXPECT_EQ(act(req(ModAction::Ban, 100, Role::Viewer, 3)).code, pb::ROOM_LIMIT);
    ASSERT_TRUE(service->check_enter(7, 1).has_value());
    EXPECT_EQ(service->check_enter(7, 1)->code, pb::ROOM_BANNED);
    EXPECT_FALSE(service->check_enter(8, 1).has_value()) << "a room not loaded: no answer";
    EXPECT_EQ(service->cached_rooms(), 1u);
    service->sync_once();
    EXPECT_EQ(service->cached_rooms(), 0u) << "no member here, idle: forgotten";
    EXPECT_FALSE(service->check_enter(7, 1).has_value());
}

}  // namespace
