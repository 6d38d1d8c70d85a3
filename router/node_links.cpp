// router/node_links: see node_links.hpp. One file (~600 lines) because it is one connection
// state machine per peer (connect, TLS, hello, queue, retry) and the listener's mirror of it.
#include "router/node_links.hpp"

#include <spdlog/spdlog.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <deque>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster.pb.h"
#include "codec/stream_decoder.hpp"
#include "server/server.hpp"  // parse_endpoint

namespace lp::router {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

std::string peer_of(const tcp::socket& s) {
    boost::system::error_code ec;
    auto ep = s.remote_endpoint(ec);
    if (ec) return "?";
    return ep.address().to_string() + ":" + std::to_string(ep.port());
}

// At most kLines log lines a second; the rest are counted and summed up in the next line, so a
// flood of bad connections cannot fill the disk.
class LogBudget {
public:
    bool allow() {
        auto now = std::chrono::steady_clock::now();
        if (now - window_ >= std::chrono::seconds(1)) {
            if (suppressed_ > 0)
                spdlog::warn("node links: {} more rejections not logged", suppressed_);
            window_ = now;
            used_ = 0;
            suppressed_ = 0;
        }
        if (used_ >= kLines) {
            ++suppressed_;
            return false;
        }
        ++used_;
        return true;
    }

private:
    static constexpr int kLines = 5;
    std::chrono::steady_clock::time_point window_{};
    int used_ = 0;
    std::uint64_t suppressed_ = 0;
};

void bump(std::array<std::atomic<std::uint64_t>, NodeLinksStats::kReasons>& counters,
          LinkReject r) {
    counters[static_cast<std::size_t>(r)].fetch_add(1, std::memory_order_relaxed);
}

// A link's byte stream: plain TCP, or TLS over it when cluster.link_tls_* are set.
class LinkStream {
public:
    LinkStream(asio::io_context& io, asio::ssl::context* tls) { reset(io, tls); }
    LinkStream(tcp::socket s, asio::ssl::context* tls) {
        if (tls)
            tls_.emplace(std::move(s), *tls);
        else
            plain_.emplace(std::move(s));
    }
    void reset(asio::io_context& io, asio::ssl::context* tls) {
        tls_.reset();
        plain_.reset();
        if (tls)
            tls_.emplace(io, *tls);
        else
            plain_.emplace(io);
    }
    bool tls() const noexcept { return tls_.has_value(); }
    tcp::socket& socket() { return tls_ ? tls_->next_layer() : *plain_; }
    void close() {
        boost::system::error_code ignored;
        socket().close(ignored);
    }
    template <class Handler>
    void handshake(asio::ssl::stream_base::handshake_type side, Handler&& h) {
        tls_->async_handshake(side, std::forward<Handler>(h));
    }
    template <class Buffer, class Handler>
    void read_some(const Buffer& b, Handler&& h) {
        if (tls_)
            tls_->async_read_some(b, std::forward<Handler>(h));
        else
            plain_->async_read_some(b, std::forward<Handler>(h));
    }
    template <class Buffers, class Handler>
    void write(const Buffers& b, Handler&& h) {
        if (tls_)
            asio::async_write(*tls_, b, std::forward<Handler>(h));
        else
            asio::async_write(*plain_, b, std::forward<Handler>(h));
    }

private:
    std::optional<tcp::socket> plain_;
    std::optional<asio::ssl::stream<tcp::socket>> tls_;
};

// TLS contexts for both directions: each side presents the node certificate and accepts only
// a peer whose certificate chains to cluster.link_tls_ca (the acceptor requires one).
std::unique_ptr<asio::ssl::context> tls_context(const NodeLinksOptions& o, bool server) {
    auto ctx = std::make_unique<asio::ssl::context>(server ? asio::ssl::context::tls_server
                                                           : asio::ssl::context::tls_client);
    ctx->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                     asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                     asio::ssl::context::no_tlsv1_1);
    boost::system::error_code ec;
    auto need = [&](const char* key, const std::string& path) {
        if (ec) throw std::runtime_error(std::string(key) + " \"" + path + "\": " + ec.message());
    };
    ctx->use_certificate_chain_file(o.tls_cert, ec);
    need("cluster.link_tls_cert", o.tls_cert);
    ctx->use_private_key_file(o.tls_key, asio::ssl::context::pem, ec);
    need("cluster.link_tls_key", o.tls_key);
    ctx->load_verify_file(o.tls_ca, ec);
    need("cluster.link_tls_ca", o.tls_ca);
    ctx->set_verify_mode(server ? asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert
                                : asio::ssl::verify_peer);
    return ctx;
}

}  // namespace

