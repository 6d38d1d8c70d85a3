// ack/memory_inbox: see memory_inbox.hpp.
#include "ack/memory_inbox.hpp"

#include <algorithm>

#include "codec/wall_clock.hpp"

namespace lp::ack {

void MemoryInbox::forget_sender(UserInbox& u, const StoredMessage& m) {
    if (m.sender == 0) return;
    auto it = u.per_sender.find(m.sender);
    if (it == u.per_sender.end()) return;
    if (--it->second == 0) u.per_sender.erase(it);
}

void MemoryInbox::drop_expired(UserInbox& u, std::uint64_t now) {
    // Messages differ in TTL, so an expired one can sit behind a live one: scan all.
    auto& q = u.q;
    auto before = q.size();
    q.erase(std::remove_if(q.begin(), q.end(),
                           [&](const StoredMessage& m) {
                               if (!(m.expires_at_ms && m.expires_at_ms <= now)) return false;
                               forget_sender(u, m);
                               return true;
                           }),
            q.end());
    auto n = before - q.size();
    if (n) {
        expired_.fetch_add(n, std::memory_order_relaxed);
        size_.fetch_sub(n, std::memory_order_relaxed);
    }
}

void MemoryInbox::erase_if_empty(Stripe& st, std::uint64_t user) {
    auto it = st.users.find(user);
    if (it != st.users.end() && it->second.q.empty()) {
        st.users.erase(it);
        users_.fetch_sub(1, std::memory_order_relaxed);
    }
}

bool MemoryInbox::append(std::uint64_t user, const StoredMessage& m) {
    Stripe& st = stripe(user);
    std::lock_guard lock(st.mu);
    return append_locked(user, m, false) != AppendResult::Unavailable;
}

AppendResult MemoryInbox::append_checked(std::uint64_t user, const StoredMessage& m) {
    Stripe& st = stripe(user);
    std::lock_guard lock(st.mu);
    return append_locked(user, m, true);
}

std::size_t MemoryInbox::from_sender(std::uint64_t user, std::uint64_t sender) {
    Stripe& st = stripe(user);
    std::lock_guard lock(st.mu);
    auto it = st.users.find(user);
    if (it == st.users.end()) return 0;
    auto s = it->second.per_sender.find(sender);
    return s == it->second.per_sender.end() ? 0 : s->second;
}

AppendResult MemoryInbox::append_locked(std::uint64_t user, const StoredMessage& m, bool check_share) {
    Stripe& st = stripe(user);
    auto [it, created] = st.users.try_emplace(user);
    if (created) users_.fetch_add(1, std::memory_order_relaxed);
    UserInbox& u = it->second;
    auto& q = u.q;
    if (m.msg_id <= u.max_id) {  // an older id: it may be here already
        for (auto r = q.rbegin(); r != q.rend(); ++r) {
            if (r->msg_id == m.msg_id) {
                duplicates_.fetch_add(1, std::memory_order_relaxed);
                return AppendResult::Stored;
            }
        }
    }
    if (check_share && m.sender != 0 && max_per_sender_ != 0) {
        auto held = u.per_sender.find(m.sender);
        if (held != u.per_sender.end() && held->second >= max_per_sender_) {
            share_full_.fetch_add(1, std::memory_order_relaxed);
            if (created) erase_if_empty(st, user);
            return AppendResult::ShareFull;
        }
    }
    u.max_id = std::max(u.max_id, m.msg_id);
    q.push_back(m);
    if (m.sender != 0) ++u.per_sender[m.sender];
    stored_.fetch_add(1, std::memory_order_relaxed);
    size_.fetch_add(1, std::memory_order_relaxed);
    while (q.size() > max_per_user_) {
        forget_sender(u, q.front());
        q.pop_front();
        dropped_cap_.fetch_add(1, std::memory_order_relaxed);
        size_.fetch_sub(1, std::memory_order_relaxed);
    }
    return AppendResult::Stored;
}

std::vector<StoredMessage> MemoryInbox::load(std::uint64_t user, std::size_t max) {
    std::vector<StoredMessage> out;
    Stripe& st = stripe(user);
    std::lock_guard lock(st.mu);
    auto it = st.users.find(user);
    if (it == st.users.end()) return out;
    drop_expired(it->second, codec::wall_ms());
    for (const auto& m : it->second.q) {
        if (out.size() >= max) break;
        out.push_back(m);
    }
    erase_if_empty(st, user);
    return out;
}

void MemoryInbox::remove(std::uint64_t user, const std::vector<std::uint64_t>& msg_ids) {
    if (msg_ids.empty()) return;
    Stripe& st = stripe(user);
    std::lock_guard lock(st.mu);
    auto it = st.users.find(user);
    if (it == st.users.end()) return;
    UserInbox& u = it->second;
    auto& q = u.q;
    auto before = q.size();
    q.erase(std::remove_if(q.begin(), q.end(),
                           [&](const StoredMessage& m) {
                               if (std::find(msg_ids.begin(), msg_ids.end(), m.msg_id) == msg_ids.end())
                                   return false;
                               forget_sender(u, m);
                               return true;
                           }),
            q.end());
    auto n = before - q.size();
    removed_.fetch_add(n, std::memory_order_relaxed);
    size_.fetch_sub(n, std::memory_order_relaxed);
    erase_if_empty(st, user);
}

std::size_t MemoryInbox::size(std::uint64_t user) {
    Stripe& st = stripe(user);
    std::lock_guard lock(st.mu);
    auto it = st.users.find(user);
    if (it == st.users.end()) return 0;
    drop_expired(it->second, codec::wall_ms());
    return it->second.q.size();
}

void MemoryInbox::sweep(std::uint64_t now) {
    for (auto& st : stripes_) {
        std::lock_guard lock(st.mu);
        for (auto it = st.users.begin(); it != st.users.end();) {
            drop_expired(it->second, now);
            if (it->second.q.empty()) {
                it = st.users.erase(it);
                users_.fetch_sub(1, std::memory_order_relaxed);
            } else {
                ++it;
            }
        }
    }
}

InboxCounters MemoryInbox::counters() const {
    InboxCounters c;
    c.stored = stored_.load(std::memory_order_relaxed);
    c.duplicates = duplicates_.load(std::memory_order_relaxed);
    c.dropped_cap = dropped_cap_.load(std::memory_order_relaxed);
    c.expired = expired_.load(std::memory_order_relaxed);
    c.removed = removed_.load(std::memory_order_relaxed);
    c.size = size_.load(std::memory_order_relaxed);
    c.users = users_.load(std::memory_order_relaxed);
    c.share_full = share_full_.load(std::memory_order_relaxed);
    return c;
}

}  // namespace lp::ack
