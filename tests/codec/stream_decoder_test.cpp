// Tests for codec/stream_decoder: frames out of a TCP byte stream split at any position,
// stopping, early refusal of garbage, and the promise that an idle decoder holds no memory.
#include "codec/stream_decoder.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lp::codec {
namespace {

struct Decoded {
    std::uint16_t code;
    std::uint8_t flags;
    std::uint32_t seq;
    std::string body;
    bool operator==(const Decoded&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Decoded& d) {
    return os << "{code=" << d.code << " flags=" << int(d.flags) << " seq=" << d.seq
              << " body=" << d.body.size() << "B}";
}

const std::uint8_t* bytes_of(std::string_view s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

// Five frames of different shapes: empty bodies, a binary body, one larger than a typical read.
std::string sample_stream() {
    std::string stream;
    append_frame(stream, Code::Login, 1, kJsonBody, "{\"token\":\"abc\"}");
    append_frame(stream, Code::Heartbeat, 2, 0, "");
    append_frame(stream, Code::Biz, 3, 0, std::string("\x00\x01\xFF\x10", 4));
    append_frame(stream, Code::Push, 0, kAckRequired, std::string(1500, 'p'));
    append_frame(stream, Code::Ack, 4, 0, "");
    return stream;
}

std::vector<Decoded> expected_frames() {
    return {
        {1001, kJsonBody, 1, "{\"token\":\"abc\"}"},
        {1004, 0, 2, ""},
        {1003, 0, 3, std::string("\x00\x01\xFF\x10", 4)},
        {3001, kAckRequired, 0, std::string(1500, 'p')},
        {1005, 0, 4, ""},
    };
}

// Feeds `stream` cut at the given positions (ascending) and checks that after every complete
// frame nothing stays buffered.
std::vector<Decoded> decode_in_chunks(std::string_view stream, const std::vector<std::size_t>& cuts,
                                      DecodeError* error = nullptr) {
    StreamDecoder decoder;
    std::vector<Decoded> out;
    std::size_t begin = 0;
    auto feed_until = [&](std::size_t end) {
        DecodeError e =
            decoder.feed(bytes_of(stream.substr(begin)), end - begin, [&](const FrameView& fv) {
                out.push_back(
                    {fv.header.code, fv.header.flags, fv.header.seq, std::string(fv.body)});
                return true;
            });
        begin = end;
        return e;
    };
    DecodeError last = DecodeError::None;
    for (std::size_t cut : cuts) last = feed_until(cut);
    last = feed_until(stream.size());
    if (error) *error = last;
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_EQ(decoder.buffer_capacity(), std::string().capacity());
    return out;
}

TEST(StreamDecoder, DecodesAStreamFedAllAtOnce) {
    EXPECT_EQ(decode_in_chunks(sample_stream(), {}), expected_frames());
}

TEST(StreamDecoder, DecodesAStreamFedOneByteAtATime) {
    const std::string stream = sample_stream();
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    EXPECT_EQ(decode_in_chunks(stream, cuts), expected_frames());
}

TEST(StreamDecoder, DecodesAStreamSplitInTwoAtEveryPosition) {
    const std::string stream = sample_stream();
    const auto expected = expected_frames();
    for (std::size_t cut = 0; cut <= stream.size(); ++cut) {
        ASSERT_EQ(decode_in_chunks(stream, {cut}), expected) << "cut at " << cut;
    }
}

TEST(StreamDecoder, DecodesAStreamSplitInThreeAtEveryPairOfPositions) {
    std::string stream;
    append_frame(stream, Code::Login, 1, 0, "tok");
    append_frame(stream, Code::Heartbeat, 2, 0, "");
    append_frame(stream, Code::Biz, 3, 0, "data!");
    const std::vector<Decoded> expected = {
        {1001, 0, 1, "tok"}, {1004, 0, 2, ""}, {1003, 0, 3, "data!"}};
    for (std::size_t a = 0; a <= stream.size(); ++a) {
        for (std::size_t b = a; b <= stream.size(); ++b) {
            ASSERT_EQ(decode_in_chunks(stream, {a, b}), expected) << a << "," << b;
        }
    }
}

TEST(StreamDecoder, HandsOutWholeFramesWithoutCopying) {
    const std::string stream = encode_frame(Code::Biz, 1, 0, "body");
    StreamDecoder decoder;
    const char* seen = nullptr;
    decoder.feed(bytes_of(stream), stream.size(), [&](const FrameView& fv) {
        seen = fv.body.data();
        return true;
    });
    EXPECT_EQ(seen, stream.data() + kHeaderSize);
}

TEST(StreamDecoder, HoldsNoMemoryOnceAPartialFrameCompletes) {
    const std::string stream = encode_frame(Code::Biz, 1, 0, std::string(4000, 'x'));
    StreamDecoder decoder;
    int frames = 0;
    auto count = [&](const FrameView&) {
        ++frames;
        return true;
    };
    decoder.feed(bytes_of(stream), 100, count);
    EXPECT_EQ(decoder.buffered(), 100u);
    decoder.feed(bytes_of(stream) + 100, stream.size() - 100, count);
    EXPECT_EQ(frames, 1);
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_EQ(decoder.buffer_capacity(), std::string().capacity());
}

TEST(StreamDecoder, StopsWhenTheCallbackReturnsFalse) {
    const std::string stream = sample_stream();
    StreamDecoder decoder;
    int frames = 0;
    DecodeError e = decoder.feed(bytes_of(stream), stream.size(), [&](const FrameView&) {
        ++frames;
        return false;
    });
    EXPECT_EQ(e, DecodeError::None);
    EXPECT_EQ(frames, 1);
    EXPECT_EQ(decoder.buffered(), 0u);  // the rest of the input was dropped, not kept
}

TEST(StreamDecoder, StopsAfterACompletedPartialFrameWhenTheCallbackReturnsFalse) {
    const std::string stream = sample_stream();
    StreamDecoder decoder;
    int frames = 0;
    auto stop = [&](const FrameView&) {
        ++frames;
        return false;
    };
    decoder.feed(bytes_of(stream), 5, stop);
    EXPECT_EQ(frames, 0);
    EXPECT_EQ(decoder.feed(bytes_of(stream) + 5, stream.size() - 5, stop), DecodeError::None);
    EXPECT_EQ(frames, 1);
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(StreamDecoder, RefusesAGarbageSenderOnItsFirstByte) {
    StreamDecoder decoder;
    const std::string http = "GET / HTTP/1.1\r\n";
    int frames = 0;
    EXPECT_EQ(decoder.feed(bytes_of(http), 1, [&](const FrameView&) { return ++frames, true; }),
              DecodeError::BadMagic);
    EXPECT_EQ(frames, 0);
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(StreamDecoder, RefusesABadVersionBeforeSixteenBytesArrive) {
    StreamDecoder decoder;
    std::string frame = encode_frame(Code::Login, 1, 0, "");
    frame[2] = 2;
    auto ignore = [](const FrameView&) { return true; };
    EXPECT_EQ(decoder.feed(bytes_of(frame), 2, ignore), DecodeError::None);
    EXPECT_EQ(decoder.feed(bytes_of(frame) + 2, 1, ignore), DecodeError::BadVersion);
}

TEST(StreamDecoder, RefusesBadFlagsAndUnknownCodesBeforeSixteenBytesArrive) {
    std::string bad_flags = encode_frame(Code::Login, 1, 0, "");
    bad_flags[3] = 0x40;
    StreamDecoder a;
    auto ignore = [](const FrameView&) { return true; };
    EXPECT_EQ(a.feed(bytes_of(bad_flags), 4, ignore), DecodeError::BadFlags);

    std::string bad_code = encode_frame(Code::Login, 1, 0, "");
    bad_code[5] = 0;
    StreamDecoder b;
    EXPECT_EQ(b.feed(bytes_of(bad_code), 3, ignore), DecodeError::None);
    EXPECT_EQ(b.feed(bytes_of(bad_code) + 3, 3, ignore), DecodeError::UnknownCode);
}

TEST(StreamDecoder, RefusesABodyLongerThanItsLimitFromTheHeaderAlone) {
    StreamDecoder decoder(1024);
    const std::string frame = encode_frame(Code::Biz, 1, 0, std::string(1025, 'x'));
    auto ignore = [](const FrameView&) { return true; };
    EXPECT_EQ(decoder.feed(bytes_of(frame), kHeaderSize, ignore), DecodeError::BodyTooLarge);
    EXPECT_EQ(decoder.buffered(), 0u);
}

TEST(StreamDecoder, AcceptsABodyOfExactlyItsLimit) {
    StreamDecoder decoder(1024);
    const std::string frame = encode_frame(Code::Biz, 1, 0, std::string(1024, 'x'));
    int frames = 0;
    EXPECT_EQ(decoder.feed(bytes_of(frame), frame.size(),
                           [&](const FrameView& fv) { return ++frames, fv.body.size() == 1024; }),
              DecodeError::None);
    EXPECT_EQ(frames, 1);
}

TEST(StreamDecoder, DeliversTheFramesBeforeAnErrorInTheSameChunk) {
    std::string stream = encode_frame(Code::Heartbeat, 1, 0, "");
    stream += "garbage that follows a good frame";
    StreamDecoder decoder;
    int frames = 0;
    EXPECT_EQ(decoder.feed(bytes_of(stream), stream.size(),
                           [&](const FrameView&) { return ++frames, true; }),
              DecodeError::BadMagic);
    EXPECT_EQ(frames, 1);
}

TEST(StreamDecoder, KeepsTheFirstErrorAndYieldsNothingAfterIt) {
    StreamDecoder decoder;
    auto ignore = [](const FrameView&) { return true; };
    EXPECT_EQ(decoder.feed(bytes_of("X"), 1, ignore), DecodeError::BadMagic);
    const std::string good = encode_frame(Code::Heartbeat, 1, 0, "");
    int frames = 0;
    EXPECT_EQ(
        decoder.feed(bytes_of(good), good.size(), [&](const FrameView&) { return ++frames, true; }),
        DecodeError::BadMagic);
    EXPECT_EQ(frames, 0);
    EXPECT_EQ(decoder.error(), DecodeError::BadMagic);
}

TEST(StreamDecoder, ReleasesItsBufferOnError) {
    auto ignore = [](const FrameView&) { return true; };
    std::string bad = encode_frame(Code::Biz, 1, 0, "");
    bad[0] = 'X';
    {
        // The buffer holds part of a frame (header and some body, on the heap) when the feed
        // that completes it also brings a bad frame.
        StreamDecoder decoder(100);
        const std::string frame = encode_frame(Code::Biz, 1, 0, std::string(50, 'x'));
        EXPECT_EQ(decoder.feed(bytes_of(frame), 20, ignore), DecodeError::None);
        ASSERT_EQ(decoder.buffered(), 20u);
        ASSERT_GT(decoder.buffer_capacity(), std::string().capacity())
            << "the partial frame is on the heap";
        const std::string rest = frame.substr(20) + bad;
        int frames = 0;
        EXPECT_EQ(decoder.feed(bytes_of(rest), rest.size(),
                               [&](const FrameView&) { return ++frames, true; }),
                  DecodeError::BadMagic);
        EXPECT_EQ(frames, 1) << "the completed frame is still delivered";
        EXPECT_EQ(decoder.buffered(), 0u);
        EXPECT_EQ(decoder.buffer_capacity(), std::string().capacity());
    }
    {
        // The buffer holds the start of a header when the next byte makes it invalid.
        StreamDecoder decoder(100);
        const std::string frame = encode_frame(Code::Biz, 1, 0, std::string(50, 'x'));
        EXPECT_EQ(decoder.feed(bytes_of(frame), 3, ignore), DecodeError::None);  // magic, version
        ASSERT_EQ(decoder.buffered(), 3u);
        const std::uint8_t bad_flags = 0x80;
        EXPECT_EQ(decoder.feed(&bad_flags, 1, ignore), DecodeError::BadFlags);
        EXPECT_EQ(decoder.buffered(), 0u);
        EXPECT_EQ(decoder.buffer_capacity(), std::string().capacity());
        int frames = 0;
        EXPECT_EQ(decoder.feed(bytes_of(frame), frame.size(),
                               [&](const FrameView&) { return ++frames, true; }),
                  DecodeError::BadFlags)
            << "the error sticks";
        EXPECT_EQ(frames, 0);
        EXPECT_EQ(decoder.buffered(), 0u);
    }
}

TEST(StreamDecoder, AcceptsAnEmptyFeed) {
    StreamDecoder decoder;
    EXPECT_EQ(decoder.feed(nullptr, 0, [](const FrameView&) { return true; }), DecodeError::None);
    EXPECT_EQ(decoder.buffered(), 0u);
}

}  // namespace
}  // namespace lp::codec
