// router/room_moderation: see room_moderation.hpp.
#include "router/room_moderation.hpp"

#include <algorithm>
#include <boost/json.hpp>

#include "codec/prometheus_text.hpp"
#include "codec/wall_clock.hpp"
#include "livepush.pb.h"
#include "server/hub.hpp"
#include "server/session.hpp"

namespace lp::router {
namespace {

namespace json = boost::json;
namespace pb = livepush::v1;

enum Refusal : std::size_t { kMuted, kBanned, kSlow, kNotAllowed, kLimit, kUnavailable };

using Entries = std::vector<std::pair<std::uint64_t, std::uint64_t>>;

// The end of user's entry in v (0 = until lifted), or nothing when absent or expired. v is
// sorted by user (sort_lists): a chat in a room with 10,000 muted users costs a binary search.
std::optional<std::uint64_t> until_of(const Entries& v, std::uint64_t user, std::uint64_t now) {
    auto it = std::lower_bound(v.begin(), v.end(), std::make_pair(user, std::uint64_t{0}));
    if (it != v.end() && it->first == user && (it->second == 0 || it->second > now))
        return it->second;
    return std::nullopt;
}

// What the cache keeps: each list sorted by user.
void sort_lists(ModState& st) {
    for (Entries* v : {&st.muted, &st.banned, &st.shadow}) std::sort(v->begin(), v->end());
}

bool privileged(const ModState& st, std::uint64_t user, server::Role role) {
    return role == server::Role::Admin || (st.anchor != 0 && st.anchor == user) ||
           std::binary_search(st.moderators.begin(), st.moderators.end(), user);
}

std::string remaining_text(std::uint64_t until, std::uint64_t now) {
    if (until == 0) return "until lifted";
    return "for " + std::to_string((until - now + 999) / 1000) + " more s";
}

ModVerdict timed(std::int32_t code, std::string what, std::uint64_t room, std::uint64_t until,
                 std::uint64_t now) {
    ModVerdict v;
    v.code = code;
    v.until_ms = until;
    v.remaining_ms = until ? until - now : 0;
    v.message =
        std::move(what) + " room " + std::to_string(room) + " " + remaining_text(until, now);
    return v;
}

ModVerdict refused(std::int32_t code, std::string message) {
    ModVerdict v;
    v.code = code;
    v.message = std::move(message);
    return v;
}

std::string by_text(const ModActor& by) {
    return by.system ? std::string("system") : std::to_string(by.user);
}

}  // namespace

RoomModerationService::RoomModerationService(ModerationOptions opts, ModerationStore& store,
                                             server::Hub& hub, Routing& routing,
                                             std::function<std::uint64_t()> next_msg_id,
                                             Audit audit)
    : opts_(opts),
      store_(store),
      hub_(hub),
      routing_(routing),
      next_msg_id_(std::move(next_msg_id)),
      audit_(std::move(audit)) {}

RoomModerationService::~RoomModerationService() {
    stop();
}

void RoomModerationService::start() {
    std::lock_guard lk(run_mu_);
    if (running_ || stopped_) return;
    running_ = true;
    thread_ = std::thread([this] { run(); });
}

void RoomModerationService::stop() {
    {
        std::lock_guard lk(run_mu_);
        stopped_ = true;
        running_ = false;
    }
    run_cv_.notify_all();
    if (thread_.joinable()) thread_.join();
}

void RoomModerationService::run() {
    std::unique_lock lk(run_mu_);
    while (running_) {
        run_cv_.wait_for(lk, opts_.sync_interval, [this] { return !running_; });
        if (!running_) break;
        lk.unlock();
        sync_once();
        lk.lock();
    }
}

// ---------------------------------------------------------------- checks (event loops)

ModVerdict RoomModerationService::check_chat(std::uint64_t room, std::uint64_t user,
                                             server::Role role) {
    const std::uint64_t now = codec::wall_ms();
    Stripe& s = stripe(room);
    {
        std::lock_guard lk(s.mu);
        auto it = s.rooms.find(room);
        if (it != s.rooms.end() && it->second.loaded) {
            Entry& e = it->second;
            e.touched_ms = now;
            if (auto until = until_of(e.st.banned, user, now)) {
                refuse(kBanned);
                return timed(pb::ROOM_BANNED, "you are banned from", room, *until, now);
            }
            if (auto until = until_of(e.st.muted, user, now)) {
                refuse(kMuted);
                return timed(pb::ROOM_MUTED, "you are muted in", room, *until, now);
            }
            const bool exempt = privileged(e.st, user, role);
            if (e.st.mute_all && !exempt) {
                refuse(kMuted);
                return refused(pb::ROOM_MUTED, "room " + std::to_string(room) +
                                                   " is muted: only its anchor and moderators "
                                                   "can chat");
            }
            if (e.st.slow_mode_s && !exempt) {
                const std::uint64_t every = std::uint64_t{e.st.slow_mode_s} * 1000;
                auto last = e.last_chat.find(user);
                if (last != e.last_chat.end() && now < last->second + every) {
                    refuse(kSlow);
                    ModVerdict v;
                    v.code = pb::SLOW_MODE;
                    v.retry_after_ms = last->second + every - now;
                    v.message = "room " + std::to_string(room) +
                                " is in slow mode (one message every " +
                                std::to_string(e.st.slow_mode_s) + " s): retry in " +
                                std::to_string(v.retry_after_ms) + " ms";
                    return v;
                }
                // Bounded like the lists: over it, the times that no longer matter go first;
                // if every one still matters, this chat is not recorded (let through).
                if (last == e.last_chat.end() && e.last_chat.size() >= opts_.max_entries)
                    std::erase_if(e.last_chat,
                                  [&](const auto& p) { return now >= p.second + every; });
                if (last != e.last_chat.end())
                    last->second = now;
                else if (e.last_chat.size() < opts_.max_entries)
                    e.last_chat.emplace(user, now);
            }
            ModVerdict ok;
            ok.staff = exempt;
            ok.shadow = until_of(e.st.shadow, user, now).has_value();
            if (ok.shadow) stats_.shadowed_chats.fetch_add(1, std::memory_order_relaxed);
            return ok;
        }
    }
    load(room, {});  // not cached (e.g. the load at room.enter failed): let through, load now
    return {};
}

std::optional<ModVerdict> RoomModerationService::check_enter(std::uint64_t room,
                                                             std::uint64_t user) {
    const std::uint64_t now = codec::wall_ms();
    Stripe& s = stripe(room);
    std::lock_guard lk(s.mu);
    auto it = s.rooms.find(room);
    if (it == s.rooms.end() || !it->second.loaded) return std::nullopt;
    it->second.touched_ms = now;
    if (auto until = until_of(it->second.st.banned, user, now)) {
        refuse(kBanned);
        return timed(pb::ROOM_BANNED, "you are banned from", room, *until, now);
    }
    return ModVerdict{};
}

// ---------------------------------------------------------------- the cache

void RoomModerationService::load(std::uint64_t room, std::function<void()> done) {
    const std::uint64_t now = codec::wall_ms();
    Stripe& s = stripe(room);
    {
        std::lock_guard lk(s.mu);
        Entry& e = s.rooms[room];
        e.touched_ms = now;
        if (e.loaded && !e.loading) {
            if (!done) return;
        } else {
            if (done) e.waiters.push_back(std::move(done));
            if (e.loading) return;
            e.loading = true;
            done = nullptr;
        }
    }
    if (done) {
        done();
        return;
    }
    store_.load(room, now, [this, room](ModerationStore::Status st, ModState state) {
        finish_load(room, st != ModerationStore::Status::Unavailable, std::move(state));
    });
}

void RoomModerationService::finish_load(std::uint64_t room, bool ok, ModState st) {
    if (!ok) stats_.load_failures.fetch_add(1, std::memory_order_relaxed);
    std::vector<std::function<void()>> waiters;
    {
        Stripe& s = stripe(room);
        std::lock_guard lk(s.mu);
        Entry& e = s.rooms[room];
        e.loading = false;
        e.loaded = true;
        // The store down: served as it was (empty if never loaded; fail-open) and retried at
        // the next tick.
        e.stale = !ok;
        if (ok) {
            sort_lists(st);
            e.st = std::move(st);
        }
        waiters.swap(e.waiters);
    }
    for (auto& w : waiters) w();
}

void RoomModerationService::adopt(std::uint64_t room, ModState st) {
    const std::uint64_t now = codec::wall_ms();
    sort_lists(st);
    std::vector<std::pair<std::uint64_t, std::uint64_t>> newly_banned;
    {
        Stripe& s = stripe(room);
        std::lock_guard lk(s.mu);
        Entry& e = s.rooms[room];
        e.touched_ms = now;
        for (const auto& [user, until] : st.banned)
            if ((until == 0 || until > now) && !until_of(e.st.banned, user, now))
                newly_banned.emplace_back(user, until);
        e.st = std::move(st);
        e.loaded = true;
        e.stale = false;
    }
    for (const auto& [user, until] : newly_banned) evict_here(room, user, until);
}

void RoomModerationService::evict_here(std::uint64_t room, std::uint64_t user,
                                       std::uint64_t until_ms) {
    hub_.post_to_user(user, [this, room, until_ms](server::Session& s) {
        bool member = false;
        for (const auto& r : s.rooms) member |= r.room_id == room;
        if (!member || !hub_.leave_room(s, room)) return;
        stats_.evicted_sessions.fetch_add(1, std::memory_order_relaxed);
        json::object p;
        p["room_id"] = std::to_string(room);
        p["until_ms"] = until_ms;
        pb::Push push;
        push.set_msg_id(next_msg_id_());
        push.set_type("room.banned");
        push.set_payload(json::serialize(p));
        push.set_sent_at_ms(codec::wall_ms());
        s.send(codec::Code::Push, 0, push);
    });
}

void RoomModerationService::sync_once() {
    if (stopped_) return;
    const std::uint64_t now = codec::wall_ms();
    std::vector<std::uint64_t> cached, stale;
    for (auto& s : stripes_) {
        std::lock_guard lk(s.mu);
        for (auto it = s.rooms.begin(); it != s.rooms.end();) {
            Entry& e = it->second;
            const bool idle =
                !e.loading && e.waiters.empty() &&
                now >= e.touched_ms + static_cast<std::uint64_t>(opts_.cache_idle.count()) &&
                hub_.room_state(it->first).online == 0;
            if (idle) {
                it = s.rooms.erase(it);
                continue;
            }
            if (e.loaded && !e.loading) (e.stale ? stale : cached).push_back(it->first);
            ++it;
        }
    }
    auto reload = [this](std::uint64_t room) {
        stats_.reloads.fetch_add(1, std::memory_order_relaxed);
        store_.load(room, codec::wall_ms(), [this, room](ModerationStore::Status st, ModState s) {
            if (stopped_ || st == ModerationStore::Status::Unavailable) return;
            adopt(room, std::move(s));
        });
    };
    for (auto room : stale) reload(room);
    store_.changed(
        [this, cached = std::move(cached), reload](std::vector<std::uint64_t> rooms, bool all) {
            if (stopped_) return;
            for (auto room : cached)
                if (all || std::binary_search(rooms.begin(), rooms.end(), room)) reload(room);
        });
}

std::size_t RoomModerationService::cached_rooms() const {
    std::size_t n = 0;
    for (auto& s : stripes_) {
        std::lock_guard lk(s.mu);
        n += s.rooms.size();
    }
    return n;
}

// ---------------------------------------------------------------- actions

void RoomModerationService::act(ModRequest req, std::function<void(ModVerdict)> done) {
    if (req.action == ModAction::Meta && !req.by.system) {
        refuse(kNotAllowed);
        return done(refused(pb::NOT_ALLOWED, "a room's meta is set through the API only"));
    }
    if (const std::size_t max = max_moderators_.load(std::memory_order_relaxed);
        req.moderators.size() > max) {
        refuse(kLimit);
        return done(refused(pb::BAD_BIZ_DATA, "a room has at most " + std::to_string(max) +
                                                  " moderators (moderation.max_moderators)"));
    }
    const std::uint64_t room = req.room;
    load(room, [this, req = std::move(req), done = std::move(done)]() mutable {
        act_loaded(std::move(req), std::move(done));
    });
}

void RoomModerationService::act_loaded(ModRequest req, std::function<void(ModVerdict)> done) {
    ModState st;
    {
        Stripe& s = stripe(req.room);
        std::lock_guard lk(s.mu);
        st = s.rooms[req.room].st;
    }
    if (!req.by.system && req.action != ModAction::Meta) {
        if (!privileged(st, req.by.user, req.by.role)) {
            refuse(kNotAllowed);
            return done(refused(pb::NOT_ALLOWED, "only room " + std::to_string(req.room) +
                                                     "'s anchor, its moderators or an admin "
                                                     "may moderate it"));
        }
        // A moderator moderates the audience: the anchor and the other moderators are the
        // anchor's (or an admin's) to act on.
        const bool boss = req.by.role == server::Role::Admin || st.anchor == req.by.user;
        if (targets_user(req.action) && !boss && privileged(st, req.user, server::Role::Viewer)) {
            refuse(kNotAllowed);
            return done(refused(pb::NOT_ALLOWED,
                                "a moderator may not act on the room's anchor or moderators"));
        }
    }
    const std::uint64_t now = codec::wall_ms();
    const std::uint64_t until = req.duration_s ? now + req.duration_s * 1000 : 0;
    ModChange c{req.action, req.user, until, req.on, req.interval_s, req.anchor, req.moderators};
    const std::uint64_t room = req.room;
    store_.apply(room, c, now,
                 [this, req = std::move(req), until, done = std::move(done)](
                     ModerationStore::Status s, ModState state) {
                     applied(req, until, s, std::move(state), done);
                 });
}

void RoomModerationService::applied(const ModRequest& req, std::uint64_t until_ms,
                                    ModerationStore::Status s, ModState st,
                                    const std::function<void(ModVerdict)>& done) {
    if (s == ModerationStore::Status::Unavailable || stopped_) {
        refuse(kUnavailable);
        return done(refused(pb::UNAVAILABLE, "the moderation store is unavailable; try again"));
    }
    adopt(req.room, std::move(st));
    if (s == ModerationStore::Status::Full) {
        refuse(kLimit);
        return done(refused(pb::ROOM_LIMIT, "room " + std::to_string(req.room) + " already lists " +
                                                std::to_string(opts_.max_entries) +
                                                " users for this (moderation.max_entries)"));
    }
    stats_.actions[static_cast<std::size_t>(req.action)].fetch_add(1, std::memory_order_relaxed);
    tell(req, until_ms);
    ModVerdict ok;
    ok.until_ms = until_ms;
    done(std::move(ok));
}

void RoomModerationService::tell(const ModRequest& req, std::uint64_t until_ms) {
    json::object p;
    p["action"] = to_string(req.action);
    p["room_id"] = std::to_string(req.room);
    if (targets_user(req.action)) p["user_id"] = std::to_string(req.user);
    p["by"] = by_text(req.by);
    p["until_ms"] = until_ms;
    if (req.action == ModAction::MuteAll) p["on"] = req.on;
    if (req.action == ModAction::SlowMode) p["interval_s"] = req.interval_s;
    const std::uint64_t now = codec::wall_ms();
    // Every action but the shadow ban (which nobody may notice) and the meta (business
    // configuration, not an event in the room) is told to the room. Class: critical (never
    // shed by the per-viewer budget; RoomMessage gets its class field with issue 14 item 4).
    if (req.action != ModAction::ShadowBan && req.action != ModAction::Meta)
        routing_.publish_room(
            {req.room, next_msg_id_(), "room.notice", json::serialize(p), now, {}});
    if (audit_) {
        p["at_ms"] = now;
        if (req.action == ModAction::Meta) {
            p["anchor_id"] = std::to_string(req.anchor);
            json::array mods;
            for (auto id : req.moderators) mods.emplace_back(std::to_string(id));
            p["moderators"] = std::move(mods);
        }
        audit_(std::to_string(req.room), json::serialize(p));
    }
}

void RoomModerationService::view(std::uint64_t room,
                                 std::function<void(std::optional<ModState>)> done) {
    store_.load(room, codec::wall_ms(),
                [done = std::move(done)](ModerationStore::Status s, ModState st) {
                    if (s == ModerationStore::Status::Unavailable) return done(std::nullopt);
                    done(std::move(st));
                });
}

// ---------------------------------------------------------------- metrics

void RoomModerationService::write_metrics(codec::PromText& m) const {
    for (std::size_t i = 0; i < kModActions; ++i)
        m.counter("livepush_moderation_actions_total",
                  "moderation actions applied, by action (mute, ban, ..., meta)",
                  stats_.actions[i].load(std::memory_order_relaxed),
                  codec::PromText::label("action", to_string(static_cast<ModAction>(i))));
    constexpr std::string_view codes[ModerationStats::kRefusalKinds] = {
        "ROOM_MUTED", "ROOM_BANNED", "SLOW_MODE", "NOT_ALLOWED", "limit", "unavailable"};
    for (std::size_t i = 0; i < ModerationStats::kRefusalKinds; ++i)
        m.counter("livepush_moderation_refusals_total",
                  "room.chat, room.enter and moderation requests refused, by code",
                  stats_.refusals[i].load(std::memory_order_relaxed),
                  codec::PromText::label("code", codes[i]));
    m.counter("livepush_moderation_evicted_sessions_total",
              "sessions taken out of a room on this node by a ban",
              stats_.evicted_sessions.load(std::memory_order_relaxed));
    m.counter("livepush_moderation_reloads_total",
              "cached rooms reloaded from the store after a change (elsewhere) or a failed load",
              stats_.reloads.load(std::memory_order_relaxed));
    m.counter("livepush_moderation_load_failures_total",
              "room loads that found the store down (the room was served without moderation)",
              stats_.load_failures.load(std::memory_order_relaxed));
    m.counter("livepush_moderation_shadowed_chats_total",
              "room.chat from shadow-banned users, shown to their sender only",
              stats_.shadowed_chats.load(std::memory_order_relaxed));
    m.gauge("livepush_moderation_cached_rooms", "rooms in this node's moderation cache",
            static_cast<std::int64_t>(cached_rooms()));
}

}  // namespace lp::router
