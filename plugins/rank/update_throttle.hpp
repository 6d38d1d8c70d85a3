// plugins/rank/update_throttle: paces rank.update pushes per board.
//
// What it is for: a busy board changes hundreds of times a second; rooms need the receiver's
// rank and score, not every step. Per board, at most one flush per window (500 ms: <= 2/s). A
// flush carries, for each receiver whose score changed since the board's last flush, one
// update (to that receiver's room); changes within a window collapse into the latest. The
// first change after a quiet window flushes at once (leading edge); later ones wait for the
// window's end (trailing edge, driven by the owner calling due()), so the last change of a
// burst is always shown.
//
// Per node: in a cluster each node paces the events it consumes (gift events are partitioned by
// room, so a board's receivers are usually spread over few nodes).
//
// What it owns: the pending updates, under its own mutex. It never pushes or reads the store.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

namespace lp::plugins::rank {

struct RankUpdate {
    std::string week, channel, gift;
    std::uint64_t receiver = 0;
    std::uint64_t room = 0;
    bool web = true, app = true;
    std::string board_id() const { return week + ":" + channel + ":" + gift; }
};

class UpdateThrottle {
public:
    explicit UpdateThrottle(std::chrono::milliseconds window) : window_ms_(window.count()) {}

    // Records `update`; returns what to push now (empty while the board's window is closed).
    std::vector<RankUpdate> offer(const RankUpdate& update, std::int64_t now_ms);
    // The pending updates of every board whose window has ended.
    std::vector<RankUpdate> due(std::int64_t now_ms);
    std::size_t boards() const;

private:
    struct Board {
        std::int64_t last_flush_ms = 0;
        bool flushed = false;
        std::map<std::uint64_t, RankUpdate> pending;  // by receiver: the latest wins
    };
    static void take(Board& board, std::int64_t now_ms, std::vector<RankUpdate>& out);

    const std::int64_t window_ms_;
    mutable std::mutex mu_;
    std::unordered_map<std::string, Board> boards_;
};

}  // namespace lp::plugins::rank