struct NodeLinks::Impl {
    // ---------------------------------------------------------------- outbound
    // States: idle (nothing queued or waiting for backoff) -> connecting (TCP connect and the
    // handshake; `connecting`) -> ready (welcome verified; frames flow) -> idle on any error.
    struct Outbound : std::enable_shared_from_this<Outbound> {
        Impl* impl;
        std::string node;
        std::string addr;
        LinkStream stream;
        asio::steady_timer retry;
        asio::steady_timer deadline;
        std::deque<std::string> queue;
        std::vector<std::string> writing;
        std::size_t queued_bytes = 0;
        std::optional<LinkHelloDialer> hello;  // during the handshake
        codec::StreamDecoder decoder{kLinkPreHelloMaxBody};
        std::array<std::uint8_t, 2048> buf{};
        std::uint64_t attempt = 0;  // tells a stale handler of an earlier connection from ours
        bool connecting = false;
        bool sent_hello = false;
        bool ready = false;
        bool closed = false;
        std::chrono::milliseconds backoff;
        Outbound(Impl* i, std::string n, std::string a)
            : impl(i),
              node(std::move(n)),
              addr(std::move(a)),
              stream(i->io, i->client_tls.get()),
              retry(i->io),
              deadline(i->io),
              backoff(i->opts.backoff_min) {}
    };

    // ---------------------------------------------------------------- inbound
    struct Inbound : std::enable_shared_from_this<Inbound> {
        Impl* impl;
        LinkStream stream;
        asio::steady_timer deadline;
        LinkInboundGate gate;
        std::string peer;       // address, for the log
        std::string node;       // set by a verified hello
        std::string challenge;  // kept alive while being written (the welcome lives in gate)
        bool open = true;
        std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(64 * 1024);
        bool writing_challenge = false, welcome_waiting = false;
        Inbound(Impl* i, tcp::socket s)
            : impl(i),
              stream(std::move(s), i->server_tls.get()),
              deadline(i->io),
              gate(i->opts.secret, i->opts.node_id, link_nonce(), i->opts.max_body),
              peer(peer_of(stream.socket())) {}
    };

    NodeLinksOptions opts;
    Handler handler;
    NodeLinksStats& stats;
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;
    std::unordered_map<std::string, std::shared_ptr<Outbound>> out;
    LogBudget log;
    std::unique_ptr<asio::ssl::context> server_tls, client_tls;  // set: every link is TLS
    bool running = false;

    Impl(NodeLinksOptions o, Handler h, NodeLinksStats& s)
        : opts(std::move(o)), handler(std::move(h)), stats(s) {
        if (!opts.tls_cert.empty()) {
            server_tls = tls_context(opts, true);
            client_tls = tls_context(opts, false);
        }
    }

    // ---------------------------------------------------------------- inbound side

