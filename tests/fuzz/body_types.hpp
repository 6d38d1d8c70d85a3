// tests/fuzz/body_types: the protobuf message type of each packet code (design.md section 3),
// and a check that whatever parses also survives our own re-encoding.
#pragma once

#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string_view>

#include "codec/envelope.hpp"
#include "codec/frame.hpp"
#include "livepush.pb.h"

namespace lp::fuzz {

inline std::unique_ptr<google::protobuf::Message> message_for(std::uint16_t code) {
    using codec::Code;
    switch (static_cast<Code>(code)) {
        case Code::Login:
            return std::make_unique<livepush::v1::LoginReq>();
        case Code::Logout:
            return std::make_unique<livepush::v1::LogoutReq>();
        case Code::Biz:
            return std::make_unique<livepush::v1::BizReq>();
        case Code::Heartbeat:
            return std::make_unique<livepush::v1::HeartbeatReq>();
        case Code::Ack:
            return std::make_unique<livepush::v1::Ack>();
        case Code::LoginResult:
        case Code::LogoutResult:
        case Code::BizResult:
        case Code::Pong:
            return std::make_unique<livepush::v1::Result>();
        case Code::Push:
            return std::make_unique<livepush::v1::Push>();
        case Code::Kick:
            return std::make_unique<livepush::v1::Kick>();
        case Code::Error:
            return std::make_unique<livepush::v1::Error>();
        default:
            break;  // node-link codes: no client message (see check_body)
    }
    return nullptr;
}

// Parses `body` as the message for `code` in the given mode; when that succeeds, the message must
// re-encode in both modes and parse back to the same content (the server relies on this when it
// answers a JSON client with what a binary client sent, and the other way round). Binary keeps
// unknown fields and JSON drops them, so each mode is compared with itself.
inline void check_body(std::uint16_t code, std::string_view body, bool json) {
    auto msg = message_for(code);
    // Known codes without a client message are the node-link codes (9xxx): their bodies are
    // internal (proto/cluster.proto) and a client session refuses them before any parse.
    if (!msg) {
        if (!codec::is_link_code(code)) std::abort();  // the decoders only hand out known codes
        return;
    }
    if (!codec::parse_body(body, json, *msg)) return;
    const std::string binary = codec::serialize_body(*msg, false);
    const std::string text = codec::serialize_body(*msg, true);
    auto again = message_for(code);
    if (!codec::parse_body(binary, false, *again)) std::abort();
    if (again->SerializeAsString() != binary) std::abort();
    if (!codec::parse_body(text, true, *again)) std::abort();
    if (codec::to_json(*again) != text) std::abort();
}

}  // namespace lp::fuzz
