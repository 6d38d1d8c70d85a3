// link_bench: the cost of opening a node link (router/link_hello): one proof, and the whole
// handshake as both sides compute it (challenge, hello with its proof, verify, welcome with its
// proof, verify), without sockets. Paid once per link connection, not per frame.
#include <benchmark/benchmark.h>

#include <string>

#include "codec/frame.hpp"
#include "router/link_hello.hpp"

namespace {

constexpr const char* kSecret = "bench-cluster-secret-0123456789abcdef";

lp::codec::FrameView view(const std::string& bytes) {
    lp::codec::FrameView f;
    lp::codec::decode_one(bytes, lp::router::kLinkPreHelloMaxBody, f);
    return f;
}

void BM_LinkProof(benchmark::State& state) {
    const std::string na(32, 'a'), nb(32, 'b');
    for (auto _ : state) {
        std::string p = lp::router::link_proof(kSecret, "dialer", na, nb, "node-a", "node-b");
        benchmark::DoNotOptimize(p.data());
    }
}
BENCHMARK(BM_LinkProof);

void BM_LinkHandshake(benchmark::State& state) {
    for (auto _ : state) {
        lp::router::LinkHelloAcceptor b(kSecret, "node-b", lp::router::link_nonce());
        lp::router::LinkHelloDialer a(kSecret, "node-a", "node-b", lp::router::link_nonce());
        bool ok = a.on_challenge(view(b.challenge_frame())) == lp::router::LinkReject::None &&
                  b.on_frame(view(a.hello_frame())) == lp::router::LinkReject::None &&
                  a.on_welcome(view(b.welcome_frame())) == lp::router::LinkReject::None;
        if (!ok) state.SkipWithError("handshake failed");
        benchmark::DoNotOptimize(ok);
    }
}
BENCHMARK(BM_LinkHandshake);

// What a stranger's bad hello costs the acceptor: parse + one HMAC + compare.
void BM_LinkRejectForgedHello(benchmark::State& state) {
    lp::router::LinkHelloDialer stranger("not-the-cluster-secret-0123456789ab", "x", "node-b",
                                         lp::router::link_nonce());
    lp::router::LinkHelloAcceptor first(kSecret, "node-b", lp::router::link_nonce());
    stranger.on_challenge(view(first.challenge_frame()));
    const std::string hello = stranger.hello_frame();
    for (auto _ : state) {
        lp::router::LinkHelloAcceptor b(kSecret, "node-b", std::string(32, 'n'));
        auto r = b.on_frame(view(hello));
        benchmark::DoNotOptimize(r);
    }
}
BENCHMARK(BM_LinkRejectForgedHello);

}  // namespace
