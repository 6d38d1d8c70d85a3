// server/event_loop: see event_loop.hpp.
#include "server/event_loop.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "server/room_fanout.hpp"
#include "server/session.hpp"

namespace lp::server {

// ---------------------------------------------------------------- RoomTable

bool RoomTable::add(Session& s, std::uint64_t room, std::uint64_t join_seq) {
    for (const auto& slot : s.rooms)
        if (slot.room_id == room) return false;
    auto& list = rooms_[room];
    s.rooms.push_back({room, static_cast<std::uint32_t>(list.size())});
    list.push_back({&s, join_seq});
    return true;
}

const RoomTable::Member* RoomTable::find(const Session& s, std::uint64_t room) const {
    for (const auto& slot : s.rooms) {
        if (slot.room_id != room) continue;
        auto it = rooms_.find(room);
        if (it == rooms_.end() || slot.index >= it->second.size()) return nullptr;
        return &it->second[slot.index];
    }
    return nullptr;
}

bool RoomTable::remove(Session& s, std::uint64_t room) {
    auto mine = std::find_if(s.rooms.begin(), s.rooms.end(),
                             [&](const RoomSlot& r) { return r.room_id == room; });
    if (mine == s.rooms.end()) return false;
    auto it = rooms_.find(room);
    if (it != rooms_.end()) {
        auto& list = it->second;
        std::uint32_t idx = mine->index;
        Member moved = list.back();
        Session* last = moved.session;
        list[idx] = moved;
        list.pop_back();
        if (last != &s) {
            for (auto& slot : last->rooms)
                if (slot.room_id == room) slot.index = idx;
        }
        if (list.empty()) rooms_.erase(it);
    }
    *mine = s.rooms.back();
    s.rooms.pop_back();
    if (s.rooms.empty()) std::vector<RoomSlot>().swap(s.rooms);
    return true;
}

const std::vector<RoomTable::Member>* RoomTable::members(std::uint64_t room) const {
    auto it = rooms_.find(room);
    return it == rooms_.end() ? nullptr : &it->second;
}

// ---------------------------------------------------------------- EventLoop

namespace {
std::chrono::milliseconds pick_tick(const LoopOptions& o) {
    auto shortest = std::min(o.heartbeat_interval, o.login_timeout);
    if (o.finest_timer.count() > 0) shortest = std::min(shortest, o.finest_timer);
    auto t = shortest / 10;
    return std::clamp(t, std::chrono::milliseconds(5), std::chrono::milliseconds(500));
}
}  // namespace

EventLoop::EventLoop(unsigned index, const LoopOptions& opts, SessionHandler& handler)
    : index_(index),
      opts_(opts),
      handler_(handler),
      io_(1),
      tick_timer_(io_),
      tick_(pick_tick(opts)),
      start_(std::chrono::steady_clock::now()),
      wheel_(1024),
      fanout_(std::make_unique<RoomFanout>(*this)),
      read_buffer_(64 * 1024) {
    arm_tick();
}

EventLoop::~EventLoop() {
    stop();
    join();
}

std::uint64_t EventLoop::ticks(std::chrono::milliseconds d) const noexcept {
    return static_cast<std::uint64_t>((d + tick_ - std::chrono::milliseconds(1)) / tick_);
}

void EventLoop::start() {
    thread_ = std::thread([this] {
        thread_id_ = std::this_thread::get_id();
        io_.run();
    });
}

void EventLoop::set_live_limits(std::uint64_t send_queue_max_bytes,
                                std::uint32_t viewer_budget_per_s) {
    boost::asio::post(io_, [this, send_queue_max_bytes, viewer_budget_per_s] {
        opts_.send_queue_max_bytes = send_queue_max_bytes;
        if (opts_.viewer_budget_per_s != viewer_budget_per_s) fanout_->reset_budgets();
        opts_.viewer_budget_per_s = viewer_budget_per_s;
    });
}

void EventLoop::stop() {
    io_.stop();
}

void EventLoop::join() {
    if (thread_.joinable()) thread_.join();
}

bool EventLoop::on_loop_thread() const noexcept {
    return std::this_thread::get_id() == thread_id_;
}

void EventLoop::arm_tick() {
    tick_timer_.expires_after(tick_);
    tick_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec) return;
        on_tick();
        arm_tick();
    });
}

void EventLoop::on_tick() {
    auto elapsed = std::chrono::steady_clock::now() - start_;
    auto now_tick = static_cast<std::uint64_t>(elapsed / tick_);
    wheel_.advance(now_tick, [](WheelNode& n) {
        if (n.on_expire) n.on_expire(n);
    });
}

void EventLoop::adopt(std::shared_ptr<Session> s) {
    Session& ref = *s;
    ref.self_ = std::move(s);
    ref.loop_next = sessions_head_;
    if (sessions_head_) sessions_head_->loop_prev = &ref;
    sessions_head_ = &ref;
    ++session_count_;
}

void EventLoop::detach(Session& s) {
    if (s.loop_prev) s.loop_prev->loop_next = s.loop_next;
    if (s.loop_next) s.loop_next->loop_prev = s.loop_prev;
    if (sessions_head_ == &s) sessions_head_ = s.loop_next;
    s.loop_prev = s.loop_next = nullptr;
    --session_count_;
}

void EventLoop::collect(std::vector<std::shared_ptr<Session>>& out) {
    for (Session* s = sessions_head_; s; s = s->loop_next) out.push_back(s->shared_from_this());
}

void EventLoop::want_flush(Session& s) {
    if (s.flush_pending) return;
    s.flush_pending = true;
    dirty_.push_back(&s);
    if (!flush_posted_) {
        flush_posted_ = true;
        boost::asio::post(io_, [this] { flush_dirty(); });
    }
}

void EventLoop::retire(std::shared_ptr<Session> s) {
    retired_.push_back(std::move(s));
    if (!flush_posted_) {
        flush_posted_ = true;
        boost::asio::post(io_, [this] { flush_dirty(); });
    }
}

void EventLoop::flush_dirty() {
    flush_posted_ = false;
    // Sessions in dirty_ stay alive until retired_ is cleared below, even if flushing one
    // closes another.
    std::vector<Session*> batch;
    batch.swap(dirty_);
    for (Session* s : batch) {
        s->flush_pending = false;
        if (!s->closed()) s->flush();
    }
    if (dirty_.empty() && dirty_.capacity() < batch.capacity()) {
        batch.clear();
        dirty_.swap(batch);  // keep the larger buffer for the next turn
    }
    // A retired session may still be in the next turn's dirty list; free only when none is.
    if (dirty_.empty()) retired_.clear();
}

}  // namespace lp::server
