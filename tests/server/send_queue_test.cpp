// tests/server/send_queue_test: a session's send queue on a scripted transport (fake_transport):
// write order across partial writes, coalescing of a turn's frames into one write, the send
// queue's bound, the slow-consumer cut, and that no frame is ever cut or interleaved on the
// wire, for TCP and WebSocket framing. In the manner of NATS's client_test.go (queueOutbound and
// flushOutbound against a fake connection): small, deterministic, no sockets and no sleeps;
// loop turns are run by hand and deadlines move with a fake clock.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_transport.hpp"
#include "server/wire.hpp"

namespace {

using namespace lp::server;
using namespace lp::server::testing;
using lp::codec::Code;
using namespace std::chrono_literals;

LoopOptions test_options() {
    LoopOptions o;
    o.send_queue_max_bytes = 1000;
    o.close_linger = 2000ms;
    o.finest_timer = 50ms;  // a 5 ms tick, so the fake clock can stop just short of the linger
    return o;
}

// One loop driven by hand, its handler, and the sessions it made; closes what is left at the end.
struct Rig {
    explicit Rig(LoopOptions o = test_options()) : loop(0, o, handler) {}
    ~Rig() {
        loop.for_each_session([](Session& s) { s.close(CloseReason::Shutdown); });
        run_ready(loop);
    }
    std::uint64_t closed_as(CloseReason why) {
        return get(loop.stats().closed[static_cast<int>(why)]);
    }

    RecordingHandler handler;
    EventLoop loop;
};

std::string encode(Wire w, std::uint64_t id, std::size_t payload) {
    std::string out;
    append_packet(out, w, Code::Push, static_cast<std::uint32_t>(id), 0, push(id, payload));
    return out;
}

Bytes shared_frame(Wire w, std::uint64_t id, std::size_t payload) {
    return std::make_shared<const std::string>(encode(w, id, payload));
}

// The payload length that makes a Push frame exactly `size` bytes in wire form w.
std::size_t payload_for(Wire w, std::uint64_t id, std::size_t size) {
    for (std::size_t n = 0; n < size; ++n)
        if (encode(w, id, n).size() == size) return n;
    ADD_FAILURE() << "no Push frame of exactly " << size << " bytes";
    return 0;
}

std::size_t kick_size(Wire w, const std::string& reason) {
    pb::Kick k;
    k.set_reason(reason);
    std::string out;
    append_packet(out, w, Code::Kick, 0, 0, k);
    return out.size();
}

std::vector<std::uint64_t> push_ids(const Decoded& d) {
    std::vector<std::uint64_t> ids;
    for (const auto& f : d.frames)
        if (f.code == static_cast<std::uint16_t>(Code::Push)) ids.push_back(f.as_push().msg_id());
    return ids;
}

// An empty shared buffer (a room batch shed whole for this viewer) queues nothing: queued, it
// was a zero-length write that completed and was issued again, a loop at 100% CPU.
TEST(SessionSendBytes, AnEmptyBufferQueuesNothingAndWritesNothing) {
    Rig rig;
    auto s = open_session(rig.loop);
    std::size_t before = s->sent.size();
    std::size_t writes_before = s->writes.size();
    s->send_bytes(std::make_shared<const std::string>());
    s->send_bytes(nullptr);
    EXPECT_EQ(s->queued_bytes(), 0u);
    run_ready(rig.loop);
    EXPECT_EQ(s->writes.size(), writes_before);
    s->send_bytes(shared_frame(s->wire(), 7, 10));
    run_ready(rig.loop);
    s->pump();
    EXPECT_EQ(push_ids(decode(*s)), (std::vector<std::uint64_t>{7}));
    EXPECT_EQ(s->writes.size(), writes_before + 1);
    EXPECT_GT(s->sent.size(), before);
}

// ---------------------------------------------------------------- order and partial writes

class SessionWriteOrder : public ::testing::TestWithParam<std::tuple<TransportKind, std::size_t>> {
};

// Own frames and shared (broadcast) buffers, mixed, arrive whole and in queue order however
// few bytes each write takes.
TEST_P(SessionWriteOrder, FramesArriveWholeAndInOrderWhateverEachWriteTakes) {
    auto [kind, budget] = GetParam();
    Rig rig;
    auto s = kind == TransportKind::Ws ? open_ws(rig.loop) : open_session(rig.loop);
    const Wire w = s->wire();
    std::size_t before = s->sent.size();
    std::size_t writes_before = s->writes.size();
    s->default_budget = budget;

    s->send(Code::Push, 1, push(1, 10));
    s->send_bytes(shared_frame(w, 2, 300));
    s->send(Code::Push, 3, push(3, 0));
    s->send(Code::Push, 4, push(4, 50));
    s->send_bytes(shared_frame(w, 5, 20));
    s->send_bytes(shared_frame(w, 6, 1));
    run_ready(rig.loop);
    s->pump();

    Decoded d = decode(*s);
    EXPECT_FALSE(d.error);
    EXPECT_EQ(d.trailing, 0u);
    EXPECT_EQ(push_ids(d), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
    for (std::size_t i = 0; i < d.frames.size(); ++i) EXPECT_EQ(d.frames[i].seq, i + 1);
    for (std::size_t i = writes_before; i < s->writes.size(); ++i)
        EXPECT_LE(s->writes[i].taken, budget);
    EXPECT_EQ(s->queued_bytes(), 0u);
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);
    EXPECT_EQ(get(rig.loop.stats().bytes_out), s->sent.size());
    EXPECT_GT(s->sent.size(), before);
    EXPECT_FALSE(s->closing());
}

INSTANTIATE_TEST_SUITE_P(Budgets, SessionWriteOrder,
                         ::testing::Combine(::testing::Values(TransportKind::Tcp,
                                                              TransportKind::Ws),
                                            ::testing::Values(1, 2, 3, 7, 16, 17, 29, 100, 333,
                                                              FakeSession::kUnlimited)));

// ---------------------------------------------------------------- coalescing

TEST(SessionCoalescing, FramesQueuedInOneTurnLeaveInOneWrite) {
    Rig rig;
    auto s = open_session(rig.loop);
    for (std::uint64_t i = 1; i <= 10; ++i)
        s->send(Code::Push, static_cast<std::uint32_t>(i), push(i));
    EXPECT_TRUE(s->writes.empty()) << "corked: nothing is written before the turn ends";
    EXPECT_EQ(s->queued_chunks(), 1u) << "own frames of one turn share one buffer";
    run_ready(rig.loop);
    ASSERT_EQ(s->writes.size(), 1u);
    EXPECT_EQ(s->writes[0].chunks, 1u);
    EXPECT_EQ(get(rig.loop.stats().writes), 1u);
    EXPECT_EQ(get(rig.loop.stats().frames_out), 10u);
    EXPECT_EQ(push_ids(decode_tcp(s->sent)),
              (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}));

