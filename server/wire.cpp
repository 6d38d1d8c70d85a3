// server/wire: packet encoding for each wire form (see wire.hpp).
#include "server/wire.hpp"

#include "codec/envelope.hpp"
#include "codec/websocket.hpp"

namespace lp::server {

namespace {

void append_ws_header(std::string& out, codec::ws::Opcode op, std::uint64_t len) {
    std::uint8_t hdr[codec::ws::kMaxHeaderSize];
    std::size_t n = codec::ws::encode_header(op, len, hdr);
    out.append(reinterpret_cast<const char*>(hdr), n);
}

void append_lp_header(std::string& out, codec::Code code, std::uint32_t seq, std::uint8_t flags,
                      std::size_t body_len) {
    std::uint8_t hdr[codec::kHeaderSize];
    codec::encode_header(
        {flags, static_cast<std::uint16_t>(code), seq, static_cast<std::uint32_t>(body_len)}, hdr);
    out.append(reinterpret_cast<const char*>(hdr), sizeof hdr);
}

}  // namespace

void append_packet_bytes(std::string& out, Wire w, codec::Code code, std::uint32_t seq,
                         std::uint8_t flags, std::string_view body) {
    if (is_json(w)) flags |= codec::kJsonBody;
    switch (w) {
        case Wire::TcpBinary:
        case Wire::TcpJson:
            out.reserve(out.size() + codec::kHeaderSize + body.size());
            append_lp_header(out, code, seq, flags, body.size());
            out.append(body);
            return;
        case Wire::WsBinary:
        case Wire::WsJson:
            out.reserve(out.size() + codec::ws::kMaxHeaderSize + codec::kHeaderSize + body.size());
            append_ws_header(out, codec::ws::Opcode::Binary, codec::kHeaderSize + body.size());
            append_lp_header(out, code, seq, flags, body.size());
            out.append(body);
            return;
        case Wire::WsText: {
            std::string env =
                codec::encode_envelope(static_cast<std::uint16_t>(code), seq, body, flags);
            append_ws_header(out, codec::ws::Opcode::Text, env.size());
            out.append(env);
            return;
        }
        case Wire::kCount:
            break;
    }
}

void append_packet(std::string& out, Wire w, codec::Code code, std::uint32_t seq,
                   std::uint8_t flags, const google::protobuf::Message& body) {
    if (is_json(w)) {
        append_packet_bytes(out, w, code, seq, flags, codec::to_json(body));
        return;
    }
    // Binary: serialize straight into the output, no temporary.
    std::size_t len = body.ByteSizeLong();
    std::size_t at = out.size();
    if (w == Wire::WsBinary) {
        append_ws_header(out, codec::ws::Opcode::Binary, codec::kHeaderSize + len);
        at = out.size();
    }
    append_lp_header(out, code, seq, flags, len);
    at = out.size();
    out.resize(at + len);
    body.SerializeWithCachedSizesToArray(reinterpret_cast<std::uint8_t*>(out.data() + at));
}

}  // namespace lp::server
