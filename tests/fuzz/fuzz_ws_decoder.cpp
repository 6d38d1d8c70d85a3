// fuzz_ws_decoder: the WebSocket frame decoder in the server role (what every browser and
// attacker reaches), fed at fuzzer-chosen split points.
//
// Oracle: the messages (and the final error) must be the same whether the bytes arrive in the
// fuzzer's chunks or all at once. Complete messages then go where the server sends them, and
// what those decoders return is checked, not only that they return:
//  - binary ones through decode_one: a decoded frame's body lies inside the message right after
//    the header, its length is the header's body_len (within the limit), its code and flags are
//    known, and re-encoding it gives the message back byte for byte (but the reserved field, which
//    receivers ignore). Less than a header is always an error; an error leaves the output as it
//    was.
//  - text ones through decode_envelope: a decoded envelope has a known code and flags without
//    JSON_BODY, re-encodes to text that decodes to the same envelope, and its body is checked like
//    the stream fuzzer's (parses, re-encodes in both modes). An error leaves the output as it was.
#include <google/protobuf/stubs/logging.h>

#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "body_types.hpp"
#include "chunked_input.hpp"
#include "codec/envelope.hpp"
#include "codec/frame.hpp"
#include "codec/websocket.hpp"

namespace {

constexpr std::size_t kFuzzMaxMessage = 8192;  // small, so the limit is reachable

struct Seen {
    lp::codec::ws::Opcode opcode;
    std::string payload;
    bool operator==(const Seen&) const = default;
};

void check_binary(const std::string& payload) {
    using namespace lp::codec;
    const FrameView untouched{Header{0xEE, 0xEEEE, 0xEEEEEEEE, 0xEEEEEEEE}, "sentinel"};
    FrameView fv = untouched;
    const DecodeError e = decode_one(payload, kDefaultMaxBody, fv);
    if (e != DecodeError::None) {
        if (fv.header.flags != untouched.header.flags || fv.header.code != untouched.header.code ||
            fv.header.seq != untouched.header.seq ||
            fv.header.body_len != untouched.header.body_len ||
            fv.body.data() != untouched.body.data() || fv.body.size() != untouched.body.size()) {
            std::abort();  // an error must not leave a partial frame behind
        }
        return;
    }
    if (payload.size() < kHeaderSize) std::abort();
    if (fv.body.size() != fv.header.body_len || fv.header.body_len > kDefaultMaxBody) std::abort();
    if (payload.size() != kHeaderSize + fv.header.body_len) std::abort();
    if (fv.body.data() != payload.data() + kHeaderSize) std::abort();
    if (!is_known_code(fv.header.code) || (fv.header.flags & ~kKnownFlags) != 0) std::abort();
    const std::string again =
        encode_frame(static_cast<Code>(fv.header.code), fv.header.seq, fv.header.flags, fv.body);
    if (again.size() != payload.size()) std::abort();
    // Bytes 6..7 are the reserved field: ignored on receive, written as 0.
    if (std::memcmp(again.data(), payload.data(), 6) != 0 || again[6] != 0 || again[7] != 0 ||
        std::memcmp(again.data() + 8, payload.data() + 8, payload.size() - 8) != 0) {
        std::abort();
    }
    lp::fuzz::check_body(fv.header.code, fv.body, (fv.header.flags & kJsonBody) != 0);
}

void check_text(const std::string& payload) {
    using namespace lp::codec;
    const Envelope untouched{0xEEEE, 0xEEEEEEEE, "sentinel", 0xEE};
    Envelope env = untouched;
    if (decode_envelope(payload, env) != EnvelopeError::None) {
        if (env.code != untouched.code || env.seq != untouched.seq ||
            env.body_json != untouched.body_json || env.flags != untouched.flags) {
            std::abort();  // an error must not leave a partial envelope behind
        }
        return;
    }
    if (!is_known_code(env.code) || (env.flags & ~kKnownFlags) != 0 || (env.flags & kJsonBody)) {
        std::abort();
    }
    Envelope back;
    if (decode_envelope(encode_envelope(env.code, env.seq, env.body_json, env.flags), back) !=
        EnvelopeError::None) {
        std::abort();
    }
    if (back.code != env.code || back.seq != env.seq || back.body_json != env.body_json ||
        back.flags != env.flags) {
        std::abort();
    }
    lp::fuzz::check_body(env.code, env.body_json, true);
}

void check_message(const lp::codec::ws::Message& m) {
    using namespace lp::codec;
    if (m.opcode == ws::Opcode::Binary) {
        check_binary(std::string(m.payload));  // an exact-size copy: ASan sees any over-read
    } else if (m.opcode == ws::Opcode::Text) {
        if (!ws::is_valid_utf8(m.payload)) std::abort();
        check_text(std::string(m.payload));
    } else if (m.opcode == ws::Opcode::Close) {
        if (m.payload.size() == 1 || m.payload.size() > 125) std::abort();
    } else if (m.opcode == ws::Opcode::Ping || m.opcode == ws::Opcode::Pong) {
        if (m.payload.size() > 125) std::abort();  // control frames are short (RFC 6455 5.5)
    } else {
        std::abort();  // continuation frames are never handed out
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lp::codec::ws;
    const auto input = lp::fuzz::split_input(data, size);

    std::vector<Seen> chunked;
    FrameDecoder decoder(FrameDecoder::Role::Server, kFuzzMaxMessage);
    WsError chunked_error = WsError::None;
    lp::fuzz::for_each_chunk(input, [&](std::uint8_t* chunk, std::size_t n) {
        chunked_error = decoder.feed(chunk, n, [&](const Message& m) {
            if (m.payload.size() > kFuzzMaxMessage) std::abort();
            check_message(m);
            chunked.push_back({m.opcode, std::string(m.payload)});
            return true;
        });
        return chunked_error == WsError::None;
    });
    if (chunked_error != WsError::None && decoder.buffered() != 0) std::abort();

    std::vector<Seen> whole;
    std::vector<std::uint8_t> copy(input.stream, input.stream + input.size);
    FrameDecoder reference(FrameDecoder::Role::Server, kFuzzMaxMessage);
    const WsError whole_error = reference.feed(copy.data(), copy.size(), [&](const Message& m) {
        whole.push_back({m.opcode, std::string(m.payload)});
        return true;
    });
    if (whole_error != chunked_error || whole != chunked) std::abort();
    if (reference.buffered() != decoder.buffered()) std::abort();

    // The client role (load-test, node links) on the same bytes: no oracle, just no crash.
    std::vector<std::uint8_t> again(input.stream, input.stream + input.size);
    FrameDecoder client(FrameDecoder::Role::Client, kFuzzMaxMessage);
    client.feed(again.data(), again.size(),
                [](const Message& m) { return check_message(m), true; });
    return 0;
}
