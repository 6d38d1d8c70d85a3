// server/stats: counters kept per event loop.
//
// Each loop writes only its own LoopStats (relaxed atomics, no contention, no lock); the metrics
// endpoint sums them across loops when scraped. A loop's stats sit on their own cache lines so
// two loops never false-share.
#pragma once

#include <atomic>
#include <cstdint>

namespace lp::server {

using Counter = std::atomic<std::uint64_t>;
using Gauge = std::atomic<std::int64_t>;

inline void inc(Counter& c, std::uint64_t n = 1) noexcept {
    c.fetch_add(n, std::memory_order_relaxed);
}
inline void add(Gauge& g, std::int64_t n) noexcept {
    g.fetch_add(n, std::memory_order_relaxed);
}
inline std::uint64_t get(const Counter& c) noexcept {
    return c.load(std::memory_order_relaxed);
}
inline std::int64_t get(const Gauge& g) noexcept {
    return g.load(std::memory_order_relaxed);
}

// Why a session ended; also the label of the closed-sessions counter.
enum class CloseReason : std::uint8_t {
    PeerClosed = 0,
    IoError,
    ProtocolError,  // bad frame, bad WebSocket, bad envelope, not logged in
    LoginTimeout,
    HeartbeatTimeout,
    Logout,
    Kicked,           // replaced, admin kick, banned
    SlowConsumer,     // send queue over its bound
    Shutdown,         // drain on SIGTERM
    HandshakeFailed,  // TLS or WebSocket upgrade
    HttpAnswered,     // a plain HTTP request on the WebSocket listener, answered (plain_http.hpp)
    kCount
};
const char* to_string(CloseReason r) noexcept;

// What a plain HTTP request on the WebSocket listener was answered with (a metric label).
enum class HttpAnswerClass : std::uint8_t {
    Ok = 0,       // 2xx, 3xx but 304
    NotModified,  // 304
    NotFound,     // 404
    Refused,      // other 4xx
    RateLimited,  // 429: over the per-IP login budget
    kCount
};
const char* to_string(HttpAnswerClass c) noexcept;

enum class TransportKind : std::uint8_t { Tcp = 0, Ws = 1, kCount };

struct alignas(64) LoopStats {
    Counter accepted;
    Gauge sessions[static_cast<int>(TransportKind::kCount)][2];  // [transport][tls]
    Gauge logged_in;
    Counter closed[static_cast<int>(CloseReason::kCount)];
    Counter frames_in;
    Counter frames_out;
    Counter bytes_in;
    Counter bytes_out;
    Counter writes;          // write syscalls (frames_out / writes = corking factor)
    Gauge send_queue_bytes;  // bytes queued and not yet written, all sessions of the loop
    Counter slow_kicks;
    Counter token_expired_kicks;  // sessions kicked when their login token expired
    Counter protocol_errors;
    Counter heartbeats;
    Counter room_deliveries;  // room messages queued to members (one per member per message)
    Counter room_batches;     // coalesced batches flushed
    // Room deliveries by message class (server/msg_class.hpp): queued to a member, and shed by
    // the viewer budget (one per member that did not get the message).
    Counter room_delivered_by_class[4];
    Counter room_shed_by_class[4];
    Counter direct_deliveries;  // user-targeted and broadcast pushes queued to sessions
    Counter ws_origin_refused;  // WebSocket upgrades refused 403: Origin not allowed
    // Plain HTTP requests on the WebSocket listener (server/plain_http.hpp), by answer class.
    Counter ws_http_requests[static_cast<int>(HttpAnswerClass::kCount)];
};

}  // namespace lp::server
