// server/ip_limits: see ip_limits.hpp.
#include "server/ip_limits.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <stdexcept>

namespace lp::server {

namespace {

std::string trim(std::string s) {
    auto not_space = [](unsigned char c) { return !std::isspace(c); };
    s.erase(s.begin(), std::find_if(s.begin(), s.end(), not_space));
    s.erase(std::find_if(s.rbegin(), s.rend(), not_space).base(), s.end());
    return s;
}

bool prefix_matches(const IpKey& a, const IpKey& net, unsigned bits) noexcept {
    unsigned full = bits / 8;
    if (std::memcmp(a.bytes.data(), net.bytes.data(), full) != 0) return false;
    unsigned rest = bits % 8;
    if (rest == 0) return true;
    auto mask = static_cast<std::uint8_t>(0xFF << (8 - rest));
    return (a.bytes[full] & mask) == (net.bytes[full] & mask);
}

}  // namespace

IpKey IpKey::of(const boost::asio::ip::address& a) noexcept {
    IpKey k;
    if (a.is_v4()) {
        k.bytes =
            boost::asio::ip::make_address_v6(boost::asio::ip::v4_mapped, a.to_v4()).to_bytes();
    } else {
        k.bytes = a.to_v6().to_bytes();
    }
    return k;
}

std::size_t IpLimits::Hash::operator()(const IpKey& k) const noexcept {
    std::uint64_t hi = 0, lo = 0;
    std::memcpy(&hi, k.bytes.data(), 8);
    std::memcpy(&lo, k.bytes.data() + 8, 8);
    return static_cast<std::size_t>((hi * 0x9E3779B97F4A7C15ull) ^ (lo * 0xC2B2AE3D27D4EB4Full));
}

IpLimits::IpLimits(IpLimitsOptions opts) : opts_(std::move(opts)) {
    std::string list = opts_.trusted_proxies;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t comma = list.find(',', start);
        std::string item = trim(
            list.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
        start = comma == std::string::npos ? list.size() + 1 : comma + 1;
        if (item.empty()) continue;
        std::string addr = item;
        int prefix = -1;
        if (auto slash = item.find('/'); slash != std::string::npos) {
            addr = item.substr(0, slash);
            try {
                std::size_t used = 0;
                prefix = std::stoi(item.substr(slash + 1), &used);
                if (used != item.size() - slash - 1) prefix = -2;
            } catch (const std::exception&) {
                prefix = -2;
            }
        }
        boost::system::error_code ec;
        auto ip = boost::asio::ip::make_address(addr, ec);
        int max_bits = !ec && ip.is_v4() ? 32 : 128;
        if (ec || prefix == -2 || prefix > max_bits)
            throw std::runtime_error("server.trusted_proxies: \"" + item +
                                     "\" is not an IP address or address/prefix");
        Cidr c;
        c.net = IpKey::of(ip);
        c.prefix_bits =
            static_cast<unsigned>(prefix < 0 ? 128 : (ip.is_v4() ? 96 + prefix : prefix));
        trusted_.push_back(c);
    }
}

IpLimits::Stripe& IpLimits::stripe(const IpKey& ip) noexcept {
    return stripes_[(Hash{}(ip)*0x9E3779B97F4A7C15ull) >> 58];
}

bool IpLimits::trusted(const IpKey& ip) const noexcept {
    for (const auto& c : trusted_)
        if (prefix_matches(ip, c.net, c.prefix_bits)) return true;
    return false;
}

bool IpLimits::refill(Entry& e, std::uint64_t now_ms) const noexcept {
    if (opts_.login_rate_per_ip == 0 || e.refill_ms == 0) return true;
    float rate = static_cast<float>(opts_.login_rate_per_ip);
    std::uint64_t elapsed = now_ms > e.refill_ms ? now_ms - e.refill_ms : 0;
    e.tokens = std::min(burst(), e.tokens + rate * static_cast<float>(elapsed) / 1000.0f);
    e.refill_ms = now_ms;
    return e.tokens >= burst();
}

bool IpLimits::admit_connection(const IpKey& ip, bool& counted) {
    counted = false;
    if (opts_.max_connections_per_ip == 0 || trusted(ip)) return true;
    Stripe& st = stripe(ip);
    std::lock_guard lock(st.mu);
    Entry& e = st.map[ip];
    if (e.connections >= opts_.max_connections_per_ip) {
        stats_.connections_refused.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    ++e.connections;
    counted = true;
    return true;
}

void IpLimits::release_connection(const IpKey& ip) {
    Stripe& st = stripe(ip);
    std::lock_guard lock(st.mu);
    auto it = st.map.find(ip);
    if (it == st.map.end()) return;
    Entry& e = it->second;
    if (e.connections > 0) --e.connections;
    // The bucket is left as it is (refilled lazily); a full or unused one needs no entry.
    if (e.connections == 0 && (e.refill_ms == 0 || opts_.login_rate_per_ip == 0)) st.map.erase(it);
}

bool IpLimits::take_login(const IpKey& ip, std::uint64_t now_ms) {
    if (opts_.login_rate_per_ip == 0 || trusted(ip)) return true;
    Stripe& st = stripe(ip);
    std::lock_guard lock(st.mu);
    Entry& e = st.map[ip];
    if (e.refill_ms == 0) {
        e.tokens = burst();
        e.refill_ms = now_ms ? now_ms : 1;
    } else {
        refill(e, now_ms);
    }
    if (e.tokens < 1.0f) {
        stats_.logins_refused.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    e.tokens -= 1.0f;
    return true;
}

void IpLimits::sweep(std::uint64_t now_ms) {
    for (auto& st : stripes_) {
        std::lock_guard lock(st.mu);
        for (auto it = st.map.begin(); it != st.map.end();) {
            if (it->second.connections == 0 && refill(it->second, now_ms))
                it = st.map.erase(it);
            else
                ++it;
        }
    }
}

std::size_t IpLimits::tracked() const {
    std::size_t n = 0;
    for (const auto& st : stripes_) {
        std::lock_guard lock(st.mu);
        n += st.map.size();
    }
    return n;
}

}  // namespace lp::server