    // Shared buffers are gathered, not copied: own, shared, own+own make three buffers, one write.
    s->send(Code::Push, 11, push(11));
    s->send_bytes(shared_frame(Wire::TcpBinary, 12, 4));
    s->send(Code::Push, 13, push(13));
    s->send(Code::Push, 14, push(14));
    EXPECT_EQ(s->queued_chunks(), 3u);
    run_ready(rig.loop);
    ASSERT_EQ(s->writes.size(), 2u);
    EXPECT_EQ(s->writes[1].chunks, 3u);
    EXPECT_EQ(push_ids(decode_tcp(s->sent)).size(), 14u);
}

TEST(SessionCoalescing, AGatherWriteOffersAtMost64Buffers) {
    LoopOptions o = test_options();
    o.send_queue_max_bytes = 1 << 20;
    Rig rig(o);
    auto s = open_session(rig.loop);
    for (std::uint64_t i = 1; i <= 100; ++i) s->send_bytes(shared_frame(Wire::TcpBinary, i, 3));
    run_ready(rig.loop);
    ASSERT_EQ(s->writes.size(), 2u);
    EXPECT_EQ(s->writes[0].chunks, 64u);
    EXPECT_EQ(s->writes[1].chunks, 36u);
    auto ids = push_ids(decode_tcp(s->sent));
    ASSERT_EQ(ids.size(), 100u);
    for (std::size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(ids[i], i + 1);
}

TEST(SessionCoalescing, WouldBlockWritesNothingMoreUntilWritable) {
    Rig rig;
    auto s = open_session(rig.loop);
    s->default_budget = 0;
    s->send(Code::Push, 1, push(1));
    run_ready(rig.loop);
    ASSERT_EQ(s->writes.size(), 1u);  // the EAGAIN
    EXPECT_TRUE(s->waiting_writable);
    EXPECT_TRUE(s->sent.empty());
    std::size_t queued = s->queued_bytes();
    EXPECT_GT(queued, 0u);

    s->send(Code::Push, 2, push(2));
    s->send_bytes(shared_frame(Wire::TcpBinary, 3, 5));
    run_ready(rig.loop);
    EXPECT_EQ(s->writes.size(), 1u) << "no write is tried while waiting for writable";
    EXPECT_GT(s->queued_bytes(), queued);

    s->drain();
    EXPECT_EQ(s->writes.size(), 2u) << "everything queued leaves in one gather write";
    EXPECT_EQ(push_ids(decode_tcp(s->sent)), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(s->queued_bytes(), 0u);
}

TEST(SessionCoalescing, AWriteErrorClosesAsIoErrorAndDropsTheQueue) {
    Rig rig;
    auto s = open_session(rig.loop);
    s->fail_errno = EPIPE;
    s->send(Code::Push, 1, push(1));
    run_ready(rig.loop);
    EXPECT_TRUE(s->closed());
    EXPECT_TRUE(s->transport_closed);
    EXPECT_EQ(rig.closed_as(CloseReason::IoError), 1u);
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);
}

// ---------------------------------------------------------------- the bound

// The bound counts bytes queued and not yet written; exactly the bound is not over it. Crossing
// it while bytes wait drops what is not on the wire and queues KICK "slow" alone.
TEST(SessionQueueBound, CrossingTheBoundWhileBytesWaitKicksSlowAndDropsTheUnwritten) {
    Rig rig;
    auto s = open_session(rig.loop);
    const Wire w = s->wire();
    s->default_budget = 0;  // the peer stopped reading

    s->send(Code::Push, 1, push(1, payload_for(w, 1, 600)));
    run_ready(rig.loop);
    s->send(Code::Push, 2, push(2, payload_for(w, 2, 400)));
    EXPECT_EQ(s->queued_bytes(), 1000u);
    EXPECT_FALSE(s->closing()) << "exactly the bound is within it";
    EXPECT_EQ(get(rig.loop.stats().slow_kicks), 0u);

    s->send(Code::Push, 3, push(3, 0));
    EXPECT_TRUE(s->closing());
    EXPECT_EQ(get(rig.loop.stats().slow_kicks), 1u);
    EXPECT_EQ(s->queued_bytes(), kick_size(w, "slow")) << "the unwritten frames were dropped";
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes),
              static_cast<std::int64_t>(kick_size(w, "slow")));
    s->send(Code::Push, 4, push(4));  // after the cut: ignored
    EXPECT_EQ(s->queued_bytes(), kick_size(w, "slow"));

    s->drain();
    Decoded d = decode_tcp(s->sent);
    ASSERT_EQ(d.frames.size(), 1u);
    EXPECT_EQ(d.frames[0].code, static_cast<std::uint16_t>(Code::Kick));
    EXPECT_EQ(d.frames[0].as_kick().reason(), "slow");
    EXPECT_TRUE(s->closed()) << "closed once the KICK is written";
    EXPECT_TRUE(s->transport_closed);
    EXPECT_EQ(rig.closed_as(CloseReason::SlowConsumer), 1u);
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);
    auto closed = rig.handler.closed();
    ASSERT_EQ(closed.size(), 1u);
    EXPECT_EQ(closed[0].why, CloseReason::SlowConsumer);
}

