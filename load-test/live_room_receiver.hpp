// load-test/live_room_receiver: what one load shard's sessions record in the live-room scenario
// (issue 14's "the budget, with livepush-load"): one room of many viewers, audience chat from
// --senders of them, gifts pushed through the API as class `high`, likes sent as BIZ room.like.
//
// Per viewer it counts the room messages received by class, classed by push type (the shared
// vocabulary of issue 14): room.notice critical; gift.effect, room.state, pk.score high;
// room.chat normal; room.likes low; anything else "other". room_seq gaps are NOT loss here:
// under a per-viewer budget the node sheds low and samples normal, so a viewer's seq jumps by
// design. What must not be lost is checked by content instead:
//   gifts   by the gift's index in the run (its payload {"live_gift":i,"run":R}): one bit per
//           viewer and gift, so a viewer's lost gifts = gifts the API accepted - bits set, and a
//           second copy is a duplicate;
//   own     a sender's own room.chat (payload "from" = the session's user, text "c<n> ..."):
//           every chat the node accepted (BIZ_RESULT code 0) must come back to its sender, in
//           the order sent;
//   likes   every room.likes {total, delta} a viewer gets must not go below the one before, and
//           the last one should show the room's total: the run's accepted like counts plus the
//           total before the run (the first push's total - delta; 0 in a fresh room).
// The BIZ_RESULTs of the senders' room.chat and room.like are counted here too, by code: a
// node without likes answers room.like with UNKNOWN_BIZ_TYPE, and the report says "not
// supported by server" instead of counting lost likes.
//
// Lives on the shard's loop thread and is read after join(); the only shared thing is the gift
// send stamps (LiveGiftClock, atomics written by the API publisher's thread). Every table is
// sized in prepare(): receiving never allocates. No sockets, no clocks read here: the shard
// passes the times in, so the bookkeeping is unit-tested on its own (tests/load-test).
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string_view>
#include <vector>

#include "load-test/latency_histogram.hpp"
#include "load-test/push_fields.hpp"

namespace lp::load {

enum class MsgClass : std::uint8_t { Critical, High, Normal, Low, Other, Count };
inline constexpr std::size_t kMsgClasses = static_cast<std::size_t>(MsgClass::Count);

// The class a room message of this push type has by default (issue 14's table).
MsgClass class_of_type(std::string_view type) noexcept;
const char* name_of(MsgClass c) noexcept;

// ErrorCode values the live-room report tells apart (proto/livepush.proto).
inline constexpr std::int32_t kUnknownBizType = 3001;
inline constexpr std::int32_t kRateLimited = 3015;  // room.chat over room.chat_rate_per_s

// The sequence numbers of the senders' BIZ requests: the tag says what was asked, the rest is
// the request's number at its sender (heartbeats count up from 2 and never reach a tag).
inline constexpr std::uint32_t kChatSeqTag = 0x40000000u;
inline constexpr std::uint32_t kLikeSeqTag = 0x80000000u;
inline constexpr std::uint32_t kSeqNumberMask = 0x3FFFFFFFu;

// The `count` of a sender's like number m: 1, 2 or 3, so that the exact sum means something.
inline std::uint32_t like_count_of(std::uint32_t m) noexcept {
    return 1 + m % 3;
}

// When each gift of the run was sent (steady ns; 0 = not sent), shared by the API publisher
// that stamps it and every shard that reads it back.
class LiveGiftClock {
public:
    LiveGiftClock(std::uint64_t gifts, std::uint64_t run_id)
        : size_(gifts), run_id_(run_id), sent_ns_(new std::atomic<std::int64_t>[gifts]) {
        for (std::uint64_t i = 0; i < gifts; ++i) sent_ns_[i].store(0, std::memory_order_relaxed);
    }
    std::uint64_t size() const noexcept { return size_; }
    std::uint64_t run_id() const noexcept { return run_id_; }
    void stamp(std::uint64_t i, std::int64_t ns) noexcept {
        sent_ns_[i].store(ns, std::memory_order_release);
    }
    std::int64_t sent_ns(std::uint64_t i) const noexcept {
        return sent_ns_[i].load(std::memory_order_acquire);
    }

private:
    std::uint64_t size_;
    std::uint64_t run_id_;
    std::unique_ptr<std::atomic<std::int64_t>[]> sent_ns_;
};

struct LiveRoomCheckOptions {
    LiveGiftClock* gifts = nullptr;    // owned by the conductor, outlives the shards
    std::uint32_t latency_sample = 1;  // normal (room.chat): record 1 delivery in K
};

// One viewer's counts.
struct LiveViewer {
    std::array<std::uint32_t, kMsgClasses> by_class{};
    std::uint32_t gifts_seen = 0;  // distinct gifts of this run
    std::uint32_t gift_duplicates = 0;
    // likes
    std::uint32_t likes_pushes = 0;
    std::uint32_t likes_regressions = 0;  // a total below the one before
    std::uint64_t likes_last_total = 0;
    std::uint64_t likes_base = UINT64_MAX;  // first push's total - delta; UINT64_MAX: none yet
    // own chat (senders): accepted by the node, seen back, out of order / repeated
    std::uint32_t own_sent = 0;
    std::uint32_t own_accepted = 0;
    std::uint32_t own_seen = 0;
    std::uint32_t own_out_of_order = 0;
    std::uint32_t own_next = 0;  // the number after the last own chat seen
};

class LiveRoomReceiver {
public:
    // `users`: each connection's user id (shard-local index → user), to know one's own chat.
    void prepare(const LiveRoomCheckOptions& options, std::vector<std::uint64_t> users);

