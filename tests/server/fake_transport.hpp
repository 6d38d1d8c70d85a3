// tests/server/fake_transport: a session whose "socket" is a script, and the means to drive an
// EventLoop by hand, for unit suites of the send path (send_queue_test, room_fanout_test).
//
// Owns: FakeSession (a Session whose gather writes take a chosen number of bytes each, or none:
// would-block, through the same Session::write_gathered loop the plain transport runs), a
// handler that records closes, turn-by-turn loop driving (run_ready) and a fake clock for the
// loop's timing wheel (advance), and decoders that split what the peer received into frames.
// Must never: sleep, open a socket, or re-implement the session's queue logic (it only scripts
// what the kernel would accept, so every test drives the product code under test).
#pragma once

#include <google/protobuf/util/json_util.h>
#include <sys/uio.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <deque>
#include <limits>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "codec/envelope.hpp"
#include "codec/frame.hpp"
#include "codec/stream_decoder.hpp"
#include "codec/websocket.hpp"
#include "livepush.pb.h"
#include "server/event_loop.hpp"
#include "server/gather_write.hpp"
#include "server/session.hpp"

namespace lp::server::testing {

namespace pb = livepush::v1;

// A session on a scripted transport. Each gather write takes the next entry of `budgets` bytes
// (or `default_budget` when the script is empty): 0 is EAGAIN, fewer than offered is a short
// write. After a short write or EAGAIN the session waits for "writable", which the test gives
// with writable(), as the kernel would when the peer reads.
class FakeSession final : public Session {
public:
    static constexpr std::size_t kUnlimited = std::numeric_limits<std::size_t>::max();

    FakeSession(EventLoop& loop, TransportKind kind) : Session(loop, kind, false) {}

    struct Write {
        std::size_t chunks = 0;   // buffers offered in the gather write
        std::size_t offered = 0;  // bytes offered
        std::size_t taken = 0;    // bytes the fake kernel took (0: EAGAIN)
    };

    std::deque<std::size_t> budgets;
    std::size_t default_budget = kUnlimited;
    int fail_errno = 0;             // non-zero: the next write fails with it
    std::string sent;               // every byte the peer got, in order
    std::vector<Write> writes;      // every gather write the session made
    bool waiting_writable = false;  // a short write or EAGAIN left bytes queued
    bool transport_closed = false;
    // Writes as TlsSession does instead (its write_queued, mirrored here: the TLS stream has no
    // seam): the queued bytes, whole chunks up to a batch, are copied at the write's start and
    // those chunks stay locked in the queue until the asynchronous write completes, which the
    // test does with complete_async_write().
    bool async_writes = false;
    std::string async_in_flight;  // the copied bytes of the write in flight

    void complete_async_write() {
        write_in_flight_ = false;
        locked_chunks_ = 0;
        if (closed()) return;
        sent += async_in_flight;
        std::size_t n = async_in_flight.size();
        async_in_flight.clear();
        wrote(n);
        if (!closed() && !out_.empty()) flush();
    }

    void start() override {
        arm_login_deadline();
        on_transport_ready();
    }
    std::string remote() const override { return "fake:1"; }

    // Bytes from the peer, as the transport's read would hand them over.
    void receive(std::string bytes) {
        on_bytes(reinterpret_cast<std::uint8_t*>(bytes.data()), bytes.size());
    }
    // One "writable" event: the peer read, and the session writes again (the next writes take
    // what `budgets`, then `default_budget`, say).
    void writable() {
        waiting_writable = false;
        write_in_flight_ = false;
        flush();
    }
    // Writable events until the queue is empty or a write takes nothing (the peer stopped);
    // bounded, so a broken queue fails a test instead of hanging it.
    void pump() {
        for (int round = 0; round < 100000 && waiting_writable && !closed(); ++round) {
            std::size_t before = sent.size();
            writable();
            if (sent.size() == before) break;
        }
    }
    // The peer reads everything from now on.
    void drain() {
        default_budget = kUnlimited;
        pump();
    }

    // The send queue as it is (NATS's tests look at client.out.nb the same way).
    std::size_t queued_chunks() const noexcept { return out_.size(); }
    const char* chunk_data(std::size_t i) const { return out_[i].data(); }
    std::size_t chunk_size(std::size_t i) const { return out_[i].size(); }
    bool chunk_shared(std::size_t i) const { return out_[i].shared != nullptr; }
    std::size_t written_of_first_chunk() const noexcept { return out_offset_; }

protected:
    void start_reading() override {}

