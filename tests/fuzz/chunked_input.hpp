// tests/fuzz/chunked_input: the input format shared by the stream fuzzers, so that the fuzzer
// chooses where the network splits the bytes.
//
// Layout: byte 0 = K (low 4 bits: 0..15 cut points), then K big-endian 16-bit cut offsets, then
// the stream itself. Offsets are taken modulo (stream length + 1) and sorted. Every chunk is
// copied into a heap block of exactly its size, so AddressSanitizer catches a decoder that reads
// one byte past what it was given.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

namespace lp::fuzz {

struct ChunkedInput {
    const std::uint8_t* stream = nullptr;
    std::size_t size = 0;
    std::vector<std::size_t> cuts;  // ascending, each in [0, size]
};

inline ChunkedInput split_input(const std::uint8_t* data, std::size_t n) {
    ChunkedInput in;
    if (n == 0) return in;
    std::size_t k = data[0] & 0x0F;
    std::size_t header = 1 + 2 * k;
    if (header > n) {
        k = (n - 1) / 2;
        header = 1 + 2 * k;
    }
    in.stream = data + header;
    in.size = n - header;
    for (std::size_t i = 0; i < k; ++i) {
        std::size_t offset = (std::size_t{data[1 + 2 * i]} << 8) | data[2 + 2 * i];
        in.cuts.push_back(offset % (in.size + 1));
    }
    std::sort(in.cuts.begin(), in.cuts.end());
    return in;
}

// Calls feed(chunk, length) for each chunk; stops early when feed returns false.
template <class Feed>
void for_each_chunk(const ChunkedInput& in, Feed&& feed) {
    std::size_t begin = 0;
    auto emit = [&](std::size_t end) {
        const std::size_t len = end - begin;
        std::unique_ptr<std::uint8_t[]> chunk(new std::uint8_t[len ? len : 1]);
        std::copy(in.stream + begin, in.stream + end, chunk.get());
        begin = end;
        return feed(chunk.get(), len);
    };
    for (std::size_t cut : in.cuts) {
        if (!emit(cut)) return;
    }
    emit(in.size);
}

}  // namespace lp::fuzz
