// router/room_moderation: RoomModeration (moderation.hpp) over a ModerationStore, with this
// node's cache of the rooms it serves.
//
// The cache: a room is loaded (asynchronously) when this node's first member enters it, or when
// someone acts on it here; room.chat and room.enter then answer from memory, never waiting on
// the store. A room with no member here and idle for a while leaves the cache (a sweep of the
// cache, never of the store). Slow mode's "last chat" times are per node, in the same entry.
//
// Taking effect on every node within a second, without a Redis round trip per chat: the node
// that acts writes the store and adopts the answer at once; every other node polls the store's
// change log every moderation.sync_interval_ms (one small script per node per tick, whatever
// the number of rooms; the Redis client has no SUBSCRIBE, and a poll also heals whatever a
// lost notification would have missed) and reloads just the changed rooms it has cached. A
// node that loses Redis reloads every cached room when it is back (the log tells it it missed
// some). Nodes without a member in a room skip it: they load it at the next room.enter.
//
// A ban: whichever node sees a user newly banned in a room (the acting node at once, the others
// at their next sync) takes that user's sessions here out of the room and sends each a
// `room.banned` push. The `room.notice` pushes go through Routing::publish_room, so they reach
// every node with members like any room message. Audit events go to the `audit` callback
// (app/: the Kafka topic `moderation`, or the in-process bus).
//
// Must never: block an event loop (check_* read memory; act/load/view call back), walk every
// room of the store, or hold a cache lock while calling out (store, hub, routing, callbacks).
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "router/defaults.hpp"
#include "router/moderation.hpp"
#include "router/moderation_store.hpp"
#include "router/routing.hpp"

namespace lp::codec {
class PromText;
}
namespace lp::server {
class Hub;
}

namespace lp::router {

struct ModerationOptions {
    std::size_t max_moderators = kDefaultModerationMaxModerators;  // moderation.max_moderators
    std::size_t max_entries = kDefaultModerationMaxEntries;  // moderation.max_entries (each list)
    std::chrono::milliseconds sync_interval = kDefaultModerationSyncInterval;
    // A cached room with no member here is dropped after this long without use.
    std::chrono::milliseconds cache_idle{10000};
};

struct ModerationStats {
    std::atomic<std::uint64_t> actions[kModActions] = {};
    // Refusals by code: [ROOM_MUTED, ROOM_BANNED, SLOW_MODE, NOT_ALLOWED, limit (max_entries,
    // max_moderators), unavailable (store down)]
    static constexpr std::size_t kRefusalKinds = 6;
    std::atomic<std::uint64_t> refusals[kRefusalKinds] = {};
    std::atomic<std::uint64_t> evicted_sessions{0};  // taken out of a room by a ban
    std::atomic<std::uint64_t> reloads{0};         // cached rooms reloaded after a change elsewhere
    std::atomic<std::uint64_t> load_failures{0};   // store down at a load: served as empty
    std::atomic<std::uint64_t> shadowed_chats{0};  // room.chat seen only by its sender
};

class RoomModerationService final : public RoomModeration {
public:
    using Audit = std::function<void(const std::string& key, const std::string& json)>;
    RoomModerationService(ModerationOptions opts, ModerationStore& store, server::Hub& hub,
                          Routing& routing, std::function<std::uint64_t()> next_msg_id,
                          Audit audit);
    ~RoomModerationService() override;

    void start();  // the sync thread (change log, cache sweep)
    void stop();   // idempotent; later store answers are ignored

    ModVerdict check_chat(std::uint64_t room, std::uint64_t user, server::Role role) override;
    std::optional<ModVerdict> check_enter(std::uint64_t room, std::uint64_t user) override;
    void load(std::uint64_t room, std::function<void()> done) override;
    void act(ModRequest req, std::function<void(ModVerdict)> done) override;
    void view(std::uint64_t room, std::function<void(std::optional<ModState>)> done) override;

    // One sync tick (the thread runs it; tests may call it).
    void sync_once();
    void write_metrics(codec::PromText& m) const;
    // A configuration reload: moderation.max_moderators for the next meta write. Any thread.
    void set_max_moderators(std::size_t n) { max_moderators_.store(n, std::memory_order_relaxed); }
    const ModerationStats& stats() const noexcept { return stats_; }
    std::size_t cached_rooms() const;

private:
    struct Entry {
        ModState st;
        bool loaded = false, loading = false;
        bool stale = false;  // the load found the store down: reload at the next tick
        std::vector<std::function<void()>> waiters;
        std::unordered_map<std::uint64_t, std::uint64_t> last_chat;  // slow mode: user -> ms
        std::uint64_t touched_ms = 0;
    };
    struct Stripe {
        mutable std::mutex mu;
        std::unordered_map<std::uint64_t, Entry> rooms;
    };
    static constexpr std::size_t kStripes = 16;
    Stripe& stripe(std::uint64_t room) const { return stripes_[room % kStripes]; }

    void finish_load(std::uint64_t room, bool ok, ModState st);
    // Takes st as the room's state; users newly banned are taken out of the room here.
    void adopt(std::uint64_t room, ModState st);
    void evict_here(std::uint64_t room, std::uint64_t user, std::uint64_t until_ms);
    void act_loaded(ModRequest req, std::function<void(ModVerdict)> done);
    void applied(const ModRequest& req, std::uint64_t until_ms, ModerationStore::Status s,
                 ModState st, const std::function<void(ModVerdict)>& done);
    void tell(const ModRequest& req, std::uint64_t until_ms);
    void refuse(std::size_t kind) { stats_.refusals[kind].fetch_add(1, std::memory_order_relaxed); }
    void run();

    ModerationOptions opts_;
    std::atomic<std::size_t> max_moderators_{opts_.max_moderators};  // live: reload
    ModerationStore& store_;
    server::Hub& hub_;
    Routing& routing_;
    std::function<std::uint64_t()> next_msg_id_;
    Audit audit_;
    mutable std::array<Stripe, kStripes> stripes_;
    ModerationStats stats_;
    std::atomic<bool> stopped_{false};
    std::mutex run_mu_;
    std::condition_variable run_cv_;
    bool running_ = false;
    std::thread thread_;
};

}  // namespace lp::router
