// tests/bench/server_bench: micro-benchmarks of the server's per-session and per-message hot
// paths: a heartbeat's deadline update, the wheel sweeping a tick, encoding a broadcast once per
// wire form, and message ids.
#include <benchmark/benchmark.h>

#include <memory>
#include <vector>

#include "livepush.pb.h"
#include "server/msg_id.hpp"
#include "server/outbound.hpp"
#include "server/timing_wheel.hpp"

namespace {

using lp::server::TimingWheel;
using lp::server::WheelNode;

// A heartbeat moves a session's deadline later: no list work at all.
void BM_WheelTouch(benchmark::State& state) {
    TimingWheel wheel(1024);
    std::vector<WheelNode> nodes(static_cast<std::size_t>(state.range(0)));
    for (auto& n : nodes) wheel.set_due(n, 300);
    std::size_t i = 0;
    std::uint64_t due = 300;
    for (auto _ : state) {
        wheel.set_due(nodes[i], ++due);
        if (++i == nodes.size()) i = 0;
    }
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_WheelTouch)->Arg(10000)->Arg(100000);

// One tick with every node in the slot being re-filed (they were touched): the cost a wheel
// pays, lazily, for the heartbeats it skipped.
void BM_WheelAdvanceRefile(benchmark::State& state) {
    const auto n = static_cast<std::size_t>(state.range(0));
    for (auto _ : state) {
        state.PauseTiming();
        TimingWheel wheel(1024);
        std::vector<WheelNode> nodes(n);
        for (auto& node : nodes) wheel.set_due(node, 1);
        for (auto& node : nodes) node.due = 500;  // touched: due moved, node left in slot 1
        state.ResumeTiming();
        wheel.advance(1, [](WheelNode&) {});
        benchmark::DoNotOptimize(wheel.now());
    }
    state.SetItemsProcessed(state.iterations() * static_cast<std::int64_t>(n));
}
BENCHMARK(BM_WheelAdvanceRefile)->Arg(10000);

// A broadcast to a loop: encode each wire form once, then every receiver shares the buffer.
void BM_FrameFormsAllWires(benchmark::State& state) {
    auto push = std::make_shared<livepush::v1::Push>();
    push->set_msg_id(764876543032819712ull);
    push->set_type("gift.effect");
    push->set_room_id(1001);
    push->set_room_seq(42);
    push->set_payload(std::string(static_cast<std::size_t>(state.range(0)), 'x'));
    push->set_sent_at_ms(1795247589289ull);
    lp::server::SharedPacket packet{lp::codec::Code::Push, 0, push};
    for (auto _ : state) {
        lp::server::FrameForms forms(packet);
        for (int w = 0; w < lp::server::kWireCount; ++w)
            benchmark::DoNotOptimize(forms.get(static_cast<lp::server::Wire>(w)).get());
    }
}
BENCHMARK(BM_FrameFormsAllWires)->Arg(64)->Arg(1024);

// The binary forms only (what a room of app and binary-WebSocket clients needs).
void BM_FrameFormsBinary(benchmark::State& state) {
    auto push = std::make_shared<livepush::v1::Push>();
    push->set_msg_id(764876543032819712ull);
    push->set_type("gift.effect");
    push->set_payload(std::string(64, 'x'));
    lp::server::SharedPacket packet{lp::codec::Code::Push, 0, push};
    for (auto _ : state) {
        lp::server::FrameForms forms(packet);
        benchmark::DoNotOptimize(forms.get(lp::server::Wire::TcpBinary).get());
        benchmark::DoNotOptimize(forms.get(lp::server::Wire::WsBinary).get());
    }
}
BENCHMARK(BM_FrameFormsBinary);

void BM_MsgId(benchmark::State& state) {
    lp::server::MsgIdGenerator ids(7);
    for (auto _ : state) benchmark::DoNotOptimize(ids.next());
    state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_MsgId);

}  // namespace
