// load-test/load_shard_live: the live-room scenario's sending side of a shard: its senders'
// room.chat and room.like BIZ requests, paced by one shard timer, and their BIZ_RESULTs. One
// step of the connection state machine of load_shard_impl.hpp; runs on the shard's thread only.
//
// The schedule is global and fixed: chat k is due at start + k / chat_rate and comes from
// sender k % senders as that sender's chat number k / senders (likes alike with like_rate).
// Every shard walks the same schedule and writes the requests of its own senders, so the rates
// hold whatever --threads is. The request's number rides in the frame's seq under a tag
// (kChatSeqTag, kLikeSeqTag), so a BIZ_RESULT says what it answers without a table. A request
// due on a session that is closed, or whose output buffer is full (the server is not reading
// it), is not sent and counted apart: it expects no own message back.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "codec/envelope.hpp"
#include "load-test/clocks.hpp"
#include "load-test/load_shard_impl.hpp"

namespace lp::load {
namespace {

constexpr auto kLiveTick = std::chrono::milliseconds(5);

}  // namespace

void LoadShard::Impl::on_start_sending(double duration_s) {
    live_start_ns = steady_ns();
    const std::uint32_t senders = std::min(opts.senders, opts.connections);
    total_chats = senders ? static_cast<std::uint64_t>(std::floor(opts.chat_rate * duration_s)) : 0;
    total_likes = senders ? static_cast<std::uint64_t>(std::floor(opts.like_rate * duration_s)) : 0;
    next_chat = next_like = 0;
    live_tick();
}

bool LoadShard::Impl::append_biz(LoadConnection& c, std::uint32_t seq, std::string_view type,
                                 std::string_view data) {
    livepush::v1::BizReq req;
    req.set_type(std::string(type));
    req.set_data(std::string(data));
    biz_scratch.clear();
    req.SerializeToString(&biz_scratch);
    compact(c);
    const std::size_t frame_len = codec::kHeaderSize + biz_scratch.size();
    const std::size_t need = (opts.websocket ? ws::kMaxHeaderSize : 0) + frame_len;
    if (std::size_t(c.out_size - c.out_end) < need) return false;
    codec::Header h;
    h.code = static_cast<std::uint16_t>(codec::Code::Biz);
    h.seq = seq;
    h.body_len = static_cast<std::uint32_t>(biz_scratch.size());
    std::uint8_t* p = c.out() + c.out_end;
    std::size_t wh = 0;
    std::uint8_t key[4];
    if (opts.websocket) {
        const std::uint32_t r = next_random();
        std::memcpy(key, &r, 4);
        wh = ws::encode_header(ws::Opcode::Binary, frame_len, p, key);
    }
    codec::encode_header(h, p + wh);
    std::memcpy(p + wh + codec::kHeaderSize, biz_scratch.data(), biz_scratch.size());
    if (opts.websocket) ws::apply_mask(p + wh, frame_len, key);
    c.out_end = static_cast<std::uint16_t>(c.out_end + wh + frame_len);
    return true;
}

void LoadShard::Impl::live_tick() {
    if (shutting_down) return;
    if (conns.empty()) {
        sending_done.store(true, std::memory_order_release);
        return;
    }
    const std::uint32_t senders = std::min(opts.senders, opts.connections);
    const double elapsed_s = double(steady_ns() - live_start_ns) / 1e9;
    const auto due = [elapsed_s](double rate, std::uint64_t total) {
        return std::min<std::uint64_t>(total, static_cast<std::uint64_t>(elapsed_s * rate) + 1);
    };
    const std::uint32_t shard_count = std::max<std::uint32_t>(1, opts.threads);
    // Connection g of the run is in shard g % shard_count: the first one here names the shard.
    const std::uint32_t my_shard = shard_of(conns.front().global_index, shard_count);
    const std::string room = std::to_string(room_of(opts, 0));
    std::string data;
    std::uint64_t written = 0;
    // Bounded by total_chats and total_likes: each request is visited once.
    for (const std::uint64_t chats_due = due(opts.chat_rate, total_chats); next_chat < chats_due;
         ++next_chat) {
        const auto sender = static_cast<std::uint32_t>(next_chat % senders);
        if (shard_of(sender, shard_count) != my_shard) continue;
        LoadConnection& c = conns[index_in_shard(sender, shard_count)];
        const auto n = static_cast<std::uint32_t>(next_chat / senders) & kSeqNumberMask;
        std::string text = "c" + std::to_string(n) + " ";
        if (text.size() < opts.chat_bytes) text.append(opts.chat_bytes - text.size(), 'x');
        data = "{\"room_id\":" + room + ",\"text\":\"" + text + "\"}";
        if (c.state != State::Ready || !append_biz(c, kChatSeqTag | n, "room.chat", data)) {
            ++results.live_not_sent;
            continue;
        }
        results.live.on_chat_sent(c.index);
        ++written;
        flush(c);
        if (c.state == State::Closed) release(c);
    }
    for (const std::uint64_t likes_due = due(opts.like_rate, total_likes); next_like < likes_due;
         ++next_like) {
        const auto sender = static_cast<std::uint32_t>(next_like % senders);
        if (shard_of(sender, shard_count) != my_shard) continue;
        LoadConnection& c = conns[index_in_shard(sender, shard_count)];
        const auto m = static_cast<std::uint32_t>(next_like / senders) & kSeqNumberMask;
        data = "{\"room_id\":" + room + ",\"count\":" + std::to_string(like_count_of(m)) + "}";
        if (c.state != State::Ready || !append_biz(c, kLikeSeqTag | m, "room.like", data)) {
            ++results.live_not_sent;
            continue;
        }
        results.live.on_like_sent();
        ++written;
        flush(c);
        if (c.state == State::Closed) release(c);
    }
    live_requests.fetch_add(written, std::memory_order_relaxed);
    if (next_chat >= total_chats && next_like >= total_likes) {
        sending_done.store(true, std::memory_order_release);
        return;
    }
    live_timer.expires_after(kLiveTick);
    live_timer.async_wait([this](const error_code& ec) {
        if (!ec) live_tick();
    });
}

void LoadShard::Impl::on_live_result(LoadConnection& c, const codec::FrameView& fv) {
    const bool json = (fv.header.flags & codec::kJsonBody) != 0;
    login_result.Clear();
    const std::int32_t code =
        codec::parse_body(fv.body, json, login_result) ? login_result.code() : -1;
    const std::uint32_t number = fv.header.seq & kSeqNumberMask;
    if (fv.header.seq & kChatSeqTag)
        results.live.on_chat_result(c.index, number, code);
    else
        results.live.on_like_result(number, code);
    live_answers.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace lp::load
