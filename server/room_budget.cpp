// server/room_budget: see room_budget.hpp.
#include "server/room_budget.hpp"

#include <algorithm>

namespace lp::server {

bool RoomBudget::Plan::is_shed_sender(std::uint64_t user) const noexcept {
    return !shed_senders.empty() &&
           std::binary_search(shed_senders.begin(), shed_senders.end(), user);
}

double RoomBudget::burst() const noexcept {
    return std::max(1.0, kBurstSeconds * static_cast<double>(rate_));
}

void RoomBudget::refill(std::uint64_t now_ms) {
    if (!started_) {
        started_ = true;
        refill_ms_ = now_ms;
        tokens_.fill(burst());
        for (std::size_t g = 0; g < kGroups; ++g)
            phase_[g] = (static_cast<double>(g) + 0.5) / static_cast<double>(kGroups);
        return;
    }
    if (now_ms <= refill_ms_) return;
    const double add = static_cast<double>(now_ms - refill_ms_) * rate_ / 1000.0;
    refill_ms_ = now_ms;
    for (auto& t : tokens_) t = std::min(burst(), t + add);
}

bool RoomBudget::idle(std::uint64_t now_ms) const noexcept {
    const double add =
        now_ms > refill_ms_ ? static_cast<double>(now_ms - refill_ms_) * rate_ / 1000.0 : 0.0;
    return std::all_of(tokens_.begin(), tokens_.end(),
                       [&](double t) { return t + add >= burst(); });
}

void RoomBudget::decide(const std::vector<RoomPacketPtr>& batch, std::uint64_t now_ms, Plan& out) {
    refill(now_ms);
    out.sheds = false;
    out.shed_senders.clear();
    std::size_t must = 0, normal = 0;
    for (const auto& p : batch) {
        if (p->seq == 0) continue;  // unsequenced: outside the budget
        if (p->cls == MsgClass::Critical || p->cls == MsgClass::High)
            ++must;
        else if (p->cls == MsgClass::Normal)
            ++normal;
    }
    const double floor = -burst();
    for (std::size_t g = 0; g < kGroups; ++g) {
        auto& keep = out.keep[g];
        keep.assign(batch.size(), 1);
        out.shed[g].fill(0);
        double& tokens = tokens_[g];
        tokens = std::max(floor, tokens - static_cast<double>(must));
        const double avail = std::max(0.0, tokens);
        const bool normals_fit = static_cast<double>(normal) <= avail;
        // Sampling fraction of normal messages when they do not all fit.
        const double f = normals_fit || normal == 0 ? 1.0 : avail / static_cast<double>(normal);
        // Every normal one fits: spend for them first, so the low ones get only what is left
        // whatever their place in the batch.
        if (normals_fit) tokens -= static_cast<double>(normal);
        // They do not: all the credit left moves into the sampling phase, which the kept ones
        // spend (one each), so the credit is counted once and picks stay evenly spaced.
        else
            tokens -= avail;
        bool all = true;
        for (std::size_t i = 0; i < batch.size(); ++i) {
            const RoomPacket& p = *batch[i];
            if (p.seq == 0 || p.cls == MsgClass::Critical || p.cls == MsgClass::High) continue;
            bool kept = false;
            if (p.cls == MsgClass::Normal) {
                if (normals_fit) continue;  // paid for above
                phase_[g] += f;
                kept = phase_[g] >= 1.0;
                if (kept) phase_[g] -= 1.0;
            } else {  // low: only what is left once every normal one fits
                kept = normals_fit && tokens >= 1.0;
            }
            if (kept) {
                if (p.cls == MsgClass::Low) tokens -= 1.0;
                continue;
            }
            keep[i] = 0;
            all = false;
            ++out.shed[g][static_cast<std::size_t>(p.cls)];
            if (p.sender != 0) out.shed_senders.push_back(p.sender);
        }
        out.keeps_all[g] = all;
        out.sheds |= !all;
    }
    if (out.shed_senders.size() > 1) {
        std::sort(out.shed_senders.begin(), out.shed_senders.end());
        out.shed_senders.erase(std::unique(out.shed_senders.begin(), out.shed_senders.end()),
                               out.shed_senders.end());
    }
}

}  // namespace lp::server
