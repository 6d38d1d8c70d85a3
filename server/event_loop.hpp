// server/event_loop: one thread, one io_context, and everything that belongs to that thread.
//
// A node runs one EventLoop per core. A session lives on exactly one loop for its whole life,
// and so does its share of every room, its deadline in the loop's timing wheel and its counters.
// Nothing on the hot path takes a lock shared by all loops: other threads talk to a loop only by
// posting work to it.
//
// The loop also does the corking: sessions that queue output mark themselves dirty, and one
// handler posted at the end of the turn flushes them all, so every packet a session gets during
// one turn leaves in one write.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <unordered_map>
#include <vector>

#include "server/defaults.hpp"
#include "server/outbound.hpp"
#include "server/plain_http.hpp"
#include "server/stats.hpp"
#include "server/timing_wheel.hpp"

namespace lp::server {

class Session;
class SessionHandler;
class RoomFanout;

struct LoopOptions {
    std::chrono::milliseconds heartbeat_interval = kDefaultHeartbeatInterval;
    std::chrono::milliseconds login_timeout = kDefaultLoginTimeout;
    std::chrono::milliseconds close_linger{2000};  // bound on close-after-flush
    std::uint32_t max_body = kDefaultMaxBody;
    std::uint32_t ws_max_message = kDefaultWsMaxMessage;
    std::uint64_t send_queue_max_bytes = kDefaultSendQueueMaxBytes;
    std::string ws_path = "/ws";
    // Origins a browser's WebSocket upgrade may come from; empty = any (server/ws_upgrade.hpp).
    std::vector<std::string> ws_allowed_origins;
    // Plain HTTP requests on the WebSocket listener for other paths (server/plain_http.hpp);
    // unset = 404 to all of them.
    PlainHttpHandler http_handler;
    // The shortest delay other users of the wheel need (e.g. the qos1 retry); the wheel's
    // tick is a tenth of the shortest deadline, between 5 and 500 ms.
    std::chrono::milliseconds finest_timer{0};
    // Room messages reaching a loop within this window go out to each member in one write.
    std::chrono::milliseconds room_coalesce = kDefaultRoomCoalesce;
    std::uint32_t room_coalesce_max = kDefaultRoomCoalesceMax;
    // Room messages per viewer per second at most (server/room_budget.hpp); 0 = off.
    std::uint32_t viewer_budget_per_s = kDefaultViewerBudgetPerS;
};

// A room's members on one loop. Sessions record their index (RoomSlot) so leaving is O(1).
// Each member remembers the room_seq it joined at: it receives live messages after that seq
// only (older ones come from recovery), so a join racing a publish never yields a duplicate.
class RoomTable {
public:
    struct Member {
        Session* session;
        std::uint64_t join_seq;
    };
    // Adds s to the room's local list; false (and join_seq untouched) if already a member.
    bool add(Session& s, std::uint64_t room, std::uint64_t join_seq);
    // Removes s; false if it was not a member.
    bool remove(Session& s, std::uint64_t room);
    const std::vector<Member>* members(std::uint64_t room) const;
    const Member* find(const Session& s, std::uint64_t room) const;
    std::size_t room_count() const noexcept { return rooms_.size(); }

private:
    std::unordered_map<std::uint64_t, std::vector<Member>> rooms_;
};

class IpLimits;

class EventLoop {
public:
    EventLoop(unsigned index, const LoopOptions& opts, SessionHandler& handler);
    ~EventLoop();
    EventLoop(const EventLoop&) = delete;
    EventLoop& operator=(const EventLoop&) = delete;

    boost::asio::io_context& io() noexcept { return io_; }
    unsigned index() const noexcept { return index_; }
    const LoopOptions& options() const noexcept { return opts_; }
    SessionHandler& handler() noexcept { return handler_; }
    LoopStats& stats() noexcept { return stats_; }
    RoomTable& rooms() noexcept { return rooms_; }
    RoomFanout& fanout() noexcept { return *fanout_; }
    TimingWheel& wheel() noexcept { return wheel_; }
    std::uint64_t ticks(std::chrono::milliseconds d) const noexcept;
    std::chrono::milliseconds tick() const noexcept { return tick_; }
    // The node's per-IP limits (set by Server before start; null = none).
    IpLimits* ip_limits() const noexcept { return ip_limits_; }
    void set_ip_limits(IpLimits* l) noexcept { ip_limits_ = l; }

    // Starts the thread (run() on it). stop() ends run(); join() waits for the thread.
    void start();
    void stop();
    void join();
    bool on_loop_thread() const noexcept;

    // ---- for sessions
    void adopt(std::shared_ptr<Session> s);   // registers a new session (on this loop's thread)
    void want_flush(Session& s);              // flush s at the end of this turn
    void retire(std::shared_ptr<Session> s);  // s closed: free it after this turn
    std::uint64_t next_session_id() noexcept { return (++session_counter_ << 8) | index_; }
    std::uint8_t* read_buffer() noexcept { return read_buffer_.data(); }
    std::size_t read_buffer_size() const noexcept { return read_buffer_.size(); }

    std::size_t session_count() const noexcept {
        return session_count_.load(std::memory_order_relaxed);
    }
    template <class F>
    void for_each_session(F&& f) {
        // Collect first: f may close sessions, which unlinks them.
        std::vector<std::shared_ptr<Session>> all;
        all.reserve(session_count_);
        collect(all);
        for (auto& s : all) f(*s);
    }

private:
    void collect(std::vector<std::shared_ptr<Session>>& out);
    void flush_dirty();
    void arm_tick();
    void on_tick();
    void detach(Session& s);
    friend class Session;

    unsigned index_;
    LoopOptions opts_;
    SessionHandler& handler_;
    boost::asio::io_context io_;
    boost::asio::steady_timer tick_timer_;
    std::chrono::milliseconds tick_;
    std::chrono::steady_clock::time_point start_;
    TimingWheel wheel_;
    RoomTable rooms_;
    std::unique_ptr<RoomFanout> fanout_;
    LoopStats stats_;
    std::vector<std::uint8_t> read_buffer_;
    std::vector<Session*> dirty_;
    std::vector<std::shared_ptr<Session>> retired_;
    bool flush_posted_ = false;
    IpLimits* ip_limits_ = nullptr;
    Session* sessions_head_ = nullptr;
    std::atomic<std::size_t> session_count_{0};
    std::uint64_t session_counter_ = 0;
    std::thread thread_;
    std::thread::id thread_id_;
};

}  // namespace lp::server
