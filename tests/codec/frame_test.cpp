// Tests for codec/frame: the 16-byte header layout, every DecodeError and the code table.
#include "codec/frame.hpp"

#include <gtest/gtest.h>

#include <array>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace lp::codec {
namespace {

const std::uint8_t* bytes_of(const std::string& s) {
    return reinterpret_cast<const std::uint8_t*>(s.data());
}

// A valid header whose single byte at `offset` is then replaced by `value`.
std::string header_with_byte(std::size_t offset, std::uint8_t value) {
    std::string frame = encode_frame(Code::Heartbeat, 7, 0, "");
    frame[offset] = static_cast<char>(value);
    return frame;
}

TEST(FrameHeader, EncodesTheDocumentedBigEndianLayout) {
    Header h;
    h.flags = kAckRequired | kJsonBody;
    h.code = static_cast<std::uint16_t>(Code::Push);
    h.seq = 0x01020304;
    h.body_len = 0x0A0B0C0D;
    std::array<std::uint8_t, kHeaderSize> out{};
    encode_header(h, out.data());
    const std::array<std::uint8_t, kHeaderSize> expected = {
        0x4C, 0x50,              // magic "LP"
        0x01,                    // version
        0x03,                    // flags
        0x0B, 0xB9,              // code 3001
        0x00, 0x00,              // reserved
        0x01, 0x02, 0x03, 0x04,  // seq
        0x0A, 0x0B, 0x0C, 0x0D,  // body_len
    };
    EXPECT_EQ(out, expected);
}

TEST(FrameHeader, RoundTripsEveryField) {
    Header h;
    h.flags = kJsonBody;
    h.code = static_cast<std::uint16_t>(Code::BizResult);
    h.seq = 0xFFFFFFFF;
    h.body_len = kDefaultMaxBody;
    std::array<std::uint8_t, kHeaderSize> out{};
    encode_header(h, out.data());
    Header back;
    ASSERT_EQ(parse_header(out.data(), kDefaultMaxBody, back), DecodeError::None);
    EXPECT_EQ(back.flags, h.flags);
    EXPECT_EQ(back.code, h.code);
    EXPECT_EQ(back.seq, h.seq);
    EXPECT_EQ(back.body_len, h.body_len);
}

TEST(FrameHeader, IgnoresTheReservedFieldOnReceive) {
    std::string frame = header_with_byte(6, 0xAB);
    Header h;
    EXPECT_EQ(parse_header(bytes_of(frame), kDefaultMaxBody, h), DecodeError::None);
}

TEST(FrameEncode, EncodeFrameAppendsTheBodyAndSetsItsLength) {
    std::string frame = encode_frame(Code::Login, 9, kJsonBody, "{\"token\":\"t\"}");
    ASSERT_EQ(frame.size(), kHeaderSize + 13);
    FrameView fv;
    ASSERT_EQ(decode_one(frame, kDefaultMaxBody, fv), DecodeError::None);
    EXPECT_EQ(fv.header.code, static_cast<std::uint16_t>(Code::Login));
    EXPECT_EQ(fv.header.seq, 9u);
    EXPECT_EQ(fv.header.flags, kJsonBody);
    EXPECT_EQ(fv.header.body_len, 13u);
    EXPECT_EQ(fv.body, "{\"token\":\"t\"}");
}

TEST(FrameEncode, AppendFrameBuildsSeveralFramesInOneBuffer) {
    std::string out = "prefix";
    append_frame(out, Code::Pong, 1, 0, "a");
    append_frame(out, Code::Push, 0, kAckRequired, "bc");
    ASSERT_EQ(out.size(), 6 + kHeaderSize + 1 + kHeaderSize + 2);
    FrameView first, second;
    ASSERT_EQ(decode_one(std::string_view(out).substr(6, kHeaderSize + 1), kDefaultMaxBody, first),
              DecodeError::None);
    ASSERT_EQ(
        decode_one(std::string_view(out).substr(6 + kHeaderSize + 1), kDefaultMaxBody, second),
        DecodeError::None);
    EXPECT_EQ(first.body, "a");
    EXPECT_EQ(second.header.flags, kAckRequired);
    EXPECT_EQ(second.body, "bc");
}

TEST(FrameDecodeError, RejectsBadMagic) {
    for (std::size_t offset : {0u, 1u}) {
        std::string frame = header_with_byte(offset, 'X');
        Header h;
        EXPECT_EQ(parse_header(bytes_of(frame), kDefaultMaxBody, h), DecodeError::BadMagic);
    }
}

TEST(FrameDecodeError, RejectsBadVersion) {
    for (std::uint8_t version : {0, 2, 0xFF}) {
        std::string frame = header_with_byte(2, version);
        Header h;
        EXPECT_EQ(parse_header(bytes_of(frame), kDefaultMaxBody, h), DecodeError::BadVersion);
    }
}

TEST(FrameDecodeError, RejectsUnknownFlagBits) {
    for (std::uint8_t flags : {0x04, 0x80, 0xFF}) {
        std::string frame = header_with_byte(3, flags);
        Header h;
        EXPECT_EQ(parse_header(bytes_of(frame), kDefaultMaxBody, h), DecodeError::BadFlags);
    }
}

TEST(FrameDecodeError, RejectsBodyLongerThanMaxBody) {
    std::string at_limit = encode_frame(Code::Biz, 1, 0, std::string(100, 'x'));
    Header h;
    EXPECT_EQ(parse_header(bytes_of(at_limit), 100, h), DecodeError::None);
    EXPECT_EQ(parse_header(bytes_of(at_limit), 99, h), DecodeError::BodyTooLarge);
}

TEST(FrameDecodeError, RejectsUnknownCode) {
    for (std::uint16_t code : {0, 1000, 1006, 2005, 3004, 65535}) {
        std::string frame = encode_frame(Code::Biz, 1, 0, "");
        frame[4] = static_cast<char>(code >> 8);
        frame[5] = static_cast<char>(code & 0xFF);
        Header h;
        EXPECT_EQ(parse_header(bytes_of(frame), kDefaultMaxBody, h), DecodeError::UnknownCode)
            << code;
    }
}

TEST(FrameDecodeError, DecodeOneReportsTruncatedFrames) {
    std::string frame = encode_frame(Code::Biz, 1, 0, "hello");
    FrameView fv;
    for (std::size_t len = 0; len < frame.size(); ++len) {
        EXPECT_EQ(decode_one(std::string_view(frame).substr(0, len), kDefaultMaxBody, fv),
                  DecodeError::Truncated)
            << len;
    }
}

TEST(FrameDecodeError, DecodeOneReportsTrailingBytes) {
    std::string frame = encode_frame(Code::Biz, 1, 0, "hello") + "!";
    FrameView fv;
    EXPECT_EQ(decode_one(frame, kDefaultMaxBody, fv), DecodeError::TrailingBytes);
}

TEST(FrameDecodeError, DecodeOneReportsWhatIsWrongWithAShortMessage) {
    FrameView fv;
    EXPECT_EQ(decode_one("GET", kDefaultMaxBody, fv), DecodeError::BadMagic);
    EXPECT_EQ(decode_one(std::string_view("LP\x02", 3), kDefaultMaxBody, fv),
              DecodeError::BadVersion);
}

TEST(FrameDecodeError, EveryErrorHasADescription) {
    for (auto e : {DecodeError::None, DecodeError::BadMagic, DecodeError::BadVersion,
                   DecodeError::BadFlags, DecodeError::BodyTooLarge, DecodeError::UnknownCode,
                   DecodeError::Truncated, DecodeError::TrailingBytes}) {
        EXPECT_FALSE(to_string(e).empty());
    }
    EXPECT_NE(to_string(DecodeError::BadMagic), to_string(DecodeError::BadVersion));
}

TEST(FrameHeaderPrefix, JudgesEachFieldAsSoonAsItsLastByteArrives) {
    const std::string good = encode_frame(Code::Login, 1, 0, "abc");
    for (std::size_t n = 0; n <= kHeaderSize; ++n) {
        EXPECT_EQ(check_header_prefix(bytes_of(good), n, kDefaultMaxBody), DecodeError::None) << n;
    }
    EXPECT_EQ(check_header_prefix(bytes_of(header_with_byte(0, 'G')), 1, kDefaultMaxBody),
              DecodeError::BadMagic);
    EXPECT_EQ(check_header_prefix(bytes_of(header_with_byte(1, 'G')), 2, kDefaultMaxBody),
              DecodeError::BadMagic);
    EXPECT_EQ(check_header_prefix(bytes_of(header_with_byte(2, 9)), 3, kDefaultMaxBody),
              DecodeError::BadVersion);
    EXPECT_EQ(check_header_prefix(bytes_of(header_with_byte(3, 0x10)), 4, kDefaultMaxBody),
              DecodeError::BadFlags);
    EXPECT_EQ(check_header_prefix(bytes_of(header_with_byte(5, 0)), 5, kDefaultMaxBody),
              DecodeError::None);  // the code is not complete yet
    EXPECT_EQ(check_header_prefix(bytes_of(header_with_byte(5, 0)), 6, kDefaultMaxBody),
              DecodeError::UnknownCode);
}

TEST(FrameHeaderPrefix, RejectsALengthWhoseHighBytesAlreadyExceedTheLimit) {
    std::string frame = header_with_byte(12, 0x01);  // body_len >= 16 MiB
    EXPECT_EQ(check_header_prefix(bytes_of(frame), 12, kDefaultMaxBody), DecodeError::None);
    EXPECT_EQ(check_header_prefix(bytes_of(frame), 13, kDefaultMaxBody), DecodeError::BodyTooLarge);
    std::string small = header_with_byte(14, 0x01);  // body_len 256
    EXPECT_EQ(check_header_prefix(bytes_of(small), 15, 256), DecodeError::None);
    EXPECT_EQ(check_header_prefix(bytes_of(small), 15, 255), DecodeError::BodyTooLarge);
}

TEST(FrameCodes, KnowsExactlyTheCodesOfTheDesignTableAndTheNodeLinkCodes) {
    int known = 0, link = 0;
    for (std::uint32_t code = 0; code <= 0xFFFF; ++code) {
        if (is_known_code(static_cast<std::uint16_t>(code))) ++known;
        if (lp::codec::is_link_code(static_cast<std::uint16_t>(code))) ++link;
    }
    EXPECT_EQ(known, 12 + 14);
    // 9001-9007, the handshake's challenge and welcome, room query/reply, user query/reply and
    // room likes
    EXPECT_EQ(link, 14);
    EXPECT_TRUE(is_known_code(1001));
    EXPECT_TRUE(is_known_code(3003));
    EXPECT_FALSE(is_known_code(1006));
    EXPECT_TRUE(is_known_code(9001));
    EXPECT_FALSE(is_client_code(9001)) << "a client may never send a node-link code";
}

TEST(FrameCodes, ClientCodesAreTheRequestCodesOnly) {
    for (std::uint16_t code = 1001; code <= 1005; ++code) EXPECT_TRUE(is_client_code(code));
    for (std::uint16_t code : {1000, 1006, 2001, 2004, 3001, 3003}) {
        EXPECT_FALSE(is_client_code(code)) << code;
    }
}

TEST(FrameCodes, NamesEveryCodeAndUnknownOnes) {
    const std::map<Code, std::string_view> names = {
        {Code::Login, "LOGIN"},
        {Code::Logout, "LOGOUT"},
        {Code::Biz, "BIZ"},
        {Code::Heartbeat, "HEARTBEAT"},
        {Code::Ack, "ACK"},
        {Code::LoginResult, "LOGIN_RESULT"},
        {Code::LogoutResult, "LOGOUT_RESULT"},
        {Code::BizResult, "BIZ_RESULT"},
        {Code::Pong, "PONG"},
        {Code::Push, "PUSH"},
        {Code::Kick, "KICK"},
        {Code::Error, "ERROR"},
        {Code::LinkHello, "LINK_HELLO"},
        {Code::LinkUsers, "LINK_USERS"},
        {Code::LinkRoomPublish, "LINK_ROOM_PUBLISH"},
        {Code::LinkRoomDeliver, "LINK_ROOM_DELIVER"},
        {Code::LinkRoomSub, "LINK_ROOM_SUB"},
        {Code::LinkKick, "LINK_KICK"},
        {Code::LinkPing, "LINK_PING"},
    };
    for (const auto& [code, name] : names) {
        EXPECT_EQ(code_name(static_cast<std::uint16_t>(code)), name) << static_cast<int>(code);
    }
    // Every code the decoders accept has its own name, and nothing else has one: a code added
    // to the table without a name (or the other way round) fails here.
    std::set<std::string_view> seen;
    for (std::uint32_t code = 0; code <= 0xFFFF; ++code) {
        const auto c = static_cast<std::uint16_t>(code);
        const std::string_view name = code_name(c);
        if (!is_known_code(c)) {
            EXPECT_EQ(name, "UNKNOWN") << code;
            continue;
        }
        EXPECT_NE(name, "UNKNOWN") << "known code " << code << " has no name";
        EXPECT_TRUE(seen.insert(name).second) << "two codes are named " << name;
        EXPECT_EQ(name.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ_"), std::string_view::npos)
            << name;
    }
    EXPECT_GE(seen.size(), names.size());
    EXPECT_EQ(code_name(0), "UNKNOWN");
    EXPECT_EQ(code_name(4242), "UNKNOWN");
}

}  // namespace
}  // namespace lp::codec
