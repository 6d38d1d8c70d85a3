// load-test/load_shard_connect: a connection from connect to Ready (WebSocket upgrade, LOGIN,
// room.enter), and its end before or after that: failures, drops, deadlines. One step of the
// connection state machine of load_shard_impl.hpp; runs on the shard's thread only.
#include <netinet/in.h>
#include <sys/socket.h>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <cstring>

#include "auth/jwt.hpp"
#include "codec/envelope.hpp"
#include "load-test/clocks.hpp"
#include "load-test/load_shard_impl.hpp"
#include "load-test/ws_handshake.hpp"

namespace lp::load {
namespace {

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

}  // namespace

void LoadShard::Impl::start_more() {
    // Bounded by the shard's connection count.
    while (!stop_starting && !shutting_down && connecting < concurrency &&
           next_to_start < conns.size()) {
        start_connect(conns[next_to_start++]);
    }
}

void LoadShard::Impl::start_connect(LoadConnection& c) {
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
    c.socket.async_connect(targets[c.global_index % targets.size()],
                           [this, &c](const error_code& ec) { on_connected(c, ec); });
}

void LoadShard::Impl::on_connected(LoadConnection& c, const error_code& ec) {
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
        c.handshake->request = client::websocket_upgrade_request(opts.host, opts.port, opts.ws_path,
                                                                 c.handshake->ws_key);
        c.state = State::Upgrading;
        write_handshake(c, c.handshake->request);
    } else {
        send_login(c);
    }
    start_read(c);
}

void LoadShard::Impl::send_login(LoadConnection& c) {
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

std::string LoadShard::Impl::handshake_frame(codec::Code code, std::uint32_t seq,
                                             const google::protobuf::Message& body) {
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

void LoadShard::Impl::write_handshake(LoadConnection& c, const std::string& bytes) {
    asio::async_write(c.socket, asio::buffer(bytes), [this, &c](const error_code& ec, std::size_t) {
        if (ec && is_connecting(c.state)) {
            fail(c, failure_for_close(c));
            release(c);
        }
    });
}

Failure LoadShard::Impl::timeout_failure(State s) {
    switch (s) {
        case State::LoggingIn:
            return Failure::LoginTimeout;
        case State::Entering:
            return Failure::EnterTimeout;
        default:
            return Failure::ConnectTimeout;
    }
}

Failure LoadShard::Impl::failure_for_close(const LoadConnection& c) {
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

void LoadShard::Impl::on_login_result(LoadConnection& c, const codec::FrameView& fv) {
    bool json = (fv.header.flags & codec::kJsonBody) != 0;
    login_result.Clear();
    if (!codec::parse_body(fv.body, json, login_result) || login_result.code() != 0) {
        return fail(c, Failure::LoginRejected);
    }
    if (enters_room(opts.scenario)) return send_enter(c);
    become_ready(c);
}

void LoadShard::Impl::send_enter(LoadConnection& c) {
    c.state = State::Entering;
    c.next_seq = 3;
    livepush::v1::BizReq req;
    req.set_type("room.enter");
    req.set_data("{\"room_id\":" + std::to_string(room_of(opts, c.global_index)) + "}");
    c.handshake->enter = handshake_frame(codec::Code::Biz, 2, req);
    write_handshake(c, c.handshake->enter);
}

void LoadShard::Impl::on_enter_result(LoadConnection& c, const codec::FrameView& fv) {
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

void LoadShard::Impl::become_ready(LoadConnection& c) {
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

void LoadShard::Impl::fail(LoadConnection& c, Failure why) {
    if (!is_connecting(c.state) && c.state != State::Idle) return;
    if (is_connecting(c.state)) --connecting;
    c.state = State::Closed;
    error_code ignored;
    c.socket.close(ignored);
    failures[static_cast<std::size_t>(why)].fetch_add(1, std::memory_order_relaxed);
    failed.fetch_add(1, std::memory_order_relaxed);
    if (!shutting_down) asio::post(ioc, [this] { start_more(); });
}

void LoadShard::Impl::drop(LoadConnection& c, Drop why) {
    if (c.state != State::Ready) return;
    c.state = State::Closed;
    error_code ignored;
    c.socket.close(ignored);
    if (!room_members_now.empty()) --room_members_now[c.global_index % opts.rooms];
    ++results.drops[static_cast<std::size_t>(why)];
    dropped.fetch_add(1, std::memory_order_relaxed);
}

void LoadShard::Impl::end(LoadConnection& c, Failure before_login, Drop after_login) {
    if (c.state == State::Ready)
        drop(c, after_login);
    else
        fail(c, before_login);
}

void LoadShard::Impl::release(LoadConnection& c) {
    // Rebuilt in place: move-assigning an empty decoder would keep the old buffer's capacity.
    std::uint32_t max_body = c.tcp_decoder.max_body();
    std::destroy_at(&c.tcp_decoder);
    std::construct_at(&c.tcp_decoder, max_body);
    c.ws_decoder.reset();
    c.handshake.reset();
    std::vector<std::uint64_t>().swap(c.ack_ids);
}

void LoadShard::Impl::sweep_deadlines() {
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

}  // namespace lp::load
