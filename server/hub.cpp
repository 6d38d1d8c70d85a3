// server/hub: see hub.hpp.
#include "server/hub.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>

#include "codec/wall_clock.hpp"
#include "server/event_loop.hpp"
#include "server/room_fanout.hpp"
#include "server/session.hpp"

namespace lp::server {

Hub::Hub(std::vector<EventLoop*> loops, HubOptions opts) : loops_(std::move(loops)), opts_(opts) {}

Hub::Stripe& Hub::stripe(std::uint64_t key) const noexcept {
    // Fibonacci hashing: sequential ids spread over all stripes.
    return stripes_[(key * 0x9E3779B97F4A7C15ull) >> 58];
}

std::uint64_t Hub::next_epoch() noexcept {
    std::uint64_t now = codec::wall_ms();
    std::uint64_t last = last_epoch_.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
        next = std::max(now, last + 1);
    } while (!last_epoch_.compare_exchange_weak(last, next, std::memory_order_relaxed));
    return next;
}

// ---------------------------------------------------------------- users

Hub::Bind Hub::bind_user(Session& s, std::size_t max_sessions) {
    Bind out;
    Stripe& st = stripe(s.user.id);
    std::lock_guard lock(st.mu);
    auto& list = st.users[s.user.id];
    if (list.empty()) online_users_.fetch_add(1, std::memory_order_relaxed);
    auto same = std::find_if(list.begin(), list.end(),
                             [&](const Bound& b) { return b.platform == s.user.platform; });
    if (same != list.end()) {
        out.replaced = same->session.lock();
        list.erase(same);
    } else if (max_sessions && list.size() >= max_sessions) {
        // A session already gone (closing, not yet unbound) makes room first; else the oldest.
        auto victim = std::find_if(list.begin(), list.end(),
                                   [](const Bound& b) { return b.session.expired(); });
        if (victim == list.end()) victim = list.begin();
        out.evicted = victim->session.lock();
        list.erase(victim);
    }
    list.push_back(Bound{s.user.platform, s.id(), s.loop().index(), s.weak_from_this()});
    return out;
}

void Hub::unbind_user(Session& s) {
    Stripe& st = stripe(s.user.id);
    std::lock_guard lock(st.mu);
    auto it = st.users.find(s.user.id);
    if (it == st.users.end()) return;
    auto& list = it->second;
    list.erase(std::remove_if(list.begin(), list.end(),
                              [&](const Bound& b) { return b.session_id == s.id(); }),
               list.end());
    if (list.empty()) {
        st.users.erase(it);
        online_users_.fetch_sub(1, std::memory_order_relaxed);
    }
}

std::vector<Hub::UserSession> Hub::user_sessions(std::uint64_t user) const {
    std::vector<UserSession> out;
    Stripe& st = stripe(user);
    std::lock_guard lock(st.mu);
    auto it = st.users.find(user);
    if (it == st.users.end()) return out;
    for (const auto& b : it->second) out.push_back({b.session_id, b.platform, b.loop, b.session});
    return out;
}

std::size_t Hub::post_to_user(std::uint64_t user, std::function<void(Session&)> fn) const {
    auto targets = user_sessions(user);
    for (auto& t : targets) {
        boost::asio::post(loops_[t.loop]->io(), [w = t.session, fn] {
            if (auto s = w.lock(); s && !s->closing()) fn(*s);
        });
    }
    return targets.size();
}

// ---------------------------------------------------------------- rooms

void Hub::trim_history(RoomEntry& e, std::uint64_t now_ms) const {
    auto ttl = static_cast<std::uint64_t>(opts_.room_history_ttl.count());
    while (!e.history.empty() &&
           (e.history.size() > opts_.room_history_max || e.history.front()->time_ms + ttl < now_ms))
        e.history.pop_front();
}

Hub::RoomEntry& Hub::entry_locked(Stripe& st, std::uint64_t room, const RoomState* home) {
    auto [it, created] = st.rooms.try_emplace(room);
    RoomEntry& e = it->second;
    if (created) {
        e.state.epoch = home ? home->epoch : next_epoch();
        e.state.seq = home ? home->seq : 0;
        e.per_loop.assign(loops_.size(), 0);
        room_count_.fetch_add(1, std::memory_order_relaxed);
    }
    return e;
}

Hub::Join Hub::join_room(Session& s, std::uint64_t room, std::optional<std::uint64_t> last_seq,
                         std::optional<std::uint64_t> epoch, const RoomState* home) {
    Join out = join_locked(s, room, last_seq, epoch, home);
    if (out.joined && observer_) observer_->on_room_members(room, out.state.online);
    if (out.joined && members_) members_->on_member(s, room, true);
    return out;
}

