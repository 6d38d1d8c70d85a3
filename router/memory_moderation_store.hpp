// router/memory_moderation_store: rooms' moderation state in this process (the embedded node).
// One mutex over a map room -> state; a room without any state has no entry. Expired entries
// of a room are dropped when that room is loaded or changed. Callbacks run on the caller's
// thread, before load/apply return.
#pragma once

#include <mutex>
#include <unordered_map>

#include "router/moderation_store.hpp"

namespace lp::router {

class MemoryModerationStore final : public ModerationStore {
public:
    explicit MemoryModerationStore(std::size_t max_entries) : max_entries_(max_entries) {}
    void load(std::uint64_t room, std::uint64_t now_ms, Done done) override;
    void apply(std::uint64_t room, const ModChange& c, std::uint64_t now_ms, Done done) override;
    void changed(std::function<void(std::vector<std::uint64_t>, bool)> done) override {
        done({}, false);
    }

private:
    std::size_t max_entries_;
    std::mutex mu_;
    std::unordered_map<std::uint64_t, ModState> rooms_;
};

// Adds (or moves the end of) user in v, unless v is full (max entries) and user is new.
bool upsert_entry(std::vector<std::pair<std::uint64_t, std::uint64_t>>& v, std::uint64_t user,
                  std::uint64_t until_ms, std::size_t max_entries);
void erase_entry(std::vector<std::pair<std::uint64_t, std::uint64_t>>& v, std::uint64_t user);

}  // namespace lp::router
