// router/moderation_store: where rooms' moderation state lives (RoomModerationService keeps a
// node cache of it). Two implementations: MemoryModerationStore (the embedded node: this
// process is the whole truth) and RedisModerationStore (a cluster: shared by every node,
// surviving restarts). app/ picks one; nothing above asks which.
//
// Expiry without a sweep over all rooms: every load and apply of a room first drops that room's
// entries whose until_ms has passed; nothing ever walks every room. Callbacks run on any thread
// (the Redis client's I/O thread in a cluster) and must not block.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "router/moderation.hpp"

namespace lp::router {

// One change, with its end already computed (until_ms 0 = until lifted).
struct ModChange {
    ModAction action = ModAction::Mute;
    std::uint64_t user = 0;
    std::uint64_t until_ms = 0;
    bool on = false;
    std::uint32_t interval_s = 0;
    std::uint64_t anchor = 0;
    std::vector<std::uint64_t> moderators;
};

class ModerationStore {
public:
    virtual ~ModerationStore() = default;
    enum class Status {
        Ok,
        Full,         // a new muted/banned/shadow-banned user over moderation.max_entries
        Unavailable,  // the store is down: nothing changed
    };
    // The state after the call (Ok and Full), expired entries left out.
    using Done = std::function<void(Status, ModState)>;
    virtual void load(std::uint64_t room, std::uint64_t now_ms, Done done) = 0;
    virtual void apply(std::uint64_t room, const ModChange& c, std::uint64_t now_ms, Done done) = 0;
    // Rooms changed through any node since the last call (the change log of a shared store);
    // all = true when the store cannot say which (the log was trimmed, or it restarted): then
    // every cached room is reloaded. A store only this node writes has nothing to say.
    virtual void changed(std::function<void(std::vector<std::uint64_t> rooms, bool all)> done) = 0;
};

// Entries whose end has passed, out (until 0 stays: until lifted).
inline void drop_expired(std::vector<std::pair<std::uint64_t, std::uint64_t>>& v,
                         std::uint64_t now_ms) {
    std::erase_if(v, [now_ms](const auto& e) { return e.second != 0 && e.second <= now_ms; });
}

}  // namespace lp::router
