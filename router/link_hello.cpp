// router/link_hello: see link_hello.hpp.
#include "router/link_hello.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <stdexcept>

#include "cluster.pb.h"

namespace lp::router {

namespace {

constexpr std::string_view kDomain = "livepush-link-v1";
constexpr std::string_view kDialer = "dialer";
constexpr std::string_view kAcceptor = "acceptor";

void append_field(std::string& out, std::string_view field) {
    const auto n = static_cast<std::uint32_t>(field.size());
    out += static_cast<char>(n >> 24);
    out += static_cast<char>(n >> 16);
    out += static_cast<char>(n >> 8);
    out += static_cast<char>(n);
    out.append(field);
}

bool proof_matches(std::string_view got, const std::string& want) {
    return got.size() == want.size() && CRYPTO_memcmp(got.data(), want.data(), want.size()) == 0;
}

bool valid_node_id(std::string_view id) {
    return !id.empty() && id.size() <= kLinkMaxNodeId;
}

template <class Message>
bool parse_as(const codec::FrameView& f, codec::Code code, Message& m) {
    return f.header.code == static_cast<std::uint16_t>(code) &&
           m.ParseFromArray(f.body.data(), static_cast<int>(f.body.size()));
}

}  // namespace

std::string_view to_string(LinkReject r) noexcept {
    switch (r) {
        case LinkReject::None:
            return "none";
        case LinkReject::BadFrame:
            return "bad_frame";
        case LinkReject::BadProof:
            return "bad_proof";
        case LinkReject::WrongPeer:
            return "wrong_peer";
        case LinkReject::Deadline:
            return "deadline";
        case LinkReject::OverCap:
            return "over_cap";
        case LinkReject::Tls:
            return "tls";
    }
    return "unknown";
}

std::string link_nonce() {
    std::string nonce(kLinkNonceSize, '\0');
    if (RAND_bytes(reinterpret_cast<unsigned char*>(nonce.data()),
                   static_cast<int>(nonce.size())) != 1)
        throw std::runtime_error("RAND_bytes failed: no randomness for a link nonce");
    return nonce;
}

std::string link_proof(std::string_view secret, std::string_view role,
                       std::string_view nonce_dialer, std::string_view nonce_acceptor,
                       std::string_view id_dialer, std::string_view id_acceptor) {
    std::string msg;
    msg.reserve(6 * 4 + kDomain.size() + role.size() + nonce_dialer.size() + nonce_acceptor.size() +
                id_dialer.size() + id_acceptor.size());
    append_field(msg, kDomain);
    append_field(msg, role);
    append_field(msg, nonce_dialer);
    append_field(msg, nonce_acceptor);
    append_field(msg, id_dialer);
    append_field(msg, id_acceptor);
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(msg.data()), msg.size(), mac, &len);
    return std::string(reinterpret_cast<const char*>(mac), len);
}

// ---------------------------------------------------------------- acceptor

LinkHelloAcceptor::LinkHelloAcceptor(std::string secret, std::string self_id, std::string nonce)
    : secret_(std::move(secret)), self_(std::move(self_id)), nonce_(std::move(nonce)) {}

std::string LinkHelloAcceptor::challenge_frame() const {
    livepush::cluster::LinkChallenge c;
    c.set_node_id(self_);
    c.set_nonce(nonce_);
    return codec::encode_frame(codec::Code::LinkChallenge, 0, 0, c.SerializeAsString());
}

LinkReject LinkHelloAcceptor::on_frame(const codec::FrameView& f) {
    livepush::cluster::LinkHello hello;
    if (!parse_as(f, codec::Code::LinkHello, hello) || !valid_node_id(hello.node_id()) ||
        hello.nonce().size() != kLinkNonceSize)
        return LinkReject::BadFrame;
    const std::string want =
        link_proof(secret_, kDialer, hello.nonce(), nonce_, hello.node_id(), self_);
    if (!proof_matches(hello.proof(), want)) return LinkReject::BadProof;
    peer_ = hello.node_id();
    livepush::cluster::LinkWelcome w;
    w.set_proof(link_proof(secret_, kAcceptor, hello.nonce(), nonce_, peer_, self_));
    welcome_ = codec::encode_frame(codec::Code::LinkWelcome, 0, 0, w.SerializeAsString());
    return LinkReject::None;
}

// ---------------------------------------------------------------- dialer

LinkHelloDialer::LinkHelloDialer(std::string secret, std::string self_id, std::string expected_peer,
                                 std::string nonce)
    : secret_(std::move(secret)),
      self_(std::move(self_id)),
      expected_(std::move(expected_peer)),
      nonce_(std::move(nonce)) {}

LinkReject LinkHelloDialer::on_challenge(const codec::FrameView& f) {
    livepush::cluster::LinkChallenge c;
    if (!parse_as(f, codec::Code::LinkChallenge, c) || c.nonce().size() != kLinkNonceSize)
        return LinkReject::BadFrame;
    // The address we dialled may now belong to another node (a restart on a reused port):
    // our frames are for `expected_` only.
    if (c.node_id() != expected_) return LinkReject::WrongPeer;
    peer_nonce_ = c.nonce();
    livepush::cluster::LinkHello hello;
    hello.set_node_id(self_);
    hello.set_nonce(nonce_);
    hello.set_proof(link_proof(secret_, kDialer, nonce_, peer_nonce_, self_, expected_));
    hello_ = codec::encode_frame(codec::Code::LinkHello, 0, 0, hello.SerializeAsString());
    return LinkReject::None;
}

LinkReject LinkHelloDialer::on_welcome(const codec::FrameView& f) {
    livepush::cluster::LinkWelcome w;
    if (hello_.empty() || !parse_as(f, codec::Code::LinkWelcome, w)) return LinkReject::BadFrame;
    const std::string want = link_proof(secret_, kAcceptor, nonce_, peer_nonce_, self_, expected_);
    return proof_matches(w.proof(), want) ? LinkReject::None : LinkReject::BadProof;
}

}  // namespace lp::router
