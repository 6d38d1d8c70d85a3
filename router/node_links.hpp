// router/node_links: persistent TCP links between the nodes of a cluster.
//
// A node sends to another over an outbound link it opens on first use and keeps: the same
// 16-byte frames as clients speak, with the internal 9xxx codes. Each direction is its own
// connection, so a link is FIFO: what A sends to B arrives in order, which room delivery relies
// on. A link opens with the mutual challenge-response of router/link_hello under
// cluster.secret; nothing else is sent (dialer) or handled (acceptor) before it completes.
// The listener is built for strangers: before the hello a peer may send only small frames,
// must finish within hello_timeout, and inbound connections are capped; every rejection is
// counted by reason and logged (rate-limited) with the peer's address. Outbound queues are
// bounded (over the bound, frames are dropped and counted: a dead peer cannot grow our memory);
// a link that fails (including a failed handshake) reconnects with exponential backoff.
//
// Everything runs on one thread with its own io_context (the cluster thread); send() may be
// called from any thread. Received frames are handed to the handler on that thread.
#pragma once

#include <array>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "codec/frame.hpp"
#include "router/defaults.hpp"
#include "router/link_hello.hpp"

namespace lp::router {

struct NodeLinksOptions {
    std::string listen{kDefaultLinkListen};
    std::string node_id;
    std::string secret;  // cluster.secret, shared by the cluster's nodes and nothing else
    std::size_t max_queue_bytes = kDefaultLinkQueueMaxBytes;  // per outbound link
    std::uint32_t max_body = 16 * 1024 * 1024;  // after the hello; before it, kLinkPreHelloMaxBody
    // Both sides, from TCP connect to welcome.
    std::chrono::milliseconds hello_timeout = kDefaultLinkHelloTimeout;
    // Inbound link connections (any state); over it: closed at once.
    std::size_t max_inbound = kDefaultLinkMaxConnections;
    // All three set: every link is TLS; each side presents tls_cert and accepts only a peer
    // certificate signed by tls_ca (the acceptor requires one). The hello still runs inside.
    std::string tls_cert, tls_key, tls_ca;
    std::chrono::milliseconds backoff_min{100};
    std::chrono::milliseconds backoff_max{5000};
    // Finds a node's link address when a send did not know it (a node this one has not yet
    // seen in its node list). Runs on the cluster thread before each connect attempt.
    std::function<std::string(const std::string& node)> resolve;
};

struct NodeLinksStats {
    std::atomic<std::uint64_t> frames_sent{0};
    std::atomic<std::uint64_t> frames_received{0};
    std::atomic<std::uint64_t> bytes_sent{0};
    std::atomic<std::uint64_t> dropped_queue_full{0};
    std::atomic<std::uint64_t> connects{0};
    std::atomic<std::uint64_t> connect_failures{0};
    // Inbound connections closed by the listener's checks, and outbound handshakes that failed,
    // indexed by LinkReject.
    static constexpr std::size_t kReasons = static_cast<std::size_t>(LinkReject::Tls) + 1;
    std::array<std::atomic<std::uint64_t>, kReasons> rejected{};
    std::array<std::atomic<std::uint64_t>, kReasons> handshake_failures{};
    std::atomic<std::int64_t> outbound_links{0};
    std::atomic<std::int64_t> inbound_links{0};
};

class NodeLinks {
public:
    // (from node, code, body) on the cluster thread.
    using Handler = std::function<void(const std::string&, codec::Code, std::string_view)>;
    NodeLinks(NodeLinksOptions opts, Handler handler);
    ~NodeLinks();

    void start();  // binds (throws std::runtime_error naming cluster.link_listen) and runs
    void stop();
    std::uint16_t port() const;
    boost::asio::io_context& io();  // the cluster thread's context, for timers of the cluster layer

    // Queues a frame to `node` at `addr` (host:port); connects on first use. Thread-safe.
    void send(const std::string& node, const std::string& addr, codec::Code code, std::string body);
    // The node is gone: close its link and drop what is queued for it.
    void forget(const std::string& node);

    const NodeLinksStats& stats() const noexcept { return stats_; }

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
    NodeLinksStats stats_;
};

}  // namespace lp::router