    void accept() {
        acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
            if (!ec) admit(std::move(s));
            accept();
        });
    }

    void admit(tcp::socket s) {
        boost::system::error_code ignored;
        if (static_cast<std::size_t>(stats.inbound_links.load(std::memory_order_relaxed)) >=
            opts.max_inbound) {
            bump(stats.rejected, LinkReject::OverCap);
            if (log.allow())
                spdlog::warn(
                    "node links: closed a connection from {}: over cluster.link_max_connections "
                    "({})",
                    peer_of(s), opts.max_inbound);
            s.close(ignored);
            return;
        }
        s.set_option(tcp::no_delay(true), ignored);
        auto in = std::make_shared<Inbound>(this, std::move(s));
        stats.inbound_links.fetch_add(1, std::memory_order_relaxed);
        in->deadline.expires_after(opts.hello_timeout);
        in->deadline.async_wait([this, in](const boost::system::error_code& ec) {
            if (!ec && in->open && in->node.empty()) reject(in, LinkReject::Deadline);
        });
        if (!in->stream.tls()) {
            start_hello(in);
            return;
        }
        in->stream.handshake(asio::ssl::stream_base::server,
                             [this, in](const boost::system::error_code& ec) {
                                 if (!in->open) return;
                                 if (ec)
                                     reject(in, LinkReject::Tls);
                                 else
                                     start_hello(in);
                             });
    }

    void start_hello(const std::shared_ptr<Inbound>& in) {
        in->challenge = in->gate.challenge_frame();
        in->writing_challenge = true;
        in->stream.write(asio::buffer(in->challenge),
                         [this, in](const boost::system::error_code& ec, std::size_t) {
                             in->writing_challenge = false;
                             if (ec)
                                 close(in);
                             else if (in->welcome_waiting)
                                 write_welcome(in);
                         });
        read(in);
    }

    // One write at a time on a stream: the welcome waits for the challenge's handler if the
    // peer's hello came back before it ran.
    void write_welcome(const std::shared_ptr<Inbound>& in) {
        in->welcome_waiting = false;
        in->stream.write(asio::buffer(in->gate.welcome_frame()),
                         [this, in](const boost::system::error_code& ec, std::size_t) {
                             if (ec) close(in);
                         });
    }

    void close(const std::shared_ptr<Inbound>& in) {
        if (!in->open) return;
        in->open = false;
        in->deadline.cancel();
        in->stream.close();
        stats.inbound_links.fetch_sub(1, std::memory_order_relaxed);
    }

    void reject(const std::shared_ptr<Inbound>& in, LinkReject why) {
        if (!in->open) return;
        bump(stats.rejected, why);
        if (log.allow()) {
            if (in->node.empty())
                spdlog::warn("node links: rejected a connection from {}: {}", in->peer,
                             to_string(why));
            else
                spdlog::warn("node links: closed the link from node {} ({}): {}", in->node,
                             in->peer, to_string(why));
        }
        close(in);
    }

    void read(const std::shared_ptr<Inbound>& in) {
        in->stream.read_some(
            asio::buffer(in->buf), [this, in](const boost::system::error_code& ec, std::size_t n) {
                if (ec || !in->open) {
                    close(in);
                    return;
                }
                auto fed =
                    in->gate.feed(in->buf.data(), n, [&](codec::Code code, std::string_view body) {
                        stats.frames_received.fetch_add(1, std::memory_order_relaxed);
                        try {
                            handler(in->gate.peer(), code, body);
                        } catch (const std::exception&) {
                            // A handler bug must not take the link down; the frame is lost, counted
                            // by the handler's own metrics.
                        }
                        return true;
                    });
                if (fed.proven_now) {
                    in->node = in->gate.peer();
                    in->deadline.cancel();
                    if (in->writing_challenge)
                        in->welcome_waiting = true;
                    else
                        write_welcome(in);
                }
                if (fed.reject != LinkReject::None) {
                    reject(in, fed.reject);
                    return;
                }
                read(in);
            });
    }

    // ---------------------------------------------------------------- outbound side

    void send(const std::string& node, const std::string& addr, std::string frame) {
        auto& link = out[node];
        if (!link || link->closed) link = std::make_shared<Outbound>(this, node, addr);
        if (link->addr != addr && !addr.empty()) link->addr = addr;
        if (link->queued_bytes + frame.size() > opts.max_queue_bytes) {
            stats.dropped_queue_full.fetch_add(1, std::memory_order_relaxed);
            return;
        }
        link->queued_bytes += frame.size();
        link->queue.push_back(std::move(frame));
        if (link->ready)
            write(link);
        else if (!link->connecting && !link->retry.expiry().time_since_epoch().count())
            connect(link);
    }

    void connect(const std::shared_ptr<Outbound>& link) {
        link->connecting = true;
        if (link->addr.empty() && opts.resolve) link->addr = opts.resolve(link->node);
        tcp::endpoint ep;
        try {
            ep = server::parse_endpoint(link->addr);
        } catch (const std::exception&) {
            fail(link);
            return;
        }
        const auto attempt = ++link->attempt;
        link->stream.reset(io, client_tls.get());
        link->decoder = codec::StreamDecoder(kLinkPreHelloMaxBody);
        link->hello.emplace(opts.secret, opts.node_id, link->node, link_nonce());
        link->sent_hello = false;
        link->deadline.expires_after(opts.hello_timeout);
        link->deadline.async_wait([this, link, attempt](const boost::system::error_code& ec) {
            if (ec || link->attempt != attempt || link->closed || !link->connecting) return;
            handshake_failed(link, LinkReject::Deadline);
        });
        link->stream.socket().async_connect(
            ep, [this, link, attempt](const boost::system::error_code& ec) {
                if (link->closed || link->attempt != attempt || !link->connecting) return;
                if (ec) {
                    link->deadline.cancel();
                    fail(link);
                    return;
                }
                boost::system::error_code ignored;
                link->stream.socket().set_option(tcp::no_delay(true), ignored);
                if (!link->stream.tls()) {
                    read_outbound(link, attempt);
                    return;
                }
                link->stream.handshake(
                    asio::ssl::stream_base::client,
                    [this, link, attempt](const boost::system::error_code& ec) {
                        if (link->closed || link->attempt != attempt || !link->connecting) return;
                        if (ec)
                            handshake_failed(link, LinkReject::Tls);
                        else
                            read_outbound(link, attempt);
                    });
            });
    }

    // The dialer reads the challenge and the welcome; after that the acceptor sends nothing,
    // and a read completes only when it closes.
    void read_outbound(const std::shared_ptr<Outbound>& link, std::uint64_t attempt) {
        link->stream.read_some(
            asio::buffer(link->buf),
            [this, link, attempt](const boost::system::error_code& ec, std::size_t n) {
                if (link->closed || link->attempt != attempt) return;
                if (ec) {
                    if (link->ready)
                        drop(link);
                    else if (link->connecting)
                        handshake_failed(link, LinkReject::BadFrame);
                    return;
                }
                if (link->ready) {
                    read_outbound(link, attempt);
                    return;
                }
                LinkReject why = LinkReject::None;
                auto err = link->decoder.feed(link->buf.data(), n, [&](const codec::FrameView& f) {
                    if (!link->sent_hello) {
                        why = link->hello->on_challenge(f);
                        if (why != LinkReject::None) return false;
                        link->sent_hello = true;
                        link->queue.push_front(link->hello->hello_frame());
                        link->queued_bytes += link->queue.front().size();
                        write(link, /*handshake=*/true);
                        return true;
                    }
                    why = link->hello->on_welcome(f);
                    if (why != LinkReject::None) return false;
                    on_ready(link);
                    return false;  // nothing may follow the welcome
                });
                if (why == LinkReject::None && err != codec::DecodeError::None)
                    why = LinkReject::BadFrame;
                if (why != LinkReject::None) {
                    handshake_failed(link, why);
                    return;
                }
                read_outbound(link, attempt);
            });
    }

    void on_ready(const std::shared_ptr<Outbound>& link) {
        link->deadline.cancel();
        link->connecting = false;
        link->ready = true;
        link->hello.reset();
        link->backoff = opts.backoff_min;
        stats.connects.fetch_add(1, std::memory_order_relaxed);
        stats.outbound_links.fetch_add(1, std::memory_order_relaxed);
        write(link);
    }

    void handshake_failed(const std::shared_ptr<Outbound>& link, LinkReject why) {
        bump(stats.handshake_failures, why);
        if (log.allow())
            spdlog::warn("node links: handshake with node {} at {} failed: {}", link->node,
                         link->addr, to_string(why));
        link->stream.close();
        link->deadline.cancel();
        unqueue_hello(link);
        fail(link);
    }

    // During the handshake only the hello may be written (handshake=true); afterwards the queue.
    void write(const std::shared_ptr<Outbound>& link, bool handshake = false) {
        if (!link->writing.empty() || link->queue.empty() || !(link->ready || handshake)) return;
        std::vector<asio::const_buffer> bufs;
        const std::size_t batch = handshake ? 1 : 256;
        while (!link->queue.empty() && link->writing.size() < batch) {
            link->writing.push_back(std::move(link->queue.front()));
            link->queue.pop_front();
        }
        for (auto& f : link->writing) bufs.emplace_back(f.data(), f.size());
        link->stream.write(bufs, [this, link, handshake, attempt = link->attempt](
                                     const boost::system::error_code& ec, std::size_t n) {
            std::size_t frames = link->writing.size();
            for (auto& f : link->writing) link->queued_bytes -= f.size();
            link->writing.clear();
            if (link->closed || link->attempt != attempt) return;
            if (ec) {
                if (link->ready)
                    drop(link);
                else if (link->connecting)
                    handshake_failed(link, LinkReject::BadFrame);
                return;
            }
            if (handshake) {  // the welcome starts the queue; it may have come before this handler
                if (link->ready) write(link);
                return;
            }
            stats.frames_sent.fetch_add(frames, std::memory_order_relaxed);
            stats.bytes_sent.fetch_add(n, std::memory_order_relaxed);
            write(link);
        });
    }

    // The hello is pushed in front of the queue for its write; if the connection fails before
    // that write started, it must not be sent on the next connection.
    void unqueue_hello(const std::shared_ptr<Outbound>& link) {
        if (link->sent_hello && link->hello && !link->queue.empty() &&
            link->queue.front() == link->hello->hello_frame()) {
            link->queued_bytes -= link->queue.front().size();
            link->queue.pop_front();
        }
    }

    // A ready link broke: what was being written is lost (the peer may or may not have it;
    // qos1 messages are in the durable inbox regardless), what is queued is sent on reconnect.
    void drop(const std::shared_ptr<Outbound>& link) {
        link->ready = false;
        stats.outbound_links.fetch_sub(1, std::memory_order_relaxed);
        link->stream.close();
        fail(link);
    }

    void fail(const std::shared_ptr<Outbound>& link) {
        stats.connect_failures.fetch_add(1, std::memory_order_relaxed);
        link->connecting = false;
        link->ready = false;
        ++link->attempt;  // handlers of this connection still queued are now stale
        link->retry.expires_after(link->backoff);
        link->backoff = std::min(link->backoff * 2, opts.backoff_max);
        link->retry.async_wait([this, link](const boost::system::error_code& ec) {
            link->retry.expires_at(asio::steady_timer::time_point{});
            if (ec || link->closed) return;
            if (!link->queue.empty()) connect(link);
        });
    }

    void forget(const std::string& node) {
        auto it = out.find(node);
        if (it == out.end()) return;
        auto link = it->second;
        link->closed = true;
        if (link->ready) stats.outbound_links.fetch_sub(1, std::memory_order_relaxed);
        link->ready = false;
        link->connecting = false;
        link->stream.close();
        link->retry.cancel();
        link->deadline.cancel();
        out.erase(it);
    }
};

