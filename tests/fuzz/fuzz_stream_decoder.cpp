// fuzz_stream_decoder: the TCP frame decoder, fed at fuzzer-chosen split points.
//
// Oracle: the frames (and the final error) must be the same whether the stream arrives in the
// fuzzer's chunks or all at once; every frame's body is then parsed as the message for its code
// in both the binary and the JSON mode.
#include <google/protobuf/stubs/logging.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "body_types.hpp"
#include "chunked_input.hpp"
#include "codec/stream_decoder.hpp"

namespace {

constexpr std::uint32_t kFuzzMaxBody = 4096;  // small, so the length limit is reachable

struct Seen {
    lp::codec::Header header;
    std::string body;
};

bool same(const std::vector<Seen>& a, const std::vector<Seen>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i) {
        const auto& x = a[i].header;
        const auto& y = b[i].header;
        if (x.code != y.code || x.flags != y.flags || x.seq != y.seq || x.body_len != y.body_len ||
            a[i].body != b[i].body) {
            return false;
        }
    }
    return true;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
    // Protobuf logs every string field that is not UTF-8; that is expected here.
    google::protobuf::SetLogHandler(nullptr);
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace lp::codec;
    const auto input = lp::fuzz::split_input(data, size);

    std::vector<Seen> chunked;
    StreamDecoder decoder(kFuzzMaxBody);
    DecodeError chunked_error = DecodeError::None;
    lp::fuzz::for_each_chunk(input, [&](const std::uint8_t* chunk, std::size_t n) {
        chunked_error = decoder.feed(chunk, n, [&](const FrameView& fv) {
            if (fv.body.size() != fv.header.body_len || fv.body.size() > kFuzzMaxBody) std::abort();
            if (!is_known_code(fv.header.code) || (fv.header.flags & ~kKnownFlags)) std::abort();
            chunked.push_back({fv.header, std::string(fv.body)});
            return true;
        });
        return chunked_error == DecodeError::None;
    });
    if (chunked_error != DecodeError::None && decoder.buffered() != 0) std::abort();

    std::vector<Seen> whole;
    StreamDecoder reference(kFuzzMaxBody);
    const DecodeError whole_error =
        reference.feed(input.stream, input.size, [&](const FrameView& fv) {
            whole.push_back({fv.header, std::string(fv.body)});
            return true;
        });
    if (whole_error != chunked_error || !same(chunked, whole)) std::abort();
    if (reference.buffered() != decoder.buffered()) std::abort();

    for (const Seen& frame : chunked) {
        lp::fuzz::check_body(frame.header.code, frame.body, false);
        lp::fuzz::check_body(frame.header.code, frame.body, true);
    }
    return 0;
}
