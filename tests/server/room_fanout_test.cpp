// tests/server/room_fanout_test: a room's messages through Hub and RoomFanout to members on
// several event loops, on scripted transports (fake_transport.hpp): each member gets each
// message once and in room_seq order, whatever the batching; members joining or leaving between
// and during publishes get exactly their share; one encoded buffer per wire form per loop is
// queued to every member (no per-receiver encoding); an unsequenced message (room.online, seq 0)
// reaches every member and spends no seq or history. Loops are run by hand, except in the one
// test that publishes from several threads into running loops.
#include "server/room_fanout.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/asio/post.hpp>
#include <thread>

#include "fake_transport.hpp"
#include "server/hub.hpp"

namespace {

using namespace lp::server;
using namespace lp::server::testing;
using lp::codec::Code;
using namespace std::chrono_literals;

constexpr std::uint64_t kRoom = 42;

enum class Coalesce { Posted, Window4 };

LoopOptions fanout_options(Coalesce c = Coalesce::Posted) {
    LoopOptions o;
    o.finest_timer = 50ms;
    o.viewer_budget_per_s = 0;  // these pin the fan-out itself; room_budget_test the budget
    if (c == Coalesce::Posted) {
        o.room_coalesce = 0ms;  // each message's batch is flushed by a posted handler
    } else {
        o.room_coalesce = std::chrono::hours(1);  // never by the timer: by the count or by hand
        o.room_coalesce_max = 4;
    }
    return o;
}

// N loops driven by hand (or started), one hub over them.
struct Node {
    explicit Node(std::size_t n, LoopOptions o = fanout_options()) {
        for (std::size_t i = 0; i < n; ++i) {
            owned.push_back(std::make_unique<EventLoop>(static_cast<unsigned>(i), o, handler));
            loops.push_back(owned.back().get());
        }
        hub = std::make_unique<Hub>(loops);
        // As handlers/ does: a closed session leaves its rooms.
        handler.on_close = [this](Session& s, CloseReason) { hub->leave_all_rooms(s); };
    }
    ~Node() {
        for (EventLoop* l : loops) {
            l->stop();
            l->join();
        }
        for (EventLoop* l : loops)
            l->for_each_session([](Session& s) { s.close(CloseReason::Shutdown); });
        run_ready(loops);
    }

    Hub::Published publish(std::uint64_t room = kRoom, std::size_t payload = 8,
                           std::vector<std::uint64_t> exclude = {}) {
        return hub->publish_room(
            room,
            [&](std::uint64_t seq) {
                auto p = std::make_shared<pb::Push>(push(seq, payload));
                p->set_room_id(room);
                p->set_room_seq(seq);
                SharedPacket sp;
                sp.code = Code::Push;
                sp.body = std::move(p);
                return sp;
            },
            std::move(exclude));
    }

    std::uint64_t deliveries() const {
        std::uint64_t n = 0;
        for (EventLoop* l : loops) n += get(l->stats().room_deliveries);
        return n;
    }