// One buffer over the bound, queued to a session that had written everything, is not
// slowness (a big coalesced room batch must not kick a whole room); a frame more while it
// still waits is.
TEST(SessionQueueBound, OneBufferOverTheBoundToAnEmptyQueueIsNotSlowAFrameMoreIs) {
    Rig rig;
    auto s = open_session(rig.loop);
    s->default_budget = 100;
    s->send_bytes(shared_frame(Wire::TcpBinary, 1, 5000));
    EXPECT_GT(s->queued_bytes(), 1000u);
    EXPECT_FALSE(s->closing());
    run_ready(rig.loop);  // one write of 100, then waiting for writable
    s->pump();
    EXPECT_FALSE(s->closing());
    EXPECT_EQ(get(rig.loop.stats().slow_kicks), 0u);
    EXPECT_EQ(push_ids(decode_tcp(s->sent)), (std::vector<std::uint64_t>{1}));

    s->default_budget = 0;
    s->send_bytes(shared_frame(Wire::TcpBinary, 2, 5000));
    run_ready(rig.loop);
    EXPECT_FALSE(s->closing());
    s->send(Code::Push, 3, push(3));
    EXPECT_TRUE(s->closing());
    EXPECT_EQ(get(rig.loop.stats().slow_kicks), 1u);
}

