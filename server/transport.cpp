// server/transport: sockets. Plain sessions, TLS sessions and the listeners that make them.
//
// Plain sessions do readiness-based I/O on the raw descriptor: wait for readable, recv() into
// the loop's shared buffer until EAGAIN, and sendmsg() the send queue as one gather write. That
// keeps an idle session free of any read buffer and sends a turn's packets in one syscall.
// TLS sessions use asio::ssl::stream (OpenSSL needs its own buffers anyway).
#include "server/transport.hpp"

#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <boost/asio/basic_socket_acceptor.hpp>
#include <boost/asio/basic_stream_socket.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cerrno>

#include "server/event_loop.hpp"
#include "server/gather_write.hpp"
#include "server/session.hpp"

namespace lp::server {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;
using Acceptor = asio::basic_socket_acceptor<tcp, asio::io_context::executor_type>;

namespace {

constexpr int kMaxReadsPerWake = 8;  // fairness: one busy client cannot starve the loop
constexpr std::size_t kTlsReadBuffer = 16 * 1024;
// Bytes one TLS write takes from the queue (whole chunks, so one big chunk may exceed it).
constexpr std::size_t kTlsWriteBatch = 64 * 1024;

std::string endpoint_string(const Socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "?";
    auto a = ep.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" +
           std::to_string(ep.port());
}

// ---------------------------------------------------------------- PlainSession

class PlainSession final : public Session {
public:
    PlainSession(EventLoop& loop, Socket sock, TransportKind kind)
        : Session(loop, kind, false), sock_(std::move(sock)) {}

    void start() override {
        arm_login_deadline();
        boost::system::error_code ec;
        sock_.native_non_blocking(true, ec);
        if (ec) {
            close(CloseReason::IoError);
            return;
        }
        on_transport_ready();
    }

    std::string remote() const override { return endpoint_string(sock_); }

private:
    std::shared_ptr<PlainSession> self() {
        return std::static_pointer_cast<PlainSession>(shared_from_this());
    }

    void start_reading() override {
        sock_.async_wait(Socket::wait_read,
                         [s = self()](const boost::system::error_code& ec) { s->on_readable(ec); });
    }

    void on_readable(const boost::system::error_code& ec) {
        if (closing()) return;
        if (ec) {
            close(CloseReason::IoError);
            return;
        }
        EventLoop& l = loop();
        for (int i = 0; i < kMaxReadsPerWake; ++i) {
            ssize_t n = ::recv(sock_.native_handle(), l.read_buffer(), l.read_buffer_size(), 0);
            if (n > 0) {
                on_bytes(l.read_buffer(), static_cast<std::size_t>(n));
                if (closing()) return;
                if (static_cast<std::size_t>(n) < l.read_buffer_size()) break;
                continue;
            }
            if (n == 0) {
                close(CloseReason::PeerClosed);
                return;
            }
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            close(CloseReason::IoError);
            return;
        }
        start_reading();
    }

    void write_queued() override {
        auto send_to_socket = [fd = sock_.native_handle()](const iovec* iov, std::size_t count) {
            msghdr msg{};
            msg.msg_iov = const_cast<iovec*>(iov);
            msg.msg_iovlen = count;
            return ::sendmsg(fd, &msg, MSG_NOSIGNAL);
        };
        switch (write_gathered(send_to_socket)) {
            case GatherResult::Drained:
                return;
            case GatherResult::WouldBlock:
                if (!closed()) wait_writable();
                return;
            case GatherResult::Failed:
                close(CloseReason::IoError);
                return;
        }
    }

    void wait_writable() {
        write_in_flight_ = true;
        sock_.async_wait(Socket::wait_write, [s = self()](const boost::system::error_code& ec) {
            s->write_in_flight_ = false;
            if (ec || s->closed()) return;
            s->flush();
        });
    }

    void close_transport() override {
        int fd = sock_.native_handle();
        if (fd >= 0) {
            // Send FIN after what is queued in the kernel, and swallow input already here so
            // the close does not turn into a reset that could destroy our last frames.
            ::shutdown(fd, SHUT_WR);
            char sink[4096];
            for (int i = 0; i < 4 && ::recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; ++i) {
            }
        }
        boost::system::error_code ec;
        sock_.close(ec);
    }

