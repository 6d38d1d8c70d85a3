// load-test/load_shard: see load_shard.hpp. The only Asio translation unit of livepush-load.
//
// A connection walks Idle → Connecting → (Upgrading) → LoggingIn → Ready → Closed, once; it is
// never reused. Each connection keeps one async_read_some outstanding into its small inline
// buffer: Asio then costs one recv per PONG and no epoll_ctl (an async_wait-per-readiness design
// re-arms epoll on every wait, a syscall per message). Writes are corked: heartbeats queued
// while a read is decoded go out in one write_some at its end; a partial write waits for
// writability and continues from the connection's own small buffer. Nothing in the
// PONG → HEARTBEAT path allocates.
//
// Room, qos1 and plugin-scenario receivers follow the same pattern with bigger inline buffers (a
// coalesced room write holds several PUSH frames; it should arrive in one recv). Nothing in the
// PUSH → ACK path allocates either: PUSH bodies are scanned in place (push_fields.hpp), msg_ids
// and plugin events go into tables sized before the run, and an ACK is encoded straight into the
// output buffer.
#include "load-test/load_shard.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <chrono>
#include <cstring>
#include <deque>
#include <memory>
#include <optional>
#include <stdexcept>
#include <thread>

#include "codec/envelope.hpp"
#include "codec/frame.hpp"
#include "codec/stream_decoder.hpp"
#include "codec/websocket.hpp"
#include "auth/jwt.hpp"
#include "livepush.pb.h"
#include "load-test/clocks.hpp"
#include "load-test/push_fields.hpp"
#include "load-test/ws_handshake.hpp"

namespace lp::load {
namespace {

namespace asio = boost::asio;
namespace ws = codec::ws;
using tcp = asio::ip::tcp;
using boost::system::error_code;

// Per-connection buffer sizes by scenario. Inline input: a few PONGs (pingpong, idle); a
// coalesced room write of a dozen small PUSH frames (room); a qos1 window's worth of pushes is
// rarely in the socket at once (qos1). Bigger bursts continue in the shard's one 64 KiB buffer.
// Output: 4 masked heartbeats or one WS pong; qos1 adds ACKs of up to ~100 msg_ids each.
struct BufferSizes {
    std::uint16_t in;
    std::uint16_t out;
};
// Plugin scenarios: gift effects and PK scores are room messages (room-sized input; the PK's
// anchors ack a few qos1 pk.state pushes); feed items are qos1 pushes one at a time.
BufferSizes buffer_sizes(Scenario s) {
    switch (s) {
        case Scenario::Room:
        case Scenario::Gift:
        case Scenario::Pk:
            return {4096, 160};
        case Scenario::Qos1:
            return {1024, 1024};
        case Scenario::Feed:
            return {1024, 256};
        default:
            return {128, 160};
    }
}
constexpr std::size_t kHeartbeatMaxBytes = 6 + codec::kHeaderSize + 2;  // ws hdr + frame + "{}"
constexpr std::size_t kReadBuffer = 64 * 1024;  // the shard's one read buffer
constexpr int kReadsPerWakeup = 8;              // fairness between busy connections
constexpr std::size_t kMaxUpgradeResponse = 8 * 1024;
constexpr auto kSweepPeriod = std::chrono::milliseconds(200);
constexpr auto kHeartbeatTick = std::chrono::milliseconds(100);

// Entering: room scenario, LOGIN_RESULT received, waiting for the BIZ_RESULT of room.enter.
enum class State : std::uint8_t {
    Idle,
    Connecting,
    Upgrading,
    LoggingIn,
    Entering,
    Ready,
    Closed
};

bool is_connecting(State s) {
    return s == State::Connecting || s == State::Upgrading || s == State::LoggingIn ||
           s == State::Entering;
}

// Only alive between TCP connect and LOGIN_RESULT.
struct Handshake {
    std::string ws_key;
    std::string request;   // the upgrade request; must outlive its async_write
    std::string login;     // the LOGIN frame (masked for WebSocket); same
    std::string enter;     // room: the BIZ room.enter frame; same
    std::string response;  // upgrade response head so far
};

struct LoadConnection {
    LoadConnection(asio::io_context& ioc, std::uint32_t index, std::uint32_t global_index,
                   std::uint32_t max_body, BufferSizes sizes)
        : socket(ioc),
          tcp_decoder(max_body),
          bytes(new std::uint8_t[std::size_t(sizes.in) + sizes.out]),
          index(index),
          global_index(global_index),
          in_size(sizes.in),
          out_size(sizes.out) {}

    std::uint8_t* in() { return bytes.get(); }
    std::uint8_t* out() { return bytes.get() + in_size; }

