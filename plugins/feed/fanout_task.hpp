// plugins/feed/fanout_task: the progress record of one feed item's fan-out to its followers.
//
// What it is for: a publish to an anchor with millions of followers is split into batches run
// as delayed jobs, and the record is what lets any node pick the fan-out up where a dead node
// left it. It lives in the store as one string (JSON), so that advancing it is one
// compare_and_set from the exact text read: a batch run twice (a node died after its side
// effects, or two nodes ran it after a TTR) advances the cursor once, never twice, and never
// skips a batch.
//
// What it owns: the text format only. It must never touch the store itself.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace lp::plugins::feed {

struct FanoutTask {
    std::uint64_t item_id = 0;
    std::uint64_t anchor_id = 0;
    std::string cursor = "0";  // sscan cursor of followers:{anchor} where the next batch starts
    std::uint64_t batches_done = 0;    // batches that reached at least one follower
    std::uint64_t followers_done = 0;  // followers whose batch completed (recent list written)
    std::uint64_t online = 0;          // of those, online when their batch ran (pushed)
    std::uint64_t total = 0;           // followers when published (the set may change meanwhile)
    std::int64_t created_ms = 0;
    std::int64_t finished_ms = 0;  // 0 while running
    bool done = false;

    std::string to_json() const;
    // nullopt for text that is not a task record.
    static std::optional<FanoutTask> from_json(const std::string& text);
};

}  // namespace lp::plugins::feed
