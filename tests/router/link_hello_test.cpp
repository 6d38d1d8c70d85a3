// tests/router/link_hello_test: the node-link handshake as pure logic (no sockets): both sides
// agree with the right secret, and every way a stranger could stand in for a node is refused.
#include "router/link_hello.hpp"

#include <gtest/gtest.h>

#include "cluster.pb.h"
#include "codec/frame.hpp"

namespace {

using lp::codec::FrameView;
using lp::router::LinkHelloAcceptor;
using lp::router::LinkHelloDialer;
using lp::router::LinkReject;

constexpr const char* kSecret = "unit-test-cluster-secret-0123456789abcdef";

// The single frame in `bytes` (a test helper: the handshake frames are tiny and whole).
FrameView view(const std::string& bytes) {
    FrameView f;
    EXPECT_EQ(lp::codec::decode_one(bytes, lp::router::kLinkPreHelloMaxBody, f),
              lp::codec::DecodeError::None);
    return f;
}

TEST(LinkHello, DialerAndAcceptorWithTheSameSecretProveEachOther) {
    LinkHelloAcceptor b(kSecret, "nB", lp::router::link_nonce());
    LinkHelloDialer a(kSecret, "nA", "nB", lp::router::link_nonce());
    const std::string challenge = b.challenge_frame();
    ASSERT_EQ(a.on_challenge(view(challenge)), LinkReject::None);
    const std::string hello = a.hello_frame();
    ASSERT_EQ(b.on_frame(view(hello)), LinkReject::None);
    EXPECT_EQ(b.peer(), "nA");
    const std::string welcome = b.welcome_frame();
    EXPECT_EQ(a.on_welcome(view(welcome)), LinkReject::None);
}

TEST(LinkHello, AnotherSecretFailsBothWays) {
    LinkHelloAcceptor b(kSecret, "nB", lp::router::link_nonce());
    LinkHelloDialer stranger("another-secret-of-at-least-32-bytes!!", "nA", "nB",
                             lp::router::link_nonce());
    ASSERT_EQ(stranger.on_challenge(view(b.challenge_frame())), LinkReject::None);
    EXPECT_EQ(b.on_frame(view(stranger.hello_frame())), LinkReject::BadProof);

    // A fake acceptor without the secret cannot welcome a real dialer either.
    LinkHelloAcceptor fake("another-secret-of-at-least-32-bytes!!", "nB", lp::router::link_nonce());
    LinkHelloDialer a(kSecret, "nA", "nB", lp::router::link_nonce());
    ASSERT_EQ(a.on_challenge(view(fake.challenge_frame())), LinkReject::None);
    ASSERT_EQ(fake.on_frame(view(a.hello_frame())), LinkReject::BadProof);
    livepush::cluster::LinkWelcome w;
    w.set_proof(lp::router::link_proof("another-secret-of-at-least-32-bytes!!", "acceptor", "x",
                                       "y", "nA", "nB"));
    EXPECT_EQ(a.on_welcome(view(lp::codec::encode_frame(lp::codec::Code::LinkWelcome, 0, 0,
                                                        w.SerializeAsString()))),
              LinkReject::BadProof);
}

TEST(LinkHello, AHelloRecordedOnOneConnectionDoesNotOpenAnother) {
    LinkHelloAcceptor first(kSecret, "nB", lp::router::link_nonce());
    LinkHelloDialer a(kSecret, "nA", "nB", lp::router::link_nonce());
    ASSERT_EQ(a.on_challenge(view(first.challenge_frame())), LinkReject::None);
    const std::string recorded = a.hello_frame();
    ASSERT_EQ(first.on_frame(view(recorded)), LinkReject::None);

    LinkHelloAcceptor second(kSecret, "nB", lp::router::link_nonce());  // fresh nonce
    EXPECT_EQ(second.on_frame(view(recorded)), LinkReject::BadProof);
}

TEST(LinkHello, TheDialerRefusesAChallengeFromAnotherNode) {
    LinkHelloAcceptor other(kSecret, "nC", lp::router::link_nonce());
    LinkHelloDialer a(kSecret, "nA", "nB", lp::router::link_nonce());
    EXPECT_EQ(a.on_challenge(view(other.challenge_frame())), LinkReject::WrongPeer);
    EXPECT_TRUE(a.hello_frame().empty());
}

TEST(LinkHello, TheAcceptorsOwnWelcomeCannotStandInForAHello) {
    // A proof is bound to its direction: reflecting the acceptor's proof back fails.
    LinkHelloAcceptor b(kSecret, "nB", lp::router::link_nonce());
    LinkHelloDialer a(kSecret, "nA", "nB", lp::router::link_nonce());
    ASSERT_EQ(a.on_challenge(view(b.challenge_frame())), LinkReject::None);
    ASSERT_EQ(b.on_frame(view(a.hello_frame())), LinkReject::None);
    livepush::cluster::LinkWelcome w;
    ASSERT_TRUE(w.ParseFromString(std::string(view(b.welcome_frame()).body)));
    livepush::cluster::LinkHello h;
    ASSERT_TRUE(h.ParseFromString(std::string(view(a.hello_frame()).body)));
    h.set_proof(w.proof());
    LinkHelloAcceptor b2(kSecret, "nB", lp::router::link_nonce());
    EXPECT_EQ(b2.on_frame(view(lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0,
                                                       h.SerializeAsString()))),
              LinkReject::BadProof);
}

