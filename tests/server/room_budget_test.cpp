// tests/server/room_budget_test: the per-viewer budget (server/room_budget.hpp) as a decision
// on batches — low is shed before normal, normal is sampled evenly so each viewer group gets
// about the budget and groups get different subsets, high and critical are never shed, the
// unsequenced room.online is outside it — and through the fan-out on scripted transports: a
// member gets at most ~budget of a flood but every high message and every one of its own.
#include "server/room_budget.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "fake_transport.hpp"
#include "server/hub.hpp"
#include "server/room_fanout.hpp"

namespace {

using namespace lp::server;
using namespace lp::server::testing;
using lp::codec::Code;
using namespace std::chrono_literals;

RoomPacketPtr msg(std::uint64_t seq, MsgClass cls, std::uint64_t sender = 0) {
    auto p = std::make_shared<RoomPacket>();
    p->room = 1;
    p->seq = seq;
    p->cls = cls;
    p->sender = sender;
    return p;
}

std::size_t kept(const RoomBudget::Plan& plan, std::size_t g) {
    return static_cast<std::size_t>(std::count(plan.keep[g].begin(), plan.keep[g].end(), 1));
}

// Under budget nothing is shed: the fan-out keeps its one-buffer path.
TEST(RoomBudgetDecision, UnderBudgetShedsNothing) {
    RoomBudget b(40);
    RoomBudget::Plan plan;
    std::uint64_t seq = 0;
    for (std::uint64_t t = 0; t < 10'000; t += 100) {  // 3 messages / 100 ms = 30/s
        std::vector<RoomPacketPtr> batch{msg(++seq, MsgClass::Normal), msg(++seq, MsgClass::Low),
                                         msg(++seq, MsgClass::High)};
        b.decide(batch, t, plan);
        EXPECT_FALSE(plan.sheds) << "at " << t << " ms";
    }
}

// A burst over what is left: every normal one fits, so low ones take the rest and no more.
TEST(RoomBudgetDecision, LowIsShedBeforeNormal) {
    RoomBudget b(40);  // burst 20
    RoomBudget::Plan plan;
    std::vector<RoomPacketPtr> batch;
    for (std::uint64_t i = 1; i <= 30; ++i)
        batch.push_back(msg(i, i % 2 ? MsgClass::Low : MsgClass::Normal));  // 15 low, 15 normal
    b.decide(batch, 1000, plan);
    ASSERT_TRUE(plan.sheds);
    for (std::size_t g = 0; g < RoomBudget::kGroups; ++g) {
        EXPECT_EQ(plan.shed[g][static_cast<std::size_t>(MsgClass::Normal)], 0u) << "group " << g;
        EXPECT_EQ(plan.shed[g][static_cast<std::size_t>(MsgClass::Low)], 10u) << "group " << g;
    }
    // Then a steady flood of both: no low one gets through while normal ones are sampled.
    std::uint64_t seq = 30, low_kept = 0, normal_kept = 0;
    for (std::uint64_t t = 1010; t < 3000; t += 10) {
        batch.clear();
        for (int i = 0; i < 5; ++i) {
            batch.push_back(msg(++seq, MsgClass::Normal));
            batch.push_back(msg(++seq, MsgClass::Low));
        }
        b.decide(batch, t, plan);
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if (!plan.keep[0][i]) continue;
            (batch[i]->cls == MsgClass::Low ? low_kept : normal_kept)++;
        }
    }
    EXPECT_EQ(low_kept, 0u);
    EXPECT_GT(normal_kept, 60u);  // ~40/s over ~2 s
}

