// router/room_likes: see room_likes.hpp.
#include "router/room_likes.hpp"

#include <boost/asio/post.hpp>

#include "codec/prometheus_text.hpp"
#include "codec/wall_clock.hpp"
#include "server/event_loop.hpp"
#include "server/hub.hpp"

namespace lp::router {

// One flush's sums, gathered from every loop; the last loop to add its own goes on.
struct RoomLikes::Gather {
    std::mutex mu;
    Sums sums;
    std::size_t remaining = 0;
};

RoomLikes::RoomLikes(Routing& routing, LikeTotals& totals, server::Hub& hub,
                     std::function<std::uint64_t()> next_msg_id)
    : routing_(routing), totals_(totals), hub_(hub), next_msg_id_(std::move(next_msg_id)) {
    for (std::size_t i = 0; i < hub_.loops().size(); ++i)
        per_loop_.push_back(std::make_unique<Sums>());
}

void RoomLikes::add(unsigned loop, std::uint64_t room, std::uint64_t count) {
    (*per_loop_[loop])[room] += count;
    stats_.received.fetch_add(count, std::memory_order_relaxed);
    stats_.requests.fetch_add(1, std::memory_order_relaxed);
}

void RoomLikes::add_from_node(std::uint64_t room, std::uint64_t likes) {
    stats_.from_nodes.fetch_add(likes, std::memory_order_relaxed);
    add_pending(room, likes);
}

void RoomLikes::add_pending(std::uint64_t room, std::uint64_t likes) {
    std::lock_guard lock(pending_mu_);
    pending_[room] += likes;
}

void RoomLikes::flush() {
    Sums sums;
    {
        std::lock_guard lock(pending_mu_);
        sums.swap(pending_);
    }
    // No request since the last flush: the loops' maps are empty, no task for them.
    const std::uint64_t requests = stats_.requests.load(std::memory_order_relaxed);
    if (requests == requests_at_last_flush_ || per_loop_.empty()) {
        if (!sums.empty()) finish(std::move(sums));
        return;
    }
    requests_at_last_flush_ = requests;
    auto g = std::make_shared<Gather>();
    g->sums = std::move(sums);
    g->remaining = per_loop_.size();
    for (std::size_t i = 0; i < per_loop_.size(); ++i) {
        boost::asio::post(hub_.loops()[i]->io(), [this, g, i] {
            Sums mine;
            mine.swap(*per_loop_[i]);
            std::unique_lock lock(g->mu);
            for (const auto& [room, n] : mine) g->sums[room] += n;
            if (--g->remaining != 0) return;
            Sums all = std::move(g->sums);
            lock.unlock();
            finish(std::move(all));
        });
    }
}

void RoomLikes::finish(Sums sums) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> elsewhere;
    for (const auto& [room, likes] : sums) {
        if (!routing_.room_is_home(room)) {
            elsewhere.emplace_back(room, likes);
            stats_.forwarded.fetch_add(likes, std::memory_order_relaxed);
            continue;
        }
        // In the order of the adds, which is the order of the flushes: each total is the last
        // one plus its delta.
        totals_.add(room, likes, [this, room, likes](std::optional<std::uint64_t> total) {
            if (!total) {
                stats_.store_failures.fetch_add(1, std::memory_order_relaxed);
                add_pending(room, likes);  // counted nowhere yet: again at the next flush
                return;
            }
            publish(room, *total, likes);
        });
    }
    if (!elsewhere.empty()) routing_.forward_room_likes(elsewhere);
}

void RoomLikes::publish(std::uint64_t room, std::uint64_t total, std::uint64_t delta) {
    // Class low by its type (server/msg_class.hpp). Unsequenced, like room.online, so outside
    // the viewer budget: one message per room per interval, never worth shedding.
    routing_.publish_room_unsequenced({.room = room,
                                       .msg_id = next_msg_id_(),
                                       .type = "room.likes",
                                       .payload = "{\"total\":" + std::to_string(total) +
                                                  ",\"delta\":" + std::to_string(delta) + "}",
                                       .sent_at_ms = codec::wall_ms()});
    stats_.merged.fetch_add(delta, std::memory_order_relaxed);
    stats_.pushes.fetch_add(1, std::memory_order_relaxed);
    if (on_total_) on_total_(room, total);
}

void write_metrics(codec::PromText& m, const RoomLikesStats& s) {
    auto v = [](const std::atomic<std::uint64_t>& a) { return a.load(std::memory_order_relaxed); };
    m.counter("livepush_room_likes_received_total",
              "likes (the sum of room.like counts) accepted from clients on this node",
              v(s.received));
    m.counter("livepush_room_like_requests_total", "room.like requests accepted on this node",
              v(s.requests));
    static constexpr const char* kReasons[] = {"rate", "count", "not_in_room"};
    for (int i = 0; i < 3; ++i)
        m.counter("livepush_room_like_refused_total", "room.like requests refused, by reason",
                  v(s.refused[i]), std::string("reason=\"") + kReasons[i] + "\"");
    m.counter("livepush_room_likes_forwarded_total",
              "likes sent to the home node of their room (one frame per home per interval)",
              v(s.forwarded));
    m.counter("livepush_room_likes_from_nodes_total",
              "likes received from other nodes for rooms homed here", v(s.from_nodes));
    m.counter("livepush_room_likes_merged_total",
              "likes summed into room.likes pushes by this node (the rooms' home); compare with "
              "livepush_room_likes_pushes_total",
              v(s.merged));
    m.counter("livepush_room_likes_pushes_total",
              "room.likes pushes published by this node (at most one per room per interval)",
              v(s.pushes));
    m.counter("livepush_room_likes_store_failures_total",
              "likes total updates that failed (Redis down); the likes are retried next interval",
              v(s.store_failures));
}

}  // namespace lp::router
