// tests/bench/room_bench: what the viewer budget (server/room_budget.hpp) adds to a room's
// fan-out. One loop, a room of N members on scripted transports (tests/server/
// fake_transport.hpp: a write appends to a string), batches of 8 normal messages published
// through the hub and flushed by hand. Three settings: the budget off (0), on and never reached
// (100000/s: the decision runs on every batch and sheds nothing), and on and shedding (40/s:
// each group's subset is encoded once). The first two should cost the same.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "fake_transport.hpp"
#include "server/hub.hpp"
#include "server/room_budget.hpp"
#include "server/room_fanout.hpp"

namespace {

using namespace lp::server;
using namespace lp::server::testing;
using lp::codec::Code;

void BM_RoomFanoutBatch(benchmark::State& state) {
    const auto members = static_cast<std::size_t>(state.range(0));
    LoopOptions o;
    o.finest_timer = std::chrono::milliseconds(50);
    o.room_coalesce = std::chrono::hours(1);
    o.room_coalesce_max = 1000;
    o.viewer_budget_per_s = static_cast<std::uint32_t>(state.range(1));
    RecordingHandler handler;
    EventLoop loop(0, o, handler);
    Hub hub({&loop});
    std::vector<std::shared_ptr<FakeSession>> sessions;
    for (std::size_t i = 0; i < members; ++i) {
        sessions.push_back(open_session(loop));
        hub.join_room(*sessions.back(), 7);
    }
    auto build = [](std::uint64_t seq) {
        auto p = std::make_shared<pb::Push>(push(seq, 64));
        p->set_room_id(7);
        p->set_room_seq(seq);
        return SharedPacket{Code::Push, 0, std::move(p)};
    };
    for (auto _ : state) {
        for (int i = 0; i < 8; ++i)
            hub.publish_room(7, build, {}, false, {}, {MsgClass::Normal, 1});
        run_ready(loop);
        loop.fanout().flush_all();
        run_ready(loop);
        state.PauseTiming();
        for (auto& s : sessions) s->sent.clear();
        state.ResumeTiming();
    }
    state.SetItemsProcessed(state.iterations() * 8 * static_cast<std::int64_t>(members));
    loop.stop();
    loop.join();
    loop.for_each_session([](Session& s) { s.close(CloseReason::Shutdown); });
    run_ready(loop);
}
BENCHMARK(BM_RoomFanoutBatch)
    ->ArgNames({"members", "budget"})
    ->Args({1000, 0})
    ->Args({1000, 100000})
    ->Args({1000, 40});

// The decision alone, per batch of 8 normal messages, under budget (nothing shed).
void BM_BudgetDecide(benchmark::State& state) {
    RoomBudget budget(100000);
    RoomBudget::Plan plan;
    std::vector<RoomPacketPtr> batch;
    for (std::uint64_t i = 1; i <= 8; ++i) {
        auto p = std::make_shared<RoomPacket>();
        p->seq = i;
        batch.push_back(std::move(p));
    }
    std::uint64_t now = 0;
    for (auto _ : state) {
        budget.decide(batch, now += 10, plan);
        benchmark::DoNotOptimize(plan.sheds);
    }
}
BENCHMARK(BM_BudgetDecide);

}  // namespace
