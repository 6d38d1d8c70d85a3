// server/server: see server.hpp.
#include "server/server.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <future>
#include <stdexcept>
#include <thread>

#include "codec/address.hpp"
#include "server/session.hpp"

namespace lp::server {

namespace asio = boost::asio;

asio::ip::tcp::endpoint parse_endpoint(const std::string& addr) {
    std::string why;
    const auto address = codec::Address::parse(addr, codec::PortZero::Allowed, &why);
    if (!address) throw std::runtime_error("\"" + addr + "\" is not host:port: " + why);
    const std::string host = address->numeric_host();
    boost::system::error_code ec;
    auto ip = asio::ip::make_address(host, ec);
    if (ec) throw std::runtime_error("\"" + addr + "\": \"" + host + "\" is not an IP address");
    return {ip, address->port};
}

Server::Server(ServerOptions opts, SessionHandler& handler) : opts_(std::move(opts)) {
    unsigned n = opts_.loops ? opts_.loops : std::max(1u, std::thread::hardware_concurrency());
    ip_limits_ = std::make_unique<IpLimits>(opts_.ip);
    for (unsigned i = 0; i < n; ++i) {
        loops_.push_back(std::make_unique<EventLoop>(i, opts_.loop, handler));
        loops_.back()->set_ip_limits(ip_limits_.get());
        loop_ptrs_.push_back(loops_.back().get());
    }
    hub_ = std::make_unique<Hub>(loop_ptrs_, opts_.hub);
    if (!opts_.tls_cert.empty() || !opts_.tls_key.empty()) {
        if (opts_.tls_cert.empty() || opts_.tls_key.empty())
            throw std::runtime_error("TLS needs both tls.cert and tls.key");
        tls_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
        tls_->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                          asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                          asio::ssl::context::no_tlsv1_1 | asio::ssl::context::single_dh_use);
        boost::system::error_code ec;
        tls_->use_certificate_chain_file(opts_.tls_cert, ec);
        if (ec) throw std::runtime_error("tls.cert \"" + opts_.tls_cert + "\": " + ec.message());
        tls_->use_private_key_file(opts_.tls_key, asio::ssl::context::pem, ec);
        if (ec) throw std::runtime_error("tls.key \"" + opts_.tls_key + "\": " + ec.message());
    }
    auto admit = [this] {
        return opts_.max_connections == 0 ||
               totals().sessions_total() < static_cast<std::int64_t>(opts_.max_connections);
    };
    auto make_listener = [&](const std::string& addr, TransportKind kind, const char* key) {
        try {
            return std::make_unique<Listener>(loop_ptrs_, parse_endpoint(addr), kind, tls_.get(),
                                              admit, ip_limits_.get());
        } catch (const boost::system::system_error& e) {
            throw std::runtime_error(std::string(key) + " \"" + addr + "\": " + e.code().message());
        } catch (const std::runtime_error& e) {
            throw std::runtime_error(std::string(key) + ": " + e.what());
        }
    };
    if (!opts_.tcp_listen.empty())
        tcp_ = make_listener(opts_.tcp_listen, TransportKind::Tcp, "server.tcp_listen");
    if (!opts_.ws_listen.empty())
        ws_ = make_listener(opts_.ws_listen, TransportKind::Ws, "server.ws_listen");
}

Server::~Server() {
    stop();
}

void Server::start() {
    for (auto& l : loops_) l->start();
    if (tcp_) tcp_->start();
    if (ws_) ws_->start();
}

std::uint16_t Server::tcp_port() const {
    return tcp_ ? tcp_->port() : 0;
}
std::uint16_t Server::ws_port() const {
    return ws_ ? ws_->port() : 0;
}

ServerTotals Server::totals() const {
    ServerTotals t;
    for (auto* l : loop_ptrs_) {
        const LoopStats& s = l->stats();
        t.accepted += get(s.accepted);
        for (int k = 0; k < 2; ++k)
            for (int j = 0; j < 2; ++j) t.sessions[k][j] += get(s.sessions[k][j]);
        t.logged_in += get(s.logged_in);
        for (int r = 0; r < static_cast<int>(CloseReason::kCount); ++r)
            t.closed[r] += get(s.closed[r]);
        t.frames_in += get(s.frames_in);
        t.frames_out += get(s.frames_out);
        t.bytes_in += get(s.bytes_in);
        t.bytes_out += get(s.bytes_out);
        t.writes += get(s.writes);
        t.send_queue_bytes += get(s.send_queue_bytes);
        t.slow_kicks += get(s.slow_kicks);
        t.token_expired_kicks += get(s.token_expired_kicks);
        t.protocol_errors += get(s.protocol_errors);
        t.heartbeats += get(s.heartbeats);
    }
    for (const Listener* l : {tcp_.get(), ws_.get()}) {
        if (!l) continue;
        t.rejected_limit += get(l->stats().rejected_limit);
        t.rejected_per_ip += get(l->stats().rejected_per_ip);
        t.accept_errors += get(l->stats().accept_errors);
    }
    return t;
}

std::size_t Server::drain(const std::string& reconnect_to, std::chrono::milliseconds timeout) {
    return drain([reconnect_to](const Session&) { return reconnect_to; }, timeout);
}

std::size_t Server::drain(std::function<std::string(const Session&)> reconnect_to,
                          std::chrono::milliseconds timeout) {
    if (tcp_) tcp_->stop();
    if (ws_) ws_->stop();
    for (auto* l : loop_ptrs_) {
        asio::post(l->io(), [l, reconnect_to] {
            l->for_each_session([&](Session& s) {
                if (s.logged_in())
                    s.kick("draining", reconnect_to(s), CloseReason::Shutdown);
                else
                    s.close_after_flush(CloseReason::Shutdown);
            });
        });
    }
    auto deadline = std::chrono::steady_clock::now() + timeout;
    std::size_t left = 0;
    do {
        // session_count() is read from this thread; an approximate value is enough here.
        left = 0;
        for (auto* l : loop_ptrs_) left += l->session_count();
        if (left == 0) break;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    } while (std::chrono::steady_clock::now() < deadline);
    return left;
}

void Server::stop() {
    if (stopped_) return;
    stopped_ = true;
    tcp_.reset();
    ws_.reset();
    for (auto& l : loops_) l->stop();
    for (auto& l : loops_) l->join();
}

}  // namespace lp::server
