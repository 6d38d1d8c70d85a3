// server/outbound: one packet for many receivers.
//
// A broadcast builds its message once (SharedPacket). Each event loop that has receivers makes a
// FrameForms on its own stack and asks it for the bytes of each receiver's wire form: each form
// is encoded at most once per loop and the same immutable buffer is queued to every receiver.
// No per-receiver encoding, no per-receiver allocation, no cross-loop sharing of mutable state.
#pragma once

#include <google/protobuf/message.h>

#include <array>
#include <memory>
#include <string>

#include "codec/frame.hpp"
#include "server/wire.hpp"

namespace lp::server {

using Bytes = std::shared_ptr<const std::string>;

struct SharedPacket {
    codec::Code code = codec::Code::Push;
    std::uint8_t flags = 0;
    std::shared_ptr<const google::protobuf::Message> body;
};

class FrameForms {
public:
    explicit FrameForms(const SharedPacket& packet) : packet_(packet) {}
    // The packet in wire form w; encoded on first use.
    const Bytes& get(Wire w);

private:
    const SharedPacket& packet_;
    std::array<Bytes, kWireCount> forms_{};
    std::string binary_body_;
    std::string json_body_;
    bool have_binary_ = false;
    bool have_json_ = false;
};

}  // namespace lp::server