Hub::Join Hub::join_locked(Session& s, std::uint64_t room, std::optional<std::uint64_t> last_seq,
                           std::optional<std::uint64_t> epoch, const RoomState* home) {
    Join out;
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    RoomEntry& e = entry_locked(st, room, home);
    // Membership changes under the room's lock, so a concurrent publish either counts this
    // loop (and the member's join_seq filters what it already had) or happens after.
    RoomTable& table = s.loop().rooms();
    out.joined = table.add(s, room, e.state.seq);
    if (out.joined) {
        ++e.state.online;
        ++e.per_loop[s.loop().index()];
        room_members_.fetch_add(1, std::memory_order_relaxed);
    }
    out.state = e.state;
    if (!last_seq) return out;

    out.recovery_asked = true;
    const RoomTable::Member* member = table.find(s, room);
    std::uint64_t upto = member ? member->join_seq : e.state.seq;
    trim_history(e, codec::wall_ms());
    bool same_epoch = !epoch || *epoch == e.state.epoch;
    if (!same_epoch || *last_seq > e.state.seq) return out;  // another incarnation of the room
    if (*last_seq >= upto) {
        out.recovered = true;  // nothing missed
        return out;
    }
    if (e.history.empty() || e.history.front()->seq > *last_seq + 1) return out;  // gap too old
    // Contiguous or nothing: a history merged from the home node may have a hole (a stale
    // local part, or a reply cut short), and a replay with a gap would claim recovery falsely.
    std::uint64_t next = *last_seq + 1;
    for (const auto& p : e.history) {
        if (p->seq <= *last_seq || p->seq > upto) continue;
        if (p->seq != next) {
            out.replay.clear();
            return out;
        }
        out.replay.push_back(p);
        ++next;
    }
    if (next != upto + 1) {
        out.replay.clear();
        return out;
    }
    out.recovered = true;
    return out;
}

bool Hub::leave_room(Session& s, std::uint64_t room) {
    std::optional<std::uint64_t> online;  // unset: the room had no entry left to count it
    {
        Stripe& st = stripe(room);
        std::lock_guard lock(st.mu);
        if (!s.loop().rooms().remove(s, room)) return false;
        auto it = st.rooms.find(room);
        if (it != st.rooms.end()) {
            RoomEntry& e = it->second;
            --e.state.online;
            --e.per_loop[s.loop().index()];
            online = e.state.online;
            room_members_.fetch_sub(1, std::memory_order_relaxed);
            if (e.state.online == 0 && e.history.empty() && !e.pinned) {
                st.rooms.erase(it);
                room_count_.fetch_sub(1, std::memory_order_relaxed);
            }
        }
    }
    if (observer_ && online) observer_->on_room_members(room, *online);
    if (members_) members_->on_member(s, room, false);
    return true;
}

void Hub::leave_all_rooms(Session& s) {
    while (!s.rooms.empty()) leave_room(s, s.rooms.back().room_id);
}

Hub::RoomState Hub::room_state(std::uint64_t room) const {
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    auto it = st.rooms.find(room);
    return it == st.rooms.end() ? RoomState{} : it->second.state;
}

namespace {

// A room message as every member loop shares it: the packet, its binary body serialized once,
// and `exclude` sorted (and without repeats) for the fan-out's binary search. seq 0: unsequenced.
RoomPacketPtr room_packet(std::uint64_t room, std::uint64_t seq, std::uint64_t epoch,
                          SharedPacket packet, std::vector<std::uint64_t> exclude = {},
                          RoomMeta meta = {}) {
    auto p = std::make_shared<RoomPacket>();
    p->cls = meta.cls;
    p->sender = meta.sender;
    p->room = room;
    p->seq = seq;
    p->epoch = epoch;
    p->time_ms = codec::wall_ms();
    p->packet = std::move(packet);
    p->binary_body = p->packet.body->SerializeAsString();
    std::sort(exclude.begin(), exclude.end());
    exclude.erase(std::unique(exclude.begin(), exclude.end()), exclude.end());
    p->exclude = std::move(exclude);
    return p;
}

}  // namespace

Hub::Published Hub::publish_room(std::uint64_t room,
                                 const std::function<SharedPacket(std::uint64_t seq)>& build,
                                 std::vector<std::uint64_t> exclude, bool create,
                                 const std::function<void(const RoomPacketPtr&)>& forward,
                                 RoomMeta meta) {
    Published out;
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    auto it = st.rooms.find(room);
    if (it == st.rooms.end() && !create) return out;
    RoomEntry& e = it == st.rooms.end() ? entry_locked(st, room) : it->second;
    out.room_exists = true;
    out.seq = ++e.state.seq;
    out.online = e.state.online;

    RoomPacketPtr shared =
        room_packet(room, out.seq, e.state.epoch, build(out.seq), std::move(exclude), meta);

    e.history.push_back(shared);
    trim_history(e, shared->time_ms);
    if (room_tap_) room_tap_(room, shared->packet);
    if (forward) forward(shared);
    post_to_member_loops(e, shared);
    return out;
}

bool Hub::publish_unsequenced(std::uint64_t room, SharedPacket packet,
                              const std::function<void(const RoomPacketPtr&)>& forward) {
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    auto it = st.rooms.find(room);
    if (it == st.rooms.end()) return false;
    RoomPacketPtr shared = room_packet(room, 0, it->second.state.epoch, std::move(packet));
    if (forward) forward(shared);
    post_to_member_loops(it->second, shared);
    return true;
}