    Socket sock_;
};

// ---------------------------------------------------------------- TlsSession

class TlsSession final : public Session {
public:
    TlsSession(EventLoop& loop, Socket sock, TransportKind kind, asio::ssl::context& ctx)
        : Session(loop, kind, true), stream_(std::move(sock), ctx) {}

    void start() override {
        arm_login_deadline();
        stream_.async_handshake(asio::ssl::stream_base::server,
                                [s = self()](const boost::system::error_code& ec) {
                                    if (s->closed()) return;
                                    if (ec) {
                                        s->close(CloseReason::HandshakeFailed);
                                        return;
                                    }
                                    s->on_transport_ready();
                                });
    }

    std::string remote() const override { return endpoint_string(stream_.next_layer()); }

private:
    std::shared_ptr<TlsSession> self() {
        return std::static_pointer_cast<TlsSession>(shared_from_this());
    }

    void start_reading() override {
        if (!rbuf_) rbuf_ = std::make_unique<std::uint8_t[]>(kTlsReadBuffer);
        stream_.async_read_some(
            asio::buffer(rbuf_.get(), kTlsReadBuffer),
            [s = self()](const boost::system::error_code& ec, std::size_t n) {
                if (s->closing()) return;
                if (ec) {
                    bool eof = ec == asio::error::eof || ec == asio::ssl::error::stream_truncated;
                    s->close(eof ? CloseReason::PeerClosed : CloseReason::IoError);
                    return;
                }
                s->on_bytes(s->rbuf_.get(), n);
                if (!s->closing()) s->start_reading();
            });
    }

    // asio's SSL stream hands a buffer sequence to OpenSSL one buffer per SSL_write, each after
    // the previous record has left, so an async_write reads its buffers over several loop turns
    // while the session keeps queueing. out_ may reallocate in that time, and a short own chunk
    // keeps its bytes inside the std::string (small-string buffer), so they would move under the
    // write. The in-flight bytes are therefore copied into wbuf_, which nothing else touches
    // until the write completes. The copy is cheap next to the encryption that copies them
    // anyway, and one buffer makes one SSL_write (one record, one send) instead of one per chunk.
    void write_queued() override {
        wbuf_.clear();
        std::size_t count = 0;
        for (; count < out_.size() && wbuf_.size() < kTlsWriteBatch; ++count) {
            const char* d = out_[count].data();
            std::size_t len = out_[count].size();
            if (count == 0) {
                d += out_offset_;
                len -= out_offset_;
            }
            wbuf_.append(d, len);
        }
        // The copied chunks stay in out_ (wrote() consumes them) and must not be dropped or
        // appended to before the write completes.
        locked_chunks_ = count;
        write_in_flight_ = true;
        asio::async_write(stream_, asio::buffer(wbuf_),
                          [s = self()](const boost::system::error_code& ec, std::size_t n) {
                              s->write_in_flight_ = false;
                              s->locked_chunks_ = 0;
                              if (s->closed()) return;
                              if (ec) {
                                  s->close(CloseReason::IoError);
                                  return;
                              }
                              s->wrote(n);
                              if (s->closed()) return;
                              if (!s->out_.empty()) {
                                  s->flush();
                              } else {
                                  // An idle session keeps no write buffer (as out_ in wrote()).
                                  std::string().swap(s->wbuf_);
                              }
                          });
    }

    void close_transport() override {
        boost::system::error_code ec;
        stream_.next_layer().close(ec);
    }

    asio::ssl::stream<Socket> stream_;
    std::unique_ptr<std::uint8_t[]> rbuf_;
    std::string wbuf_;  // the bytes of the write in flight (see write_queued)
};

}  // namespace

// ---------------------------------------------------------------- Listener

struct Listener::State : std::enable_shared_from_this<Listener::State> {
    State(std::vector<EventLoop*> l, TransportKind k, asio::ssl::context* t,
          std::function<bool()> a, IpLimits* ipl)
        : loops(std::move(l)),
          acceptor(loops.front()->io()),
          retry(loops.front()->io()),
          kind(k),
          tls(t),
          admit(std::move(a)),
          ip_limits(ipl) {}

