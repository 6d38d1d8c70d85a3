// tests/push/push_routing_test: the push service reaches users and rooms only through
// router::Routing, whichever mode the node runs in. A fake Routing records what the service
// asks and answers what a cluster would (a room's home that did not answer, Redis down, a full
// share), so these tests pin that every answer of the push API comes from the interface; and
// LocalRouting, the embedded implementation, is pinned against a fake LocalDelivery.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ack/memory_inbox.hpp"
#include "ack/qos_delivery.hpp"
#include "push/push_service.hpp"
#include "router/local_routing.hpp"
#include "server/hub.hpp"
#include "server/msg_id.hpp"

namespace lp::push {
namespace {

struct FakeRouting final : router::Routing {
    // What the service asked.
    std::vector<router::RoomMessage> rooms_published;
    std::vector<std::vector<std::uint64_t>> users_pushed;
    std::vector<int> qos_pushed;
    std::vector<std::uint64_t> broadcast_excluded;
    int broadcasts = 0;
    std::vector<std::uint64_t> kicked;
    // What it answers.
    RoomPublished room_answer;
    UsersPushed users_answer;
    bool store_offline = false;  // push_users: store m for every user through `here`
    RoomView view;
    bool up = true;

    void on_login(server::Session&) override {}
    void on_logout(server::Session&) override {}
    bool room_is_home(std::uint64_t) const override { return false; }
    std::uint64_t room_online_elsewhere(std::uint64_t) const override { return 0; }
    void fetch_room(std::uint64_t, std::optional<std::uint64_t>,
                    std::function<void(router::HomeRoom)> done) override {
        done({});
    }
    std::uint64_t publish_room(router::RoomMessage m) override {
        rooms_published.push_back(std::move(m));
        return 0;
    }
    RoomPublished publish_room_wait(router::RoomMessage m) override {
        rooms_published.push_back(std::move(m));
        return room_answer;
    }
    RoomView room_view(std::uint64_t) override { return view; }
    std::vector<std::pair<std::uint64_t, std::uint64_t>> home_rooms_online() override { return {}; }
    void publish_room_unsequenced(const router::RoomMessage&) override {}
    void forward_room_likes(const std::vector<std::pair<std::uint64_t, std::uint64_t>>&) override {}
    UsersPushed push_users(const std::vector<std::uint64_t>& users, const router::UserMessage& m,
                           router::LocalDelivery& here) override {
        users_pushed.push_back(users);
        qos_pushed.push_back(m.qos);
        if (store_offline) {
            EXPECT_EQ(here.store_many(users, m), 0u);
        }
        return users_answer;
    }
    std::uint64_t broadcast(const server::SharedPacket&, const router::UserMessage&,
                            const std::vector<std::uint64_t>& exclude) override {
        ++broadcasts;
        broadcast_excluded = exclude;
        return 9;
    }
    std::uint64_t kick(std::uint64_t user, const std::string&) override {
        kicked.push_back(user);
        return 4;
    }
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) override {
        return {users.back()};
    }
    std::vector<RemoteSession> sessions_elsewhere(std::uint64_t) override {
        RemoteSession s;
        s.session_id = 77;
        s.platform = "ios";
        s.node = "node-b";
        s.transport = "ws";
        return {s};
    }
    bool ready(std::string& why) const override {
        if (!up) why = "routing down";
        return up;
    }
};

class PushServiceRouting : public ::testing::Test {
protected:
    server::Hub hub{{}};
    ack::MemoryInbox inbox{100};
    ack::QosDelivery delivery{ack::DeliveryOptions{}, inbox, hub};
    server::MsgIdGenerator ids{1};
    FakeRouting routing;
    PushService push{hub, delivery, ids, "node-a", {}, routing};
};

TEST_F(PushServiceRouting, RoomPushIsOnePublishThroughRoutingAndAnswersWithItsSeq) {
    routing.room_answer = {false, 0, 5};  // the home did not answer in time
    PushRequest req;
    req.target = Target::Room;
    req.room_id = 7;
    req.type = "gift";
    req.payload = "{}";
    req.exclude = {3};
    auto out = push.push(req);
    ASSERT_EQ(routing.rooms_published.size(), 1u);
    EXPECT_EQ(routing.rooms_published[0].room, 7u);
    EXPECT_EQ(routing.rooms_published[0].type, "gift");
    EXPECT_EQ(routing.rooms_published[0].exclude, std::vector<std::uint64_t>{3});
    EXPECT_EQ(routing.rooms_published[0].msg_id, out.msg_id);
    EXPECT_EQ(out.status, 200);
    EXPECT_FALSE(out.room_seq_known);
    EXPECT_EQ(out.sessions, 5u);

    routing.room_answer = {true, 42, 6};
    out = push.push(req);
    EXPECT_TRUE(out.room_seq_known);
    EXPECT_EQ(out.room_seq, 42u);
}

TEST_F(PushServiceRouting, UserPushGoesThroughRoutingWhichUsesThisNodesDelivery) {
    routing.store_offline = true;  // as a cluster does: durable before routed
    routing.users_answer.sessions = 2;
    routing.users_answer.stored = 1;
    PushRequest req;
    req.target = Target::Users;
    req.user_ids = {10, 11};
    req.type = "notice";
    req.payload = "{}";
    req.qos = 1;
    auto out = push.push(req);
    ASSERT_EQ(routing.users_pushed.size(), 1u);
    EXPECT_EQ(routing.users_pushed[0], (std::vector<std::uint64_t>{10, 11}));
    EXPECT_EQ(routing.qos_pushed[0], 1);
    EXPECT_EQ(out.status, 200);
    EXPECT_EQ(out.sessions, 2u);
    EXPECT_EQ(out.stored, 1u);
    // The LocalDelivery the service handed over writes this node's inbox.
    EXPECT_EQ(inbox.size(10), 1u);
    EXPECT_EQ(inbox.size(11), 1u);
}

TEST_F(PushServiceRouting, RoutingRefusalsBecomeTheApiAnswers) {
    PushRequest req;
    req.target = Target::User;
    req.user_id = 10;
    req.type = "im.message";
    req.qos = 1;
    routing.users_answer.status = router::Routing::UsersPushed::Status::Unavailable;
    routing.users_answer.why = "Redis is unavailable: cannot route the push";
    auto out = push.push(req);
    EXPECT_EQ(out.status, 503);
    EXPECT_EQ(out.error, "Redis is unavailable: cannot route the push");
    EXPECT_EQ(push.stats().unavailable.load(), 1u);

    routing.users_answer.status = router::Routing::UsersPushed::Status::ShareFull;
    out = push.push(req);
    EXPECT_EQ(out.status, 429);
    EXPECT_EQ(out.code, kInboxShareFull);
}

TEST_F(PushServiceRouting, BroadcastKickLookupsAndReadinessAskRouting) {
    PushRequest req;
    req.target = Target::Broadcast;
    req.type = "notice";
    req.exclude = {1, 2};
    auto out = push.push(req);
    EXPECT_EQ(routing.broadcasts, 1);
    EXPECT_EQ(routing.broadcast_excluded, (std::vector<std::uint64_t>{1, 2}));
    EXPECT_EQ(out.sessions, 9u);

    EXPECT_EQ(push.kick(5, "banned"), 4u);
    EXPECT_EQ(routing.kicked, std::vector<std::uint64_t>{5});

    routing.view = {12, 34, 56, "node-b"};
    auto room = push.room(8);
    EXPECT_EQ(room.online, 12u);
    EXPECT_EQ(room.room_seq, 34u);
    EXPECT_EQ(room.epoch, 56u);
    EXPECT_EQ(room.home, "node-b");

    EXPECT_EQ(push.online({1, 2, 3}), std::vector<std::uint64_t>{3});
    auto user = push.user(5);
    ASSERT_EQ(user.sessions.size(), 1u);
    EXPECT_TRUE(user.online);
    EXPECT_EQ(user.node, "node-b");
    EXPECT_EQ(user.sessions[0].session_id, 77u);
    EXPECT_EQ(user.sessions[0].transport, "ws");

    std::string why;
    EXPECT_TRUE(push.ready(why));
    routing.up = false;
    EXPECT_FALSE(push.ready(why));
    EXPECT_EQ(why, "routing down");
}

// LocalRouting (embedded): a user push is this node's delivery, refusals only when nothing was
// reached.
struct FakeDelivery final : router::LocalDelivery {
    Sent answer;
    std::vector<std::vector<std::uint64_t>> sent;
    int stores = 0;
    Sent send(const std::vector<std::uint64_t>& users, const router::UserMessage&) override {
        sent.push_back(users);
        return answer;
    }
    void deliver_stored(const std::vector<std::uint64_t>&, const router::UserMessage&) override {
        ++stores;
    }
    Stored store_checked(std::uint64_t, const router::UserMessage&) override {
        ++stores;
        return Stored::Yes;
    }
    std::size_t store_many(const std::vector<std::uint64_t>&, const router::UserMessage&) override {
        ++stores;
        return 0;
    }
};

TEST(LocalRouting, UserPushIsThisNodesDeliveryWithNothingStoredAhead) {
    server::Hub hub{{}};
    router::LocalRouting routing(hub);
    FakeDelivery here;
    router::UserMessage m;
    m.qos = 1;
    here.answer = {1, 2, false, false};
    auto r = routing.push_users({1, 2, 3}, m, here);
    EXPECT_EQ(r.status, router::Routing::UsersPushed::Status::Ok);
    EXPECT_EQ(r.sessions, 1u);
    EXPECT_EQ(r.stored, 2u);
    ASSERT_EQ(here.sent.size(), 1u);
    EXPECT_EQ(here.sent[0], (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(here.stores, 0);  // the node's inbox is written by send, never ahead

    m.online_only = true;
    EXPECT_EQ(routing.push_users({1}, m, here).stored, 0u);

    m.online_only = false;
    here.answer = {0, 0, true, false};
    EXPECT_EQ(routing.push_users({1}, m, here).status,
              router::Routing::UsersPushed::Status::ShareFull);
    here.answer = {0, 0, false, true};
    r = routing.push_users({1}, m, here);
    EXPECT_EQ(r.status, router::Routing::UsersPushed::Status::Unavailable);
    EXPECT_EQ(r.why, "the inbox is unavailable: not stored");
    here.answer = {1, 0, true, true};  // reached a session: accepted
    EXPECT_EQ(routing.push_users({1, 2}, m, here).status, router::Routing::UsersPushed::Status::Ok);
}

TEST(LocalRouting, EveryRoomIsHomeAndNobodyIsElsewhere) {
    server::Hub hub{{}};
    router::LocalRouting routing(hub);
    EXPECT_TRUE(routing.room_is_home(1));
    EXPECT_EQ(routing.room_online_elsewhere(1), 0u);
    EXPECT_TRUE(routing.sessions_elsewhere(1).empty());
    EXPECT_EQ(routing.online({1, 2}), std::vector<std::uint64_t>{});
    auto pub = routing.publish_room_wait({1, 1, "t", "{}", 0, {}});
    EXPECT_TRUE(pub.seq_known);  // this node assigns every room's seq
    EXPECT_EQ(routing.room_view(1).home, "");
    std::string why;
    EXPECT_TRUE(routing.ready(why));
}

}  // namespace
}  // namespace lp::push
