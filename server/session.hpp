// server/session: one client connection (TCP or WebSocket, plain or TLS) on one event loop.
//
// A session owns its socket, its decoder state and a bounded send queue, and nothing else:
// what a packet means is the SessionHandler's business (handlers/). Everything here runs on the
// session's own loop thread; other threads reach a session only by posting to its loop.
//
// Memory is the point of several choices. A plain session keeps no read buffer: it waits for
// readability and reads into its loop's shared buffer, so an idle connection costs its socket,
// this object and one pending wait. Only an incomplete frame is ever copied into the session.
// Writes are corked: packets queued during one loop turn leave in one gather write at the turn's
// end, straight from the queued buffers (shared broadcast buffers are never copied).
#pragma once

#include <google/protobuf/message.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "codec/frame.hpp"
#include "codec/stream_decoder.hpp"
#include "codec/websocket.hpp"
#include "server/ip_limits.hpp"
#include "server/outbound.hpp"
#include "server/stats.hpp"
#include "server/timing_wheel.hpp"
#include "server/wire.hpp"

namespace lp::server {

class EventLoop;
class Session;
struct UpgradeVerdict;

// One packet from a client, whatever form it arrived in.
struct Inbound {
    codec::Header header;   // text envelopes: code and seq from the envelope, flags = JSON_BODY
    std::string_view body;  // valid only during the handler call
    bool json = false;      // body is protobuf JSON
    bool text = false;      // arrived as a WebSocket text envelope
};

// What handlers/ implements. Called on the session's loop thread.
class SessionHandler {
public:
    virtual ~SessionHandler() = default;
    virtual void on_packet(Session& s, const Inbound& in) = 0;
    // Exactly once per session that reached on_packet-able state or not; after this the
    // session sends nothing.
    virtual void on_closed(Session& s, CloseReason why) = 0;
};

// Per-session user state, filled by the login handler. Kept here (not in a side map) so a
// lookup by session costs nothing.
// Fields are kept small on purpose: an idle session's whole cost is the point (see
// docs/benchmarks.md), so nothing is stored here that no one reads.
// Guest: a session without a token (auth.guests, server/guest_id.hpp); only the server gives
// it, never a token's role claim.
enum class Role : std::uint8_t { Viewer = 0, Anchor, Admin, Guest };
std::string_view to_string(Role r) noexcept;
Role role_from(std::string_view name) noexcept;  // unknown names (and "guest") are viewers

struct SessionUser {
    std::uint64_t id = 0;
    std::string platform;
    std::string scene;  // "room" or another scene name; empty = not set
    Role role = Role::Viewer;
    // The token's profile claims as canonical JSON (auth/profile.hpp), encoded once at login and
    // spliced as it is into each room.chat this user sends; null = no profile (most sessions:
    // 16 bytes, nothing allocated). Shared so work off the loop can hold it without a copy.
    std::shared_ptr<const std::string> profile;
    // BIZ rate limit: a token bucket (handlers/gateway), refilled per second.
    float biz_tokens = -1;  // < 0: not started
    std::uint32_t biz_refill_ms = 0;
    // The same for ACKs that ack nothing in flight.
    float ack_tokens = -1;
    std::uint32_t ack_refill_ms = 0;
    // The same for room.like (room.like_rate_per_s).
    float like_tokens = -1;
    std::uint32_t like_refill_ms = 0;
};

// Per-session state of a layer above the server (the ack window), owned by the session so it
// lives and dies with it and costs nothing for sessions that never use it.
struct SessionExtension {
    virtual ~SessionExtension() = default;
};

// A session's membership in a room on its loop: the room and its index in the loop's member
// list (so leaving is O(1)).
struct RoomSlot {
    std::uint64_t room_id;
    std::uint32_t index;
};

class Session;
// A "consumption scene" (domain.md): inside a live room, or a client that said scene "room".
bool in_consumption_scene(const Session& s) noexcept;

class Session : public std::enable_shared_from_this<Session> {
public:
    virtual ~Session();
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;

    std::uint64_t id() const noexcept { return id_; }
    EventLoop& loop() const noexcept { return loop_; }
    TransportKind transport() const noexcept { return transport_; }
    bool tls() const noexcept { return tls_; }
    // Peer address "ip:port" (computed on demand: sessions do not store it).
    virtual std::string remote() const = 0;
    // The peer's IP address, as the per-IP limits key it (set at accept).
    const IpKey& peer_ip() const noexcept { return peer_ip_; }
    bool closed() const noexcept { return closed_; }
    bool closing() const noexcept { return closing_ || closed_; }

    // ---- login state
    bool logged_in() const noexcept { return logged_in_; }
    // Marks the session logged in; later pushes and replies use the form `req` arrived in.
    void set_logged_in(const Inbound& req);
    SessionUser user;
    std::vector<RoomSlot> rooms;                 // managed by RoomTable (event_loop.hpp)
    std::unique_ptr<SessionExtension> delivery;  // the ack layer's state (ack/)
    Wire wire() const noexcept { return wire_; }
    // The form of a reply to `req`: the session's form after login, the request's before.
    Wire reply_wire(const Inbound* req) const noexcept;