// ---------------------------------------------------------------- the slow-consumer cut

// A peer that stops reading is kicked at the bound and closed as slow_consumer when the close
// linger runs out (its KICK never left); a reading neighbour on the same loop sees nothing of it.
TEST(SessionSlowConsumerCut, ClosedAtTheLingerAfterTheBoundOthersUnaffected) {
    Rig rig;
    auto slow = open_session(rig.loop);
    auto fine = open_session(rig.loop);
    slow->default_budget = 0;
    std::uint64_t kicked_at = 0;  // the wheel's tick when the kick set the linger
    for (std::uint64_t i = 1; i <= 5; ++i) {
        auto frame = shared_frame(Wire::TcpBinary, i, 280);  // 300 bytes and a little
        bool was_closing = slow->closing();
        slow->send_bytes(frame);
        if (slow->closing() && !was_closing) kicked_at = rig.loop.wheel().now();
        fine->send_bytes(frame);
        run_ready(rig.loop);
        EXPECT_EQ(slow->closing(), i >= 4) << "message " << i;  // 4 x ~300 > 1000
    }
    EXPECT_EQ(get(rig.loop.stats().slow_kicks), 1u);

    advance_to(rig.loop, kicked_at + rig.loop.ticks(1990ms));
    EXPECT_FALSE(slow->closed()) << "the linger is close_linger (2000 ms)";
    EXPECT_TRUE(rig.handler.closed().empty());
    advance_to(rig.loop, kicked_at + rig.loop.ticks(2000ms));
    EXPECT_TRUE(slow->closed());
    EXPECT_TRUE(slow->transport_closed);
    EXPECT_TRUE(slow->sent.empty());
    EXPECT_EQ(rig.closed_as(CloseReason::SlowConsumer), 1u);
    ASSERT_EQ(rig.handler.closed().size(), 1u);
    EXPECT_EQ(rig.handler.closed()[0].session, slow->id());
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);

    EXPECT_FALSE(fine->closing());
    fine->send(Code::Push, 6, push(6));
    run_ready(rig.loop);
    EXPECT_EQ(push_ids(decode_tcp(fine->sent)), (std::vector<std::uint64_t>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(rig.loop.session_count(), 1u);
}

// A slow consumer that starts reading inside the linger gets its KICK and is closed then.
TEST(SessionSlowConsumerCut, APeerReadingInsideTheLingerGetsTheKickThenTheClose) {
    Rig rig;
    auto s = open_session(rig.loop);
    s->default_budget = 0;
    s->send_bytes(shared_frame(Wire::TcpBinary, 1, 900));
    run_ready(rig.loop);
    s->send_bytes(shared_frame(Wire::TcpBinary, 2, 900));
    ASSERT_TRUE(s->closing());
    advance(rig.loop, 1000ms);
    EXPECT_FALSE(s->closed());
    s->budgets = {7, 7, 7};
    s->default_budget = FakeSession::kUnlimited;
    s->pump();
    EXPECT_TRUE(s->closed());
    Decoded d = decode_tcp(s->sent);
    EXPECT_EQ(d.trailing, 0u);
    ASSERT_EQ(d.frames.size(), 1u) << "frame 1 was not on the wire yet: dropped with frame 2";
    EXPECT_EQ(d.frames[0].as_kick().reason(), "slow");
    EXPECT_EQ(rig.closed_as(CloseReason::SlowConsumer), 1u);
}

// ---------------------------------------------------------------- no half-written frame

enum class Cut { Overflow, Kick, CloseAfterFlush };

class SessionNoHalfFrame : public ::testing::TestWithParam<std::tuple<TransportKind, bool, Cut>> {};

// A frame partly on the wire when the session is cut (over the bound, kicked, or closing after
// flush) is finished before anything else is written; what comes after it is whole too, and
// frames not yet started are dropped (overflow) or not (kick and close keep the queue).
TEST_P(SessionNoHalfFrame, AFramePartlyWrittenIsFinishedBeforeTheCut) {
    auto [kind, shared, cut] = GetParam();
    Rig rig;
    auto s = kind == TransportKind::Ws ? open_ws(rig.loop) : open_session(rig.loop);
    const Wire w = s->wire();
    std::size_t head = s->sent.size();
    s->budgets = {300};
    s->default_budget = 0;
    if (shared)
        s->send_bytes(shared_frame(w, 1, payload_for(w, 1, 800)));
    else
        s->send(Code::Push, 1, push(1, payload_for(w, 1, 800)));
    run_ready(rig.loop);
    ASSERT_EQ(s->sent.size(), head + 300);
    ASSERT_EQ(s->written_of_first_chunk(), 300u);

    s->send(Code::Push, 2, push(2, 100));
    std::string reason;
    CloseReason why = CloseReason::SlowConsumer;
    switch (cut) {
        case Cut::Overflow:
            s->send(Code::Push, 3, push(3, 400));  // 500 + ~130 + ~420 > 1000
            ASSERT_EQ(get(rig.loop.stats().slow_kicks), 1u);
            reason = "slow";
            break;
        case Cut::Kick:
            s->kick("admin");
            reason = "admin";
            why = CloseReason::Kicked;
            break;
        case Cut::CloseAfterFlush:
            s->close_after_flush(CloseReason::Logout);
            why = CloseReason::Logout;
            break;
    }
    s->send(Code::Push, 9, push(9));  // after the cut: ignored
    run_ready(rig.loop);
    s->budgets = {13, 1, 64};  // still a slow reader: small writes, then all
    s->default_budget = FakeSession::kUnlimited;
    s->pump();
    ASSERT_TRUE(s->closed());

    Decoded d = decode(*s);
    EXPECT_FALSE(d.error);
    EXPECT_EQ(d.trailing, 0u);
    // Over the bound, frames not yet started are dropped, except own frames queued behind a
    // partly written own frame: they share its buffer, which is kept whole. A kick or a close
    // after flush drops nothing queued before it.
    std::vector<std::uint64_t> want = cut != Cut::Overflow ? std::vector<std::uint64_t>{1, 2}
                                      : shared             ? std::vector<std::uint64_t>{1}
                                                           : std::vector<std::uint64_t>{1, 2, 3};
    EXPECT_EQ(push_ids(d), want);
    std::size_t expect_frames = want.size() + (reason.empty() ? 0 : 1) +
                                (kind == TransportKind::Ws && !reason.empty() ? 1 : 0);
    ASSERT_EQ(d.frames.size(), expect_frames);
    if (!reason.empty()) {
        const Frame& k = d.frames[want.size()];
        EXPECT_EQ(k.code, static_cast<std::uint16_t>(Code::Kick));
        EXPECT_EQ(k.as_kick().reason(), reason);
        if (kind == TransportKind::Ws) {
            const Frame& c = d.frames.back();
            EXPECT_EQ(c.ws_opcode, lp::codec::ws::Opcode::Close);
            EXPECT_EQ(c.ws_close_status, lp::codec::ws::kCloseNormal);
            EXPECT_EQ(c.ws_close_reason, reason);
        }
    }
    EXPECT_EQ(rig.closed_as(why), 1u);
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);
}

