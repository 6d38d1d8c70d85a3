// tests/server/ip_limits_test: the per-IP limits without sockets — the connection cap and its
// release, the login bucket, trusted proxies (addresses and CIDRs, v4 and v6), bad config, and
// that entries go away so memory follows live traffic only.
#include "server/ip_limits.hpp"

#include <gtest/gtest.h>

#include <stdexcept>

namespace {

using lp::server::IpKey;
using lp::server::IpLimits;
using lp::server::IpLimitsOptions;

IpKey ip(const char* text) {
    return IpKey::of(boost::asio::ip::make_address(text));
}

TEST(IpLimits, ConnectionCapIsPerAddressAndReleased) {
    IpLimits l({3, 0, ""});
    bool counted = false;
    for (int i = 0; i < 3; ++i) ASSERT_TRUE(l.admit_connection(ip("10.0.0.1"), counted));
    EXPECT_TRUE(counted);
    EXPECT_FALSE(l.admit_connection(ip("10.0.0.1"), counted)) << "the 4th from one address";
    EXPECT_FALSE(counted);
    EXPECT_TRUE(l.admit_connection(ip("10.0.0.2"), counted)) << "another address";
    EXPECT_EQ(l.stats().connections_refused.load(), 1u);
    l.release_connection(ip("10.0.0.1"));
    EXPECT_TRUE(l.admit_connection(ip("10.0.0.1"), counted)) << "a released slot";
    for (int i = 0; i < 3; ++i) l.release_connection(ip("10.0.0.1"));
    l.release_connection(ip("10.0.0.2"));
    EXPECT_EQ(l.tracked(), 0u) << "an address with no connection and no bucket is forgotten";
}

TEST(IpLimits, LoginBucketHasABurstOfTwiceTheRateAndRefills) {
    IpLimits l({0, 5, ""});
    int ok = 0;
    for (int i = 0; i < 20; ++i) ok += l.take_login(ip("10.0.0.1"), 1000);
    EXPECT_EQ(ok, 10);
    EXPECT_EQ(l.stats().logins_refused.load(), 10u);
    EXPECT_FALSE(l.take_login(ip("10.0.0.1"), 1100)) << "0.5 tokens after 100 ms";
    EXPECT_TRUE(l.take_login(ip("10.0.0.1"), 1300)) << "one token after 200 ms more";
    EXPECT_TRUE(l.take_login(ip("10.0.0.2"), 1300)) << "another address has its own bucket";
    l.sweep(1500);
    EXPECT_EQ(l.tracked(), 1u) << "10.0.0.2 refilled (swept), 10.0.0.1 still refilling (kept)";
    l.sweep(1300 + 2000 + 1);
    EXPECT_EQ(l.tracked(), 0u) << "full buckets with no connection are swept";
}

TEST(IpLimits, TrustedProxiesAreExemptFromBoth) {
    IpLimits l({1, 1, "192.0.2.7, 10.1.0.0/16,2001:db8::/32"});
    bool counted = true;
    for (const char* a : {"192.0.2.7", "10.1.200.3", "2001:db8::1"}) {
        for (int i = 0; i < 5; ++i) {
            EXPECT_TRUE(l.admit_connection(ip(a), counted)) << a;
            EXPECT_FALSE(counted) << a;
            EXPECT_TRUE(l.take_login(ip(a), 1000)) << a;
        }
    }
    EXPECT_TRUE(l.admit_connection(ip("10.2.0.1"), counted));
    EXPECT_FALSE(l.admit_connection(ip("10.2.0.1"), counted)) << "outside the /16";
    EXPECT_FALSE(l.admit_connection(ip("192.0.2.8"), counted) && !counted);
    EXPECT_EQ(l.tracked(), 2u) << "trusted addresses take no entry";
}

TEST(IpLimits, BadTrustedProxiesAreRefusedAtStart) {
    for (const char* bad : {"10.0.0", "10.0.0.0/33", "::1/129", "10.0.0.0/x", "host.example"})
        EXPECT_THROW(IpLimits({0, 0, bad}), std::runtime_error) << bad;
    EXPECT_NO_THROW(IpLimits({0, 0, " 127.0.0.1 , ::1 ,"}));
}

}  // namespace