    RecordingHandler handler;
    std::vector<std::unique_ptr<EventLoop>> owned;
    std::vector<EventLoop*> loops;
    std::unique_ptr<Hub> hub;
};

std::vector<std::uint64_t> room_seqs(const FakeSession& s) {
    Decoded d = decode(s);
    EXPECT_FALSE(d.error) << "session " << s.id();
    EXPECT_EQ(d.trailing, 0u) << "session " << s.id();
    std::vector<std::uint64_t> seqs;
    for (const auto& f : d.frames)
        if (f.code == static_cast<std::uint16_t>(Code::Push))
            seqs.push_back(f.as_push().room_seq());
    return seqs;
}

std::vector<std::uint64_t> range(std::uint64_t from, std::uint64_t to) {
    std::vector<std::uint64_t> r;
    for (std::uint64_t i = from; i <= to; ++i) r.push_back(i);
    return r;
}

// A member in each wire form a loop can hold: TCP binary, TCP JSON, WebSocket binary.
std::vector<std::shared_ptr<FakeSession>> three_members(Node& node, EventLoop& loop) {
    std::vector<std::shared_ptr<FakeSession>> m{
        open_session(loop), open_session(loop, TransportKind::Tcp, true, true), open_ws(loop)};
    for (auto& s : m) EXPECT_TRUE(node.hub->join_room(*s, kRoom).joined);
    return m;
}

// ---------------------------------------------------------------- once, in order

class RoomFanoutLoops : public ::testing::TestWithParam<std::tuple<std::size_t, Coalesce>> {};

TEST_P(RoomFanoutLoops, EveryMemberOnEveryLoopGetsEachMessageOnceInOrder) {
    auto [n, coalesce] = GetParam();
    Node node(n, fanout_options(coalesce));
    std::vector<std::shared_ptr<FakeSession>> members;
    for (EventLoop* l : node.loops)
        for (auto& s : three_members(node, *l)) members.push_back(s);
    for (auto& s : members) s->default_budget = 5;  // slow readers: many partial writes

    constexpr std::uint64_t kMessages = 21;
    for (std::uint64_t i = 1; i <= kMessages; ++i) {
        EXPECT_EQ(node.publish().seq, i);
        // Turns of the loops fall between publishes at different places, so batches differ.
        if (i % 3 == 0) run_ready(*node.loops[i % n]);
        for (auto& s : members) s->pump();
    }
    run_ready(node.loops);
    for (EventLoop* l : node.loops) l->fanout().flush_all();  // the window's remainder
    run_ready(node.loops);
    for (auto& s : members) s->drain();

    for (auto& s : members) EXPECT_EQ(room_seqs(*s), range(1, kMessages)) << "session " << s->id();
    EXPECT_EQ(node.deliveries(), members.size() * kMessages);
    if (coalesce == Coalesce::Window4) {
        for (EventLoop* l : node.loops) EXPECT_EQ(get(l->stats().room_batches), 6u);  // 5 x 4 + 1
    }
}

INSTANTIATE_TEST_SUITE_P(LoopsAndBatching, RoomFanoutLoops,
                         ::testing::Combine(::testing::Values(2, 3, 4),
                                            ::testing::Values(Coalesce::Posted,
                                                              Coalesce::Window4)));

// ---------------------------------------------------------------- unsequenced (room.online)

// An unsequenced message (room_seq 0) reaches every member, also one that joined after the
// batch's sequenced messages, in its place in the stream; it spends no seq and recovery never
// replays it.
TEST(RoomFanoutUnsequenced, EveryMemberGetsItAndNoSeqNorHistoryIsSpent) {
    Node node(2, fanout_options(Coalesce::Window4));
    auto early = open_session(*node.loops[0]);
    node.hub->join_room(*early, kRoom);
    node.publish();
    node.publish();
    auto late = open_session(*node.loops[0]);  // joins at seq 2, in the same pending batch
    node.hub->join_room(*late, kRoom);
    auto count = std::make_shared<pb::Push>(push(0, 8));
    count->set_room_id(kRoom);
    EXPECT_TRUE(
        node.hub->publish_unsequenced(kRoom, SharedPacket{Code::Push, 0, std::move(count)}));
    EXPECT_EQ(node.publish().seq, 3u) << "no seq spent";
    for (EventLoop* l : node.loops) l->fanout().flush_all();
    run_ready(node.loops);
    early->drain();
    late->drain();
    EXPECT_EQ(room_seqs(*early), (std::vector<std::uint64_t>{1, 2, 0, 3}));
    EXPECT_EQ(room_seqs(*late), (std::vector<std::uint64_t>{0, 3}));

    auto again = open_session(*node.loops[1]);
    auto j = node.hub->join_room(*again, kRoom, 0);
    EXPECT_TRUE(j.recovered);
    EXPECT_EQ(j.replay.size(), 3u) << "the history holds the sequenced messages only";
}

// ---------------------------------------------------------------- encode once per loop

// Every member of a loop that speaks the same wire form queues the very same buffer: the batch
// is encoded once per form per loop, never per receiver, and never shared across loops.
TEST(RoomFanoutEncoding, OneSharedBufferPerWireFormPerLoop) {
    Node node(2, fanout_options(Coalesce::Window4));
    std::vector<std::vector<std::shared_ptr<FakeSession>>> binary(2), json(2);
    for (std::size_t l = 0; l < 2; ++l) {
        for (int i = 0; i < 3; ++i) binary[l].push_back(open_session(*node.loops[l]));
        for (int i = 0; i < 2; ++i)
            json[l].push_back(open_session(*node.loops[l], TransportKind::Tcp, true, true));
        for (auto* group : {&binary[l], &json[l]})
            for (auto& s : *group) {
                s->default_budget = 0;  // nothing leaves: the queues stay to be looked at
                node.hub->join_room(*s, kRoom);
            }
    }
    for (int i = 0; i < 4; ++i) node.publish();  // one full batch of 4
    run_ready(node.loops);

    std::vector<const char*> seen;
    for (std::size_t l = 0; l < 2; ++l) {
        for (auto* group : {&binary[l], &json[l]}) {
            const FakeSession& first = *group->front();
            ASSERT_EQ(first.queued_chunks(), 1u) << "the batch is one buffer";
            EXPECT_TRUE(first.chunk_shared(0));
            for (auto& s : *group) {
                ASSERT_EQ(s->queued_chunks(), 1u);
                EXPECT_EQ(s->chunk_data(0), first.chunk_data(0)) << "loop " << l;
            }
            for (const char* other : seen) EXPECT_NE(first.chunk_data(0), other);
            seen.push_back(first.chunk_data(0));
        }
    }
    for (std::size_t l = 0; l < 2; ++l)
        for (auto* group : {&binary[l], &json[l]})
            for (auto& s : *group) {
                s->drain();
                EXPECT_EQ(room_seqs(*s), range(1, 4));
            }
}

// ---------------------------------------------------------------- membership changes

// Between a batch's messages and its flush, one member leaves and others join (on a loop with
// members and on one that had none): the leaver gets nothing of the unflushed batch, joiners
// only what was published after they joined, everyone else everything, each once.
TEST(RoomFanoutMembership, LeaveAndJoinWhileABatchIsPending) {
    Node node(3, fanout_options(Coalesce::Window4));
    auto a = open_session(*node.loops[0]);
    auto b = open_session(*node.loops[0]);
    auto c = open_session(*node.loops[1]);
    for (auto* s : {&a, &b, &c}) node.hub->join_room(**s, kRoom);
    for (int i = 0; i < 3; ++i) node.publish();  // under the batch size: pending in each loop
    run_ready(node.loops);
    EXPECT_TRUE(a->sent.empty());

    EXPECT_TRUE(node.hub->leave_room(*b, kRoom));
    auto d = open_session(*node.loops[1]);  // joins a loop that already has the room
    auto e = open_ws(*node.loops[2]);       // joins a loop that had no member
    EXPECT_EQ(node.hub->join_room(*d, kRoom).state.seq, 3u);
    EXPECT_EQ(node.hub->join_room(*e, kRoom).state.seq, 3u);
    for (int i = 0; i < 4; ++i) node.publish();  // seq 4 fills loop 0's and loop 1's batch
    run_ready(node.loops);
    for (EventLoop* l : node.loops) l->fanout().flush_all();
    run_ready(node.loops);

    EXPECT_EQ(room_seqs(*a), range(1, 7));
    EXPECT_TRUE(b->sent.empty());
    EXPECT_EQ(room_seqs(*c), range(1, 7));
    EXPECT_EQ(room_seqs(*d), range(4, 7));
    EXPECT_EQ(room_seqs(*e), range(4, 7));
    EXPECT_EQ(node.deliveries(), 7u + 7u + 4u + 4u);
}

// A member cut as a slow consumer in the middle of a room's traffic leaves the room when it
// closes (the handler does it, as handlers/ does), which moves another member into its slot;
// every other member still gets every message once, in order.
TEST(RoomFanoutMembership, ASlowMemberCutMidTrafficDisturbsNoOne) {
    LoopOptions o = fanout_options();
    o.send_queue_max_bytes = 1000;
    Node node(2, o);
    std::vector<std::shared_ptr<FakeSession>> members;
    for (int i = 0; i < 4; ++i) members.push_back(open_session(*node.loops[0]));
    members.push_back(open_session(*node.loops[1]));
    for (auto& s : members) node.hub->join_room(*s, kRoom);
    auto& slow = members[1];
    slow->default_budget = 0;

    for (int i = 0; i < 6; ++i) {  // ~230 bytes each: the slow one crosses 1000 at the 5th
        node.publish(kRoom, 200);
        run_ready(node.loops);
    }
    EXPECT_TRUE(slow->closing());
    EXPECT_EQ(get(node.loops[0]->stats().slow_kicks), 1u);
    advance(*node.loops[0], 2000ms);  // the close linger
    ASSERT_TRUE(slow->closed());
    EXPECT_EQ(node.hub->room_state(kRoom).online, 4u);
    for (int i = 0; i < 3; ++i) node.publish(kRoom, 200);
    run_ready(node.loops);

    for (std::size_t i = 0; i < members.size(); ++i) {
        if (i == 1) continue;
        EXPECT_EQ(room_seqs(*members[i]), range(1, 9)) << "member " << i;
    }
    EXPECT_TRUE(room_seqs(*slow).empty());
}

// ---------------------------------------------------------------- threads

// Publishers on three threads, four running loops, and members joining and leaving on their
// loops meanwhile. Each member gets a gap-free, duplicate-free run of room_seq: from 1 (or
// just after its join) to the end (or up to its leave).
TEST(RoomFanoutThreads, ConcurrentPublishersAndChurnKeepEachMembersStreamExact) {
    Node node(4);
    std::vector<std::shared_ptr<FakeSession>> members;
    for (EventLoop* l : node.loops)
        for (int i = 0; i < 2; ++i) {
            members.push_back(open_session(*l));
            node.hub->join_room(*members.back(), kRoom);
        }
    for (EventLoop* l : node.loops) l->start();

    constexpr int kPublishers = 3;
    constexpr int kEach = 150;
    const int loops = static_cast<int>(node.loops.size());
    std::atomic<int> published{0};
    std::atomic<int> churned{0};
    std::vector<std::thread> publishers;
    for (int p = 0; p < kPublishers; ++p)
        publishers.emplace_back([&, p] {
            for (int i = 0; i < kEach; ++i) {
                // Publisher 0 holds its second half back until the churn is done, so every join
                // and leave falls strictly inside the stream; the others keep publishing.
                if (p == 0 && i == kEach / 2)
                    while (churned.load() < loops) std::this_thread::yield();
                node.publish();
                published.fetch_add(1);
            }
        });
    // Churn on the loops' own threads, once a third of the stream is out.
    while (published.load() < kPublishers * kEach / 3) std::this_thread::yield();
    struct Joined {
        std::shared_ptr<FakeSession> s;
        std::uint64_t join_seq = 0;
    };
    std::vector<Joined> joined(node.loops.size());
    for (std::size_t l = 0; l < node.loops.size(); ++l) {
        EventLoop* loop = node.loops[l];
        Joined* slot = &joined[l];
        Hub* hub = node.hub.get();
        FakeSession* leaver = members[2 * l].get();
        boost::asio::post(loop->io(), [loop, slot, hub, leaver, &churned] {
            slot->s = open_session(*loop);
            slot->join_seq = hub->join_room(*slot->s, kRoom).state.seq;
            hub->leave_room(*leaver, kRoom);
            churned.fetch_add(1);
        });
    }
    for (auto& t : publishers) t.join();
    for (EventLoop* l : node.loops) {
        l->stop();
        l->join();
    }
    run_ready(node.loops);  // what the stopped loops had not run yet
    ASSERT_EQ(published.load(), kPublishers * kEach);
    const std::uint64_t last = kPublishers * kEach;

    for (std::size_t l = 0; l < node.loops.size(); ++l) {
        auto left = room_seqs(*members[2 * l]);
        EXPECT_EQ(left, range(1, left.size())) << "leaver on loop " << l;
        EXPECT_EQ(room_seqs(*members[2 * l + 1]), range(1, last)) << "stayer on loop " << l;
        ASSERT_TRUE(joined[l].s);
        EXPECT_GE(joined[l].join_seq, last / 3);
        EXPECT_LT(joined[l].join_seq, last);
        EXPECT_LT(left.size(), last);
        EXPECT_EQ(room_seqs(*joined[l].s), range(joined[l].join_seq + 1, last))
            << "joiner on loop " << l;
    }
}

// ---------------------------------------------------------------- broadcast

// Hub::broadcast: every logged-in session on every loop gets the packet once, excluded users
// and sessions not logged in do not, and a loop queues one buffer per wire form.
TEST(HubBroadcast, EveryLoggedInSessionOnceOneBufferPerWireFormPerLoop) {
    Node node(3);
    std::vector<std::shared_ptr<FakeSession>> in, json;
    for (EventLoop* l : node.loops) {
        for (int i = 0; i < 2; ++i) in.push_back(open_session(*l));
        json.push_back(open_session(*l, TransportKind::Tcp, true, true));
    }
    auto anonymous = open_session(*node.loops[0], TransportKind::Tcp, false);
    auto excluded = open_session(*node.loops[1]);
    for (auto* group : {&in, &json})
        for (auto& s : *group) s->default_budget = 0;

    SharedPacket sp;
    sp.code = Code::Push;
    sp.body = std::make_shared<pb::Push>(push(77));
    EXPECT_EQ(node.hub->broadcast(sp, {excluded->user.id}), 3u * 3u + 1u);
    run_ready(node.loops);

    for (std::size_t l = 0; l < 3; ++l) {
        EXPECT_EQ(in[2 * l]->chunk_data(0), in[2 * l + 1]->chunk_data(0)) << "loop " << l;
        EXPECT_NE(in[2 * l]->chunk_data(0), json[l]->chunk_data(0));
    }
    for (auto* group : {&in, &json})
        for (auto& s : *group) {
            s->drain();
            Decoded d = decode(*s);
            ASSERT_EQ(d.frames.size(), 1u);
            EXPECT_EQ(d.frames[0].as_push().msg_id(), 77u);
        }
    EXPECT_TRUE(anonymous->sent.empty());
    EXPECT_TRUE(excluded->sent.empty());
}

}  // namespace