INSTANTIATE_TEST_SUITE_P(
    Cuts, SessionNoHalfFrame,
    ::testing::Combine(::testing::Values(TransportKind::Tcp, TransportKind::Ws), ::testing::Bool(),
                       ::testing::Values(Cut::Overflow, Cut::Kick, Cut::CloseAfterFlush)));

// A hard close mid-frame stops the stream where it is: nothing of that frame's rest or of any
// later frame is written, and the queue's bytes leave the gauge.
TEST(SessionHardClose, ACloseMidFrameWritesNothingMore) {
    Rig rig;
    auto s = open_session(rig.loop);
    s->budgets = {300};
    s->default_budget = 0;
    s->send_bytes(shared_frame(Wire::TcpBinary, 1, 800));
    s->send(Code::Push, 2, push(2));
    run_ready(rig.loop);
    ASSERT_EQ(s->sent.size(), 300u);
    s->close(CloseReason::Shutdown);
    EXPECT_TRUE(s->transport_closed);
    EXPECT_EQ(s->queued_bytes(), 0u);
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);
    s->default_budget = FakeSession::kUnlimited;
    s->writable();  // a writable event that was already on its way
    run_ready(rig.loop);
    EXPECT_EQ(s->sent.size(), 300u);
    EXPECT_EQ(s->writes.size(), 1u);
    Decoded d = decode_tcp(s->sent);
    EXPECT_TRUE(d.frames.empty());
    EXPECT_EQ(d.trailing, 300u);
    EXPECT_EQ(rig.closed_as(CloseReason::Shutdown), 1u);
}

// ---------------------------------------------------------------- TLS-style writes

