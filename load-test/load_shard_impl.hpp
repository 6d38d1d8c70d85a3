// load-test/load_shard_impl: the inside of a LoadShard, shared by the files that define it and
// by nothing else (load_shard.hpp is the interface). A connection's life is one state machine
// (State below): its steps are split by direction over
//   load_shard.cpp          the shard's set-up, its phases and its public face
//   load_shard_connect.cpp  connect, WebSocket upgrade, LOGIN, room.enter, failures and drops
//   load_shard_receive.cpp  reads, frame and PUSH checks, PONG matching
//   load_shard_send.cpp     corked writes: heartbeats, ACKs, WebSocket control frames
//   load_shard_live.cpp     live-room: the senders' room.chat and room.like, and their results
// Everything runs on the shard's one thread; only the atomics are read from another.
#pragma once

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "codec/frame.hpp"
#include "codec/stream_decoder.hpp"
#include "codec/websocket.hpp"
#include "livepush.pb.h"
#include "load-test/load_shard.hpp"
#include "load-test/push_fields.hpp"

namespace lp::load {
namespace shard {

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
inline constexpr std::size_t kHeartbeatMaxBytes =
    6 + codec::kHeaderSize + 2;                        // ws hdr + frame + "{}"
inline constexpr std::size_t kReadBuffer = 64 * 1024;  // the shard's one read buffer
inline constexpr int kReadsPerWakeup = 8;              // fairness between busy connections
inline constexpr std::size_t kMaxUpgradeResponse = 8 * 1024;
inline constexpr auto kSweepPeriod = std::chrono::milliseconds(200);
inline constexpr auto kHeartbeatTick = std::chrono::milliseconds(100);

// Entering: room scenario, LOGIN_RESULT received, waiting for the BIZ_RESULT of room.enter.
enum class State : std::uint8_t { Idle, Connecting, Upgrading, LoggingIn, Entering, Ready, Closed };

inline bool is_connecting(State s) {
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
// One heartbeat in flight: the seq it carried, when it was written, and whether it belongs to
// the pingpong loop (its PONG then triggers the next one) or is an idle keep-alive.
struct InflightSlot {
    std::uint32_t seq = 0;
    bool pingpong = false;
    std::int64_t sent_ns = 0;
};

}  // namespace shard

using namespace shard;  // NOLINT: the Impl's own vocabulary, in the Impl's files only

struct LoadShard::Impl {
    Impl(const LoadOptions& o, std::uint32_t shard_index, std::uint32_t shard_count);

    const LoadOptions& opts;
    asio::io_context ioc{1};
    asio::executor_work_guard<asio::io_context::executor_type> work;
    asio::steady_timer sweep_timer;
    asio::steady_timer heartbeat_timer;
    asio::steady_timer live_timer;  // live-room: paces the senders' requests
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
    // live-room sending: the window, the next chat and like (global numbers) and how many
    std::int64_t live_start_ns = 0;
    std::uint64_t next_chat = 0, total_chats = 0, next_like = 0, total_likes = 0;
    std::string biz_scratch;  // a BizReq being encoded (reused)
    std::atomic<bool> sending_done{false};
    std::atomic<std::uint64_t> live_requests{0};
    std::atomic<std::uint64_t> live_answers{0};
    std::array<std::atomic<std::uint64_t>, static_cast<std::size_t>(Failure::Count)> failures{};
    ShardResults results;

    std::uint32_t inflight_per_connection() const {
        return std::max<std::uint32_t>(1, opts.inflight);
    }

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

