// router/node_links: see node_links.hpp.
#include "router/node_links.hpp"

#include <openssl/hmac.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

#include <deque>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <vector>

#include "cluster.pb.h"
#include "codec/stream_decoder.hpp"

namespace lp::router {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

tcp::endpoint to_endpoint(const std::string& addr) {
    auto colon = addr.rfind(':');
    if (colon == std::string::npos) throw std::runtime_error("\"" + addr + "\" is not host:port");
    std::string host = addr.substr(0, colon);
    if (host.size() > 1 && host.front() == '[') host = host.substr(1, host.size() - 2);
    if (host.empty() || host == "localhost") host = "127.0.0.1";
    return {asio::ip::make_address(host), static_cast<unsigned short>(std::stoi(addr.substr(colon + 1)))};
}

bool consttime_equal(const std::string& a, const std::string& b) {
    if (a.size() != b.size()) return false;
    unsigned char d = 0;
    for (std::size_t i = 0; i < a.size(); ++i) d |= static_cast<unsigned char>(a[i] ^ b[i]);
    return d == 0;
}

}  // namespace

std::string NodeLinks::proof(const std::string& secret, const std::string& node_id) {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(node_id.data()), node_id.size(), mac, &len);
    static const char* hex = "0123456789abcdef";
    std::string out;
    for (unsigned i = 0; i < len; ++i) {
        out += hex[mac[i] >> 4];
        out += hex[mac[i] & 15];
    }
    return out;
}

struct NodeLinks::Impl {
    // ---------------------------------------------------------------- outbound
    struct Outbound : std::enable_shared_from_this<Outbound> {
        Impl* impl;
        std::string node;
        std::string addr;
        tcp::socket socket;
        asio::steady_timer retry;
        std::deque<std::string> queue;
        std::vector<std::string> writing;
        std::size_t queued_bytes = 0;
        bool connecting = false;
        bool connected = false;
        bool closed = false;
        std::chrono::milliseconds backoff;
        Outbound(Impl* i, std::string n, std::string a)
            : impl(i), node(std::move(n)), addr(std::move(a)), socket(i->io), retry(i->io),
              backoff(i->opts.backoff_min) {}
    };

    // ---------------------------------------------------------------- inbound
    struct Inbound : std::enable_shared_from_this<Inbound> {
        Impl* impl;
        tcp::socket socket;
        codec::StreamDecoder decoder;
        std::string node;  // set by a valid hello
        std::vector<std::uint8_t> buf = std::vector<std::uint8_t>(64 * 1024);
        Inbound(Impl* i, tcp::socket s) : impl(i), socket(std::move(s)), decoder(i->opts.max_body) {}
    };

    NodeLinksOptions opts;
    Handler handler;
    NodeLinksStats& stats;
    asio::io_context io{1};
    tcp::acceptor acceptor{io};
    std::thread thread;
    std::unordered_map<std::string, std::shared_ptr<Outbound>> out;
    std::string hello_frame;
    bool running = false;

    Impl(NodeLinksOptions o, Handler h, NodeLinksStats& s) : opts(std::move(o)), handler(std::move(h)), stats(s) {
        livepush::cluster::LinkHello hello;
        hello.set_node_id(opts.node_id);
        hello.set_proof(proof(opts.secret, opts.node_id));
        hello_frame = codec::encode_frame(codec::Code::LinkHello, 0, 0, hello.SerializeAsString());
    }

    void accept() {
        acceptor.async_accept([this](const boost::system::error_code& ec, tcp::socket s) {
            if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
            if (!ec) {
                boost::system::error_code ignored;
                s.set_option(tcp::no_delay(true), ignored);
                auto in = std::make_shared<Inbound>(this, std::move(s));
                stats.inbound_links.fetch_add(1, std::memory_order_relaxed);
                read(in);
            }
            accept();
        });
    }

