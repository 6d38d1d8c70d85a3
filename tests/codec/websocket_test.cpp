// Tests for codec/websocket: RFC 6455 header encoding, masking, the handshake accept key, and
// the incremental decoder in both roles (protocol rules, fragmentation, limits, UTF-8, splits).
#include "codec/websocket.hpp"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace lp::codec::ws {
namespace {

constexpr std::uint8_t kKey[4] = {0x37, 0xFA, 0x21, 0x3D};
constexpr std::size_t kMax = 1 << 20;

struct Received {
    Opcode opcode;
    std::string payload;
    bool operator==(const Received&) const = default;
};

std::ostream& operator<<(std::ostream& os, const Received& r) {
    return os << "{op=" << int(r.opcode) << " payload=\"" << r.payload << "\"}";
}

// A frame with full control over FIN and the first byte; masked when `key` is given.
std::string raw_frame(std::uint8_t first_byte, std::string_view payload,
                      const std::uint8_t* key = kKey) {
    std::string frame = key ? encode_masked_frame(Opcode::Binary, payload, key)
                            : encode_frame(Opcode::Binary, payload);
    frame[0] = static_cast<char>(first_byte);
    return frame;
}

std::string client_frame(Opcode op, std::string_view payload, bool fin = true) {
    return raw_frame(static_cast<std::uint8_t>((fin ? 0x80 : 0x00) | static_cast<int>(op)),
                     payload);
}

struct DecodeResult {
    std::vector<Received> messages;
    WsError error = WsError::None;
};

// Feeds a copy of `bytes` (the decoder unmasks in place) cut at the ascending positions `cuts`.
DecodeResult decode(FrameDecoder::Role role, std::string bytes,
                    const std::vector<std::size_t>& cuts = {}, std::size_t max = kMax) {
    FrameDecoder decoder(role, max);
    DecodeResult result;
    std::size_t begin = 0;
    auto feed_until = [&](std::size_t end) {
        result.error =
            decoder.feed(reinterpret_cast<std::uint8_t*>(bytes.data()) + begin, end - begin,
                         [&](const Message& m) {
                             result.messages.push_back({m.opcode, std::string(m.payload)});
                             return true;
                         });
        begin = end;
    };
    for (std::size_t cut : cuts) {
        feed_until(cut);
        if (result.error != WsError::None) return result;
    }
    feed_until(bytes.size());
    if (result.error == WsError::None) {
        EXPECT_EQ(decoder.buffered(), 0u);
        EXPECT_EQ(decoder.buffer_capacity(), 2 * std::string().capacity());
    }
    return result;
}

DecodeResult server_decode(std::string bytes, const std::vector<std::size_t>& cuts = {}) {
    return decode(FrameDecoder::Role::Server, std::move(bytes), cuts);
}

TEST(WsHeader, UsesTheShortestLengthEncoding) {
    struct Case {
        std::uint64_t len;
        std::size_t header_size;
        std::uint8_t len7;
    };
    for (const Case& c : {Case{0, 2, 0}, Case{125, 2, 125}, Case{126, 4, 126}, Case{65535, 4, 126},
                          Case{65536, 10, 127}}) {
        std::uint8_t out[kMaxHeaderSize];
        ASSERT_EQ(encode_header(Opcode::Binary, c.len, out), c.header_size) << c.len;
        EXPECT_EQ(out[0], 0x82);
        EXPECT_EQ(out[1], c.len7);
        std::uint64_t decoded = c.len7;
        if (c.len7 == 126) decoded = (out[2] << 8) | out[3];
        if (c.len7 == 127) {
            decoded = 0;
            for (int i = 0; i < 8; ++i) decoded = (decoded << 8) | out[2 + i];
        }
        EXPECT_EQ(decoded, c.len);
        ASSERT_EQ(encode_header(Opcode::Binary, c.len, out, kKey), c.header_size + 4);
        EXPECT_EQ(out[1], 0x80 | c.len7);
        EXPECT_EQ(std::string(reinterpret_cast<char*>(out) + c.header_size, 4),
                  std::string(reinterpret_cast<const char*>(kKey), 4));
    }
}

TEST(WsHeader, FramesOfEveryLengthClassRoundTripInBothRoles) {
    for (std::size_t len : {0u, 125u, 126u, 65535u, 65536u}) {
        std::string payload(len, '\0');
        for (std::size_t i = 0; i < len; ++i) payload[i] = static_cast<char>(i * 7);
        auto from_client = server_decode(encode_masked_frame(Opcode::Binary, payload, kKey));
        ASSERT_EQ(from_client.error, WsError::None) << len;
        ASSERT_EQ(from_client.messages, (std::vector<Received>{{Opcode::Binary, payload}}));
        auto from_server =
            decode(FrameDecoder::Role::Client, encode_frame(Opcode::Binary, payload));
        ASSERT_EQ(from_server.error, WsError::None) << len;
        ASSERT_EQ(from_server.messages, (std::vector<Received>{{Opcode::Binary, payload}}));
    }
}

TEST(WsMask, MaskingTwiceRestoresThePayload) {
    std::string data = "The quick brown fox jumps over the lazy dog";
    const std::string original = data;
    auto* p = reinterpret_cast<std::uint8_t*>(data.data());
    apply_mask(p, data.size(), kKey);
    EXPECT_NE(data, original);
    EXPECT_EQ(static_cast<std::uint8_t>(data[0]), 'T' ^ kKey[0]);
    EXPECT_EQ(static_cast<std::uint8_t>(data[5]), 'u' ^ kKey[1]);
    apply_mask(p, data.size(), kKey);
    EXPECT_EQ(data, original);
}

TEST(WsMask, MaskingInPiecesWithOffsetsEqualsMaskingAtOnce) {
    std::string whole(37, 'z');
    for (std::size_t i = 0; i < whole.size(); ++i) whole[i] = static_cast<char>(i);
    std::string pieces = whole;
    apply_mask(reinterpret_cast<std::uint8_t*>(whole.data()), whole.size(), kKey);
    auto* p = reinterpret_cast<std::uint8_t*>(pieces.data());
    apply_mask(p, 3, kKey, 0);
    apply_mask(p + 3, 13, kKey, 3);
    apply_mask(p + 16, 21, kKey, 16);
    EXPECT_EQ(pieces, whole);
}

TEST(WsHandshake, AcceptKeyMatchesTheRfc6455Example) {
    // RFC 6455 section 1.3. (A SHA-1 digest is 20 bytes: 28 base64 characters, one '='.)
    EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WsDecoder, ServerUnmasksAClientMessage) {
    auto r = server_decode(client_frame(Opcode::Text, "hello"));
    EXPECT_EQ(r.error, WsError::None);
    EXPECT_EQ(r.messages, (std::vector<Received>{{Opcode::Text, "hello"}}));
}

TEST(WsDecoder, ServerHandsOutAWholeFrameInPlaceWithoutCopying) {
    std::string frame = client_frame(Opcode::Binary, "payload");
    FrameDecoder decoder(FrameDecoder::Role::Server, kMax);
    const char* seen = nullptr;
    decoder.feed(reinterpret_cast<std::uint8_t*>(frame.data()), frame.size(),
                 [&](const Message& m) {
                     seen = m.payload.data();
                     return true;
                 });
    EXPECT_EQ(seen, frame.data() + 6);
    EXPECT_EQ(frame.substr(6), "payload");  // unmasked in place
}

TEST(WsDecoder, ServerRejectsAnUnmaskedClientFrame) {
    EXPECT_EQ(server_decode(encode_frame(Opcode::Text, "hi")).error, WsError::UnmaskedClientFrame);
}

TEST(WsDecoder, ClientRejectsAMaskedServerFrame) {
    EXPECT_EQ(
        decode(FrameDecoder::Role::Client, encode_masked_frame(Opcode::Text, "hi", kKey)).error,
        WsError::MaskedServerFrame);
}

TEST(WsDecoder, RejectsReservedBitsWithoutAnExtension) {
    for (std::uint8_t rsv : {0x40, 0x20, 0x10}) {
        EXPECT_EQ(server_decode(raw_frame(0x82 | rsv, "x")).error, WsError::ReservedBits);
    }
}

TEST(WsDecoder, RejectsReservedOpcodes) {
    for (std::uint8_t op : {0x3, 0x7, 0xB, 0xF}) {
        EXPECT_EQ(server_decode(raw_frame(0x80 | op, "x")).error, WsError::BadOpcode) << int(op);
    }
}

TEST(WsDecoder, RefusesAProtocolViolationOnItsFirstBytes) {
    FrameDecoder decoder(FrameDecoder::Role::Server, kMax);
    std::uint8_t bad_opcode = 0x83;
    EXPECT_EQ(decoder.feed(&bad_opcode, 1, [](const Message&) { return true; }),
              WsError::BadOpcode);
    FrameDecoder unmasked(FrameDecoder::Role::Server, kMax);
    std::uint8_t first_two[2] = {0x81, 0x05};
    EXPECT_EQ(unmasked.feed(first_two, 1, [](const Message&) { return true; }), WsError::None);
    EXPECT_EQ(unmasked.feed(first_two + 1, 1, [](const Message&) { return true; }),
              WsError::UnmaskedClientFrame);
}

TEST(WsDecoder, ReassemblesFragmentsWithAPingInBetween) {
    std::string stream =
        client_frame(Opcode::Text, "Hel", false) + client_frame(Opcode::Ping, "are you there") +
        client_frame(Opcode::Continuation, "lo, ", false) + client_frame(Opcode::Pong, "") +
        client_frame(Opcode::Continuation, "world");
    auto r = server_decode(stream);
    EXPECT_EQ(r.error, WsError::None);
    EXPECT_EQ(r.messages, (std::vector<Received>{{Opcode::Ping, "are you there"},
                                                 {Opcode::Pong, ""},
                                                 {Opcode::Text, "Hello, world"}}));
}

TEST(WsDecoder, AcceptsEmptyFragments) {
    std::string stream = client_frame(Opcode::Binary, "", false) +
                         client_frame(Opcode::Continuation, "", false) +
                         client_frame(Opcode::Continuation, "");
    auto r = server_decode(stream);
    EXPECT_EQ(r.error, WsError::None);
    EXPECT_EQ(r.messages, (std::vector<Received>{{Opcode::Binary, ""}}));
}

TEST(WsDecoder, RejectsAContinuationWithoutAStartedMessage) {
    EXPECT_EQ(server_decode(client_frame(Opcode::Continuation, "x")).error,
              WsError::BadContinuation);
}

TEST(WsDecoder, RejectsANewDataMessageBeforeTheFragmentedOneEnds) {
    std::string stream = client_frame(Opcode::Text, "a", false) + client_frame(Opcode::Binary, "b");
    EXPECT_EQ(server_decode(stream).error, WsError::BadContinuation);
}

TEST(WsDecoder, RejectsAFragmentedControlFrame) {
    EXPECT_EQ(server_decode(client_frame(Opcode::Ping, "x", false)).error, WsError::ControlTooLong);
}

TEST(WsDecoder, RejectsAControlFrameLongerThan125Bytes) {
    EXPECT_EQ(server_decode(client_frame(Opcode::Ping, std::string(125, 'p'))).error,
              WsError::None);
    EXPECT_EQ(server_decode(client_frame(Opcode::Ping, std::string(126, 'p'))).error,
              WsError::ControlTooLong);
}

TEST(WsDecoder, RejectsAMessageLargerThanTheLimitFromItsHeaderAlone) {
    std::string frame = client_frame(Opcode::Binary, std::string(1001, 'x'));
    FrameDecoder decoder(FrameDecoder::Role::Server, 1000);
    EXPECT_EQ(decoder.feed(reinterpret_cast<std::uint8_t*>(frame.data()), 4,
                           [](const Message&) { return true; }),
              WsError::MessageTooLarge);
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_EQ(decode(FrameDecoder::Role::Server,
                     client_frame(Opcode::Binary, std::string(1000, 'x')), {}, 1000)
                  .error,
              WsError::None);
}

TEST(WsDecoder, RejectsAFragmentedMessageThatGrowsPastTheLimit) {
    std::string stream = client_frame(Opcode::Binary, std::string(600, 'a'), false) +
                         client_frame(Opcode::Continuation, std::string(401, 'b'));
    EXPECT_EQ(decode(FrameDecoder::Role::Server, stream, {}, 1000).error, WsError::MessageTooLarge);
}

TEST(WsDecoder, RejectsAHuge64BitLengthAsSoonAsItsHighByteArrives) {
    std::uint8_t bytes[3] = {0x82, 0x80 | 127, 0x80};
    FrameDecoder decoder(FrameDecoder::Role::Server, kMax);
    EXPECT_EQ(decoder.feed(bytes, 3, [](const Message&) { return true; }),
              WsError::MessageTooLarge);
}

TEST(WsDecoder, AcceptsValidClosePayloads) {
    for (std::uint16_t status : {1000, 1001, 1003, 1007, 1011, 1014, 3000, 4999}) {
        auto r = server_decode(client_frame(Opcode::Close, close_payload(status, "bye")));
        EXPECT_EQ(r.error, WsError::None) << status;
        ASSERT_EQ(r.messages.size(), 1u);
        EXPECT_EQ(r.messages[0].opcode, Opcode::Close);
        EXPECT_EQ(r.messages[0].payload, close_payload(status, "bye"));
    }
    EXPECT_EQ(server_decode(client_frame(Opcode::Close, "")).error, WsError::None);
}

TEST(WsDecoder, RejectsAClosePayloadOfOneByte) {
    EXPECT_EQ(server_decode(client_frame(Opcode::Close, "\x03")).error, WsError::BadCloseFrame);
}

TEST(WsDecoder, RejectsCloseStatusesAPeerMayNotSend) {
    for (std::uint16_t status : {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535}) {
        EXPECT_EQ(server_decode(client_frame(Opcode::Close, close_payload(status, ""))).error,
                  WsError::BadCloseFrame)
            << status;
    }
}

TEST(WsDecoder, RejectsACloseReasonThatIsNotUtf8) {
    EXPECT_EQ(server_decode(client_frame(Opcode::Close, close_payload(1000, "\xC3\x28"))).error,
              WsError::BadUtf8);
}

TEST(WsDecoder, RejectsATextMessageThatIsNotUtf8) {
    EXPECT_EQ(server_decode(client_frame(Opcode::Text, "ok \xFF")).error, WsError::BadUtf8);
    std::string fragmented = client_frame(Opcode::Text, "ok", false) +
                             client_frame(Opcode::Continuation, "\xED\xA0\x80");  // surrogate
    EXPECT_EQ(server_decode(fragmented).error, WsError::BadUtf8);
}

TEST(WsDecoder, AcceptsACharacterSplitAcrossTextFragments) {
    // "€" is E2 82 AC; the check applies to the whole message, not to each fragment.
    std::string stream = client_frame(Opcode::Text, "price \xE2\x82", false) +
                         client_frame(Opcode::Continuation, "\xAC");
    auto r = server_decode(stream);
    EXPECT_EQ(r.error, WsError::None);
    EXPECT_EQ(r.messages, (std::vector<Received>{{Opcode::Text, "price \xE2\x82\xAC"}}));
}

TEST(WsDecoder, DoesNotCheckBinaryMessagesForUtf8) {
    EXPECT_EQ(server_decode(client_frame(Opcode::Binary, "\xFF\xFE")).error, WsError::None);
}

std::string multi_frame_stream() {
    return client_frame(Opcode::Text, "{\"code\":1004}") +
           client_frame(Opcode::Binary, std::string(300, 'b'), false) +
           client_frame(Opcode::Ping, "p") +
           client_frame(Opcode::Continuation, std::string(70000, 'c')) +
           client_frame(Opcode::Text, "h\xC3\xA9", false) +
           client_frame(Opcode::Continuation, "llo") +
           client_frame(Opcode::Close, close_payload(1000, "done"));
}

std::vector<Received> multi_frame_messages() {
    return {{Opcode::Text, "{\"code\":1004}"},
            {Opcode::Ping, "p"},
            {Opcode::Binary, std::string(300, 'b') + std::string(70000, 'c')},
            {Opcode::Text, "h\xC3\xA9llo"},
            {Opcode::Close, close_payload(1000, "done")}};
}

TEST(WsDecoder, DecodesAMultiFrameChunkSplitAtEveryPosition) {
    // Short frames around the long one so that the split positions cover every header state.
    std::string small = client_frame(Opcode::Text, "a", false) + client_frame(Opcode::Ping, "") +
                        client_frame(Opcode::Continuation, std::string(200, 'z')) +
                        client_frame(Opcode::Close, close_payload(1001, ""));
    std::vector<Received> expected = {{Opcode::Ping, ""},
                                      {Opcode::Text, "a" + std::string(200, 'z')},
                                      {Opcode::Close, close_payload(1001, "")}};
    for (std::size_t cut = 0; cut <= small.size(); ++cut) {
        auto r = server_decode(small, {cut});
        ASSERT_EQ(r.error, WsError::None) << cut;
        ASSERT_EQ(r.messages, expected) << cut;
    }
    const std::string stream = multi_frame_stream();
    for (std::size_t cut = 0; cut <= stream.size(); cut += (cut < 400 || cut > 70200 ? 1 : 97)) {
        auto r = server_decode(stream, {cut});
        ASSERT_EQ(r.error, WsError::None) << cut;
        ASSERT_EQ(r.messages, multi_frame_messages()) << cut;
    }
}

TEST(WsDecoder, DecodesAMultiFrameChunkFedOneByteAtATime) {
    const std::string stream = multi_frame_stream();
    std::vector<std::size_t> cuts;
    for (std::size_t i = 1; i < stream.size(); ++i) cuts.push_back(i);
    auto r = server_decode(stream, cuts);
    EXPECT_EQ(r.error, WsError::None);
    EXPECT_EQ(r.messages, multi_frame_messages());
}

TEST(WsDecoder, HoldsNoMemoryAfterACompleteMessage) {
    std::string stream = client_frame(Opcode::Binary, std::string(500, 'x'), false) +
                         client_frame(Opcode::Continuation, "y");
    FrameDecoder decoder(FrameDecoder::Role::Server, kMax);
    auto* p = reinterpret_cast<std::uint8_t*>(stream.data());
    auto ignore = [](const Message&) { return true; };
    decoder.feed(p, 100, ignore);
    EXPECT_GT(decoder.buffered(), 0u);
    decoder.feed(p + 100, stream.size() - 100, ignore);
    EXPECT_EQ(decoder.buffered(), 0u);
    EXPECT_EQ(decoder.buffer_capacity(), 2 * std::string().capacity());
}

TEST(WsDecoder, StopsWhenTheCallbackReturnsFalse) {
    std::string stream = client_frame(Opcode::Text, "one") + client_frame(Opcode::Text, "two");
    FrameDecoder decoder(FrameDecoder::Role::Server, kMax);
    int messages = 0;
    EXPECT_EQ(decoder.feed(reinterpret_cast<std::uint8_t*>(stream.data()), stream.size(),
                           [&](const Message&) { return ++messages, false; }),
              WsError::None);
    EXPECT_EQ(messages, 1);
}

TEST(WsDecoder, KeepsTheFirstErrorAndYieldsNothingAfterIt) {
    FrameDecoder decoder(FrameDecoder::Role::Server, kMax);
    std::string bad = encode_frame(Opcode::Text, "unmasked");
    auto ignore = [](const Message&) { return true; };
    EXPECT_EQ(decoder.feed(reinterpret_cast<std::uint8_t*>(bad.data()), bad.size(), ignore),
              WsError::UnmaskedClientFrame);
    std::string good = client_frame(Opcode::Text, "fine");
    int messages = 0;
    EXPECT_EQ(decoder.feed(reinterpret_cast<std::uint8_t*>(good.data()), good.size(),
                           [&](const Message&) { return ++messages, true; }),
              WsError::UnmaskedClientFrame);
    EXPECT_EQ(messages, 0);
    EXPECT_EQ(decoder.error(), WsError::UnmaskedClientFrame);
}

TEST(WsClosePayload, EncodesStatusAndReason) {
    EXPECT_EQ(close_payload(1000, "bye"), std::string("\x03\xE8"
                                                      "bye",
                                                      5));
}

TEST(WsClosePayload, CutsALongReasonOnACharacterBoundary) {
    std::string reason = "ab";
    for (int i = 0; i < 62; ++i) reason += "\xC3\xA9";  // byte 123 is inside an "é"
    std::string payload = close_payload(1001, reason);
    EXPECT_TRUE(is_valid_utf8(std::string_view(payload).substr(2)));
    EXPECT_EQ(payload.size(), 2u + 122u);
    EXPECT_EQ(close_payload(1001, std::string(200, 'r')).size(), 125u);
}

TEST(WsUtf8, AcceptsWellFormedText) {
    for (std::string_view s :
         {"", "plain ascii that is longer than eight bytes", "h\xC3\xA9", "\xE2\x82\xAC",
          "\xF0\x9F\x98\x80", "\xEF\xBF\xBF", "\xF4\x8F\xBF\xBF"}) {
        EXPECT_TRUE(is_valid_utf8(s)) << s;
    }
}

TEST(WsUtf8, RejectsMalformedText) {
    for (std::string_view s :
         {"\x80", "\xC0\xAF", "\xC1\xBF", "\xE0\x80\xAF", "\xED\xA0\x80", "\xF0\x80\x80\xAF",
          "\xF4\x90\x80\x80", "\xF5\x80\x80\x80", "\xFF", "\xE2\x82", "abcdefgh\xC3", "\xC3\x28"}) {
        EXPECT_FALSE(is_valid_utf8(s)) << testing::PrintToString(s);
    }
}

TEST(WsErrors, EveryErrorHasADescription) {
    for (auto e :
         {WsError::None, WsError::ReservedBits, WsError::BadOpcode, WsError::UnmaskedClientFrame,
          WsError::MaskedServerFrame, WsError::ControlTooLong, WsError::MessageTooLarge,
          WsError::BadContinuation, WsError::BadCloseFrame, WsError::BadUtf8}) {
        EXPECT_FALSE(to_string(e).empty());
    }
}

// RFC 6455 7.4.1: each violation closes with the status that names it.
TEST(WsCloseStatus, EachViolationMapsToItsRfc6455Status) {
    EXPECT_EQ(close_status_for(
                  server_decode(client_frame(Opcode::Binary, std::string(kMax + 1, 'x'))).error),
              kCloseTooBig);
    EXPECT_EQ(kCloseTooBig, 1009);
    EXPECT_EQ(close_status_for(server_decode(client_frame(Opcode::Text, "ok \xFF")).error),
              kCloseInvalidPayload);
    EXPECT_EQ(kCloseInvalidPayload, 1007);
    EXPECT_EQ(
        close_status_for(
            server_decode(client_frame(Opcode::Close, close_payload(1000, "\xC3\x28"))).error),
        1007);
    EXPECT_EQ(close_status_for(server_decode(encode_frame(Opcode::Text, "hi")).error),  // unmasked
              kCloseProtocolError);
    EXPECT_EQ(kCloseProtocolError, 1002);
    for (auto e : {WsError::ReservedBits, WsError::BadOpcode, WsError::UnmaskedClientFrame,
                   WsError::MaskedServerFrame, WsError::ControlTooLong, WsError::BadContinuation,
                   WsError::BadCloseFrame}) {
        EXPECT_EQ(close_status_for(e), 1002) << to_string(e);
        EXPECT_TRUE(is_valid_close_status(close_status_for(e)));
    }
    EXPECT_TRUE(is_valid_close_status(close_status_for(WsError::MessageTooLarge)));
    EXPECT_TRUE(is_valid_close_status(close_status_for(WsError::BadUtf8)));
}

}  // namespace
}  // namespace lp::codec::ws
