// server/room_fanout: see room_fanout.hpp.
#include "server/room_fanout.hpp"

#include <algorithm>
#include <array>
#include <boost/asio/post.hpp>
#include <chrono>

#include "codec/envelope.hpp"
#include "server/event_loop.hpp"
#include "server/session.hpp"

namespace lp::server {

RoomFanout::RoomFanout(EventLoop& loop) : loop_(loop), timer_(loop.io()) {}

void RoomFanout::enqueue(const RoomPacketPtr& p) {
    auto& batch = pending_[p->room];
    batch.push_back(p);
    if (batch.size() >= loop_.options().room_coalesce_max) {
        std::vector<RoomPacketPtr> full;
        full.swap(batch);
        pending_.erase(p->room);
        flush_room(p->room, full);
        return;
    }
    arm();
}

void RoomFanout::arm() {
    if (armed_) return;
    armed_ = true;
    auto window = loop_.options().room_coalesce;
    if (window.count() <= 0) {
        boost::asio::post(loop_.io(), [this] { flush_all(); });
        return;
    }
    timer_.expires_after(window);
    timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) flush_all();
    });
}

void RoomFanout::flush_all() {
    armed_ = false;
    auto pending = std::move(pending_);
    pending_.clear();
    for (auto& [room, batch] : pending) flush_room(room, batch);
}

namespace {

// The encoded forms of a batch, built on first use: the whole batch per wire form, and each
// message alone per wire form (for the slow path).
class BatchForms {
public:
    explicit BatchForms(const std::vector<RoomPacketPtr>& batch)
        : batch_(batch), json_(batch.size()), single_(batch.size()) {}

    const Bytes& all(Wire w) {
        Bytes& b = all_[static_cast<int>(w)];
        if (!b) {
            auto s = std::make_shared<std::string>();
            for (std::size_t i = 0; i < batch_.size(); ++i) append(*s, i, w);
            b = std::move(s);
        }
        return b;
    }

    // The messages `keep` marks (a viewer group's share under the budget), encoded once.
    const Bytes& group(std::size_t g, const std::vector<std::uint8_t>& keep, Wire w) {
        Bytes& b = group_[g][static_cast<int>(w)];
        if (!b) {
            auto s = std::make_shared<std::string>();
            for (std::size_t i = 0; i < batch_.size(); ++i)
                if (keep[i]) append(*s, i, w);
            b = std::move(s);
        }
        return b;
    }

    const Bytes& one(std::size_t i, Wire w) {
        Bytes& b = single_[i][static_cast<int>(w)];
        if (!b) {
            auto s = std::make_shared<std::string>();
            append(*s, i, w);
            b = std::move(s);
        }
        return b;
    }

private:
    void append(std::string& out, std::size_t i, Wire w) {
        const RoomPacket& p = *batch_[i];
        if (is_json(w)) {
            if (json_[i].empty()) json_[i] = codec::to_json(*p.packet.body);
            append_packet_bytes(out, w, p.packet.code, 0, p.packet.flags, json_[i]);
        } else {
            append_packet_bytes(out, w, p.packet.code, 0, p.packet.flags, p.binary_body);
        }
    }

    const std::vector<RoomPacketPtr>& batch_;
    std::array<Bytes, kWireCount> all_{};
    std::array<std::array<Bytes, kWireCount>, RoomBudget::kGroups> group_{};
    std::vector<std::string> json_;
    std::vector<std::array<Bytes, kWireCount>> single_;
};

bool excluded(const RoomPacket& p, std::uint64_t user) {
    return !p.exclude.empty() && std::binary_search(p.exclude.begin(), p.exclude.end(), user);
}

}  // namespace

void replay_to(Session& s, const std::vector<RoomPacketPtr>& packets) {
    if (packets.empty()) return;
    BatchForms forms(packets);
    s.send_bytes(forms.all(s.wire()));
    inc(s.loop().stats().room_deliveries, packets.size());
}

const RoomBudget::Plan* RoomFanout::plan_for(std::uint64_t room,
                                             const std::vector<RoomPacketPtr>& batch) {
    const std::uint32_t rate = loop_.options().viewer_budget_per_s;
    if (rate == 0) return nullptr;
    const auto now_ms =
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                       std::chrono::steady_clock::now().time_since_epoch())
                                       .count());
    auto [it, created] = budgets_.try_emplace(room, rate);
    it->second.decide(batch, now_ms, plan_);
    if (created && budgets_.size() >= budgets_sweep_at_) sweep_budgets(now_ms);
    return plan_.sheds ? &plan_ : nullptr;
}

