// tests/integration/cluster_rooms_test: a room is the same whichever node of a 3-node cluster is
// asked (real livepushd nodes, real redis-server): recovery (room.enter and LOGIN's resume) on
// a node where the room has no other member, what answers when the home is silent, the room_seq a
// push through a non-home node answers, the epoch a node hands out, the room's count and state on
// every node, and presence (transport, rooms) read from another node. Every wait is on a condition,
// with a generous deadline.
#include <gtest/gtest.h>
#include <signal.h>

#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <string>

#include "cluster_fixture.hpp"
#include "livepush.pb.h"

namespace {

namespace json = boost::json;
using lp::client::Connection;
using lp::client::Transport;
using lp::testing::eventually;
using lp::testing::json_u64;
using namespace std::chrono_literals;

class ClusterRoomsTest : public lp::testing::ClusterFixture {
protected:
    // A room id whose home is node `home` (0-based).
    std::uint64_t room_homed_at(int home) {
        const std::uint64_t r = ClusterFixture::room_homed_at(home, 5000, 200);
        if (r == 0) ADD_FAILURE() << "no room homed at n" << home + 1;
        return r;
    }
    json::object room(int node, std::uint64_t id) {
        return get(node, "/v1/rooms/" + std::to_string(id));
    }
    std::uint64_t push_room(int node, std::uint64_t id, int payload) {
        auto o = post(node, "/v1/push/room",
                      "{\"room_id\":" + std::to_string(id) +
                          ",\"type\":\"t\",\"payload\":" + std::to_string(payload) + "}");
        return o.contains("room_seq") && !o.at("room_seq").is_null() ? json_u64(o.at("room_seq"))
                                                                     : 0;
    }
    static json::object data_of(const livepush::v1::Result& r) {
        return json::parse(r.data()).as_object();
    }
};

// A client misses messages while it is away from node A and re-enters on node B, where the
// room has no other member (and B is not the room's home): it gets every missed message once,
// in order, then the live stream. Old code: B answered recovered=false, room_seq 0, B's own
// epoch and online 1.
TEST_F(ClusterRoomsTest, RecoveryOnANodeWithoutMembersGetsEveryMissedMessageOnceInOrder) {
    start_nodes();
    const std::uint64_t id = room_homed_at(2);  // home n3; A = n1, B = n2
    ASSERT_NE(id, 0u);
    const std::string enter = "{\"room_id\":" + std::to_string(id) + "}";
    auto stay = login(2, 7001);  // keeps the room alive at its home
    ASSERT_TRUE(stay->biz("room.enter", enter));

    // Epochs are wall-clock milliseconds: wait until the clock has passed the home's, so a node
    // making up its own epoch (the old code) cannot hand out the same number by chance.
    const std::uint64_t home_epoch = json_u64(room(2, id).at("epoch"));
    ASSERT_TRUE(eventually(
        [&] {
            return static_cast<std::uint64_t>(
                       std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count()) > home_epoch + 1;
        },
        10000ms));
    auto x = login(0, 7002);
    auto first = x->biz("room.enter", enter);
    ASSERT_TRUE(first && first->code() == 0);
    const std::uint64_t epoch = json_u64(data_of(*first).at("epoch"));
    EXPECT_EQ(epoch, home_epoch) << "the epoch a non-home node hands out is the home's";
    ASSERT_TRUE(eventually([&] { return json_u64(room(2, id).at("online")) == 2; }, 10000ms));

    for (int i = 1; i <= 2; ++i) push_room(1, id, i);
    std::uint64_t last_seq = 0;
    for (int i = 1; i <= 2; ++i) {
        auto p = x->next_push(10000ms);
        ASSERT_TRUE(p) << "live message " << i;
        last_seq = p->room_seq();
    }
    x->close();
    ASSERT_TRUE(eventually([&] { return json_u64(room(2, id).at("online")) == 1; }, 10000ms))
        << "x left n1";

    std::vector<std::uint64_t> missed;
    for (int i = 3; i <= 7; ++i) missed.push_back(push_room(i % 3, id, i));

    auto back = login(1, 7002);
    auto again = back->biz("room.enter", "{\"room_id\":" + std::to_string(id) +
                                             ",\"last_seq\":" + std::to_string(last_seq) +
                                             ",\"epoch\":" + std::to_string(epoch) + "}");
    ASSERT_TRUE(again && again->code() == 0) << (again ? again->message() : "no answer");
    auto d = data_of(*again);
    EXPECT_TRUE(d.at("recovered").as_bool()) << json::serialize(d);
    EXPECT_EQ(json_u64(d.at("replayed")), 5u);
    EXPECT_EQ(json_u64(d.at("epoch")), epoch);
    EXPECT_EQ(json_u64(d.at("room_seq")), last_seq + 5);
    EXPECT_EQ(json_u64(d.at("online")), 2u) << "one member on the home, this one on n2";
    for (std::size_t i = 0; i < missed.size(); ++i) {
        auto p = back->next_push(10000ms);
        ASSERT_TRUE(p) << "missed message " << i;
        EXPECT_EQ(p->room_seq(), last_seq + 1 + i) << "in order";
        EXPECT_EQ(p->payload(), std::to_string(i + 3));
    }
    const std::uint64_t live = push_room(0, id, 8);
    EXPECT_EQ(live, last_seq + 6);
    auto p = back->next_push(10000ms);
    ASSERT_TRUE(p) << "the live stream follows the replay";
    EXPECT_EQ(p->room_seq(), last_seq + 6);
    ASSERT_TRUE(back->heartbeat());
    EXPECT_FALSE(back->next_push(0ms)) << "a message came twice";
}

// The same through LOGIN's resume {room_id, last_seq} on a node where the room has no member.
// Old code: that node made the room up anew and replayed nothing.
TEST_F(ClusterRoomsTest, LoginResumeOnANodeWithoutMembersReplaysTheMissedMessages) {
    start_nodes();
    const std::uint64_t id = room_homed_at(2);
    ASSERT_NE(id, 0u);
    const std::string enter = "{\"room_id\":" + std::to_string(id) + "}";
    auto stay = login(2, 7501);
    ASSERT_TRUE(stay->biz("room.enter", enter));
    auto x = login(0, 7502);
    ASSERT_TRUE(x->biz("room.enter", enter));
    ASSERT_TRUE(eventually([&] { return json_u64(room(2, id).at("online")) == 2; }, 10000ms));
    const std::uint64_t last_seq = push_room(2, id, 1);
    auto first = x->next_push(10000ms);
    ASSERT_TRUE(first);
    ASSERT_EQ(first->room_seq(), last_seq);
    x->close();
    ASSERT_TRUE(eventually([&] { return json_u64(room(2, id).at("online")) == 1; }, 10000ms));
    for (int i = 2; i <= 4; ++i) push_room(0, id, i);

    lp::client::Options o;
    o.port = nodes_[1]->tcp_port();
    o.timeout = std::chrono::milliseconds(5000);
    Connection back(o);
    ASSERT_FALSE(back.connect());
    livepush::v1::RoomResume resume;
    resume.set_room_id(id);
    resume.set_last_seq(last_seq);
    auto r = back.login(lp::testing::token_for(7502, 3600, "viewer"), "android", "", &resume);
    ASSERT_TRUE(r && r->code() == 0);
    for (std::uint64_t i = 1; i <= 3; ++i) {
        auto p = back.next_push(10000ms);
        ASSERT_TRUE(p) << "missed message " << i;
        EXPECT_EQ(p->room_seq(), last_seq + i);
    }
    EXPECT_EQ(push_room(1, id, 5), last_seq + 4);
    auto p = back.next_push(10000ms);
    ASSERT_TRUE(p) << "live after the resume";
    EXPECT_EQ(p->room_seq(), last_seq + 4);
}

// Old code: a push through a node that is not the room's home answered "room_seq": 0.
TEST_F(ClusterRoomsTest, PushThroughANonHomeNodeAnswersTheRealRoomSeq) {
    start_nodes();
    const std::uint64_t id = room_homed_at(0);  // home n1
    ASSERT_NE(id, 0u);
    auto m = login(2, 7101);
    ASSERT_TRUE(m->biz("room.enter", "{\"room_id\":" + std::to_string(id) + "}"));
    for (int i = 1; i <= 3; ++i) {
        const std::uint64_t seq = push_room(1, id, i);  // n2: neither home nor with members
        EXPECT_EQ(seq, static_cast<std::uint64_t>(i));
        auto p = m->next_push(10000ms);
        ASSERT_TRUE(p);
        EXPECT_EQ(p->room_seq(), seq) << "the answer is the seq the member got";
    }
}

// Old code: a node without members (not the home) showed room_seq 0 and epoch 0, and each
// node counted what it saw.
TEST_F(ClusterRoomsTest, RoomStateAndOnlineAgreeOnAllNodes) {
    start_nodes();
    const std::uint64_t id = room_homed_at(0);  // home n1 without members; members on n2; n3 none
    ASSERT_NE(id, 0u);
    const std::string enter = "{\"room_id\":" + std::to_string(id) + "}";
    auto a = login(1, 7201), b = login(1, 7202, "ios");
    ASSERT_TRUE(a->biz("room.enter", enter));
    ASSERT_TRUE(b->biz("room.enter", enter));
    for (int i = 1; i <= 3; ++i) push_room(2, id, i);
    ASSERT_TRUE(eventually(
        [&] {
            for (int n = 0; n < kNodes; ++n) {
                auto r = room(n, id);
                if (json_u64(r.at("online")) != 2 || json_u64(r.at("room_seq")) != 3) return false;
            }
            return true;
        },
        10000ms))
        << "n1 " << json::serialize(room(0, id)) << " n2 " << json::serialize(room(1, id)) << " n3 "
        << json::serialize(room(2, id));
    const auto epoch = json_u64(room(0, id).at("epoch"));
    EXPECT_NE(epoch, 0u);
    for (int n = 1; n < kNodes; ++n)
        EXPECT_EQ(json_u64(room(n, id).at("epoch")), epoch) << "n" << n + 1;
    // A member entering on the memberless node n3 is told the room's count and seq.
    auto c = login(2, 7203);
    auto r = c->biz("room.enter", enter);
    ASSERT_TRUE(r && r->code() == 0);
    EXPECT_EQ(json_u64(data_of(*r).at("online")), 3u);
    EXPECT_EQ(json_u64(data_of(*r).at("room_seq")), 3u);
    EXPECT_EQ(json_u64(data_of(*r).at("epoch")), epoch);
}

// Old code: a session on another node showed "transport": "" and "rooms": [].
TEST_F(ClusterRoomsTest, PresenceIsCompleteFromAnotherNode) {
    start_nodes();
    auto ws = login(0, 7301, "android", Transport::Ws);
    // Presence from another node reads the route a LOGIN binds after LOGIN_RESULT.
    for (int n = 1; n < kNodes; ++n) ASSERT_TRUE(routed(n, 7301));
    ASSERT_TRUE(ws->biz("room.enter", R"({"room_id":5301})"));
    for (int n = 1; n < kNodes; ++n) {
        auto u = get(n, "/v1/users/7301");
        ASSERT_EQ(u.at("sessions").as_array().size(), 1u) << json::serialize(u);
        const auto& s = u.at("sessions").as_array()[0].as_object();
        EXPECT_EQ(s.at("transport").as_string(), "ws") << "from n" << n + 1;
        EXPECT_EQ(s.at("node").as_string(), "n1");
        ASSERT_EQ(s.at("rooms").as_array().size(), 1u)
            << "from n" << n + 1 << ": " << json::serialize(u);
        EXPECT_EQ(json_u64(s.at("rooms").as_array()[0]), 5301u);
    }
}

// The home node stops answering (SIGSTOP): a push through another node answers within its
// bound with "room_seq": null rather than a made-up 0, and a room.enter is still answered. Old
// code answered room_seq 0 at once.
TEST_F(ClusterRoomsTest, AHomeThatDoesNotAnswerGivesAnUnknownRoomSeqNotZero) {
    start_nodes({"--room-query-timeout-ms", "300"});
    const std::uint64_t id = room_homed_at(0);  // home n1
    ASSERT_NE(id, 0u);
    auto m = login(1, 7401);
    ASSERT_TRUE(m->biz("room.enter", "{\"room_id\":" + std::to_string(id) + "}"));
    ASSERT_EQ(::kill(nodes_[0]->pid(), SIGSTOP), 0);
    struct Resume {
        pid_t pid;
        ~Resume() { ::kill(pid, SIGCONT); }  // whatever fails below, the node is stopped cleanly
    } resume{nodes_[0]->pid()};
    auto o = post(2, "/v1/push/room",
                  "{\"room_id\":" + std::to_string(id) + ",\"type\":\"t\",\"payload\":1}");
    ASSERT_TRUE(o.contains("room_seq")) << json::serialize(o);
    EXPECT_TRUE(o.at("room_seq").is_null()) << json::serialize(o);
    auto late = login(2, 7402);
    auto r = late->biz("room.enter", "{\"room_id\":" + std::to_string(id) + "}");
    ASSERT_TRUE(r) << "room.enter is answered without the home";
    EXPECT_EQ(r->code(), 0);
}

}  // namespace