    tcp::socket socket;
    codec::StreamDecoder tcp_decoder;
    std::unique_ptr<ws::FrameDecoder> ws_decoder;  // WebSocket transport, after the upgrade
    std::unique_ptr<Handshake> handshake;
    std::unique_ptr<std::uint8_t[]> bytes;  // in_size input bytes, then out_size output bytes
    std::vector<std::uint64_t> ack_ids;     // qos1: received, not yet encoded into an ACK
    std::int64_t started_ns = 0;
    std::uint64_t last_room_seq = 0;  // room: the highest room_seq seen (BIZ_RESULT's at first)
    std::uint32_t index;              // in the shard
    std::uint32_t global_index;  // in the run: picks the user id, the room and the source address
    std::uint32_t next_seq = 2;  // 1 is the LOGIN
    std::uint32_t queued_heartbeats = 0;
    std::uint16_t in_size;
    std::uint16_t out_size;
    std::uint16_t out_begin = 0;
    std::uint16_t out_end = 0;
    State state = State::Idle;
    bool waiting_writable = false;
};

// Bytes of v as a protobuf varint.
std::size_t varint_size(std::uint64_t v) {
    std::size_t n = 1;
    // Bounded: at most 9 shifts of 7 bits.
    while (v >= 0x80) {
        v >>= 7;
        ++n;
    }
    return n;
}

std::uint8_t* put_varint(std::uint8_t* p, std::uint64_t v) {
    // Bounded as in varint_size.
    while (v >= 0x80) {
        *p++ = static_cast<std::uint8_t>(v | 0x80);
        v >>= 7;
    }
    *p++ = static_cast<std::uint8_t>(v);
    return p;
}

// The "room_seq" number in room.enter's BIZ_RESULT data (JSON built by the gateway); 0 if absent.
std::uint64_t room_seq_in(std::string_view data_json) {
    constexpr std::string_view key = "\"room_seq\":";
    std::size_t at = data_json.find(key);
    if (at == std::string_view::npos) return 0;
    std::size_t i = at + key.size();
    if (i < data_json.size() && data_json[i] == '"') ++i;  // a uint64 may come as a string
    std::uint64_t v = 0;
    // Bounded by the data's length.
    for (; i < data_json.size() && data_json[i] >= '0' && data_json[i] <= '9'; ++i) {
        v = v * 10 + std::uint64_t(data_json[i] - '0');
    }
    return v;
}

// One heartbeat in flight: the seq it carried, when it was written, and whether it belongs to
// the pingpong loop (its PONG then triggers the next one) or is an idle keep-alive.
struct InflightSlot {
    std::uint32_t seq = 0;
    bool pingpong = false;
    std::int64_t sent_ns = 0;
};

}  // namespace

std::string_view name_of(Failure f) noexcept {
    switch (f) {
        case Failure::Socket:
            return "socket";
        case Failure::Bind:
            return "bind";
        case Failure::Connect:
            return "connect";
        case Failure::ConnectTimeout:
            return "connect_timeout";
        case Failure::Upgrade:
            return "upgrade";
        case Failure::LoginRejected:
            return "login_rejected";
        case Failure::LoginTimeout:
            return "login_timeout";
        case Failure::ClosedDuringLogin:
            return "closed_during_login";
        case Failure::Protocol:
            return "protocol";
        case Failure::EnterRejected:
            return "enter_rejected";
        case Failure::EnterTimeout:
            return "enter_timeout";
        case Failure::NotStarted:
            return "not_started";
        case Failure::Count:
            break;
    }
    return "unknown";
}

std::string_view name_of(Drop d) noexcept {
    switch (d) {
        case Drop::ClosedByServer:
            return "closed_by_server";
        case Drop::Error:
            return "error";
        case Drop::Protocol:
            return "protocol";
        case Drop::Count:
            break;
    }
    return "unknown";
}

struct LoadShard::Impl {
    Impl(const LoadOptions& o, std::uint32_t shard_index, std::uint32_t shard_count)
        : opts(o),
          work(ioc.get_executor()),
          sweep_timer(ioc),
          heartbeat_timer(ioc),
          read_buffer(kReadBuffer),
          mask_state(0x9E3779B9u ^ (shard_index + 1) * 2654435761u),
          sizes(buffer_sizes(o.scenario)),
          receives_pushes(load::receives_pushes(o.scenario)) {
        tcp::resolver resolver(ioc);
        error_code ec;
        auto results = resolver.resolve(opts.host, std::to_string(opts.port),
                                        tcp::resolver::numeric_service, ec);
        if (ec || results.empty()) {
            throw std::runtime_error("cannot resolve " + opts.host + ": " + ec.message());
        }
        target = results.begin()->endpoint();
        for (auto p : opts.ports) targets.emplace_back(target.address(), p);
        if (targets.empty()) targets.push_back(target);
        for (const std::string& ip : opts.source_ips) {
            source_addresses.push_back(asio::ip::make_address(ip, ec));
            if (ec) throw std::runtime_error("bad source address " + ip);
        }
        std::uint32_t i = 0;
        // Bounded by --connections.
        for (std::uint32_t g = shard_index; g < opts.connections; g += shard_count) {
            conns.emplace_back(ioc, i++, g, opts.max_body, sizes);
        }
        if (enters_room(opts.scenario)) room_members_now.assign(opts.rooms, 0);
        if (opts.scenario == Scenario::Qos1) {
            this->results.received_ids.reserve_for(opts.received_ids_per_shard);
        }
        if (opts.plugin.scenario != PluginScenario::None) {
            this->results.plugin.prepare(opts.plugin, static_cast<std::uint32_t>(conns.size()));
        }
        inflight.resize(std::size_t(conns.size()) * std::max<std::uint32_t>(1, opts.inflight));
        concurrency = std::max<std::uint32_t>(1, opts.connect_concurrency / shard_count);
        heartbeat_frame_body = opts.json_body ? "{}" : "";
    }

