// server/transport: listeners and the two socket flavours of a session (plain, TLS).
//
// This is the one translation unit that instantiates Asio's socket and SSL templates for the
// server; everything else sees only Session and Listener.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/stats.hpp"

namespace boost::asio::ssl {
class context;
}

namespace lp::server {

class EventLoop;
class IpLimits;

struct ListenerStats {
    Counter accepted;
    Counter rejected_limit;   // over max_connections
    Counter rejected_per_ip;  // over max_connections_per_ip
    Counter accept_errors;    // EMFILE and friends
};

// Accepts on one address and hands each connection to the next loop, round robin. The accept
// itself runs on the first loop; the socket belongs to its target loop from the start.
class Listener {
public:
    Listener(std::vector<EventLoop*> loops, const boost::asio::ip::tcp::endpoint& ep,
             TransportKind kind, boost::asio::ssl::context* tls,
             std::function<bool()> admit,  // admit(): false = over the connection limit
             IpLimits* ip_limits = nullptr);
    ~Listener();
    std::uint16_t port() const;
    void start();
    void stop();  // thread-safe; closes the acceptor on its loop
    const ListenerStats& stats() const;

private:
    struct State;
    std::shared_ptr<State> state_;
};

}  // namespace lp::server