    void accept() {
        if (stopped) return;
        EventLoop* target = loops[next++ % loops.size()];
        acceptor.async_accept(target->io(), [self = shared_from_this(), target](
                                                const boost::system::error_code& ec, Socket sock) {
            self->on_accept(ec, std::move(sock), *target);
        });
    }

    void on_accept(const boost::system::error_code& ec, Socket sock, EventLoop& target) {
        if (stopped || ec == asio::error::operation_aborted) return;
        if (ec) {
            inc(stats.accept_errors);
            // Out of descriptors: back off instead of spinning on the same error.
            retry.expires_after(std::chrono::milliseconds(100));
            retry.async_wait([self = shared_from_this()](const boost::system::error_code& e) {
                if (!e) self->accept();
            });
            return;
        }
        if (!admit()) {
            inc(stats.rejected_limit);
            boost::system::error_code ignored;
            sock.close(ignored);
            accept();
            return;
        }
        // Per-IP cap: closed at once, before any TLS or upgrade work is spent on it.
        IpKey ip;
        bool counted = false;
        if (ip_limits) {
            boost::system::error_code ep_ec;
            auto ep = sock.remote_endpoint(ep_ec);
            if (!ep_ec) ip = IpKey::of(ep.address());
            if (!ep_ec && !ip_limits->admit_connection(ip, counted)) {
                inc(stats.rejected_per_ip);
                boost::system::error_code ignored;
                sock.close(ignored);
                accept();
                return;
            }
        }
        boost::system::error_code ignored;
        sock.set_option(tcp::no_delay(true), ignored);
        inc(stats.accepted);
        inc(target.stats().accepted);
        asio::post(target.io(), [&target, kind = kind, tls = tls, ip, counted,
                                 sock = std::move(sock)]() mutable {
            std::shared_ptr<Session> s;
            if (tls)
                s = std::make_shared<TlsSession>(target, std::move(sock), kind, *tls);
            else
                s = std::make_shared<PlainSession>(target, std::move(sock), kind);
            s->peer_ip_ = ip;
            s->ip_counted_ = counted;
            target.adopt(s);
            s->start();
        });
        accept();
    }

    std::vector<EventLoop*> loops;
    Acceptor acceptor;
    asio::steady_timer retry;
    TransportKind kind;
    asio::ssl::context* tls;
    std::function<bool()> admit;
    IpLimits* ip_limits;
    ListenerStats stats;
    std::size_t next = 0;
    bool stopped = false;
    // The bound port, read once after bind: port() is asked from other threads (the API's
    // console overview) while this loop accepts, and the acceptor is not thread-safe.
    std::uint16_t bound_port = 0;
};

Listener::Listener(std::vector<EventLoop*> loops, const tcp::endpoint& ep, TransportKind kind,
                   asio::ssl::context* tls, std::function<bool()> admit, IpLimits* ip_limits)
    : state_(std::make_shared<State>(std::move(loops), kind, tls, std::move(admit), ip_limits)) {
    auto& a = state_->acceptor;
    a.open(ep.protocol());
    a.set_option(asio::socket_base::reuse_address(true));
    a.bind(ep);
    a.listen(asio::socket_base::max_listen_connections);
    state_->bound_port = a.local_endpoint().port();
}

Listener::~Listener() {
    stop();
}

const ListenerStats& Listener::stats() const {
    return state_->stats;
}

std::uint16_t Listener::port() const {
    return state_->bound_port;
}

void Listener::start() {
    asio::post(state_->loops.front()->io(), [s = state_] { s->accept(); });
}

void Listener::stop() {
    asio::post(state_->loops.front()->io(), [s = state_] {
        s->stopped = true;
        boost::system::error_code ec;
        s->acceptor.close(ec);
        s->retry.cancel();
    });
}

}  // namespace lp::server
