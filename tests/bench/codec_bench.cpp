// codec_bench: the per-packet costs of codec/ on the paths every message takes: building a
// frame, cutting a TCP stream into frames, framing a WebSocket broadcast, reading a browser's
// text envelope.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <string>
#include <vector>

#include "codec/envelope.hpp"
#include "codec/frame.hpp"
#include "codec/stream_decoder.hpp"
#include "codec/websocket.hpp"
#include "livepush.pb.h"

namespace {

using namespace lp::codec;

void BM_EncodeFrame(benchmark::State& state) {
    const std::string body(static_cast<std::size_t>(state.range(0)), 'b');
    for (auto _ : state) {
        std::string frame = encode_frame(Code::Push, 42, kAckRequired, body);
        benchmark::DoNotOptimize(frame.data());
    }
    state.SetBytesProcessed(state.iterations() * (kHeaderSize + body.size()));
}
BENCHMARK(BM_EncodeFrame)->Arg(0)->Arg(64)->Arg(1024);

// Several frames into one reused buffer: the shape of a corked write.
void BM_AppendFrameIntoReusedBuffer(benchmark::State& state) {
    const std::string body(64, 'b');
    std::string out;
    for (auto _ : state) {
        out.clear();
        for (int i = 0; i < 16; ++i) append_frame(out, Code::Push, 0, 0, body);
        benchmark::DoNotOptimize(out.data());
    }
    state.SetItemsProcessed(state.iterations() * 16);
}
BENCHMARK(BM_AppendFrameIntoReusedBuffer);

std::string many_small_frames(int count, std::size_t body_size) {
    std::string stream;
    const std::string body(body_size, 'x');
    for (int i = 0; i < count; ++i) append_frame(stream, Code::Biz, i, 0, body);
    return stream;
}

// range(0): read size handed to feed() (0 = the whole stream at once).
void BM_StreamDecodeSmallFrames(benchmark::State& state) {
    const int kFrames = 1000;
    const std::string stream = many_small_frames(kFrames, 32);
    const auto* bytes = reinterpret_cast<const std::uint8_t*>(stream.data());
    const std::size_t read_size =
        state.range(0) ? static_cast<std::size_t>(state.range(0)) : stream.size();
    for (auto _ : state) {
        StreamDecoder decoder;
        std::size_t frames = 0;
        for (std::size_t pos = 0; pos < stream.size(); pos += read_size) {
            const std::size_t n = std::min(read_size, stream.size() - pos);
            decoder.feed(bytes + pos, n, [&](const FrameView& fv) {
                benchmark::DoNotOptimize(fv.body.data());
                ++frames;
                return true;
            });
        }
        if (frames != kFrames) state.SkipWithError("lost frames");
    }
    state.SetItemsProcessed(state.iterations() * kFrames);
    state.SetBytesProcessed(state.iterations() * stream.size());
}
BENCHMARK(BM_StreamDecodeSmallFrames)->Arg(0)->Arg(1460)->Arg(4096);

// One server frame per broadcast; every receiver then shares it.
void BM_WsServerFrameEncode(benchmark::State& state) {
    const std::string payload(static_cast<std::size_t>(state.range(0)), 'p');
    for (auto _ : state) {
        std::string frame = ws::encode_frame(ws::Opcode::Binary, payload);
        benchmark::DoNotOptimize(frame.data());
    }
    state.SetBytesProcessed(state.iterations() * payload.size());
}
BENCHMARK(BM_WsServerFrameEncode)->Arg(64)->Arg(1024)->Arg(70000);

// Client frames (masked) as the server reads them: unmasked in place, no copy.
void BM_WsServerDecodeMaskedFrames(benchmark::State& state) {
    const std::uint8_t key[4] = {1, 2, 3, 4};
    const std::string payload(static_cast<std::size_t>(state.range(0)), 'p');
    std::string stream;
    for (int i = 0; i < 100; ++i)
        stream += ws::encode_masked_frame(ws::Opcode::Binary, payload, key);
    auto* bytes = reinterpret_cast<std::uint8_t*>(stream.data());
    for (auto _ : state) {
        // Unmasking twice restores the bytes, and binary payloads are not checked, so the same
        // buffer can be decoded again on every iteration.
        ws::FrameDecoder decoder(ws::FrameDecoder::Role::Server, 1 << 20);
        int messages = 0;
        decoder.feed(bytes, stream.size(), [&](const ws::Message& m) {
            benchmark::DoNotOptimize(m.payload.data());
            return ++messages, true;
        });
        if (messages != 100) state.SkipWithError("lost messages");
    }
    state.SetItemsProcessed(state.iterations() * 100);
    state.SetBytesProcessed(state.iterations() * stream.size());
}
BENCHMARK(BM_WsServerDecodeMaskedFrames)->Arg(64)->Arg(1024);

void BM_EnvelopeDecode(benchmark::State& state) {
    const std::string text =
        R"({"code":1003,"seq":17,"body":{"type":"room.chat","data":"eyJyb29tX2lkIjo0MiwidGV4dCI6ImhpIn0="}})";
    Envelope env;
    for (auto _ : state) {
        if (decode_envelope(text, env) != EnvelopeError::None) state.SkipWithError("bad envelope");
        benchmark::DoNotOptimize(env.body_json.data());
    }
    state.SetBytesProcessed(state.iterations() * text.size());
}
BENCHMARK(BM_EnvelopeDecode);

void BM_EnvelopeEncode(benchmark::State& state) {
    const std::string body = R"({"code":0,"message":"","type":"room.enter","data":"e30="})";
    for (auto _ : state) {
        std::string text = encode_envelope(2003, 17, body);
        benchmark::DoNotOptimize(text.data());
    }
}
BENCHMARK(BM_EnvelopeEncode);

livepush::v1::Push sample_push() {
    livepush::v1::Push push;
    push.set_msg_id(123456789);
    push.set_type("room.chat");
    push.set_room_id(42);
    push.set_room_seq(1001);
    push.set_payload(R"({"user":7,"text":"hello everyone"})");
    push.set_sent_at_ms(1700000000000);
    return push;
}

// range(0): 0 = binary protobuf, 1 = protobuf JSON mapping.
void BM_ParseBodyPush(benchmark::State& state) {
    const bool json = state.range(0) != 0;
    const std::string body = serialize_body(sample_push(), json);
    livepush::v1::Push push;
    for (auto _ : state) {
        if (!parse_body(body, json, push)) state.SkipWithError("parse failed");
        benchmark::DoNotOptimize(push.room_seq());
    }
}
BENCHMARK(BM_ParseBodyPush)->Arg(0)->Arg(1);

void BM_SerializeBodyPush(benchmark::State& state) {
    const bool json = state.range(0) != 0;
    const auto push = sample_push();
    for (auto _ : state) {
        std::string body = serialize_body(push, json);
        benchmark::DoNotOptimize(body.data());
    }
}
BENCHMARK(BM_SerializeBodyPush)->Arg(0)->Arg(1);

}  // namespace