    void write_queued() override {
        if (async_writes) {
            write_async();
            return;
        }
        auto take = [this](const iovec* iov, std::size_t count) -> ssize_t {
            Write w;
            w.chunks = count;
            for (std::size_t i = 0; i < count; ++i) w.offered += iov[i].iov_len;
            if (fail_errno != 0) {
                errno = fail_errno;
                writes.push_back(w);
                return -1;
            }
            std::size_t budget = default_budget;
            if (!budgets.empty()) {
                budget = budgets.front();
                budgets.pop_front();
            }
            w.taken = std::min(budget, w.offered);
            writes.push_back(w);
            if (w.taken == 0) {
                errno = EAGAIN;
                return -1;
            }
            std::size_t left = w.taken;
            for (std::size_t i = 0; i < count && left > 0; ++i) {
                std::size_t n = std::min(left, iov[i].iov_len);
                sent.append(static_cast<const char*>(iov[i].iov_base), n);
                left -= n;
            }
            return static_cast<ssize_t>(w.taken);
        };
        switch (write_gathered(take)) {
            case GatherResult::Drained:
                return;
            case GatherResult::WouldBlock:
                if (closed()) return;
                waiting_writable = true;
                write_in_flight_ = true;
                return;
            case GatherResult::Failed:
                close(CloseReason::IoError);
                return;
        }
    }

    void close_transport() override { transport_closed = true; }

    void write_async() {
        constexpr std::size_t kBatch = 64 * 1024;  // TlsSession's kTlsWriteBatch
        std::size_t count = 0;
        for (; count < out_.size() && async_in_flight.size() < kBatch; ++count) {
            const char* d = out_[count].data();
            std::size_t len = out_[count].size();
            if (count == 0) {
                d += out_offset_;
                len -= out_offset_;
            }
            async_in_flight.append(d, len);
        }
        writes.push_back({count, async_in_flight.size(), async_in_flight.size()});
        locked_chunks_ = count;
        write_in_flight_ = true;
    }
};

// Records every close (thread-safe: the threaded fan-out test closes nothing on loop threads,
// but may one day).
class RecordingHandler : public SessionHandler {
public:
    struct Closed {
        std::uint64_t session;
        CloseReason why;
    };
    void on_packet(Session&, const Inbound&) override {}
    void on_closed(Session& s, CloseReason why) override {
        std::lock_guard lock(mu_);
        closed_.push_back({s.id(), why});
        if (on_close) on_close(s, why);
    }
    std::vector<Closed> closed() const {
        std::lock_guard lock(mu_);
        return closed_;
    }
    std::function<void(Session&, CloseReason)> on_close;  // e.g. leave rooms, as handlers/ do

private:
    mutable std::mutex mu_;
    std::vector<Closed> closed_;
};

// Runs the loop's ready handlers, and what they post, until none is left: one loop turn and
// its end-of-turn flush. The loop's own thread must not be running.
inline std::size_t run_ready(EventLoop& loop) {
    std::size_t ran = 0;
    loop.io().restart();
    while (std::size_t n = loop.io().poll()) ran += n;
    return ran;
}

inline void run_ready(const std::vector<EventLoop*>& loops) {
    for (bool again = true; again;) {
        again = false;
        for (EventLoop* l : loops) again = run_ready(*l) > 0 || again;
    }
}

// The fake clock: moves the loop's timing wheel to `tick` (or on by `d`), firing deadlines as
// the loop's tick would. The loop's own tick follows real time, which stays far behind: tests
// last milliseconds, the deadlines they test seconds.
inline void advance_to(EventLoop& loop, std::uint64_t tick) {
    loop.wheel().advance(tick, [](WheelNode& n) {
        if (n.on_expire) n.on_expire(n);
    });
}
inline void advance(EventLoop& loop, std::chrono::milliseconds d) {
    advance_to(loop, loop.wheel().now() + loop.ticks(d));
}

// A session on `loop`, adopted and started like the listener does; logged in when asked (the
// form of the login request sets the session's wire form).
inline std::shared_ptr<FakeSession> open_session(EventLoop& loop,
                                                 TransportKind kind = TransportKind::Tcp,
                                                 bool login = true, bool json = false,
                                                 std::uint64_t user = 0) {
    auto s = std::make_shared<FakeSession>(loop, kind);
    loop.adopt(s);
    s->start();
    if (login) {
        Inbound req;
        req.json = json;
        s->set_logged_in(req);
        s->user.id = user != 0 ? user : s->id();
    }
    return s;
}

// A WebSocket upgrade request the default LoopOptions accept.
inline std::string ws_upgrade_request() {
    return "GET /ws HTTP/1.1\r\nHost: test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
}

// A WebSocket session past its upgrade (the loop is run for the 101 response to leave),
// logged in with binary frames.
inline std::shared_ptr<FakeSession> open_ws(EventLoop& loop, std::uint64_t user = 0) {
    auto s = open_session(loop, TransportKind::Ws, false);
    s->receive(ws_upgrade_request());
    run_ready(loop);
    Inbound req;
    s->set_logged_in(req);
    s->user.id = user != 0 ? user : s->id();
    return s;
}

// A Push whose payload is `payload_bytes` long, so frame sizes are chosen by the test.
inline pb::Push push(std::uint64_t msg_id, std::size_t payload_bytes = 8) {
    pb::Push p;
    p.set_msg_id(msg_id);
    p.set_type("t");
    p.set_payload(std::string(payload_bytes, 'x'));
    return p;
}

// One packet as the peer decoded it; WebSocket control frames have code 0.
struct Frame {
    std::uint16_t code = 0;
    std::uint32_t seq = 0;
    std::string body;
    bool json = false;
    codec::ws::Opcode ws_opcode = codec::ws::Opcode::Binary;
    std::uint16_t ws_close_status = 0;
    std::string ws_close_reason;