    // A sequenced room PUSH connection `conn` received at `now_ns` (steady); `wall_ns` is the
    // same moment on the system clock (for Push.sent_at_ms).
    void on_push(std::uint32_t conn, const PushFields& f, std::int64_t now_ns,
                 std::int64_t wall_ns);
    // A sender wrote room.chat number n / room.like number m.
    void on_chat_sent(std::uint32_t conn) noexcept { ++viewers[conn].own_sent; }
    void on_like_sent() noexcept { ++likes_sent; }
    // The BIZ_RESULT of a sender's room.chat number n / room.like number m, with its code.
    void on_chat_result(std::uint32_t conn, std::uint32_t n, std::int32_t code) noexcept;
    void on_like_result(std::uint32_t m, std::int32_t code) noexcept;

    // --- results, after join() ---
    std::vector<LiveViewer> viewers;
    LatencyHistogram high_latency;    // gift: API send → receive (steady clock, every delivery)
    LatencyHistogram normal_latency;  // room.chat: Push.sent_at_ms → receive (1 ms steps)
    std::uint64_t gifts_foreign = 0;  // gift.effect of another run or past the plan
    std::uint64_t gifts_unstamped = 0;
    std::uint64_t chat_answers = 0, chat_accepted = 0, chat_rate_limited = 0, chat_refused = 0;
    std::int32_t chat_first_refusal = 0;  // the first code other than 0 and RATE_LIMITED
    std::uint64_t likes_sent = 0, like_answers = 0, likes_accepted = 0;
    std::uint64_t like_count_accepted = 0;  // the sum of the accepted likes' counts
    std::uint64_t likes_unsupported = 0;    // answered UNKNOWN_BIZ_TYPE
    std::uint64_t likes_refused = 0;        // any other non-zero code
    std::int32_t like_first_refusal = 0;

    bool gift_seen(std::uint32_t conn, std::uint64_t gift) const noexcept {
        return (gift_bits_[std::size_t(conn) * words_ + gift / 64] >> (gift % 64)) & 1u;
    }

private:
    void on_gift(LiveViewer& v, std::uint32_t conn, const PushFields& f, std::int64_t now_ns);
    void on_chat(LiveViewer& v, std::uint32_t conn, const PushFields& f, std::int64_t wall_ns);
    void on_likes(LiveViewer& v, const PushFields& f);

    LiveRoomCheckOptions opts_;
    std::vector<std::uint64_t> users_;
    std::vector<std::uint64_t> gift_bits_;  // viewers × words_
    std::size_t words_ = 0;
    std::uint32_t latency_countdown_ = 0;
};

// What a run's viewers saw, over every shard's receiver: the report's numbers.
struct LiveRoomSummary {
    std::uint64_t viewers = 0;
    // per viewer, by class: the smallest, the median and the largest count, and the sum
    std::array<std::uint64_t, kMsgClasses> min{}, median{}, max{}, sum{};
    // gifts
    std::uint64_t gifts_accepted = 0;  // by the API (what every viewer should see)
    std::uint64_t gifts_lost = 0;      // over all viewers
    std::uint64_t viewers_missing_gifts = 0;
    std::uint64_t gift_duplicates = 0;
    // own messages of the senders
    std::uint64_t senders = 0, own_sent = 0, own_accepted = 0, own_seen = 0, own_missing = 0;
    std::uint64_t senders_missing_own = 0, own_out_of_order = 0;
    // likes
    std::uint64_t likes_base = 0;  // the room's total before the run
    std::uint64_t likes_expected =
        0;  // base + accepted counts: the last total every viewer should see
    std::uint64_t viewers_with_likes = 0, viewers_at_expected = 0, viewers_below_expected = 0;
    std::uint64_t viewers_above_expected = 0, likes_regressions = 0;
    std::uint64_t likes_last_min = 0, likes_last_max = 0;
};

// `gifts_accepted`: gifts the API answered 2xx; `like_count_accepted`: the likes' counts the node
// accepted; `senders`: connections that sent chat (the first of each receiver's table).
LiveRoomSummary summarize(const std::vector<const LiveRoomReceiver*>& shards,
                          std::uint64_t gifts_accepted, std::uint64_t like_count_accepted);

}  // namespace lp::load