    const LoadOptions& opts;
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> work;
    asio::steady_timer sweep_timer;
    asio::steady_timer heartbeat_timer;
    std::thread thread;
    tcp::endpoint target;
    std::vector<tcp::endpoint> targets;  // one per node (--ports); connection g uses g % n
    std::vector<asio::ip::address> source_addresses;
    std::deque<LoadConnection> conns;  // deque: addresses stay put, handlers hold references
    std::vector<InflightSlot> inflight;
    std::vector<std::uint8_t> read_buffer;
    std::uint32_t mask_state;
    std::string heartbeat_frame_body;
    livepush::v1::Result login_result;  // reused for every LOGIN_RESULT and room.enter result
    BufferSizes sizes;
    bool receives_pushes;                         // room, qos1, plugins: PUSH frames are checked
    std::vector<std::uint32_t> room_members_now;  // room, gift, pk: ready sessions per room index
    std::uint32_t latency_countdown = 0;          // pushes until the next latency sample
    std::int64_t read_wall_ns = 0;                // wall clock of the current read; 0 = unread
    std::int64_t read_steady_ns = 0;              // steady clock of the current read; 0 = unread

    std::uint32_t concurrency;
    std::uint32_t next_to_start = 0;
    std::uint32_t connecting = 0;
    std::uint32_t heartbeat_cursor = 0;
    bool stop_starting = false;
    bool pinging = false;
    bool measuring = false;
    bool shutting_down = false;
    std::int64_t measure_start_ns = 0;

    std::atomic<std::uint32_t> logged_in{0};
    std::atomic<std::uint32_t> failed{0};
    std::atomic<std::uint32_t> dropped{0};
    std::atomic<bool> measuring_stopped{false};
    std::atomic<std::int64_t> first_connect_ns{0};
    std::atomic<std::int64_t> last_login_ns{0};
    std::atomic<std::uint64_t> pushes_received{0};
    std::atomic<std::uint64_t> unique_ids_received{0};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Failure::Count)> failures{};
    ShardResults results;

    std::uint32_t inflight_per_connection() const {
        return std::max<std::uint32_t>(1, opts.inflight);
    }

    // --- connecting ---------------------------------------------------------------------

    void start_more() {
        // Bounded by the shard's connection count.
        while (!stop_starting && !shutting_down && connecting < concurrency &&
               next_to_start < conns.size()) {
            start_connect(conns[next_to_start++]);
        }
    }

    void start_connect(LoadConnection& c) {
        c.state = State::Connecting;
        c.started_ns = steady_ns();
        ++connecting;
        std::int64_t expected = 0;
        first_connect_ns.compare_exchange_strong(expected, c.started_ns, std::memory_order_relaxed);

        error_code ec;
        c.socket.open(target.protocol(), ec);
        if (ec) return fail(c, Failure::Socket);
        if (!source_addresses.empty()) {
            const auto& source = source_addresses[c.global_index % source_addresses.size()];
            // Defer the port choice to connect(), so the kernel can reuse a source port for
            // different destinations and one source address is not capped at the ephemeral range.
            int one = 1;
            ::setsockopt(c.socket.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one,
                         sizeof one);
            c.socket.bind(tcp::endpoint(source, 0), ec);
            if (ec) return fail(c, Failure::Bind);
        }
        c.socket.async_connect(targets[c.global_index % targets.size()], [this, &c](const error_code& ec) { on_connected(c, ec); });
    }

    void on_connected(LoadConnection& c, const error_code& ec) {
        if (c.state != State::Connecting) return;  // timed out or shut down meanwhile
        if (ec) return fail(c, Failure::Connect);
        error_code ignored;
        c.socket.set_option(tcp::no_delay(true), ignored);
        c.socket.non_blocking(true, ignored);
        c.handshake = std::make_unique<Handshake>();
        if (opts.websocket) {
            std::array<std::uint8_t, 16> nonce;
            for (std::size_t i = 0; i < nonce.size(); i += 4) {
                std::uint32_t r = next_random();
                std::memcpy(nonce.data() + i, &r, 4);
            }
            c.handshake->ws_key = client::websocket_key(nonce.data());
            c.handshake->request = client::websocket_upgrade_request(
                opts.host, opts.port, opts.ws_path, c.handshake->ws_key);
            c.state = State::Upgrading;
            write_handshake(c, c.handshake->request);
        } else {
            send_login(c);
        }
        start_read(c);
    }

    void send_login(LoadConnection& c) {
        c.state = State::LoggingIn;
        std::uint64_t user_id = opts.user_base + c.global_index * opts.user_stride;
        std::int64_t now = unix_s();
        livepush::v1::LoginReq req;
        const char* role = c.global_index < opts.anchors ? "anchor" : "viewer";
        req.set_token(auth::mint_hs256(opts.secret, user_id, role, now, now + 3600));
        req.set_platform(opts.platform);
        c.handshake->login = handshake_frame(codec::Code::Login, 1, req);
        write_handshake(c, c.handshake->login);
    }

    // A LOGIN or room.enter packet in the session's form: its body form, masked as a client's
    // WebSocket message when over WebSocket.
    std::string handshake_frame(codec::Code code, std::uint32_t seq, const google::protobuf::Message& body) {
        std::string frame = codec::encode_frame(code, seq, opts.json_body ? codec::kJsonBody : 0,
                                                codec::serialize_body(body, opts.json_body));
        if (opts.websocket) {
            std::uint8_t key[4];
            std::uint32_t r = next_random();
            std::memcpy(key, &r, 4);
            frame = ws::encode_masked_frame(ws::Opcode::Binary, frame, key);
        }
        return frame;
    }

    // Handshake bytes are rare and larger than the connection's buffer: a plain async_write of
    // a string that lives in the Handshake until LOGIN_RESULT.
    void write_handshake(LoadConnection& c, const std::string& bytes) {
        asio::async_write(c.socket, asio::buffer(bytes),
                          [this, &c](const error_code& ec, std::size_t) {
                              if (ec && is_connecting(c.state)) {
                                  fail(c, failure_for_close(c));
                                  release(c);
                              }
                          });
    }