    pb::Push as_push() const {
        pb::Push p;
        if (json)
            (void)codec::parse_body(body, true, p);  // v1.1: payload as its JSON value
        else
            p.ParseFromString(body);
        return p;
    }
    pb::Kick as_kick() const {
        pb::Kick k;
        if (json)
            (void)google::protobuf::util::JsonStringToMessage(body, &k);
        else
            k.ParseFromString(body);
        return k;
    }
};

struct Decoded {
    std::vector<Frame> frames;
    bool error = false;        // the bytes are not a clean sequence of frames
    std::size_t trailing = 0;  // bytes of an incomplete last frame
};

// The peer's view of a TCP session's bytes.
inline Decoded decode_tcp(std::string_view wire) {
    Decoded out;
    codec::StreamDecoder dec(16 * 1024 * 1024);
    auto err = dec.feed(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size(),
                        [&](const codec::FrameView& f) {
                            Frame fr;
                            fr.code = f.header.code;
                            fr.seq = f.header.seq;
                            fr.body = std::string(f.body);
                            fr.json = (f.header.flags & codec::kJsonBody) != 0;
                            out.frames.push_back(std::move(fr));
                            return true;
                        });
    out.error = err != codec::DecodeError::None;
    out.trailing = dec.buffered();
    return out;
}

// The peer's view of a WebSocket session's bytes: the HTTP 101 response, then frames.
inline Decoded decode_ws(std::string_view wire) {
    Decoded out;
    auto head_end = wire.find("\r\n\r\n");
    if (wire.substr(0, 12) != "HTTP/1.1 101" || head_end == std::string_view::npos) {
        out.error = true;
        return out;
    }
    std::string frames(wire.substr(head_end + 4));
    codec::ws::FrameDecoder dec(codec::ws::FrameDecoder::Role::Client, 16 * 1024 * 1024);
    auto err =
        dec.feed(reinterpret_cast<std::uint8_t*>(frames.data()), frames.size(),
                 [&](const codec::ws::Message& m) {
                     Frame fr;
                     fr.ws_opcode = m.opcode;
                     if (m.opcode == codec::ws::Opcode::Binary) {
                         codec::FrameView fv;
                         if (codec::decode_one(m.payload, 16 * 1024 * 1024, fv) !=
                             codec::DecodeError::None) {
                             out.error = true;
                             return false;
                         }
                         fr.code = fv.header.code;
                         fr.seq = fv.header.seq;
                         fr.body = std::string(fv.body);
                         fr.json = (fv.header.flags & codec::kJsonBody) != 0;
                     } else if (m.opcode == codec::ws::Opcode::Close && m.payload.size() >= 2) {
                         auto p = reinterpret_cast<const std::uint8_t*>(m.payload.data());
                         fr.ws_close_status = static_cast<std::uint16_t>(p[0] << 8 | p[1]);
                         fr.ws_close_reason = std::string(m.payload.substr(2));
                     }
                     out.frames.push_back(std::move(fr));
                     return true;
                 });
    out.error = out.error || err != codec::ws::WsError::None;
    out.trailing = dec.buffered();
    return out;
}

// What the peer of `s` got, decoded by its transport's framing.
inline Decoded decode(const FakeSession& s) {
    return s.transport() == TransportKind::Ws ? decode_ws(s.sent) : decode_tcp(s.sent);
}

}  // namespace lp::server::testing
