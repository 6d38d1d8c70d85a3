// load-test/load_shard_receive: what a connection reads: the inline buffer and the shard's big one,
// WebSocket messages, frames, and the checks of every PUSH and PONG. One step of the connection
// state machine of load_shard_impl.hpp; runs on the shard's thread only.
#include <algorithm>
#include <cstring>

#include "load-test/clocks.hpp"
#include "load-test/load_shard_impl.hpp"
#include "load-test/ws_handshake.hpp"

namespace lp::load {

void LoadShard::Impl::start_read(LoadConnection& c) {
    c.socket.async_read_some(
        asio::buffer(c.in(), c.in_size),
        [this, &c](const error_code& ec, std::size_t n) { on_read(c, ec, n); });
}

void LoadShard::Impl::on_read(LoadConnection& c, const error_code& ec, std::size_t n) {
    if (c.state == State::Closed) return;
    if (ec) {
        end(c, failure_for_close(c), ec == asio::error::eof ? Drop::ClosedByServer : Drop::Error);
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

void LoadShard::Impl::drain(LoadConnection& c, std::size_t have) {
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

void LoadShard::Impl::consume(LoadConnection& c, std::uint8_t* data, std::size_t n) {
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

std::size_t LoadShard::Impl::consume_upgrade(LoadConnection& c, const std::uint8_t* data,
                                             std::size_t n) {
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

bool LoadShard::Impl::on_ws_message(LoadConnection& c, const ws::Message& msg) {
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

bool LoadShard::Impl::on_frame(LoadConnection& c, const codec::FrameView& fv) {
    switch (static_cast<codec::Code>(fv.header.code)) {
        case codec::Code::Pong:
            on_pong(c, fv.header.seq);
            return true;
        case codec::Code::LoginResult:
            if (c.state == State::LoggingIn && fv.header.seq == 1) on_login_result(c, fv);
            return c.state != State::Closed;
        case codec::Code::BizResult:
            if (c.state == State::Entering && fv.header.seq == 2) {
                on_enter_result(c, fv);
            } else if (c.state == State::Ready && (fv.header.seq & (kChatSeqTag | kLikeSeqTag))) {
                on_live_result(c, fv);
            }
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
                fail(c,
                     c.state == State::Entering ? Failure::EnterRejected : Failure::LoginRejected);
                return false;
            }
            return true;  // the server closes after it; counted as a drop then
        default:
            return true;
    }
}

void LoadShard::Impl::on_push(LoadConnection& c, const codec::FrameView& fv) {
    PushFields f;
    const bool readable = (fv.header.flags & codec::kJsonBody) == 0 && scan_push_fields(fv.body, f);
    // The server's own unsequenced room messages (room.online counts) are not what the run
    // publishes: counted apart, so that they neither end the drain early nor look duplicated.
    if (readable && f.room_id != 0 && f.room_seq == 0) {
        ++results.room_unsequenced;
        // live-room: room.likes is unsequenced too (like room.online), and booked by type.
        if (opts.scenario == Scenario::LiveRoom) {
            if (read_steady_ns == 0) read_steady_ns = steady_ns();
            results.live.on_push(c.index, f, read_steady_ns, 0);
        }
        return;
    }
    ++results.pushes;
    if (measuring) ++results.pushes_measured;
    if (!receives_pushes) return;
    if (!readable) {
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
    if (opts.scenario == Scenario::LiveRoom) {
        if (read_steady_ns == 0) read_steady_ns = steady_ns();
        if (read_wall_ns == 0) read_wall_ns = wall_ns();
        // Room seq gaps are the budget shedding, not loss, and a seq at or below the last one
        // is counted (seq_duplicates) but still booked: lost gifts and own chats are found by
        // content, duplicates by gift and chat number (live_room_receiver.hpp).
        results.live.on_push(c.index, f, read_steady_ns, read_wall_ns);
        return;
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
        results.delivery_latency.record(
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency)));
    }
}

bool LoadShard::Impl::record_id(LoadConnection& c, std::uint64_t msg_id) {
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

bool LoadShard::Impl::check_room_seq(LoadConnection& c, const PushFields& f) {
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

void LoadShard::Impl::on_pong(LoadConnection& c, std::uint32_t seq) {
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

}  // namespace lp::load
