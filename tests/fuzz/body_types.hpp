// tests/fuzz/body_types: the protobuf message type of each packet code (design.md section 3),
// and a check that whatever parses also survives our own re-encoding.
#pragma once

#include <boost/json.hpp>
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

// Text envelope v1.1: BizReq.data, Result.data and Push.payload (UTF-8 JSON) are spliced into
// the JSON verbatim and read back compact, so their bytes may differ after a JSON trip; they
// must then still be JSON. Every other field, and bytes sent as base64, come back exactly.
inline void same_except_json_value(const google::protobuf::Message& a,
                                   const google::protobuf::Message& b) {
    const google::protobuf::FieldDescriptor* f = nullptr;
    for (const char* name : {"data", "payload"}) {
        const auto* cand = a.GetDescriptor()->FindFieldByName(name);
        if (cand && cand->type() == google::protobuf::FieldDescriptor::TYPE_BYTES) f = cand;
    }
    if (!f) {
        if (a.SerializeAsString() != b.SerializeAsString()) std::abort();
        return;
    }
    std::unique_ptr<google::protobuf::Message> a_rest(a.New()), b_rest(b.New());
    a_rest->CopyFrom(a);
    b_rest->CopyFrom(b);
    a_rest->GetReflection()->ClearField(a_rest.get(), f);
    b_rest->GetReflection()->ClearField(b_rest.get(), f);
    if (a_rest->SerializeAsString() != b_rest->SerializeAsString()) std::abort();
    const std::string a_bytes = a.GetReflection()->GetString(a, f);
    const std::string b_bytes = b.GetReflection()->GetString(b, f);
    if (a_bytes == b_bytes) return;
    boost::system::error_code ec_a, ec_b;
    boost::json::parse(a_bytes, ec_a);
    boost::json::parse(b_bytes, ec_b);
    if (ec_a || ec_b) std::abort();  // only a JSON value may come back reformatted
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
    // JSON drops unknown fields (a binary body may carry them): compare what JSON can carry.
    msg->DiscardUnknownFields();
    same_except_json_value(*msg, *again);
    // Once read back compact, the JSON text is stable: printing and reading it again changes
    // nothing but what Boost.JSON's inexact doubles may (compared as JSON, not as text).
    const std::string text2 = codec::to_json(*again);
    auto third = message_for(code);
    if (!codec::parse_body(text2, true, *third)) std::abort();
    same_except_json_value(*again, *third);
}

}  // namespace lp::fuzz
