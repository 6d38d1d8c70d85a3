// load-test/load_shard: one event loop's share of livepush-load's connections.
//
// livepush-load splits its connections over --threads shards; each shard owns an io_context run
// by one thread and never shares a connection, a counter or a histogram with another, so the hot
// path takes no lock. The main thread steers the phases (connect, ping, measure, stop) by posting
// to each shard and watches progress through a few relaxed atomics; detailed results are read
// only after join().
//
// A connection costs little: a socket, a stream decoder that holds nothing while idle, a
// 128-byte inline read buffer (enough for a few PONGs; bursts drain through the shard's one 64 KiB
// buffer) and a 160-byte output buffer. There is no per-connection timer: one shard timer walks
// connect deadlines, another spreads idle heartbeats. That is what lets one process hold 15,000+
// sessions with a few MB of its own memory.
//
// In the room and qos1 scenarios the connections are the receivers of pushes someone else
// publishes (api_publisher): a room subscriber enters its room right after LOGIN_RESULT (the
// connection counts as logged in once BIZ_RESULT says it is in), and every PUSH is checked
// without parsing it (push_fields.hpp): room_seq order per subscriber, msg_id per client
// (received_ids.hpp), and the publish-to-receive latency from the server's sent_at_ms. The
// plugin scenarios (gift, pk: in rooms; feed: not in a room) hand every PUSH to the shard's
// PluginReceiver (plugin_receiver.hpp) as well. In live-room the sessions are one room's viewers;
// its first --senders also send room.chat and room.like on a shard timer (load_shard_live.cpp),
// and every PUSH goes to the shard's LiveRoomReceiver (live_room_receiver.hpp).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "load-test/latency_histogram.hpp"
#include "load-test/live_room_receiver.hpp"
#include "load-test/plugin_receiver.hpp"
#include "load-test/received_ids.hpp"

namespace lp::load {

enum class Scenario : std::uint8_t { PingPong, Idle, Room, Qos1, Gift, Pk, Feed, LiveRoom };

// Sessions of these scenarios enter a room after LOGIN_RESULT.
inline bool enters_room(Scenario s) {
    return s == Scenario::Room || s == Scenario::Gift || s == Scenario::Pk ||
           s == Scenario::LiveRoom;
}
// Sessions of these scenarios check the pushes they receive.
inline bool receives_pushes(Scenario s) {
    return s != Scenario::PingPong && s != Scenario::Idle;
}

struct LoadOptions {
    Scenario scenario = Scenario::PingPong;
    std::string host = "127.0.0.1";
    std::uint16_t port = 7000;
    // Cluster: several nodes' ports on `host`; connection i goes to ports[i % n] (empty: port).
    std::vector<std::uint16_t> ports;
    bool websocket = false;
    std::string ws_path = "/ws";
    bool json_body = false;
    std::uint32_t connections = 1000;
    std::uint32_t inflight = 1;  // heartbeats kept in flight per connection (pingpong)
    std::uint32_t connect_concurrency = 500;
    std::uint32_t connect_timeout_ms = 10000;  // per connection: TCP connect + upgrade + login
    std::uint32_t heartbeat_ms = 20000;        // idle heartbeat period per connection
    std::vector<std::string> source_ips;       // round-robin bind; empty = kernel's choice
    std::string secret;
    std::uint64_t user_base = 1000000;  // connection i logs in as user_base + i × user_stride
    std::uint64_t user_stride = 1;
    std::string platform = "web";  // one of the server's auth.platforms
    std::uint32_t threads = 1;
    std::uint32_t max_body = 64 * 1024;
    // room and qos1 scenarios
    std::uint32_t rooms = 1;  // connection i is in room room_base + i % rooms
    std::uint64_t room_base = 1;
    std::uint32_t latency_sample = 1;        // record the latency of 1 push in K
    std::size_t received_ids_per_shard = 0;  // qos1: capacity of each shard's ReceivedIds
    // gift, pk, feed
    std::uint32_t anchors = 0;  // the first `anchors` connections log in with role "anchor"
    PluginCheckOptions plugin;  // what the shards check (PluginScenario::None: nothing)
    // live-room: connections 0 .. senders-1 also send room.chat (chat_rate in total) and
    // room.like (like_rate in total), spread evenly over them, while start_sending() lasts.
    std::uint32_t senders = 0;
    double chat_rate = 1000;
    double like_rate = 200;
    std::uint32_t chat_bytes = 24;  // room.chat text: "c<n> " padded with 'x' to this length
    LiveRoomCheckOptions live;
};

// The room the connection with this index in the run subscribes to (room, gift, pk).
inline std::uint64_t room_of(const LoadOptions& o, std::uint32_t global_index) {
    return o.room_base + global_index % o.rooms;
}

// Why a connection never reached a logged-in state.
enum class Failure : std::uint8_t {
    Socket,             // socket() failed (often the fd limit)
    Bind,               // binding the source address failed
    Connect,            // TCP connect refused or failed
    ConnectTimeout,     // no TCP connect / upgrade within --connect-timeout-ms
    Upgrade,            // the WebSocket upgrade was refused or malformed
    LoginRejected,      // LOGIN_RESULT with a non-zero code, or an ERROR frame
    LoginTimeout,       // no LOGIN_RESULT within --connect-timeout-ms
    ClosedDuringLogin,  // the server closed the connection before LOGIN_RESULT
    Protocol,           // the server sent bytes the codec rejects
    EnterRejected,      // room, gift, pk: BIZ_RESULT of room.enter with a non-zero code
    EnterTimeout,       // room, gift, pk: no BIZ_RESULT within --connect-timeout-ms
    NotStarted,         // the connect phase ended before this connection was tried
    Count,
};
// Why a logged-in connection ended before the run did.
enum class Drop : std::uint8_t {
    ClosedByServer,  // EOF or a WebSocket close frame
    Error,           // a socket error (reset, write failure)
    Protocol,        // bytes the codec rejects
    Count,
};
std::string_view name_of(Failure f) noexcept;
std::string_view name_of(Drop d) noexcept;

// Results of one shard, read by the main thread after join().
struct ShardResults {
    LatencyHistogram latency;  // HEARTBEAT→PONG, measuring window only (ns)
    std::uint64_t pongs_measured = 0;
    std::int64_t measured_ns = 0;  // length of this shard's measuring window
    std::uint64_t pongs_total = 0;
    std::uint64_t unmatched_pongs = 0;  // a PONG whose seq is not one in flight
    std::uint64_t pushes = 0;
    std::uint64_t kicks = 0;
    std::uint64_t error_frames = 0;
    std::uint64_t ws_pongs_dropped = 0;  // server pings we had no buffer room to answer
    std::array<std::uint64_t, static_cast<std::size_t>(Drop::Count)> drops{};