// 1000 normal messages a second for 10 s against a budget of 40: each group gets about the
// budget, spread evenly over the stream, and the groups keep different messages.
TEST(RoomBudgetDecision, NormalIsSampledEvenlyPerGroup) {
    RoomBudget b(40);
    RoomBudget::Plan plan;
    std::array<std::vector<std::uint64_t>, RoomBudget::kGroups> seqs;
    std::uint64_t seq = 0;
    for (std::uint64_t t = 0; t < 10'000; t += 10) {
        std::vector<RoomPacketPtr> batch;
        for (int i = 0; i < 10; ++i) batch.push_back(msg(++seq, MsgClass::Normal));
        b.decide(batch, t, plan);
        for (std::size_t g = 0; g < RoomBudget::kGroups; ++g)
            for (std::size_t i = 0; i < batch.size(); ++i)
                if (plan.keep[g][i]) seqs[g].push_back(batch[i]->seq);
    }
    for (std::size_t g = 0; g < RoomBudget::kGroups; ++g) {
        // 10 s x 40/s, plus the first burst (20).
        EXPECT_GE(seqs[g].size(), 400u) << "group " << g;
        EXPECT_LE(seqs[g].size(), 422u) << "group " << g;
        // Even: after the burst, kept ones are ~25 seqs apart, never bunched or starved.
        for (std::size_t i = 22; i < seqs[g].size(); ++i) {
            const std::uint64_t gap = seqs[g][i] - seqs[g][i - 1];
            EXPECT_GE(gap, 20u) << "group " << g << " at " << seqs[g][i];
            EXPECT_LE(gap, 30u) << "group " << g << " at " << seqs[g][i];
        }
    }
    // Different phases: two groups share few of their sampled messages.
    std::set<std::uint64_t> a(seqs[0].begin() + 20, seqs[0].end());
    std::size_t shared = 0;
    for (std::size_t i = 20; i < seqs[1].size(); ++i) shared += a.count(seqs[1][i]);
    EXPECT_LT(shared, seqs[1].size() / 4);
}

// High and critical messages are never shed, even far over the budget; they leave no room for
// normal ones; room.online (seq 0) is outside the budget.
TEST(RoomBudgetDecision, HighAndCriticalAreNeverShed) {
    RoomBudget b(10);
    RoomBudget::Plan plan;
    std::uint64_t seq = 0, normal_kept = 0;
    for (std::uint64_t t = 0; t < 5000; t += 10) {
        std::vector<RoomPacketPtr> batch{msg(++seq, MsgClass::High), msg(++seq, MsgClass::Normal),
                                         msg(++seq, MsgClass::Critical), msg(0, MsgClass::Low)};
        b.decide(batch, t, plan);
        for (std::size_t g = 0; g < RoomBudget::kGroups; ++g) {
            EXPECT_TRUE(plan.keep[g][0] && plan.keep[g][2]) << "at " << t << " ms";
            EXPECT_TRUE(plan.keep[g][3]) << "unsequenced: outside the budget";
            EXPECT_EQ(plan.shed[g][0] + plan.shed[g][1], 0u);
        }
        normal_kept += plan.keep[0][1];
    }
    EXPECT_LE(normal_kept, 5u) << "200 high/critical a second leave no budget for normal ones";
}

// The senders of shed messages are listed, so the fan-out can still give them their own.
TEST(RoomBudgetDecision, ShedSendersAreListed) {
    RoomBudget b(2);  // burst 1
    RoomBudget::Plan plan;
    std::vector<RoomPacketPtr> batch;
    for (std::uint64_t i = 1; i <= 10; ++i) batch.push_back(msg(i, MsgClass::Normal, 100 + i));
    b.decide(batch, 0, plan);
    ASSERT_TRUE(plan.sheds);
    for (std::size_t g = 0; g < RoomBudget::kGroups; ++g) EXPECT_LE(kept(plan, g), 1u);
    for (std::uint64_t i = 1; i <= 10; ++i) {
        bool shed_somewhere = false;
        for (std::size_t g = 0; g < RoomBudget::kGroups; ++g)
            shed_somewhere |= !plan.keep[g][i - 1];
        EXPECT_EQ(plan.is_shed_sender(100 + i), shed_somewhere) << "sender " << 100 + i;
    }
}

// ---------------------------------------------------------------- through the fan-out

struct Room {
    explicit Room(std::uint32_t budget) {
        LoopOptions o;
        o.finest_timer = 50ms;
        o.room_coalesce = std::chrono::hours(1);  // batches flushed by hand
        o.room_coalesce_max = 1000;
        o.viewer_budget_per_s = budget;
        loop = std::make_unique<EventLoop>(0, o, handler);
        hub = std::make_unique<Hub>(std::vector<EventLoop*>{loop.get()});
        handler.on_close = [this](Session& s, CloseReason) { hub->leave_all_rooms(s); };
    }
    ~Room() {
        loop->stop();
        loop->join();
        loop->for_each_session([](Session& s) { s.close(CloseReason::Shutdown); });
        run_ready(*loop);
    }
    void publish(MsgClass cls, std::uint64_t sender = 0) {
        hub->publish_room(
            7,
            [](std::uint64_t seq) {
                auto p = std::make_shared<pb::Push>(push(seq, 8));
                p->set_room_id(7);
                p->set_room_seq(seq);
                return SharedPacket{Code::Push, 0, std::move(p)};
            },
            {}, false, {}, RoomMeta{cls, sender});
    }
    void flush() {
        run_ready(*loop);
        loop->fanout().flush_all();
        run_ready(*loop);
    }
    RecordingHandler handler;
    std::unique_ptr<EventLoop> loop;
    std::unique_ptr<Hub> hub;
};