class SessionTlsOverflow : public ::testing::TestWithParam<TransportKind> {};

// While an asynchronous (TLS) write is in flight, the chunks it copied are locked: frames
// queued meanwhile go to a new buffer, and they leave, in order, with the next write.
TEST(SessionAsyncWrite, FramesQueuedDuringAWriteInFlightFollowIt) {
    Rig rig;
    auto s = open_session(rig.loop);
    s->async_writes = true;
    s->send(Code::Push, 1, push(1));
    run_ready(rig.loop);
    ASSERT_EQ(s->writes.size(), 1u);
    s->send(Code::Push, 2, push(2));
    s->send(Code::Push, 3, push(3));
    EXPECT_EQ(s->queued_chunks(), 2u) << "the locked chunk is not appended to";
    run_ready(rig.loop);
    EXPECT_EQ(s->writes.size(), 1u) << "one write in flight at a time";
    s->complete_async_write();
    ASSERT_EQ(s->writes.size(), 2u);
    s->complete_async_write();
    EXPECT_EQ(push_ids(decode_tcp(s->sent)), (std::vector<std::uint64_t>{1, 2, 3}));
    EXPECT_EQ(s->queued_bytes(), 0u);
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);
}

// Crossing the bound while a write is in flight keeps the chunks that write uses (dropping
// them would cut its frames and miscount what it wrote), drops the rest, and queues the KICK
// behind them.
TEST_P(SessionTlsOverflow, TheChunksOfTheWriteInFlightAreKept) {
    Rig rig;
    auto s = GetParam() == TransportKind::Ws ? open_ws(rig.loop) : open_session(rig.loop);
    const Wire w = s->wire();
    s->async_writes = true;
    s->send_bytes(shared_frame(w, 1, 500));
    s->send(Code::Push, 2, push(2, 100));
    run_ready(rig.loop);  // both chunks copied and locked
    ASSERT_EQ(s->writes.size(), s->transport() == TransportKind::Ws ? 2u : 1u);
    s->send(Code::Push, 3, push(3, 300));
    s->send(Code::Push, 4, push(4, 300));  // > 1000 with 1 and 2 still in flight
    ASSERT_EQ(get(rig.loop.stats().slow_kicks), 1u);
    s->complete_async_write();
    s->complete_async_write();
    EXPECT_TRUE(s->closed());
    Decoded d = decode(*s);
    EXPECT_FALSE(d.error);
    EXPECT_EQ(d.trailing, 0u);
    EXPECT_EQ(push_ids(d), (std::vector<std::uint64_t>{1, 2}));
    ASSERT_GE(d.frames.size(), 3u);
    EXPECT_EQ(d.frames[2].as_kick().reason(), "slow");
    EXPECT_EQ(rig.closed_as(CloseReason::SlowConsumer), 1u);
    EXPECT_EQ(get(rig.loop.stats().send_queue_bytes), 0);
}

INSTANTIATE_TEST_SUITE_P(Transports, SessionTlsOverflow,
                         ::testing::Values(TransportKind::Tcp, TransportKind::Ws));

// A WebSocket ping answered while a frame is half written: the pong waits for the frame.
TEST(SessionWsControl, APongQueuedMidFrameFollowsTheWholeFrame) {
    Rig rig;
    auto s = open_ws(rig.loop);
    std::size_t head = s->sent.size();
    s->budgets = {50};
    s->default_budget = 0;
    s->send_bytes(shared_frame(Wire::WsBinary, 1, 500));
    run_ready(rig.loop);
    ASSERT_EQ(s->sent.size(), head + 50);
    const std::uint8_t key[4] = {1, 2, 3, 4};
    s->receive(lp::codec::ws::encode_masked_frame(lp::codec::ws::Opcode::Ping, "hi", key));
    s->send(Code::Push, 2, push(2));
    run_ready(rig.loop);
    s->budgets = {3, 3, 3};
    s->default_budget = FakeSession::kUnlimited;
    s->pump();
    Decoded d = decode_ws(s->sent);
    EXPECT_FALSE(d.error);
    EXPECT_EQ(d.trailing, 0u);
    ASSERT_EQ(d.frames.size(), 3u);
    EXPECT_EQ(d.frames[0].as_push().msg_id(), 1u);
    EXPECT_EQ(d.frames[1].ws_opcode, lp::codec::ws::Opcode::Pong);
    EXPECT_EQ(d.frames[2].as_push().msg_id(), 2u);
}

}  // namespace
