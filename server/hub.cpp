// server/hub: see hub.hpp.
#include "server/hub.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <chrono>

#include "server/event_loop.hpp"
#include "server/session.hpp"

namespace lp::server {

Hub::Hub(std::vector<EventLoop*> loops) : loops_(std::move(loops)) {}

Hub::Stripe& Hub::stripe(std::uint64_t key) const noexcept {
    // Fibonacci hashing: sequential ids spread over all stripes.
    return stripes_[(key * 0x9E3779B97F4A7C15ull) >> 58];
}

std::uint64_t Hub::next_epoch() noexcept {
    auto now = static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               std::chrono::system_clock::now().time_since_epoch())
                                               .count());
    std::uint64_t last = last_epoch_.load(std::memory_order_relaxed);
    std::uint64_t next;
    do {
        next = std::max(now, last + 1);
    } while (!last_epoch_.compare_exchange_weak(last, next, std::memory_order_relaxed));
    return next;
}

// ---------------------------------------------------------------- users

std::shared_ptr<Session> Hub::bind_user(Session& s) {
    Stripe& st = stripe(s.user.id);
    std::lock_guard lock(st.mu);
    auto& list = st.users[s.user.id];
    if (list.empty()) online_users_.fetch_add(1, std::memory_order_relaxed);
    for (auto& b : list) {
        if (b.platform == s.user.platform) {
            auto old = b.session.lock();
            b.session_id = s.id();
            b.loop = s.loop().index();
            b.session = s.weak_from_this();
            return old;
        }
    }
    list.push_back(Bound{s.user.platform, s.id(), s.loop().index(), s.weak_from_this()});
    return nullptr;
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

Hub::RoomState Hub::join_room(Session& s, std::uint64_t room, bool* joined) {
    bool added = s.loop().rooms().add(s, room);
    if (joined) *joined = added;
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    auto [it, created] = st.rooms.try_emplace(room);
    RoomEntry& e = it->second;
    if (created) {
        e.state.epoch = next_epoch();
        e.per_loop.assign(loops_.size(), 0);
        room_count_.fetch_add(1, std::memory_order_relaxed);
    }
    if (added) {
        ++e.state.online;
        ++e.per_loop[s.loop().index()];
    }
    return e.state;
}

bool Hub::leave_room(Session& s, std::uint64_t room) {
    if (!s.loop().rooms().remove(s, room)) return false;
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    auto it = st.rooms.find(room);
    if (it == st.rooms.end()) return true;
    RoomEntry& e = it->second;
    --e.state.online;
    --e.per_loop[s.loop().index()];
    if (e.state.online == 0) {
        st.rooms.erase(it);
        room_count_.fetch_sub(1, std::memory_order_relaxed);
    }
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

Hub::Published Hub::publish_room(std::uint64_t room,
                                 const std::function<SharedPacket(std::uint64_t seq)>& build,
                                 std::vector<std::uint64_t> exclude) {
    Published out;
    Stripe& st = stripe(room);
    std::lock_guard lock(st.mu);
    auto it = st.rooms.find(room);
    if (it == st.rooms.end()) return out;
    RoomEntry& e = it->second;
    out.room_exists = true;
    out.seq = ++e.state.seq;
    out.online = e.state.online;
    auto packet = std::make_shared<const SharedPacket>(build(out.seq));
    auto ex = std::make_shared<const std::vector<std::uint64_t>>(std::move(exclude));
    // Posting under the stripe lock keeps every loop's queue in room_seq order.
    for (std::size_t i = 0; i < loops_.size(); ++i) {
        if (e.per_loop[i] == 0) continue;
        EventLoop* loop = loops_[i];
        boost::asio::post(loop->io(), [loop, room, packet, ex] {
            deliver_to_room(*loop, room, *packet, *ex);
        });
    }
    return out;
}

void deliver_to_room(EventLoop& loop, std::uint64_t room, const SharedPacket& packet,
                     const std::vector<std::uint64_t>& exclude) {
    const auto* members = loop.rooms().members(room);
    if (!members) return;
    FrameForms forms(packet);
    // Index loop: a send may close a slow session, which edits this very list.
    for (std::size_t i = 0; i < members->size(); ++i) {
        Session* s = (*members)[i];
        if (!exclude.empty() && std::binary_search(exclude.begin(), exclude.end(), s->user.id))
            continue;
        s->send_bytes(forms.get(s->wire()));
    }
}

}  // namespace lp::server
