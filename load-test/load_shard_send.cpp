// load-test/load_shard_send: what a connection writes: heartbeats, ACKs and WebSocket control
// frames encoded straight into its small output buffer, and corked, non-blocking writes of it. One
// step of the connection state machine of load_shard_impl.hpp; runs on the shard's thread only.
#include <algorithm>
#include <cstring>

#include "load-test/clocks.hpp"
#include "load-test/load_shard_impl.hpp"

namespace lp::load {
namespace {

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

}  // namespace

bool LoadShard::Impl::append_ws(LoadConnection& c, ws::Opcode op, std::string_view payload) {
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

void LoadShard::Impl::append_heartbeat(LoadConnection& c) {
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

bool LoadShard::Impl::append_ack(LoadConnection& c) {
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

void LoadShard::Impl::flush(LoadConnection& c) {
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
        std::size_t n =
            c.socket.write_some(asio::buffer(c.out() + c.out_begin, c.out_end - c.out_begin), ec);
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

void LoadShard::Impl::wait_writable(LoadConnection& c) {
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

void LoadShard::Impl::heartbeat_tick() {
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

}  // namespace lp::load
