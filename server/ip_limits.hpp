// server/ip_limits: per-IP client limits — how many connections one address holds and how fast it
// may log in — with a list of trusted proxies (load balancers) that are exempt from both.
//
// It owns one small entry per address that has a live connection or a login bucket still
// refilling, spread over 64 lock stripes keyed by the address, so loops contend only when two
// of them touch the same stripe at the same moment; nothing here is global or runs per packet.
// Memory is bounded: an entry goes when its last connection closes and its bucket is full again
// (at release, or at the periodic sweep), so it never outlives its traffic by more than a few
// seconds. It must never block on I/O or hold a stripe lock while calling out.
//
// Behind a load balancer every client shares the balancer's address: list it in
// server.trusted_proxies (the per-user limits still hold; per-client-IP limits then belong to
// the balancer, which sees the real addresses).
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/ip/address.hpp>
#include <cstdint>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace lp::server {

// An IPv4 or IPv6 address as 16 bytes (IPv4 as v4-mapped IPv6), cheap to copy and hash.
struct IpKey {
    std::array<std::uint8_t, 16> bytes{};
    static IpKey of(const boost::asio::ip::address& a) noexcept;
    bool operator==(const IpKey&) const = default;
};

struct IpLimitsOptions {
    std::uint32_t max_connections_per_ip = 0;  // 0 = unlimited
    std::uint32_t login_rate_per_ip = 0;       // per second, burst of twice that; 0 = unlimited
    std::string trusted_proxies;               // "addr[/prefix],..."
};

struct IpLimitsStats {
    std::atomic<std::uint64_t> connections_refused{0};  // over max_connections_per_ip
    std::atomic<std::uint64_t> logins_refused{0};       // over login_rate_per_ip
};

class IpLimits {
public:
    // Throws std::runtime_error naming the bad item of trusted_proxies.
    explicit IpLimits(IpLimitsOptions opts);

    bool trusted(const IpKey& ip) const noexcept;
    // A new connection from ip: true = admitted (and counted unless trusted; the caller then
    // calls release() when it closes iff `counted` was set), false = over the cap (counted in
    // the stats).
    bool admit_connection(const IpKey& ip, bool& counted);
    void release_connection(const IpKey& ip);
    // A LOGIN from ip: true = within the rate (a token taken), false = refused (counted).
    bool take_login(const IpKey& ip, std::uint64_t now_ms);
    // Drops entries with no connection whose bucket has refilled. Any thread; about once a second.
    void sweep(std::uint64_t now_ms);

    std::size_t tracked() const;  // entries held now (a gauge: memory stays bounded)
    const IpLimitsStats& stats() const noexcept { return stats_; }
    const IpLimitsOptions& options() const noexcept { return opts_; }

private:
    struct Entry {
        std::uint32_t connections = 0;
        float tokens = 0;
        std::uint64_t refill_ms = 0;  // 0 = bucket never used (full)
    };
    struct Hash {
        std::size_t operator()(const IpKey& k) const noexcept;
    };
    struct alignas(64) Stripe {
        mutable std::mutex mu;
        std::unordered_map<IpKey, Entry, Hash> map;
    };
    struct Cidr {
        IpKey net;
        unsigned prefix_bits = 128;
    };
    static constexpr std::size_t kStripes = 64;
    Stripe& stripe(const IpKey& ip) noexcept;
    float burst() const noexcept { return 2.0f * static_cast<float>(opts_.login_rate_per_ip); }
    // The bucket after refilling to now; true when it is full (the entry may then go).
    bool refill(Entry& e, std::uint64_t now_ms) const noexcept;

    IpLimitsOptions opts_;
    std::vector<Cidr> trusted_;
    std::array<Stripe, kStripes> stripes_;
    IpLimitsStats stats_;
};

}  // namespace lp::server
