// fuzz_ws_decoder: the WebSocket frame decoder in the server role (what every browser and
// attacker reaches), fed at fuzzer-chosen split points.
//
// Oracle: the messages (and the final error) must be the same whether the bytes arrive in the
// fuzzer's chunks or all at once. Complete messages then go where the server sends them: binary
// ones through decode_one, text ones through decode_envelope.
#include <cstdlib>
#include <string>
#include <vector>

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

void check_message(const lp::codec::ws::Message& m) {
    using namespace lp::codec;
    if (m.opcode == ws::Opcode::Binary) {
        FrameView fv;
        decode_one(m.payload, kDefaultMaxBody, fv);
    } else if (m.opcode == ws::Opcode::Text) {
        if (!ws::is_valid_utf8(m.payload)) std::abort();
        Envelope env;
        decode_envelope(m.payload, env);
    } else if (m.opcode == ws::Opcode::Close) {
        if (m.payload.size() == 1 || m.payload.size() > 125) std::abort();
    } else if (m.opcode != ws::Opcode::Ping && m.opcode != ws::Opcode::Pong) {
        std::abort();  // continuation frames are never handed out
    }
}

}  // namespace

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