    void read(const std::shared_ptr<Inbound>& in) {
        in->socket.async_read_some(asio::buffer(in->buf), [this, in](const boost::system::error_code& ec, std::size_t n) {
            if (ec) {
                stats.inbound_links.fetch_sub(1, std::memory_order_relaxed);
                return;
            }
            bool ok = true;
            auto err = in->decoder.feed(in->buf.data(), n, [&](const codec::FrameView& f) {
                auto code = static_cast<codec::Code>(f.header.code);
                if (in->node.empty()) {
                    livepush::cluster::LinkHello hello;
                    if (code != codec::Code::LinkHello || !hello.ParseFromArray(f.body.data(), static_cast<int>(f.body.size())) ||
                        !consttime_equal(hello.proof(), proof(opts.secret, hello.node_id()))) {
                        stats.rejected_hello.fetch_add(1, std::memory_order_relaxed);
                        ok = false;
                        return false;
                    }
                    in->node = hello.node_id();
                    return true;
                }
                if (!codec::is_link_code(f.header.code)) {
                    ok = false;
                    return false;
                }
                stats.frames_received.fetch_add(1, std::memory_order_relaxed);
                try {
                    handler(in->node, code, f.body);
                } catch (const std::exception&) {
                    // A handler bug must not take the link down; the frame is lost, counted
                    // by the handler's own metrics.
                }
                return true;
            });
            if (!ok || err != codec::DecodeError::None) {
                boost::system::error_code ignored;
                in->socket.close(ignored);
                stats.inbound_links.fetch_sub(1, std::memory_order_relaxed);
                return;
            }
            read(in);
        });
    }

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
        if (link->connected)
            write(link);
        else if (!link->connecting && !link->retry.expiry().time_since_epoch().count())
            connect(link);
    }

    void connect(const std::shared_ptr<Outbound>& link) {
        link->connecting = true;
        if (link->addr.empty() && opts.resolve) link->addr = opts.resolve(link->node);
        tcp::endpoint ep;
        try {
            ep = to_endpoint(link->addr);
        } catch (const std::exception&) {
            fail(link);
            return;
        }
        link->socket = tcp::socket(io);
        link->socket.async_connect(ep, [this, link](const boost::system::error_code& ec) {
            link->connecting = false;
            if (link->closed) return;
            if (ec) {
                fail(link);
                return;
            }
            boost::system::error_code ignored;
            link->socket.set_option(tcp::no_delay(true), ignored);
            link->connected = true;
            link->backoff = opts.backoff_min;
            stats.connects.fetch_add(1, std::memory_order_relaxed);
            stats.outbound_links.fetch_add(1, std::memory_order_relaxed);
            link->queue.push_front(hello_frame);
            link->queued_bytes += hello_frame.size();
            write(link);
            watch(link);
        });
    }

    // Outbound links are write-only; a read completes only when the peer closes.
    void watch(const std::shared_ptr<Outbound>& link) {
        auto sink = std::make_shared<std::array<char, 64>>();
        link->socket.async_read_some(asio::buffer(*sink), [this, link, sink](const boost::system::error_code& ec, std::size_t) {
            if (!ec) {
                watch(link);
                return;
            }
            if (link->connected && !link->closed) drop(link);
        });
    }

    void write(const std::shared_ptr<Outbound>& link) {
        if (!link->writing.empty() || link->queue.empty() || !link->connected) return;
        std::vector<asio::const_buffer> bufs;
        while (!link->queue.empty() && link->writing.size() < 256) {
            link->writing.push_back(std::move(link->queue.front()));
            link->queue.pop_front();
        }
        for (auto& f : link->writing) bufs.emplace_back(f.data(), f.size());
        asio::async_write(link->socket, bufs, [this, link](const boost::system::error_code& ec, std::size_t n) {
            std::size_t frames = link->writing.size();
            for (auto& f : link->writing) link->queued_bytes -= f.size();
            link->writing.clear();
            if (ec) {
                if (!link->closed) drop(link);
                return;
            }
            stats.frames_sent.fetch_add(frames, std::memory_order_relaxed);
            stats.bytes_sent.fetch_add(n, std::memory_order_relaxed);
            write(link);
        });
    }

    // A connected link broke: what was being written is lost (the peer may or may not have it;
    // qos1 messages are in the durable inbox regardless), what is queued is sent on reconnect.
    void drop(const std::shared_ptr<Outbound>& link) {
        link->connected = false;
        stats.outbound_links.fetch_sub(1, std::memory_order_relaxed);
        boost::system::error_code ignored;
        link->socket.close(ignored);
        if (!link->queue.empty() && link->queue.front() == hello_frame) {
            link->queued_bytes -= hello_frame.size();
            link->queue.pop_front();
        }
        fail(link);
    }

    void fail(const std::shared_ptr<Outbound>& link) {
        stats.connect_failures.fetch_add(1, std::memory_order_relaxed);
        link->connecting = false;
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
        if (link->connected) stats.outbound_links.fetch_sub(1, std::memory_order_relaxed);
        link->connected = false;
        boost::system::error_code ignored;
        link->socket.close(ignored);
        link->retry.cancel();
        out.erase(it);
    }
};

NodeLinks::NodeLinks(NodeLinksOptions opts, Handler handler)
    : impl_(std::make_unique<Impl>(std::move(opts), std::move(handler), stats_)) {}

NodeLinks::~NodeLinks() { stop(); }

void NodeLinks::start() {
    auto& a = impl_->acceptor;
    try {
        auto ep = to_endpoint(impl_->opts.listen);
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

std::uint16_t NodeLinks::port() const { return impl_->acceptor.local_endpoint().port(); }

asio::io_context& NodeLinks::io() { return impl_->io; }

void NodeLinks::send(const std::string& node, const std::string& addr, codec::Code code, std::string body) {
    std::string frame = codec::encode_frame(code, 0, 0, body);
    asio::post(impl_->io, [this, node, addr, frame = std::move(frame)]() mutable {
        impl_->send(node, addr, std::move(frame));
    });
}

void NodeLinks::forget(const std::string& node) {
    asio::post(impl_->io, [this, node] { impl_->forget(node); });
}

}  // namespace lp::router
