// plugins/rank/update_throttle: see update_throttle.hpp.
#include "plugins/rank/update_throttle.hpp"

namespace lp::plugins::rank {

namespace {
// A board quiet for this many windows is forgotten (its next change flushes at once anyway).
constexpr std::int64_t kForgetAfterWindows = 20;
}  // namespace

void UpdateThrottle::take(Board& board, std::int64_t now_ms, std::vector<RankUpdate>& out) {
    for (auto& [receiver, update] : board.pending) out.push_back(std::move(update));
    board.pending.clear();
    board.last_flush_ms = now_ms;
    board.flushed = true;
}

std::vector<RankUpdate> UpdateThrottle::offer(const RankUpdate& update, std::int64_t now_ms) {
    std::vector<RankUpdate> out;
    std::lock_guard lock(mu_);
    Board& board = boards_[update.board_id()];
    board.pending[update.receiver] = update;
    if (!board.flushed || now_ms - board.last_flush_ms >= window_ms_) take(board, now_ms, out);
    return out;
}

std::vector<RankUpdate> UpdateThrottle::due(std::int64_t now_ms) {
    std::vector<RankUpdate> out;
    std::lock_guard lock(mu_);
    for (auto it = boards_.begin(); it != boards_.end();) {
        Board& board = it->second;
        const std::int64_t idle = now_ms - board.last_flush_ms;
        if (!board.pending.empty()) {
            if (idle >= window_ms_) take(board, now_ms, out);
            ++it;
        } else if (idle >= kForgetAfterWindows * window_ms_) {
            it = boards_.erase(it);
        } else {
            ++it;
        }
    }
    return out;
}

std::size_t UpdateThrottle::boards() const {
    std::lock_guard lock(mu_);
    return boards_.size();
}

}  // namespace lp::plugins::rank