    // What it means when a connection is still connecting when its time is up.
    static Failure timeout_failure(State s) {
        switch (s) {
            case State::LoggingIn:
                return Failure::LoginTimeout;
            case State::Entering:
                return Failure::EnterTimeout;
            default:
                return Failure::ConnectTimeout;
        }
    }

    // What it means when a connection still connecting is cut off by the server or the network.
    static Failure failure_for_close(const LoadConnection& c) {
        switch (c.state) {
            case State::Upgrading:
                return Failure::Upgrade;
            case State::LoggingIn:
            case State::Entering:
                return Failure::ClosedDuringLogin;
            default:
                return Failure::Connect;
        }
    }

    void on_login_result(LoadConnection& c, const codec::FrameView& fv) {
        bool json = (fv.header.flags & codec::kJsonBody) != 0;
        login_result.Clear();
        if (!codec::parse_body(fv.body, json, login_result) || login_result.code() != 0) {
            return fail(c, Failure::LoginRejected);
        }
        if (enters_room(opts.scenario)) return send_enter(c);
        become_ready(c);
    }

    // Room, gift, pk: BIZ room.enter with seq 2, written like the LOGIN.
    void send_enter(LoadConnection& c) {
        c.state = State::Entering;
        c.next_seq = 3;
        livepush::v1::BizReq req;
        req.set_type("room.enter");
        req.set_data("{\"room_id\":" + std::to_string(room_of(opts, c.global_index)) + "}");
        c.handshake->enter = handshake_frame(codec::Code::Biz, 2, req);
        write_handshake(c, c.handshake->enter);
    }

    void on_enter_result(LoadConnection& c, const codec::FrameView& fv) {
        bool json = (fv.header.flags & codec::kJsonBody) != 0;
        login_result.Clear();
        if (!codec::parse_body(fv.body, json, login_result) || login_result.code() != 0) {
            return fail(c, Failure::EnterRejected);
        }
        // Seqs after this one are new; a first PUSH beyond room_seq + 1 is a gap.
        c.last_room_seq = room_seq_in(login_result.data());
        ++room_members_now[c.global_index % opts.rooms];
        become_ready(c);
    }

    void become_ready(LoadConnection& c) {
        c.state = State::Ready;
        c.handshake.reset();
        --connecting;
        logged_in.fetch_add(1, std::memory_order_relaxed);
        last_login_ns.store(steady_ns(), std::memory_order_relaxed);
        if (pinging) c.queued_heartbeats += inflight_per_connection();
        // A session has at most the server's qos1 window (64) unacked at once.
        if (opts.scenario == Scenario::Qos1) c.ack_ids.reserve(64);
        start_more();
    }

