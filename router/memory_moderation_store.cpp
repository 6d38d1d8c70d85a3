// router/memory_moderation_store: see memory_moderation_store.hpp.
#include "router/memory_moderation_store.hpp"

#include <algorithm>

namespace lp::router {

bool upsert_entry(std::vector<std::pair<std::uint64_t, std::uint64_t>>& v, std::uint64_t user,
                  std::uint64_t until_ms, std::size_t max_entries) {
    for (auto& e : v) {
        if (e.first == user) {
            e.second = until_ms;
            return true;
        }
    }
    if (v.size() >= max_entries) return false;
    v.emplace_back(user, until_ms);
    return true;
}

void erase_entry(std::vector<std::pair<std::uint64_t, std::uint64_t>>& v, std::uint64_t user) {
    std::erase_if(v, [user](const auto& e) { return e.first == user; });
}

void MemoryModerationStore::load(std::uint64_t room, std::uint64_t now_ms, Done done) {
    ModState out;
    {
        std::lock_guard lk(mu_);
        if (auto it = rooms_.find(room); it != rooms_.end()) {
            drop_expired(it->second.muted, now_ms);
            drop_expired(it->second.banned, now_ms);
            drop_expired(it->second.shadow, now_ms);
            out = it->second;
        }
    }
    done(Status::Ok, std::move(out));
}

void MemoryModerationStore::apply(std::uint64_t room, const ModChange& c, std::uint64_t now_ms,
                                  Done done) {
    Status status = Status::Ok;
    ModState out;
    {
        std::lock_guard lk(mu_);
        ModState& st = rooms_[room];
        drop_expired(st.muted, now_ms);
        drop_expired(st.banned, now_ms);
        drop_expired(st.shadow, now_ms);
        bool fits = true;
        switch (c.action) {
            case ModAction::Mute:
                fits = upsert_entry(st.muted, c.user, c.until_ms, max_entries_);
                break;
            case ModAction::Unmute:
                erase_entry(st.muted, c.user);
                break;
            case ModAction::Ban:
                fits = upsert_entry(st.banned, c.user, c.until_ms, max_entries_);
                break;
            case ModAction::Unban:
                erase_entry(st.banned, c.user);
                erase_entry(st.shadow, c.user);
                break;
            case ModAction::ShadowBan:
                fits = upsert_entry(st.shadow, c.user, c.until_ms, max_entries_);
                break;
            case ModAction::MuteAll:
                st.mute_all = c.on;
                break;
            case ModAction::SlowMode:
                st.slow_mode_s = c.interval_s;
                break;
            case ModAction::Meta:
                st.anchor = c.anchor;
                st.moderators = c.moderators;
                std::sort(st.moderators.begin(), st.moderators.end());
                break;
        }
        if (!fits) status = Status::Full;
        out = st;
    }
    done(status, std::move(out));
}

}  // namespace lp::router
