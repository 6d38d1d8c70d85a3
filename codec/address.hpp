// codec/address: a network address as an operator writes it, "host:port", parsed once.
//
// Every listen address, dial address and advertised address in livepush (config keys, node
// link addresses stored in Redis, tool flags) goes through Address::parse, so they all follow
// the same rules:
//   - host:port, or [IPv6]:port. A bare IPv6 address ("::1:7000") is refused: it is ambiguous.
//     An IPv6 literal may carry a zone ("[fe80::1%eth0]:80"); "[1.2.3.4]:80" is refused.
//   - The host is required. An empty host (":7000") is refused everywhere, so that a forgotten
//     host never turns into a listener on every interface: write 0.0.0.0 (or [::]) for that.
//   - A host that is not an IPv6 literal is an IPv4 literal or a name: letters, digits, '-',
//     '.', '_', at most 253 characters. Names are kept as written; resolving them is the
//     caller's business (this file never touches sockets or Asio).
//   - The port is 1 to 5 decimal digits, no sign or spaces, at most 65535. Port 0 means "any
//     port" (the system picks one) and is allowed only where the caller says so (listeners,
//     advertised addresses that take the bound port); a dialled address refuses it.
// It must never resolve names, open sockets or depend on anything above codec/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lp::codec {

// Whether port 0 ("any port") makes sense where an address is used.
enum class PortZero : bool { Refused, Allowed };

struct Address {
    std::string host;  // without brackets: "0.0.0.0", "::1", "fe80::1%eth0", "redis.internal"
    std::uint16_t port = 0;

    // Parses `text` by the rules above. On failure returns nullopt and, when `why` is given,
    // says what is wrong ("no port", "port 70000 is over 65535", ...).
    static std::optional<Address> parse(std::string_view text,
                                        PortZero port_zero = PortZero::Allowed,
                                        std::string* why = nullptr);
    // "host:port[,host:port...]": every item parsed; nullopt if the list or any item is empty
    // or malformed.
    static std::optional<std::vector<Address>> parse_list(std::string_view text,
                                                          PortZero port_zero = PortZero::Allowed,
                                                          std::string* why = nullptr);

    // The text form parse() accepts: an IPv6 host is bracketed again ("[::1]:7000").
    std::string to_string() const;
    bool is_ipv6() const { return host.find(':') != std::string::npos; }
    // "0.0.0.0" or "::": every interface of a listener, never a place to dial.
    bool is_wildcard() const { return host == "0.0.0.0" || host == "::"; }
    // "localhost", an IPv4 literal in 127.0.0.0/8, or "::1".
    bool is_loopback() const;
    // The host to hand to a resolver-less connect or bind: "localhost" becomes "127.0.0.1"
    // (the one name every part of livepush accepts without a resolver); others unchanged.
    std::string numeric_host() const;

    bool operator==(const Address&) const = default;
};

}  // namespace lp::codec