void RoomFanout::sweep_budgets(std::uint64_t now_ms) {
    // A budget whose buckets are full again is the same as a new one; a room with no member
    // here needs none.
    for (auto it = budgets_.begin(); it != budgets_.end();) {
        if (it->second.idle(now_ms) || !loop_.rooms().members(it->first))
            it = budgets_.erase(it);
        else
            ++it;
    }
    budgets_sweep_at_ = std::max<std::size_t>(256, 2 * budgets_.size());
}

void RoomFanout::flush_room(std::uint64_t room, std::vector<RoomPacketPtr>& batch) {
    if (batch.empty()) return;
    const auto* members = loop_.rooms().members(room);
    if (!members) return;
    BatchForms forms(batch);
    bool any_exclude = std::any_of(batch.begin(), batch.end(),
                                   [](const RoomPacketPtr& p) { return !p->exclude.empty(); });
    // An unsequenced packet (seq 0, room.online) goes to every member: first_seq is the first
    // sequenced one's.
    std::uint64_t first_seq = UINT64_MAX;
    for (const auto& p : batch)
        if (p->seq != 0) {
            first_seq = p->seq;
            break;
        }
    // Sequenced messages by class (what the budget decides on and the metrics count by class);
    // unsequenced ones (room.online) count in the total only.
    std::array<std::uint64_t, kMsgClassCount> per_class{};
    std::uint64_t unsequenced = 0;
    for (const auto& p : batch)
        if (p->seq == 0)
            ++unsequenced;
        else
            ++per_class[static_cast<std::size_t>(p->cls)];
    const RoomBudget::Plan* plan = plan_for(room, batch);
    LoopStats& stats = loop_.stats();
    std::uint64_t delivered = 0;
    // Members that took the one-buffer path, per budget group (all in [0] without shedding).
    std::array<std::uint64_t, RoomBudget::kGroups> whole{};
    // Index loop: a send can kick a slow session, which must not invalidate the iteration.
    for (std::size_t m = 0; m < members->size(); ++m) {
        const auto& member = (*members)[m];
        Session* s = member.session;
        const std::size_t g = plan ? RoomBudget::group_of(s->id()) : 0;
        const bool group_whole = !plan || plan->keeps_all[g];
        if (!any_exclude && member.join_seq < first_seq &&
            (group_whole || !plan->is_shed_sender(s->user.id))) {
            const Bytes& bytes =
                group_whole ? forms.all(s->wire()) : forms.group(g, plan->keep[g], s->wire());
            // A batch wholly shed for the group: nothing to queue (an empty chunk would stall
            // the write path).
            if (!bytes->empty()) s->send_bytes(bytes);
            ++whole[g];
            continue;
        }
        for (std::size_t i = 0; i < batch.size(); ++i) {
            if ((batch[i]->seq != 0 && batch[i]->seq <= member.join_seq) ||
                excluded(*batch[i], s->user.id))
                continue;
            if (!group_whole && !plan->keep[g][i] && batch[i]->sender != s->user.id) {
                inc(stats.room_shed_by_class[static_cast<std::size_t>(batch[i]->cls)]);
                continue;
            }
            s->send_bytes(forms.one(i, s->wire()));
            if (batch[i]->seq != 0)
                inc(stats.room_delivered_by_class[static_cast<std::size_t>(batch[i]->cls)]);
            ++delivered;
        }
    }
    for (std::size_t g = 0; g < RoomBudget::kGroups; ++g) {
        if (whole[g] == 0) continue;
        delivered += unsequenced * whole[g];
        for (std::size_t c = 0; c < kMsgClassCount; ++c) {
            const std::uint64_t shed = plan && !plan->keeps_all[g] ? plan->shed[g][c] : 0;
            if (shed) inc(stats.room_shed_by_class[c], shed * whole[g]);
            if (per_class[c] > shed)
                inc(stats.room_delivered_by_class[c], (per_class[c] - shed) * whole[g]);
            delivered += (per_class[c] - shed) * whole[g];
        }
    }
    inc(stats.room_deliveries, delivered);
    inc(stats.room_batches);
}

}  // namespace lp::server
