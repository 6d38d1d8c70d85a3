// Tests for codec/address: the one host:port parser, and the rules codec/address.hpp documents
// (host required, IPv6 in brackets, names kept, port 0 only where "any port" is meant).
#include "codec/address.hpp"

#include <gtest/gtest.h>

#include <string>

namespace lp::codec {
namespace {

// Moved from tests/app/config_test.cpp (SplitHostPort) with the parser they pin.
TEST(Address, AcceptsHostPortAndBracketedIpv6) {
    struct Case {
        const char* addr;
        const char* host;
        std::uint16_t port;
    };
    for (const Case& c :
         {Case{"0.0.0.0:7000", "0.0.0.0", 7000}, Case{"localhost:0", "localhost", 0},
          Case{"redis.internal:65535", "redis.internal", 65535}, Case{"[::1]:7000", "::1", 7000},
          Case{"[::]:80", "::", 80}, Case{"[fe80::1%eth0]:8080", "fe80::1%eth0", 8080},
          Case{"[::ffff:10.0.0.1]:1", "::ffff:10.0.0.1", 1}}) {
        const auto address = Address::parse(c.addr);
        ASSERT_TRUE(address) << c.addr;
        EXPECT_EQ(address->host, c.host);
        EXPECT_EQ(address->port, c.port);
    }
}

TEST(Address, RefusesMalformedAddresses) {
    for (const char* addr : {"",           "foo",           "foo:",         ":7000",
                             "host:65536", "host:99999999", "host:-1",      "host:+80",
                             "host: 80",   "host:80 ",      "ho st:80",     "::1:7000",
                             "::1",        "[::1]",         "[::1]7000",    "[::1]:",
                             "[]:80",      "[zz]:80",       "[1.2.3.4]:80", "[::1%]:80",
                             "[::1:80",    "host:http"}) {
        std::string why;
        EXPECT_FALSE(Address::parse(addr, PortZero::Allowed, &why)) << addr;
        EXPECT_NE(why, "") << addr;
    }
}

TEST(Address, EmptyHostIsRefusedWithAHintForEveryInterface) {
    std::string why;
    EXPECT_FALSE(Address::parse(":7000", PortZero::Allowed, &why));
    EXPECT_NE(why.find("0.0.0.0"), std::string::npos) << why;
}

TEST(Address, PortZeroOnlyWhereAnyPortIsMeant) {
    EXPECT_TRUE(Address::parse("127.0.0.1:0", PortZero::Allowed));
    std::string why;
    EXPECT_FALSE(Address::parse("127.0.0.1:0", PortZero::Refused, &why));
    EXPECT_NE(why.find("port 0"), std::string::npos) << why;
    EXPECT_TRUE(Address::parse("127.0.0.1:1", PortZero::Refused));
    EXPECT_TRUE(Address::parse("[::1]:65535", PortZero::Refused));
}

TEST(Address, SaysWhyAnAddressIsRefused) {
    std::string why;
    EXPECT_FALSE(Address::parse("::1:7000", PortZero::Allowed, &why));
    EXPECT_NE(why.find("brackets"), std::string::npos) << why;
    EXPECT_FALSE(Address::parse("host:70000", PortZero::Allowed, &why));
    EXPECT_NE(why.find("over 65535"), std::string::npos) << why;
    EXPECT_FALSE(Address::parse("host", PortZero::Allowed, &why));
    EXPECT_EQ(why, "no :port");
}

TEST(Address, NamesAreKeptAsWritten) {
    const auto address = Address::parse("Redis-1.internal_zone:6379");
    ASSERT_TRUE(address);
    EXPECT_EQ(address->host, "Redis-1.internal_zone");
    EXPECT_EQ(address->numeric_host(), "Redis-1.internal_zone");
    EXPECT_EQ(Address::parse("localhost:6379")->numeric_host(), "127.0.0.1");
    EXPECT_FALSE(Address::parse(std::string(254, 'a') + ":1"));
    EXPECT_TRUE(Address::parse(std::string(253, 'a') + ":1"));
}

TEST(Address, ToStringBracketsIpv6AndRoundTrips) {
    for (const char* text : {"0.0.0.0:7000", "[::1]:7000", "[fe80::1%eth0]:80", "name:1"}) {
        const auto address = Address::parse(text);
        ASSERT_TRUE(address) << text;
        EXPECT_EQ(address->to_string(), text);
        EXPECT_EQ(Address::parse(address->to_string()), address);
    }
}

TEST(Address, LoopbackAndWildcard) {
    for (const char* text : {"localhost:1", "127.0.0.1:1", "127.9.9.9:1", "[::1]:1"}) {
        EXPECT_TRUE(Address::parse(text)->is_loopback()) << text;
    }
    for (const char* text : {"0.0.0.0:1", "[::]:1", "10.0.0.1:1", "127.example.com:1",
                             "localhost.example.com:1", "[::2]:1"}) {
        EXPECT_FALSE(Address::parse(text)->is_loopback()) << text;
    }
    EXPECT_TRUE(Address::parse("0.0.0.0:1")->is_wildcard());
    EXPECT_TRUE(Address::parse("[::]:1")->is_wildcard());
    EXPECT_FALSE(Address::parse("127.0.0.1:1")->is_wildcard());
}

TEST(Address, ListsAreCommaSeparatedWithNoEmptyItem) {
    const auto list = Address::parse_list("k1:9092,[::1]:9093", PortZero::Refused);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0], (Address{"k1", 9092}));
    EXPECT_EQ((*list)[1], (Address{"::1", 9093}));
    for (const char* text : {"", "a:1,", ",a:1", "a:1,,b:2", "a:1,b", "a:1,b:0"}) {
        EXPECT_FALSE(Address::parse_list(text, PortZero::Refused)) << text;
    }
}

}  // namespace
}  // namespace lp::codec