    // A connection that never logged in. Safe inside decoder callbacks: it only closes the
    // socket; memory is released by release() outside them.
    void fail(LoadConnection& c, Failure why) {
        if (!is_connecting(c.state) && c.state != State::Idle) return;
        if (is_connecting(c.state)) --connecting;
        c.state = State::Closed;
        error_code ignored;
        c.socket.close(ignored);
        failures[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
        failed.fetch_add(1, std::memory_order_relaxed);
        if (!shutting_down) asio::post(ioc, [this] { start_more(); });
    }

    // A logged-in connection that ended before the run did.
    void drop(LoadConnection& c, Drop why) {
        if (c.state != State::Ready) return;
        c.state = State::Closed;
        error_code ignored;
        c.socket.close(ignored);
        if (!room_members_now.empty()) --room_members_now[c.global_index % opts.rooms];
        ++results.drops[static_cast<std::size_t>(why)];
        dropped.fetch_add(1, std::memory_order_relaxed);
    }

    void end(LoadConnection& c, Failure before_login, Drop after_login) {
        if (c.state == State::Ready)
            drop(c, after_login);
        else
            fail(c, before_login);
    }

    static void release(LoadConnection& c) {
        // Rebuilt in place: move-assigning an empty decoder would keep the old buffer's capacity.
        std::uint32_t max_body = c.tcp_decoder.max_body();
        std::destroy_at(&c.tcp_decoder);
        std::construct_at(&c.tcp_decoder, max_body);
        c.ws_decoder.reset();
        c.handshake.reset();
        std::vector<std::uint64_t>().swap(c.ack_ids);
    }

    // Fails connections whose connect + upgrade + login took longer than allowed.
    void sweep_deadlines() {
        std::int64_t limit = steady_ns() - std::int64_t(opts.connect_timeout_ms) * 1000000;
        // Bounded by the number of connections started so far.
        for (std::uint32_t i = 0; i < next_to_start; ++i) {
            LoadConnection& c = conns[i];
            if (!is_connecting(c.state) || c.started_ns > limit) continue;
            fail(c, timeout_failure(c.state));
            release(c);
        }
        if (shutting_down) return;
        sweep_timer.expires_after(kSweepPeriod);
        sweep_timer.async_wait([this](const error_code& ec) {
            if (!ec) sweep_deadlines();
        });
    }

    // --- reading --------------------------------------------------------------------------

    // Reads into the connection's small inline buffer. Asio then reads speculatively only when
    // the socket may hold more, and never re-arms epoll for a read (async_wait would cost an
    // epoll_ctl per message); a PONG arrives in one read and costs no other syscall.
    void start_read(LoadConnection& c) {
        c.socket.async_read_some(
            asio::buffer(c.in(), c.in_size),
            [this, &c](const error_code& ec, std::size_t n) { on_read(c, ec, n); });
    }

    void on_read(LoadConnection& c, const error_code& ec, std::size_t n) {
        if (c.state == State::Closed) return;
        if (ec) {
            end(c, failure_for_close(c),
                ec == asio::error::eof ? Drop::ClosedByServer : Drop::Error);
            release(c);
            return;
        }
        read_wall_ns = 0;  // pushes of this read share one clock reading, taken when needed
        read_steady_ns = 0;
        if (n < c.in_size) {
            consume(c, c.in(), n);
        } else {
            drain(c, n);
        }
        if (receives_pushes) {
            pushes_received.store(results.pushes, std::memory_order_relaxed);
            unique_ids_received.store(results.received_ids.size(), std::memory_order_relaxed);
        }
        if (c.state == State::Closed) {
            release(c);
            return;
        }
        flush(c);  // heartbeats and ACKs queued by the frames just decoded go out in one write
        if (c.state != State::Closed) start_read(c);
    }

    // The inline buffer filled up, so more may be waiting: go on in the shard's big buffer,
    // after a copy of what the inline one holds, so that a frame cut by the inline buffer's end
    // is decoded in place rather than copied into the decoder.
    void drain(LoadConnection& c, std::size_t have) {
        std::memcpy(read_buffer.data(), c.in(), have);
        // Bounded: kReadsPerWakeup reads at most (fairness between busy connections).
        for (int reads = 0; reads < kReadsPerWakeup; ++reads) {
            error_code read_error;
            std::size_t got = c.socket.read_some(
                asio::buffer(read_buffer.data() + have, read_buffer.size() - have), read_error);
            have += got;
            bool maybe_more = !read_error && have == read_buffer.size();
            consume(c, read_buffer.data(), have);  // bytes before an error still count
            have = 0;
            if (c.state == State::Closed) return;
            if (read_error && read_error != asio::error::would_block) {
                end(c, failure_for_close(c),
                    read_error == asio::error::eof ? Drop::ClosedByServer : Drop::Error);
                return;
            }
            if (!maybe_more) return;
        }
    }

    void consume(LoadConnection& c, std::uint8_t* data, std::size_t n) {
        if (c.state == State::Upgrading) {
            std::size_t used = consume_upgrade(c, data, n);
            if (c.state == State::Closed || used == n) return;
            data += used;
            n -= used;
        }
        if (opts.websocket) {
            ws::WsError err = c.ws_decoder->feed(
                data, n, [this, &c](const ws::Message& msg) { return on_ws_message(c, msg); });
            if (err != ws::WsError::None) end(c, Failure::Protocol, Drop::Protocol);
            return;
        }
        codec::DecodeError err = c.tcp_decoder.feed(
            data, n, [this, &c](const codec::FrameView& fv) { return on_frame(c, fv); });
        if (err != codec::DecodeError::None) end(c, Failure::Protocol, Drop::Protocol);
    }

    // Accumulates the upgrade response head; returns how many bytes of data belonged to it.
    std::size_t consume_upgrade(LoadConnection& c, const std::uint8_t* data, std::size_t n) {
        std::string& response = c.handshake->response;
        std::size_t before = response.size();
        response.append(reinterpret_cast<const char*>(data), n);
        std::size_t head_end = client::http_head_end(response);
        if (head_end == std::string::npos) {
            if (response.size() > kMaxUpgradeResponse) fail(c, Failure::Upgrade);
            return n;
        }
        if (client::check_upgrade_response(std::string_view(response).substr(0, head_end),
                                           c.handshake->ws_key) != client::UpgradeError::None) {
            fail(c, Failure::Upgrade);
            return n;
        }
        c.ws_decoder = std::make_unique<ws::FrameDecoder>(ws::FrameDecoder::Role::Client,
                                                          codec::kHeaderSize + opts.max_body);
        response = std::string();
        send_login(c);
        return head_end - before;
    }

    bool on_ws_message(LoadConnection& c, const ws::Message& msg) {
        switch (msg.opcode) {
            case ws::Opcode::Binary: {
                codec::FrameView fv;
                if (codec::decode_one(msg.payload, opts.max_body, fv) != codec::DecodeError::None) {
                    end(c, Failure::Protocol, Drop::Protocol);
                    return false;
                }
                return on_frame(c, fv);
            }
            case ws::Opcode::Ping:
                if (!append_ws(c, ws::Opcode::Pong, msg.payload)) ++results.ws_pongs_dropped;
                return true;
            case ws::Opcode::Close:
                append_ws(c, ws::Opcode::Close,
                          msg.payload.substr(0, std::min<std::size_t>(2, msg.payload.size())));
                flush(c);
                end(c, Failure::ClosedDuringLogin, Drop::ClosedByServer);
                return false;
            default:
                return true;  // text envelopes and pongs: not used by the load scenarios
        }
    }

    bool on_frame(LoadConnection& c, const codec::FrameView& fv) {
        switch (static_cast<codec::Code>(fv.header.code)) {
            case codec::Code::Pong:
                on_pong(c, fv.header.seq);
                return true;
            case codec::Code::LoginResult:
                if (c.state == State::LoggingIn && fv.header.seq == 1) on_login_result(c, fv);
                return c.state != State::Closed;
            case codec::Code::BizResult:
                if (c.state == State::Entering && fv.header.seq == 2) on_enter_result(c, fv);
                return c.state != State::Closed;
            case codec::Code::Push:
                on_push(c, fv);
                return true;
            case codec::Code::Kick:
                ++results.kicks;
                return true;
            case codec::Code::Error:
                ++results.error_frames;
                if (is_connecting(c.state)) {
                    fail(c, c.state == State::Entering ? Failure::EnterRejected
                                                       : Failure::LoginRejected);
                    return false;
                }
                return true;  // the server closes after it; counted as a drop then
            default:
                return true;
        }
    }

    // Counts every PUSH; in the room, qos1 and plugin scenarios also checks its order or msg_id
    // or plugin payload, samples its latency and queues its ACK.
    void on_push(LoadConnection& c, const codec::FrameView& fv) {
        ++results.pushes;
        if (measuring) ++results.pushes_measured;
        if (!receives_pushes) return;
        PushFields f;
        if ((fv.header.flags & codec::kJsonBody) != 0 || !scan_push_fields(fv.body, f)) {
            ++results.pushes_unreadable;
            return;
        }
        bool first = true;  // not a duplicate
        if ((fv.header.flags & codec::kAckRequired) != 0) {
            ++results.ack_required;
            first = record_id(c, f.msg_id);
            c.ack_ids.push_back(f.msg_id);  // duplicates are acked too: the server resent them
        }
        // A plugin's room message carries the room's seq; its qos1 pushes to users (pk.state to
        // the anchors) carry none.
        if (opts.scenario == Scenario::Room || (enters_room(opts.scenario) && f.room_id != 0)) {
            first = check_room_seq(c, f);
        }
        if (opts.plugin.scenario != PluginScenario::None) {
            if (read_steady_ns == 0) read_steady_ns = steady_ns();
            // feed: the wall clock too, to compare with the item's ts_ms (its publish time)
            if (opts.plugin.scenario == PluginScenario::Feed && read_wall_ns == 0) {
                read_wall_ns = wall_ns();
            }
            results.plugin.on_push(c.index, f, read_steady_ns, read_wall_ns);
        }
        if (first && f.sent_at_ms != 0 && ++latency_countdown >= opts.latency_sample) {
            latency_countdown = 0;
            if (read_wall_ns == 0) read_wall_ns = wall_ns();
            std::int64_t latency = read_wall_ns - std::int64_t(f.sent_at_ms) * 1000000;
            results.delivery_latency.record(static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency)));
        }
    }

    // qos1: false when this client had the msg_id already.
    bool record_id(LoadConnection& c, std::uint64_t msg_id) {
        switch (results.received_ids.record(msg_id, c.index)) {
            case ReceivedIds::Seen::First:
                return true;
            case ReceivedIds::Seen::Again:
                ++results.id_duplicates;
                return false;
            case ReceivedIds::Seen::OtherClient:
                ++results.id_wrong_client;
                return false;
            case ReceivedIds::Seen::Untracked:
                ++results.ids_untracked;
                return true;
        }
        return true;
    }

    // room: false for a PUSH that is not new to this session (a duplicate, or another room's).
    bool check_room_seq(LoadConnection& c, const PushFields& f) {
        if (f.room_id != room_of(opts, c.global_index)) {
            ++results.pushes_other_room;
            return false;
        }
        if (f.room_seq <= c.last_room_seq) {
            ++results.seq_duplicates;
            return false;
        }
        if (f.room_seq > c.last_room_seq + 1) {
            ++results.seq_gaps;
            results.seq_missing += f.room_seq - c.last_room_seq - 1;
        }
        c.last_room_seq = f.room_seq;
        return true;
    }

    void on_pong(LoadConnection& c, std::uint32_t seq) {
        if (c.state != State::Ready) return;
        ++results.pongs_total;
        std::uint32_t k = inflight_per_connection();
        InflightSlot& slot = inflight[std::size_t(c.index) * k + seq % k];
        if (slot.seq != seq || slot.sent_ns == 0) {
            ++results.unmatched_pongs;
            return;
        }
        if (measuring) {
            results.latency.record(static_cast<std::uint64_t>(steady_ns() - slot.sent_ns));
            ++results.pongs_measured;
        }
        slot.sent_ns = 0;
        if (pinging && slot.pingpong) ++c.queued_heartbeats;
    }

    // --- writing --------------------------------------------------------------------------

    std::uint32_t next_random() {
        // xorshift32: mask keys need variety, not secrecy, and must not cost a syscall each.
        mask_state ^= mask_state << 13;
        mask_state ^= mask_state >> 17;
        mask_state ^= mask_state << 5;
        return mask_state;
    }

    void compact(LoadConnection& c) {
        if (c.out_begin == c.out_end) c.out_begin = c.out_end = 0;
    }

    // Appends one masked WebSocket control frame; false when the buffer has no room for it.
    bool append_ws(LoadConnection& c, ws::Opcode op, std::string_view payload) {
        compact(c);
        std::size_t need = ws::kMaxHeaderSize + payload.size();
        if (payload.size() > 125 || std::size_t(c.out_size - c.out_end) < need) return false;
        std::uint8_t key[4];
        std::uint32_t r = next_random();
        std::memcpy(key, &r, 4);
        std::uint8_t* p = c.out() + c.out_end;
        std::size_t h = ws::encode_header(op, payload.size(), p, key);
        std::memcpy(p + h, payload.data(), payload.size());
        ws::apply_mask(p + h, payload.size(), key);
        c.out_end = static_cast<std::uint16_t>(c.out_end + h + payload.size());
        return true;
    }

    // Encodes one HEARTBEAT into the output buffer and stamps its in-flight slot.
    void append_heartbeat(LoadConnection& c) {
        std::uint32_t seq = c.next_seq++;
        if (c.next_seq == 0) c.next_seq = 2;
        const std::string& body = heartbeat_frame_body;
        codec::Header h;
        h.flags = opts.json_body ? codec::kJsonBody : 0;
        h.code = static_cast<std::uint16_t>(codec::Code::Heartbeat);
        h.seq = seq;
        h.body_len = static_cast<std::uint32_t>(body.size());
        std::uint8_t* p = c.out() + c.out_end;
        std::size_t frame_len = codec::kHeaderSize + body.size();
        if (opts.websocket) {
            std::uint8_t key[4];
            std::uint32_t r = next_random();
            std::memcpy(key, &r, 4);
            std::size_t wh = ws::encode_header(ws::Opcode::Binary, frame_len, p, key);
            codec::encode_header(h, p + wh);
            std::memcpy(p + wh + codec::kHeaderSize, body.data(), body.size());
            ws::apply_mask(p + wh, frame_len, key);
            c.out_end = static_cast<std::uint16_t>(c.out_end + wh + frame_len);
        } else {
            codec::encode_header(h, p);
            std::memcpy(p + codec::kHeaderSize, body.data(), body.size());
            c.out_end = static_cast<std::uint16_t>(c.out_end + frame_len);
        }
        std::uint32_t k = inflight_per_connection();
        inflight[std::size_t(c.index) * k + seq % k] = InflightSlot{seq, pinging, steady_ns()};
    }

    // qos1: encodes one ACK with as many of the connection's pending msg_ids as fit into the
    // output buffer (binary protobuf `Ack`, packed ids). False when not even one fits.
    bool append_ack(LoadConnection& c) {
        compact(c);
        std::size_t overhead =
            (opts.websocket ? ws::kMaxHeaderSize : 0) + codec::kHeaderSize + 1 + 2;  // tag, len
        std::size_t space = c.out_size - c.out_end;
        if (space <= overhead) return false;
        std::size_t budget = std::min<std::size_t>(space - overhead, 16383);  // len: 2 bytes
        std::size_t ids_bytes = 0, count = 0;
        // Bounded by the pending ids.
        for (std::uint64_t id : c.ack_ids) {
            std::size_t n = varint_size(id);
            if (ids_bytes + n > budget) break;
            ids_bytes += n;
            ++count;
        }
        if (count == 0) return false;
        std::size_t body_len = 1 + varint_size(ids_bytes) + ids_bytes;
        std::size_t frame_len = codec::kHeaderSize + body_len;
        std::uint8_t* p = c.out() + c.out_end;
        std::uint8_t key[4];
        std::size_t wh = 0;
        if (opts.websocket) {
            std::uint32_t r = next_random();
            std::memcpy(key, &r, 4);
            wh = ws::encode_header(ws::Opcode::Binary, frame_len, p, key);
        }
        codec::Header h;
        h.code = static_cast<std::uint16_t>(codec::Code::Ack);
        h.body_len = static_cast<std::uint32_t>(body_len);
        codec::encode_header(h, p + wh);
        std::uint8_t* body = p + wh + codec::kHeaderSize;
        *body++ = 0x0A;  // field 1 (msg_ids), length-delimited: packed varints
        body = put_varint(body, ids_bytes);
        for (std::size_t i = 0; i < count; ++i) body = put_varint(body, c.ack_ids[i]);
        if (opts.websocket) ws::apply_mask(p + wh, frame_len, key);
        c.out_end = static_cast<std::uint16_t>(c.out_end + wh + frame_len);
        c.ack_ids.erase(c.ack_ids.begin(), c.ack_ids.begin() + std::ptrdiff_t(count));
        ++results.ack_frames;
        results.acked_ids += count;
        if (measuring) results.acked_ids_measured += count;
        return true;
    }

    // Writes queued heartbeats, ACKs and control frames without blocking; on a partial write it
    // waits for writability and continues there.
    void flush(LoadConnection& c) {
        if (c.waiting_writable || c.state == State::Closed) return;
        // Bounded: each round either empties the buffer or stops on a partial write, and the
        // heartbeats and ACKs it encodes come out of finite queues.
        for (int round = 0; round < 64; ++round) {
            compact(c);
            while (c.state == State::Ready && c.queued_heartbeats > 0 &&
                   std::size_t(c.out_size - c.out_end) >= kHeartbeatMaxBytes) {
                append_heartbeat(c);
                --c.queued_heartbeats;
            }
            // Bounded: each ACK takes at least one id off the queue, or the loop stops.
            while (c.state == State::Ready && !c.ack_ids.empty() && append_ack(c)) {
            }
            if (c.out_begin == c.out_end) return;
            error_code ec;
            std::size_t n = c.socket.write_some(
                asio::buffer(c.out() + c.out_begin, c.out_end - c.out_begin), ec);
            if (ec && ec != asio::error::would_block) {
                end(c, failure_for_close(c), Drop::Error);
                return;
            }
            c.out_begin = static_cast<std::uint16_t>(c.out_begin + n);
            if (c.out_begin != c.out_end) {
                wait_writable(c);
                return;
            }
            if (c.queued_heartbeats == 0 && c.ack_ids.empty()) return;
        }
    }

    void wait_writable(LoadConnection& c) {
        c.waiting_writable = true;
        c.socket.async_wait(tcp::socket::wait_write, [this, &c](const error_code& ec) {
            c.waiting_writable = false;
            if (c.state == State::Closed) return;
            if (ec) {
                end(c, failure_for_close(c), Drop::Error);
                release(c);
                return;
            }
            flush(c);
        });
    }

    // Spreads idle heartbeats: each tick visits the slice of connections that makes every
    // connection send one per --heartbeat-ms, with one timer for the whole shard.
    void heartbeat_tick() {
        if (shutting_down) return;
        std::size_t n = conns.size();
        if (n > 0 && !pinging) {
            std::size_t per_tick = (n * kHeartbeatTick.count() + opts.heartbeat_ms - 1) /
                                   std::max<std::uint32_t>(1, opts.heartbeat_ms);
            per_tick = std::clamp<std::size_t>(per_tick, 1, n);
            for (std::size_t i = 0; i < per_tick; ++i) {
                LoadConnection& c = conns[heartbeat_cursor];
                heartbeat_cursor = (heartbeat_cursor + 1) % static_cast<std::uint32_t>(n);
                if (c.state != State::Ready) continue;
                ++c.queued_heartbeats;
                flush(c);
                if (c.state == State::Closed) release(c);
            }
        }
        heartbeat_timer.expires_after(kHeartbeatTick);
        heartbeat_timer.async_wait([this](const error_code& ec) {
            if (!ec) heartbeat_tick();
        });
    }

    // --- phases (run on the loop) ---------------------------------------------------------

    void on_start_connecting() {
        sweep_deadlines();
        heartbeat_tick();
        start_more();
    }

    void on_stop_connecting() {
        stop_starting = true;
        for (LoadConnection& c : conns) {
            if (is_connecting(c.state)) {
                fail(c, timeout_failure(c.state));
                release(c);
            } else if (c.state == State::Idle) {
                fail(c, Failure::NotStarted);
            }
        }
    }

    void on_start_pinging() {
        pinging = true;
        for (LoadConnection& c : conns) {
            if (c.state != State::Ready) continue;
            c.queued_heartbeats += inflight_per_connection();
            flush(c);
            if (c.state == State::Closed) release(c);
        }
    }

    void on_start_measuring() {
        results.latency.reset();
        results.pongs_measured = 0;
        results.pushes_measured = 0;
        results.acked_ids_measured = 0;
        results.room_members = room_members_now;
        measure_start_ns = steady_ns();
        measuring = true;
    }

    void on_stop_measuring() {
        if (measuring) results.measured_ns = steady_ns() - measure_start_ns;
        measuring = false;
        pinging = false;
        measuring_stopped.store(true, std::memory_order_release);
    }

    void on_shutdown() {
        shutting_down = true;
        stop_starting = true;
        error_code ignored;
        sweep_timer.cancel();
        heartbeat_timer.cancel();
        for (LoadConnection& c : conns) {
            if (c.state != State::Closed) {
                c.state = State::Closed;
                c.socket.close(ignored);
            }
        }
        work.reset();
    }
};