void Hub::post_to_member_loops(const RoomEntry& e, const RoomPacketPtr& shared) {
    // Posting under the stripe lock keeps every loop's queue in room_seq order.
    for (std::size_t i = 0; i < loops_.size(); ++i) {
        if (e.per_loop[i] == 0) continue;
        EventLoop* loop = loops_[i];
        boost::asio::post(loop->io(), [loop, shared] { loop->fanout().enqueue(shared); });
    }
}

void Hub::deliver_remote(std::uint64_t room, std::uint64_t seq, std::uint64_t epoch,
                         SharedPacket packet, std::vector<std::uint64_t> exclude, RoomMeta meta) {
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    auto it = st.rooms.find(room);
    if (it == st.rooms.end()) return;  // no member here any more
    RoomEntry& e = it->second;
    if (seq == 0) {  // unsequenced (room.online): no seq, no history
        post_to_member_loops(e, room_packet(room, 0, epoch, std::move(packet)));
        return;
    }
    if (e.state.epoch != epoch) {
        // The home's incarnation of the room is the truth; a new one starts a new history.
        e.state.epoch = epoch;
        e.history.clear();
    }
    e.state.seq = seq;
    RoomPacketPtr shared =
        room_packet(room, seq, epoch, std::move(packet), std::move(exclude), meta);
    e.history.push_back(shared);
    trim_history(e, shared->time_ms);
    if (room_tap_) room_tap_(room, shared->packet);
    post_to_member_loops(e, shared);
}

void Hub::snapshot_room(
    std::uint64_t room, std::optional<std::uint64_t> after,
    const std::function<void(const RoomState&, const std::vector<RoomPacketPtr>&)>& fn) {
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    RoomEntry& e = entry_locked(st, room);
    std::vector<RoomPacketPtr> history;
    if (after) {
        trim_history(e, codec::wall_ms());
        for (const auto& p : e.history)
            if (p->seq > *after) history.push_back(p);
    }
    fn(e.state, history);
}

void Hub::merge_home(std::uint64_t room, std::uint64_t seq, std::uint64_t epoch,
                     std::vector<RoomPacketPtr> history) {
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    RoomState home{0, seq, epoch};
    RoomEntry& e = entry_locked(st, room, &home);
    if (e.state.epoch != epoch) {
        e.state.epoch = epoch;
        e.history.clear();
    }
    e.state.seq = std::max(e.state.seq, seq);
    // Merge by seq: the home's messages this node lacks (it may hold some already, delivered
    // while it was subscribed), keeping the ring in seq order.
    std::deque<RoomPacketPtr> merged;
    auto a = e.history.begin();
    auto b = history.begin();
    while (a != e.history.end() || b != history.end()) {
        if (b == history.end() || (a != e.history.end() && (*a)->seq <= (*b)->seq)) {
            if (b != history.end() && (*a)->seq == (*b)->seq) ++b;
            merged.push_back(*a++);
        } else {
            merged.push_back(*b++);
        }
    }
    e.history = std::move(merged);
    trim_history(e, codec::wall_ms());
}

void Hub::set_room_pinned(std::uint64_t room, bool pinned) {
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    if (pinned) {
        entry_locked(st, room).pinned = true;
        return;
    }
    auto it = st.rooms.find(room);
    if (it != st.rooms.end()) it->second.pinned = false;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> Hub::rooms_with_members() const {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (auto& st : stripes_) {
        std::lock_guard lock(st.mu);
        for (const auto& [room, e] : st.rooms)
            if (e.state.online > 0) out.emplace_back(room, e.state.online);
    }
    return out;
}

std::uint64_t Hub::broadcast(SharedPacket packet, std::vector<std::uint64_t> exclude) {
    std::sort(exclude.begin(), exclude.end());
    auto shared = std::make_shared<const SharedPacket>(std::move(packet));
    auto ex = std::make_shared<const std::vector<std::uint64_t>>(std::move(exclude));
    std::uint64_t receivers = 0;
    for (EventLoop* loop : loops_) {
        receivers +=
            static_cast<std::uint64_t>(std::max<std::int64_t>(0, get(loop->stats().logged_in)));
        boost::asio::post(loop->io(), [loop, shared, ex] {
            FrameForms forms(*shared);
            std::uint64_t n = 0;
            loop->for_each_session([&](Session& s) {
                if (!s.logged_in() || s.closing()) return;
                if (!ex->empty() && std::binary_search(ex->begin(), ex->end(), s.user.id)) return;
                s.send_bytes(forms.get(s.wire()));
                ++n;
            });
            inc(loop->stats().direct_deliveries, n);
        });
    }
    return receivers;
}

void Hub::sweep_rooms() {
    std::uint64_t now = codec::wall_ms();
    for (auto& st : stripes_) {
        std::lock_guard lock(st.mu);
        for (auto it = st.rooms.begin(); it != st.rooms.end();) {
            RoomEntry& e = it->second;
            if (e.state.online == 0 && !e.pinned) {
                trim_history(e, now);
                if (e.history.empty()) {
                    it = st.rooms.erase(it);
                    room_count_.fetch_sub(1, std::memory_order_relaxed);
                    continue;
                }
            }
            ++it;
        }
    }
}

}  // namespace lp::server
