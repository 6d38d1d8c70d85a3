// server/server: a node's transports — the event loops, the TCP and WebSocket listeners (TLS
// on both when a certificate is configured), the hub, and the drain on shutdown.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "server/event_loop.hpp"
#include "server/hub.hpp"
#include "server/ip_limits.hpp"
#include "server/transport.hpp"

namespace boost::asio::ssl {
class context;
}

namespace lp::server {

struct ServerOptions {
    std::string tcp_listen{kDefaultTcpListen};  // empty = no TCP listener
    std::string ws_listen{kDefaultWsListen};    // empty = no WebSocket listener
    unsigned loops = 0;                         // 0 = one per core
    std::uint32_t max_connections = 0;          // 0 = unlimited
    std::string tls_cert;                       // PEM files; both set = TLS on both listeners
    std::string tls_key;
    LoopOptions loop;
    HubOptions hub;
    IpLimitsOptions ip;  // per-IP connection cap and login rate, trusted proxies
};

struct ServerTotals {
    std::uint64_t accepted = 0;
    std::int64_t sessions[2][2] = {{0, 0}, {0, 0}};  // [tcp|ws][plain|tls]
    std::int64_t logged_in = 0;
    std::uint64_t closed[static_cast<int>(CloseReason::kCount)] = {};
    std::uint64_t frames_in = 0, frames_out = 0, bytes_in = 0, bytes_out = 0, writes = 0;
    std::int64_t send_queue_bytes = 0;
    std::uint64_t slow_kicks = 0, protocol_errors = 0, heartbeats = 0;
    std::uint64_t token_expired_kicks = 0;
    std::uint64_t rejected_limit = 0, rejected_per_ip = 0, accept_errors = 0;
    std::int64_t sessions_total() const {
        return sessions[0][0] + sessions[0][1] + sessions[1][0] + sessions[1][1];
    }
};

class Server {
public:
    // Throws std::runtime_error on a bad address, an unbindable port or an unreadable cert.
    Server(ServerOptions opts, SessionHandler& handler);
    ~Server();

    void start();
    std::uint16_t tcp_port() const;  // 0 when not listening
    std::uint16_t ws_port() const;

    Hub& hub() noexcept { return *hub_; }
    IpLimits& ip_limits() noexcept { return *ip_limits_; }
    const std::vector<EventLoop*>& loops() const noexcept { return loop_ptrs_; }
    ServerTotals totals() const;

    // Stops accepting, sends KICK "draining" (with reconnect_to when given) to every session,
    // and waits until they are gone or `timeout` passes. Returns the sessions left.
    std::size_t drain(const std::string& reconnect_to, std::chrono::milliseconds timeout);
    // Same, with reconnect_to chosen per session (e.g. another live node for that user).
    std::size_t drain(std::function<std::string(const Session&)> reconnect_to,
                      std::chrono::milliseconds timeout);
    void stop();  // stops the loops and joins their threads

private:
    ServerOptions opts_;
    std::unique_ptr<boost::asio::ssl::context> tls_;
    std::unique_ptr<IpLimits> ip_limits_;  // outlives the loops (sessions release into it)
    std::vector<std::unique_ptr<EventLoop>> loops_;
    std::vector<EventLoop*> loop_ptrs_;
    std::unique_ptr<Hub> hub_;
    std::unique_ptr<Listener> tcp_;
    std::unique_ptr<Listener> ws_;
    bool stopped_ = false;
};

// "host:port" (codec/address rules; port 0 = any) to an endpoint: the host is an IP literal or
// "localhost" (127.0.0.1), never resolved. Throws std::runtime_error with the address in the
// message.
boost::asio::ip::tcp::endpoint parse_endpoint(const std::string& addr);

}  // namespace lp::server