    // --- connecting (load_shard_connect.cpp) ----------------------------------------------
    void start_more();
    void start_connect(LoadConnection& c);
    void on_connected(LoadConnection& c, const error_code& ec);
    void send_login(LoadConnection& c);
    // A LOGIN or room.enter packet in the session's form: its body form, masked as a client's
    // WebSocket message when over WebSocket.
    std::string handshake_frame(codec::Code code, std::uint32_t seq,
                                const google::protobuf::Message& body);
    // Handshake bytes are rare and larger than the connection's buffer: a plain async_write of
    // a string that lives in the Handshake until LOGIN_RESULT.
    void write_handshake(LoadConnection& c, const std::string& bytes);
    // What it means when a connection is still connecting when its time is up.
    static Failure timeout_failure(State s);
    // What it means when a connection still connecting is cut off by the server or the network.
    static Failure failure_for_close(const LoadConnection& c);
    void on_login_result(LoadConnection& c, const codec::FrameView& fv);
    // Room, gift, pk: BIZ room.enter with seq 2, written like the LOGIN.
    void send_enter(LoadConnection& c);
    void on_enter_result(LoadConnection& c, const codec::FrameView& fv);
    void become_ready(LoadConnection& c);
    // A connection that never logged in. Safe inside decoder callbacks: it only closes the
    // socket; memory is released by release() outside them.
    void fail(LoadConnection& c, Failure why);
    // A logged-in connection that ended before the run did.
    void drop(LoadConnection& c, Drop why);
    void end(LoadConnection& c, Failure before_login, Drop after_login);
    static void release(LoadConnection& c);
    // Fails connections whose connect + upgrade + login took longer than allowed.
    void sweep_deadlines();

    // --- reading (load_shard_receive.cpp) -------------------------------------------------
    // Reads into the connection's small inline buffer. Asio then reads speculatively only when
    // the socket may hold more, and never re-arms epoll for a read (async_wait would cost an
    // epoll_ctl per message); a PONG arrives in one read and costs no other syscall.
    void start_read(LoadConnection& c);
    void on_read(LoadConnection& c, const error_code& ec, std::size_t n);
    // The inline buffer filled up, so more may be waiting: go on in the shard's big buffer,
    // after a copy of what the inline one holds, so that a frame cut by the inline buffer's end
    // is decoded in place rather than copied into the decoder.
    void drain(LoadConnection& c, std::size_t have);
    void consume(LoadConnection& c, std::uint8_t* data, std::size_t n);
    // Accumulates the upgrade response head; returns how many bytes of data belonged to it.
    std::size_t consume_upgrade(LoadConnection& c, const std::uint8_t* data, std::size_t n);
    bool on_ws_message(LoadConnection& c, const ws::Message& msg);
    bool on_frame(LoadConnection& c, const codec::FrameView& fv);
    // Counts every PUSH; in the room, qos1 and plugin scenarios also checks its order or msg_id
    // or plugin payload, samples its latency and queues its ACK.
    void on_push(LoadConnection& c, const codec::FrameView& fv);
    // qos1: false when this client had the msg_id already.
    bool record_id(LoadConnection& c, std::uint64_t msg_id);
    // room: false for a PUSH that is not new to this session (a duplicate, or another room's).
    bool check_room_seq(LoadConnection& c, const PushFields& f);
    void on_pong(LoadConnection& c, std::uint32_t seq);

    // --- writing (load_shard_send.cpp) ----------------------------------------------------
    // Appends one masked WebSocket control frame; false when the buffer has no room for it.
    bool append_ws(LoadConnection& c, ws::Opcode op, std::string_view payload);
    // Encodes one HEARTBEAT into the output buffer and stamps its in-flight slot.
    void append_heartbeat(LoadConnection& c);
    // qos1: encodes one ACK with as many of the connection's pending msg_ids as fit into the
    // output buffer (binary protobuf `Ack`, packed ids). False when not even one fits.
    bool append_ack(LoadConnection& c);
    // Writes queued heartbeats, ACKs and control frames without blocking; on a partial write it
    // waits for writability and continues there.
    void flush(LoadConnection& c);
    void wait_writable(LoadConnection& c);
    // Spreads idle heartbeats: each tick visits the slice of connections that makes every
    // connection send one per --heartbeat-ms, with one timer for the whole shard.
    void heartbeat_tick();

    // --- live-room sending (load_shard_live.cpp) -------------------------------------------
    void on_start_sending(double duration_s);
    // Writes the chats and likes due by now that belong to this shard's senders.
    void live_tick();
    // Encodes one BIZ request into the connection's output buffer; false when it has no room.
    bool append_biz(LoadConnection& c, std::uint32_t seq, std::string_view type,
                    std::string_view data);
    // A BIZ_RESULT whose seq carries kChatSeqTag or kLikeSeqTag.
    void on_live_result(LoadConnection& c, const codec::FrameView& fv);

    // --- phases, run on the loop (load_shard.cpp) ------------------------------------------
    void on_start_connecting();
    void on_stop_connecting();
    void on_start_pinging();
    void on_start_measuring();
    void on_stop_measuring();
    void on_shutdown();
};

}  // namespace lp::load