    // ---- sending (on the session's loop only)
    // Encodes `body` as packet `code` in this session's form and queues it.
    void send(codec::Code code, std::uint32_t seq, const google::protobuf::Message& body,
              std::uint8_t flags = 0, const Inbound* in_reply_to = nullptr);
    // Queues bytes already encoded in this session's wire form (a shared broadcast buffer).
    // Null or empty: nothing is queued.
    void send_bytes(const Bytes& bytes);
    // Sends ERROR{code, message} and closes once it is written.
    void fail(std::int32_t code, std::string_view message, const Inbound* req = nullptr,
              CloseReason why = CloseReason::ProtocolError);
    // Sends KICK{reason, reconnect_to} and closes once it is written.
    void kick(std::string_view reason, std::string_view reconnect_to = {},
              CloseReason why = CloseReason::Kicked);
    // Stops reading; closes when everything queued is written (bounded by a short linger).
    void close_after_flush(CloseReason why);
    // Closes now; queued data is dropped.
    void close(CloseReason why);

    // ---- liveness
    // Pushes the deadline to now + 3 heartbeat intervals (never past the login's expiry).
    void touch();
    // Token expiry (auth.expire_sessions): `after` from now the session is sent
    // KICK{token_expired} and closed. It shares the session's one wheel node with the heartbeat
    // deadline (the earlier of the two is filed), so it costs no timer, thread or lock.
    void expire_after(std::chrono::milliseconds after);

    std::size_t queued_bytes() const noexcept { return queued_bytes_; }

    // ---- used by EventLoop and Listener
    virtual void start() = 0;  // on the loop thread, after EventLoop::adopt
    void flush();
    void on_deadline();
    bool flush_pending = false;
    Session* loop_prev = nullptr;
    Session* loop_next = nullptr;
    struct Node : WheelNode {
        Session* owner;
    } wheel_node;

protected:
    Session(EventLoop& loop, TransportKind transport, bool tls);
    void arm_login_deadline();
    // Called once the transport is usable (after TLS handshake); begins reading.
    void on_transport_ready();
    // Bytes read from the transport (the buffer may be modified in place, e.g. unmasking).
    void on_bytes(std::uint8_t* data, std::size_t n);

    // Transport hooks.
    virtual void start_reading() = 0;
    virtual void write_queued() = 0;  // write as much of out_ as possible, then call wrote()
    virtual void close_transport() = 0;
    // Called by write_queued implementations after `n` bytes left.
    void wrote(std::size_t n);
    // How a pass of write_gathered ended.
    enum class GatherResult : std::uint8_t { Drained, WouldBlock, Failed };
    // The plain transport's write loop: gather writes of out_ (from out_offset_, at most
    // kMaxGatherChunks chunks each) through send(const iovec*, std::size_t count) -> ssize_t
    // (a sendmsg: bytes taken, or -1 with errno), calling wrote() after each, until the queue is
    // empty (Drained), a write is short or EAGAIN (WouldBlock) or fails (Failed). Defined in
    // server/gather_write.hpp, so a test can drive it with a scripted send.
    template <class Send>
    GatherResult write_gathered(Send&& send);
    bool write_in_flight_ = false;

    struct Chunk {
        Bytes shared;     // a shared (broadcast) buffer, or
        std::string own;  // bytes encoded for this session alone
        const char* data() const { return shared ? shared->data() : own.data(); }
        std::size_t size() const { return shared ? shared->size() : own.size(); }
    };
    std::vector<Chunk> out_;
    std::size_t out_offset_ = 0;     // bytes of out_[0] already written
    std::size_t locked_chunks_ = 0;  // chunks an in-flight async write is using

private:
    enum class Phase : std::uint8_t { HttpUpgrade, Frames };
    void queue_bytes_of_own(Wire w, codec::Code code, std::uint32_t seq, std::uint8_t flags,
                            const google::protobuf::Message& body);
    std::string& own_tail();
    void account_queued(std::size_t n);
    void on_upgrade_bytes(std::uint8_t* data, std::size_t n);
    void on_ws_bytes(std::uint8_t* data, std::size_t n);
    bool on_ws_message(const codec::ws::Message& m);
    bool dispatch(const Inbound& in);
    void ws_close(std::uint16_t status, std::string_view reason);
    // fail() with the WebSocket Close status that names the error (RFC 6455 7.4.1).
    void fail_closing(std::int32_t code, std::string_view message, const Inbound* req,
                      CloseReason why, std::uint16_t ws_status);
    void send_raw_and_close(std::string bytes, CloseReason why = CloseReason::HandshakeFailed);
    void answer_plain_http(const UpgradeVerdict& v);
    void on_overflow();

    EventLoop& loop_;
    std::uint64_t id_;
    std::size_t queued_bytes_ = 0;
    TransportKind transport_;
    bool tls_;
    bool logged_in_ = false;
    bool ready_ = false;  // transport usable (counted in the sessions gauge)
    bool slow_ = false;   // kicked as a slow consumer (once)
    bool closing_ = false;
    bool closed_ = false;
    bool ip_counted_ = false;  // holds one of its address's connections in IpLimits
    Phase phase_;
    Wire wire_;
    CloseReason close_reason_ = CloseReason::PeerClosed;
    std::uint64_t expire_tick_ = 0;  // wheel tick the login's token expires at; 0 = never
    codec::StreamDecoder decoder_;
    std::unique_ptr<codec::ws::FrameDecoder> ws_;  // WebSocket sessions only
    std::unique_ptr<std::string> upgrade_buf_;     // HTTP upgrade request, until complete
    IpKey peer_ip_;

    friend class EventLoop;
    friend class Listener;
    std::shared_ptr<Session> self_;  // the loop's reference; dropped at close
};

}  // namespace lp::server