LoadShard::LoadShard(const LoadOptions& options, std::uint32_t shard_index,
                     std::uint32_t shard_count)
    : impl_(std::make_unique<Impl>(options, shard_index, shard_count)) {}

LoadShard::~LoadShard() {
    if (impl_->thread.joinable()) {
        shutdown();
        join();
    }
}

std::uint32_t LoadShard::size() const noexcept {
    return static_cast<std::uint32_t>(impl_->conns.size());
}

void LoadShard::run() {
    impl_->thread = std::thread([impl = impl_.get()] { impl->ioc.run(); });
}

void LoadShard::join() {
    if (impl_->thread.joinable()) impl_->thread.join();
}

void LoadShard::start_connecting() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_start_connecting(); });
}
void LoadShard::stop_connecting() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_stop_connecting(); });
}
void LoadShard::start_pinging() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_start_pinging(); });
}
void LoadShard::start_measuring() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_start_measuring(); });
}
void LoadShard::stop_measuring() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_stop_measuring(); });
}
void LoadShard::shutdown() {
    asio::post(impl_->ioc, [i = impl_.get()] { i->on_shutdown(); });
}

std::uint32_t LoadShard::logged_in() const noexcept {
    return impl_->logged_in.load(std::memory_order_relaxed);
}
std::uint32_t LoadShard::failed() const noexcept {
    return impl_->failed.load(std::memory_order_relaxed);
}
std::uint32_t LoadShard::dropped() const noexcept {
    return impl_->dropped.load(std::memory_order_relaxed);
}
bool LoadShard::measuring_stopped() const noexcept {
    return impl_->measuring_stopped.load(std::memory_order_acquire);
}
std::uint64_t LoadShard::failures(Failure f) const noexcept {
    return impl_->failures[static_cast<std::size_t>(f)].load(std::memory_order_relaxed);
}
std::int64_t LoadShard::first_connect_ns() const noexcept {
    return impl_->first_connect_ns.load(std::memory_order_relaxed);
}
std::int64_t LoadShard::last_login_ns() const noexcept {
    return impl_->last_login_ns.load(std::memory_order_relaxed);
}
std::uint64_t LoadShard::pushes_received() const noexcept {
    return impl_->pushes_received.load(std::memory_order_relaxed);
}
std::uint64_t LoadShard::unique_ids_received() const noexcept {
    return impl_->unique_ids_received.load(std::memory_order_relaxed);
}
const ShardResults& LoadShard::results() const noexcept {
    return impl_->results;
}

}  // namespace lp::load