TEST(LinkHello, MalformedFirstFramesAreBadFrames) {
    LinkHelloAcceptor b(kSecret, "nB", lp::router::link_nonce());
    EXPECT_EQ(b.on_frame(view(lp::codec::encode_frame(lp::codec::Code::LinkUsers, 0, 0, ""))),
              LinkReject::BadFrame);
    EXPECT_EQ(
        b.on_frame(view(lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0, "\xff\xff"))),
        LinkReject::BadFrame);
    livepush::cluster::LinkHello h;
    h.set_node_id("nA");
    h.set_nonce("short");
    EXPECT_EQ(b.on_frame(view(lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0,
                                                      h.SerializeAsString()))),
              LinkReject::BadFrame);
    h.set_nonce(std::string(32, 'n'));
    h.set_node_id("");
    EXPECT_EQ(b.on_frame(view(lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0,
                                                      h.SerializeAsString()))),
              LinkReject::BadFrame);
    EXPECT_TRUE(b.peer().empty());
}

TEST(LinkHello, ProofFieldsAreLengthPrefixedSoBoundariesCannotShift) {
    // ("ab","c") and ("a","bc") concatenate alike; their proofs must not.
    EXPECT_NE(lp::router::link_proof(kSecret, "dialer", "n1", "n2", "ab", "c"),
              lp::router::link_proof(kSecret, "dialer", "n1", "n2", "a", "bc"));
    EXPECT_EQ(lp::router::link_proof(kSecret, "dialer", "n1", "n2", "ab", "c").size(), 32u);
}

// A hello for `gate`'s challenge from a dialer with the right secret.
std::string good_hello_for(const lp::router::LinkInboundGate& gate) {
    LinkHelloDialer a(kSecret, "nA", "nB", lp::router::link_nonce());
    EXPECT_EQ(a.on_challenge(view(gate.challenge_frame())), LinkReject::None);
    return a.hello_frame();
}

lp::router::LinkInboundGate::Fed feed(lp::router::LinkInboundGate& gate, const std::string& bytes,
                                      int* frames = nullptr) {
    return gate.feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size(),
                     [&](lp::codec::Code, std::string_view) {
                         if (frames) ++*frames;
                         return true;
                     });
}

TEST(LinkInboundGate, BeforeTheHelloAFrameOverOneKibIsRefusedOnItsHeader) {
    lp::router::LinkInboundGate gate(kSecret, "nB", lp::router::link_nonce(), 1 << 20);
    const std::string big =
        lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0, std::string(2048, 'x'));
    EXPECT_EQ(feed(gate, big.substr(0, lp::codec::kHeaderSize)).reject, LinkReject::BadFrame);
}

TEST(LinkInboundGate, AfterTheHelloLinkFramesUpToMaxBodyPassAndHandshakeCodesDoNot) {
    lp::router::LinkInboundGate gate(kSecret, "nB", lp::router::link_nonce(), 1 << 20);
    int frames = 0;
    const std::string users =
        lp::codec::encode_frame(lp::codec::Code::LinkUsers, 0, 0, std::string(4096, 'u'));
    auto fed =
        feed(gate, good_hello_for(gate) + users, &frames);  // one read: hello and a 4 KiB frame
    EXPECT_EQ(fed.reject, LinkReject::None);
    EXPECT_TRUE(fed.proven_now);
    EXPECT_EQ(gate.peer(), "nA");
    EXPECT_EQ(frames, 1);
    EXPECT_EQ(feed(gate, lp::codec::encode_frame(lp::codec::Code::LinkHello, 0, 0, "")).reject,
              LinkReject::BadFrame);

    lp::router::LinkInboundGate other(kSecret, "nB", lp::router::link_nonce(), 1 << 20);
    feed(other, good_hello_for(other));
    EXPECT_EQ(feed(other, lp::codec::encode_frame(lp::codec::Code::Login, 1, 0, "")).reject,
              LinkReject::BadFrame)
        << "a client code on a link";
}

TEST(LinkInboundGate, NoFrameReachesTheHandlerBeforeAGoodHello) {
    lp::router::LinkInboundGate gate(kSecret, "nB", lp::router::link_nonce(), 1 << 20);
    int frames = 0;
    auto fed = feed(gate, lp::codec::encode_frame(lp::codec::Code::LinkUsers, 0, 0, "x"), &frames);
    EXPECT_EQ(fed.reject, LinkReject::BadFrame);
    EXPECT_EQ(frames, 0);
    EXPECT_FALSE(gate.proven());
}

TEST(LinkHello, TheProofIsTheDocumentedHmac) {
    // Known answer, also computed by tests/fuzz/make_corpus.py (link_proof): pins the wire
    // construction, and the fuzzer's valid-hello seed with it.
    const std::string p =
        lp::router::link_proof("fuzz-cluster-secret-0123456789abcdef", "dialer",
                               std::string(32, 'n'), std::string(32, 'N'), "dialer", "acceptor");
    static const char* digits = "0123456789abcdef";
    std::string hex;
    for (unsigned char c : p) {
        hex += digits[c >> 4];
        hex += digits[c & 15];
    }
    EXPECT_EQ(hex, "4542b4e4011c385a70f9478aec9ab8ced25b5748c66dfa6dece3668b6ca1bf55");
}

}  // namespace