std::vector<std::uint64_t> seqs_of(FakeSession& s) {
    s.drain();
    std::vector<std::uint64_t> out;
    for (const auto& f : decode(s).frames)
        if (f.code == static_cast<std::uint16_t>(Code::Push)) out.push_back(f.as_push().room_seq());
    return out;
}

// A flood of 200 audience messages, every 10th high, one batch: each viewer gets the 20 high
// ones and about the burst of the rest; the sender of the normal ones gets every one of its
// own, in seq order; the metrics count what was shed by class.
TEST(RoomBudgetFanout, AViewerGetsEveryHighOneAndTheSenderAllItsOwn) {
    Room room(4);  // burst 2
    std::vector<std::shared_ptr<FakeSession>> viewers;
    for (int i = 0; i < 16; ++i) {
        viewers.push_back(open_session(*room.loop));
        room.hub->join_room(*viewers.back(), 7);
    }
    const std::uint64_t sender = viewers[3]->user.id;
    std::vector<std::uint64_t> high, own;
    for (std::uint64_t i = 1; i <= 200; ++i) {
        if (i % 10 == 0) {
            room.publish(MsgClass::High);
            high.push_back(i);
        } else if (i % 10 == 5) {
            room.publish(MsgClass::Normal, sender);
            own.push_back(i);
        } else {
            room.publish(MsgClass::Normal, 1);
        }
    }
    room.flush();
    for (auto& v : viewers) {
        auto got = seqs_of(*v);
        EXPECT_TRUE(std::is_sorted(got.begin(), got.end())) << "session " << v->id();
        for (auto h : high)
            EXPECT_TRUE(std::binary_search(got.begin(), got.end(), h)) << "high " << h;
        if (v->user.id == sender) {
            for (auto o : own)
                EXPECT_TRUE(std::binary_search(got.begin(), got.end(), o)) << "own " << o;
        } else {
            EXPECT_LE(got.size(), high.size() + 2) << "session " << v->id();
        }
    }
    EXPECT_EQ(get(room.loop->stats().room_shed_by_class[1]), 0u) << "no high one shed";
    EXPECT_GT(get(room.loop->stats().room_shed_by_class[2]), 15u * 150u);
    EXPECT_EQ(get(room.loop->stats().room_delivered_by_class[1]), 16u * 20u);
}

// A batch shed whole for a viewer queues nothing to it: no empty buffer reaches its send queue
// (a zero-length write spun a loop at 100% CPU).
TEST(RoomBudgetFanout, ABatchShedWholeQueuesNothing) {
    Room room(2);  // burst 1
    auto v = open_session(*room.loop);
    room.hub->join_room(*v, 7);
    room.publish(MsgClass::Normal);
    room.flush();
    const auto writes = v->writes.size();
    for (int i = 0; i < 5; ++i) {
        room.publish(MsgClass::Normal);  // no token left: shed, batch by batch
        room.flush();
    }
    EXPECT_EQ(seqs_of(*v), std::vector<std::uint64_t>{1});
    EXPECT_EQ(v->writes.size(), writes) << "nothing was written for the shed batches";
    for (const auto& w : v->writes) EXPECT_GT(w.offered, 0u);
    EXPECT_EQ(v->queued_bytes(), 0u);
}

// With the budget off every member gets everything (and the fan-out's one-buffer path).
TEST(RoomBudgetFanout, OffMeansEverything) {
    Room room(0);
    auto v = open_session(*room.loop);
    room.hub->join_room(*v, 7);
    for (int i = 0; i < 100; ++i) room.publish(MsgClass::Low);
    auto count = std::make_shared<pb::Push>(push(0, 8));  // room.online: unsequenced
    count->set_room_id(7);
    room.hub->publish_unsequenced(7, SharedPacket{Code::Push, 0, std::move(count)});
    room.flush();
    EXPECT_EQ(seqs_of(*v).size(), 101u);
    EXPECT_EQ(get(room.loop->stats().room_shed_by_class[3]), 0u);
    EXPECT_EQ(get(room.loop->stats().room_delivered_by_class[3]), 100u);
    EXPECT_EQ(get(room.loop->stats().room_delivered_by_class[2]), 0u)
        << "room.online is outside the classes";
    EXPECT_EQ(get(room.loop->stats().room_deliveries), 101u);
}

}  // namespace
