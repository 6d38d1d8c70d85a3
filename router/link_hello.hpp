// router/link_hello: the mutual challenge-response that opens a node link, as pure logic.
//
// The acceptor (B) speaks first: LinkChallenge{id_B, nonce_B}. The dialer (A), which knows
// which node it meant to reach, checks id_B and answers LinkHello{id_A, nonce_A, proof_A}; B
// checks proof_A and answers LinkWelcome{proof_B}; A checks proof_B and only then sends its
// queued frames. Each proof is
//     HMAC-SHA256(cluster.secret, lp("livepush-link-v1") lp(role) lp(nonce_A) lp(nonce_B)
//                                 lp(id_A) lp(id_B))      lp(x) = 4-byte big-endian length, x
// with role "dialer" or "acceptor", so a proof is bound to one connection (both fresh nonces)
// and one direction, and no other thing signed with any of our keys (a JWT, an API key) has the
// shape of one. Proofs are compared in constant time.
//
// This file owns the message checks and the proof; it never touches sockets, timers or
// counters (router/node_links does), so the fuzzer and the unit tests drive it directly.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "codec/frame.hpp"
#include "codec/stream_decoder.hpp"

namespace lp::router {

inline constexpr std::size_t kLinkNonceSize = 32;
inline constexpr std::size_t kLinkMaxNodeId = 255;
// Largest frame body a link peer may send before its hello is verified (challenge, hello and
// welcome are all far smaller): an unauthenticated peer cannot make us buffer more.
inline constexpr std::uint32_t kLinkPreHelloMaxBody = 1024;

// Why a link handshake failed; names are the `reason` label of livepush_link_rejected_total.
enum class LinkReject : std::uint8_t {
    None = 0,
    BadFrame,   // undecodable bytes, a frame other than the one expected, or a malformed body
    BadProof,   // a well-formed hello or welcome whose proof does not verify
    WrongPeer,  // the challenge names another node than the one dialled
    Deadline,   // no complete handshake within cluster.link_hello_timeout_ms
    OverCap,    // over cluster.link_max_connections inbound links
    Tls,        // TLS handshake failed (no certificate, or one not from cluster.link_tls_ca)
};
std::string_view to_string(LinkReject r) noexcept;

// Challenge, hello and welcome: each has its one place in the handshake and none after it.
inline bool is_handshake_code(std::uint16_t code) noexcept {
    return code == static_cast<std::uint16_t>(codec::Code::LinkHello) ||
           code == static_cast<std::uint16_t>(codec::Code::LinkChallenge) ||
           code == static_cast<std::uint16_t>(codec::Code::LinkWelcome);
}

std::string link_nonce();  // kLinkNonceSize bytes from RAND_bytes
// The raw 32-byte proof; role is "dialer" or "acceptor".
std::string link_proof(std::string_view secret, std::string_view role,
                       std::string_view nonce_dialer, std::string_view nonce_acceptor,
                       std::string_view id_dialer, std::string_view id_acceptor);

// The acceptor's side of one connection.
class LinkHelloAcceptor {
public:
    LinkHelloAcceptor(std::string secret, std::string self_id, std::string nonce);
    std::string challenge_frame() const;  // sent on accept
    // Checks the first frame the peer sent. On success the peer's node id is peer() and
    // welcome_frame() is what to send back.
    LinkReject on_frame(const codec::FrameView& f);
    const std::string& peer() const noexcept { return peer_; }
    const std::string& welcome_frame() const noexcept { return welcome_; }

private:
    std::string secret_, self_, nonce_, peer_, welcome_;
};

// The dialer's side of one connection to the node `expected_peer`.
class LinkHelloDialer {
public:
    LinkHelloDialer(std::string secret, std::string self_id, std::string expected_peer,
                    std::string nonce);
    // The challenge: on success hello_frame() is what to send back.
    LinkReject on_challenge(const codec::FrameView& f);
    // The welcome (after the hello went out): success means the link is proven both ways.
    LinkReject on_welcome(const codec::FrameView& f);
    const std::string& hello_frame() const noexcept { return hello_; }

private:
    std::string secret_, self_, expected_, nonce_, peer_nonce_, hello_;
};

// The acceptor's whole read path, without the socket: bytes in, verdicts and frames out.
// Before the hello is verified frames may be at most kLinkPreHelloMaxBody and the first must be
// a good hello; after it, up to max_body and link codes other than the handshake's only.
// router/node_links feeds it what it reads; the fuzzer feeds it anything.
class LinkInboundGate {
public:
    LinkInboundGate(std::string secret, std::string self_id, std::string nonce,
                    std::uint32_t max_body)
        : hello_(std::move(secret), std::move(self_id), std::move(nonce)), max_body_(max_body) {}

    struct Fed {
        LinkReject reject = LinkReject::None;  // set: close the connection
        bool proven_now = false;  // the hello verified in these bytes: send welcome_frame()
    };
    // on_frame(code, body) for each frame after the hello; returning false stops (the caller
    // then closes the connection, as after a reject).
    template <class OnFrame>
    Fed feed(const std::uint8_t* data, std::size_t n, OnFrame&& on_frame);

    std::string challenge_frame() const { return hello_.challenge_frame(); }
    bool proven() const noexcept { return !hello_.peer().empty(); }
    const std::string& peer() const noexcept { return hello_.peer(); }
    const std::string& welcome_frame() const noexcept { return hello_.welcome_frame(); }

private:
    LinkHelloAcceptor hello_;
    codec::StreamDecoder decoder_{kLinkPreHelloMaxBody};
    std::uint32_t max_body_;
};

template <class OnFrame>
LinkInboundGate::Fed LinkInboundGate::feed(const std::uint8_t* data, std::size_t n,
                                           OnFrame&& on_frame) {
    Fed fed;
    auto err = decoder_.feed(data, n, [&](const codec::FrameView& f) {
        if (!proven()) {
            fed.reject = hello_.on_frame(f);
            if (fed.reject != LinkReject::None) return false;
            fed.proven_now = true;
            decoder_.set_max_body(max_body_);
            return true;
        }
        if (!codec::is_link_code(f.header.code) || is_handshake_code(f.header.code)) {
            fed.reject = LinkReject::BadFrame;
            return false;
        }
        return on_frame(static_cast<codec::Code>(f.header.code), f.body);
    });
    if (fed.reject == LinkReject::None && err != codec::DecodeError::None)
        fed.reject = LinkReject::BadFrame;
    return fed;
}

}  // namespace lp::router
