// fuzz_link: what a stranger on the node-link port reaches (router/link_hello), fed at
// fuzzer-chosen split points: the acceptor's read path (LinkInboundGate: frame decoding with the
// pre-hello limit, hello parsing and proof check, then link frames), and the dialer's handling
// of a challenge and a welcome.
//
// Oracles: the gate's verdicts do not depend on how the bytes are split; a gate that accepts a
// hello accepted one whose proof is the real HMAC over our nonce (checked independently with
// link_proof); before the hello no frame reaches the handler; after it only link codes do, each
// no larger than max_body. The seeds include a valid hello for the fixed secret and nonce below
// (tests/fuzz/make_corpus.py), so the post-hello path is reachable.
#include <google/protobuf/stubs/logging.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "chunked_input.hpp"
#include "cluster.pb.h"
#include "router/link_hello.hpp"

namespace {

constexpr const char* kSecret = "fuzz-cluster-secret-0123456789abcdef";
constexpr const char* kSelf = "acceptor";
constexpr std::uint32_t kMaxBody = 4096;
const std::string kNonce(lp::router::kLinkNonceSize, 'N');

struct Outcome {
    lp::router::LinkReject reject = lp::router::LinkReject::None;
    bool proven = false;
    std::vector<std::pair<std::uint16_t, std::string>> frames;
};

bool operator==(const Outcome& a, const Outcome& b) {
    return a.reject == b.reject && a.proven == b.proven && a.frames == b.frames;
}

template <class Chunks>
Outcome run_gate(Chunks&& for_each) {
    Outcome out;
    lp::router::LinkInboundGate gate(kSecret, kSelf, kNonce, kMaxBody);
    for_each([&](const std::uint8_t* data, std::size_t n) {
        auto fed = gate.feed(data, n, [&](lp::codec::Code code, std::string_view body) {
            const auto c = static_cast<std::uint16_t>(code);
            if (!gate.proven() || !lp::codec::is_link_code(c) || lp::router::is_handshake_code(c) ||
                body.size() > kMaxBody)
                std::abort();
            out.frames.emplace_back(static_cast<std::uint16_t>(code), std::string(body));
            return true;
        });
        if (fed.proven_now) out.proven = true;
        out.reject = fed.reject;
        return fed.reject == lp::router::LinkReject::None;
    });
    if (gate.proven() != out.proven) std::abort();
    return out;
}

// The first frame of the stream as a hello: if the gate accepted, recompute the proof.
void check_acceptance(const std::uint8_t* stream, std::size_t size, const Outcome& o) {
    if (!o.proven) return;
    lp::codec::Header h;
    if (size < lp::codec::kHeaderSize ||
        lp::codec::parse_header(stream, lp::router::kLinkPreHelloMaxBody, h) !=
            lp::codec::DecodeError::None)
        std::abort();
    livepush::cluster::LinkHello hello;
    if (!hello.ParseFromArray(stream + lp::codec::kHeaderSize, static_cast<int>(h.body_len)))
        std::abort();
    if (hello.proof() !=
        lp::router::link_proof(kSecret, "dialer", hello.nonce(), kNonce, hello.node_id(), kSelf))
        std::abort();
}

// The same bytes as what a dialer reads: a challenge, then a welcome.
void run_dialer(const std::uint8_t* stream, std::size_t size) {
    lp::codec::StreamDecoder d(lp::router::kLinkPreHelloMaxBody);
    lp::router::LinkHelloDialer dialer(kSecret, "dialer", kSelf,
                                       std::string(lp::router::kLinkNonceSize, 'D'));
    int seen = 0;
    d.feed(stream, size, [&](const lp::codec::FrameView& f) {
        if (seen++ == 0) return dialer.on_challenge(f) == lp::router::LinkReject::None;
        dialer.on_welcome(f);
        return false;
    });
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const auto input = lp::fuzz::split_input(data, size);
    const Outcome chunked = run_gate([&](auto&& feed) { lp::fuzz::for_each_chunk(input, feed); });
    const Outcome whole = run_gate([&](auto&& feed) { feed(input.stream, input.size); });
    if (!(chunked == whole)) std::abort();
    check_acceptance(input.stream, input.size, whole);
    run_dialer(input.stream, input.size);
    return 0;
}
