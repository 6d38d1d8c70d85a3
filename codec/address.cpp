// codec/address: see address.hpp for the rules. inet_pton is only a parser here (no socket).
#include "codec/address.hpp"

#include <arpa/inet.h>

#include <charconv>

namespace lp::codec {
namespace {

bool is_host_name_or_ipv4(std::string_view host) {
    if (host.empty() || host.size() > 253) return false;
    for (char c : host) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                        (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_';
        if (!ok) return false;
    }
    return true;
}

// The inside of [...]: an IPv6 address, optionally with a %zone (fe80::1%eth0).
bool is_ipv6_literal(std::string_view host) {
    const std::size_t percent = host.find('%');
    const std::string address(host.substr(0, percent));
    if (percent != std::string_view::npos) {
        const std::string_view zone = host.substr(percent + 1);
        if (zone.empty() || !is_host_name_or_ipv4(zone)) return false;
    }
    unsigned char bytes[16];
    return inet_pton(AF_INET6, address.c_str(), bytes) == 1;
}

bool is_ipv4_literal(const std::string& host) {
    unsigned char bytes[4];
    return inet_pton(AF_INET, host.c_str(), bytes) == 1;
}

bool fail(std::string* why, std::string text) {
    if (why != nullptr) *why = std::move(text);
    return false;
}

// Splits `text` into host and port text by the bracket rule; false (and why) when malformed.
bool split(std::string_view text, std::string_view& host, std::string_view& port,
           std::string* why) {
    if (text.starts_with('[')) {
        const std::size_t close = text.find(']');
        if (close == std::string_view::npos) return fail(why, "no closing ']'");
        if (close + 1 >= text.size() || text[close + 1] != ':') {
            return fail(why, "no :port after ']'");
        }
        host = text.substr(1, close - 1);
        port = text.substr(close + 2);
        if (!is_ipv6_literal(host)) return fail(why, "[...] holds no IPv6 address");
        return true;
    }
    // A bare IPv6 address ("::1:7000") is ambiguous, so it must be bracketed: the host check
    // below refuses any further ':'.
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) return fail(why, "no :port");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.empty()) return fail(why, "no host (write 0.0.0.0 for every interface)");
    if (!is_host_name_or_ipv4(host)) {
        return fail(why, host.find(':') != std::string_view::npos
                             ? "an IPv6 address must be in brackets, [::1]:7000"
                             : "the host is not a name or an IP address");
    }
    return true;
}

bool parse_port(std::string_view text, PortZero port_zero, std::uint16_t& out, std::string* why) {
    if (text.empty()) return fail(why, "no port");
    if (text.size() > 5 || text.find_first_not_of("0123456789") != std::string_view::npos) {
        return fail(why, "the port is not a number from 0 to 65535");
    }
    unsigned value = 0;
    std::from_chars(text.data(), text.data() + text.size(), value);
    if (value > 65535) return fail(why, "port " + std::string(text) + " is over 65535");
    if (value == 0 && port_zero == PortZero::Refused) {
        return fail(why, "port 0 (any port) cannot be dialled");
    }
    out = static_cast<std::uint16_t>(value);
    return true;
}

}  // namespace

std::optional<Address> Address::parse(std::string_view text, PortZero port_zero, std::string* why) {
    std::string_view host;
    std::string_view port_text;
    std::uint16_t port = 0;
    if (!split(text, host, port_text, why) || !parse_port(port_text, port_zero, port, why)) {
        return std::nullopt;
    }
    return Address{std::string(host), port};
}

std::optional<std::vector<Address>> Address::parse_list(std::string_view text, PortZero port_zero,
                                                        std::string* why) {
    std::vector<Address> out;
    for (std::size_t start = 0;;) {
        const std::size_t comma = text.find(',', start);
        const std::string_view item = text.substr(start, comma - start);
        auto address = parse(item, port_zero, why);
        if (!address) return std::nullopt;
        out.push_back(std::move(*address));
        if (comma == std::string_view::npos) return out;
        start = comma + 1;
    }
}

std::string Address::to_string() const {
    std::string out = is_ipv6() ? "[" + host + "]" : host;
    out += ':';
    out += std::to_string(port);
    return out;
}

bool Address::is_loopback() const {
    if (host == "localhost" || host == "::1") return true;
    return host.starts_with("127.") && is_ipv4_literal(host);
}

std::string Address::numeric_host() const {
    return host == "localhost" ? "127.0.0.1" : host;
}

}  // namespace lp::codec