NodeLinks::NodeLinks(NodeLinksOptions opts, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(handler), stats_)) {}

NodeLinks::~NodeLinks() {
    stop();
}

void NodeLinks::start() {
    auto& a = impl_->acceptor;
    try {
        auto ep = server::parse_endpoint(impl_->opts.listen);
        a.open(ep.protocol());
        a.set_option(asio::socket_base::reuse_address(true));
        a.bind(ep);
        a.listen();
    } catch (const std::exception& e) {
        throw std::runtime_error("cluster.link_listen \"" + impl_->opts.listen + "\": " + e.what());
    }
    impl_->accept();
    impl_->running = true;
    impl_->thread = std::thread([this] {
        auto guard = asio::make_work_guard(impl_->io);
        impl_->io.run();
    });
}

void NodeLinks::stop() {
    if (!impl_->running) return;
    impl_->running = false;
    impl_->io.stop();
    if (impl_->thread.joinable()) impl_->thread.join();
}

std::uint16_t NodeLinks::port() const {
    return impl_->acceptor.local_endpoint().port();
}

asio::io_context& NodeLinks::io() {
    return impl_->io;
}

void NodeLinks::send(const std::string& node, const std::string& addr, codec::Code code,
                     std::string body) {
    std::string frame = codec::encode_frame(code, 0, 0, body);
    asio::post(impl_->io, [this, node, addr, frame = std::move(frame)]() mutable {
        impl_->send(node, addr, std::move(frame));
    });
}

void NodeLinks::forget(const std::string& node) {
    asio::post(impl_->io, [this, node] { impl_->forget(node); });
}

}  // namespace lp::router