    // room and qos1: pushes received
    LatencyHistogram delivery_latency;    // sent_at_ms → receive, ns (sent_at has 1 ms steps)
    std::uint64_t pushes_measured = 0;    // PUSH frames received inside the measuring window
    std::uint64_t pushes_unreadable = 0;  // bodies that are not binary protobuf
    // Unsequenced room messages (room_seq 0: room.online): not the run's messages, not in pushes.
    std::uint64_t room_unsequenced = 0;
    std::uint64_t pushes_other_room = 0;      // room: a PUSH for a room the session is not in
    std::uint64_t seq_duplicates = 0;         // room: room_seq <= the last one the session saw
    std::uint64_t seq_gaps = 0;               // room: jumps of more than one
    std::uint64_t seq_missing = 0;            // room: room_seqs skipped over by those jumps
    std::vector<std::uint32_t> room_members;  // room: ready sessions per room when measuring began
    // qos1
    std::uint64_t acked_ids = 0;           // msg_ids sent in ACKs, whole run
    std::uint64_t acked_ids_measured = 0;  // same, inside the measuring window
    std::uint64_t ack_frames = 0;
    std::uint64_t ack_required = 0;     // pushes with ACK_REQUIRED
    std::uint64_t id_duplicates = 0;    // a msg_id a second time at the same client
    std::uint64_t id_wrong_client = 0;  // a msg_id that another client already had
    std::uint64_t ids_untracked = 0;    // ReceivedIds was full
    ReceivedIds received_ids;           // qos1: msg_id → shard-local client
    PluginReceiver plugin;              // gift, pk, feed
    LiveRoomReceiver live;              // live-room
    std::uint64_t live_not_sent = 0;  // live-room: chats and likes due on a closed or busy session
};

class LoadShard {
public:
    // Connections shard_index, shard_index + shard_count, ... of options.connections.
    // Throws std::runtime_error when the target does not resolve.
    LoadShard(const LoadOptions& options, std::uint32_t shard_index, std::uint32_t shard_count);
    ~LoadShard();
    LoadShard(const LoadShard&) = delete;
    LoadShard& operator=(const LoadShard&) = delete;

    std::uint32_t size() const noexcept;  // connections in this shard

    void run();   // starts the thread that runs the event loop
    void join();  // after shutdown(): waits for the loop to finish

    // Phase control; thread-safe, each takes effect on the shard's loop in the order posted.
    void start_connecting();
    void stop_connecting();  // connections still connecting fail, unstarted ones are NotStarted
    void start_pinging();    // pingpong: keep --inflight heartbeats in flight per connection
    void start_measuring();
    void stop_measuring();  // also stops sending new heartbeats (pingpong)
    void shutdown();        // closes every connection and lets the loop end
    // live-room: the senders of this shard send their share of the chats and likes due from now
    // for duration_s (chat k is due at k / chat_rate, from sender k % senders; likes alike).
    void start_sending(double duration_s);

    // Progress, readable any time.
    std::uint32_t logged_in() const noexcept;
    std::uint32_t failed() const noexcept;
    std::uint32_t dropped() const noexcept;
    bool measuring_stopped() const noexcept;
    std::uint64_t failures(Failure f) const noexcept;
    std::int64_t first_connect_ns() const noexcept;  // steady clock; 0 = none yet
    std::int64_t last_login_ns() const noexcept;
    std::uint64_t pushes_received() const noexcept;      // PUSH frames, refreshed once per read
    std::uint64_t unique_ids_received() const noexcept;  // qos1: distinct msg_ids
    bool sending_done() const noexcept;                  // live-room: every due request written
    std::uint64_t live_requests() const noexcept;        // live-room: chats + likes written
    std::uint64_t live_answers() const noexcept;         // live-room: their BIZ_RESULTs

    const ShardResults& results() const noexcept;  // after join()

private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Maps a connection's index in the run to its shard and its index in the shard.
inline std::uint32_t shard_of(std::uint32_t global_index, std::uint32_t shard_count) {
    return global_index % shard_count;
}
inline std::uint32_t index_in_shard(std::uint32_t global_index, std::uint32_t shard_count) {
    return global_index / shard_count;
}

}  // namespace lp::load
