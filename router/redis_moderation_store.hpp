// router/redis_moderation_store: rooms' moderation state in Redis (cluster mode), shared by every
// node and surviving restarts.
//
// Key layout (one hash tag per room, so a room's keys sit in one slot and one script):
//   lp:{room:ID}:mod     HASH  anchor, moderators (comma list), mute_all (0/1), slow_mode_s
//   lp:{room:ID}:muted   ZSET  user -> until_ms (0 = until unmuted)
//   lp:{room:ID}:banned  ZSET  user -> until_ms (0 = until unbanned)
//   lp:{room:ID}:shadow  ZSET  user -> until_ms (0 = until unbanned)
//   lp:{mod}:seq         STRING  the change counter
//   lp:{mod}:log         ZSET  "ROOM:SEQ" -> SEQ, the last `log_max` changes
// Expiry: every load or change of a room first removes that room's entries with
// 1 <= until_ms <= now (ZREMRANGEBYSCORE), and each ZSET carries PEXPIREAT its latest end when
// it holds no until-lifted entry, so a room nobody touches again leaves nothing behind. No
// sweep ever walks all rooms.
// Change log: each change appends its room to lp:{mod}:log; changed() reads what came after
// the node's cursor (one small script per call, whatever the number of rooms), so the other
// nodes learn which cached rooms to reload. Its own script call, because the log's keys and a
// room's are in different slots.
#pragma once

#include <atomic>
#include <cstdint>

#include "redis/client.hpp"
#include "router/moderation_store.hpp"

namespace lp::router {

class RedisModerationStore final : public ModerationStore {
public:
    RedisModerationStore(redis::Client& redis, std::size_t max_entries,
                         std::size_t log_max = 10000);
    void load(std::uint64_t room, std::uint64_t now_ms, Done done) override;
    void apply(std::uint64_t room, const ModChange& c, std::uint64_t now_ms, Done done) override;
    void changed(std::function<void(std::vector<std::uint64_t>, bool)> done) override;

private:
    void run(std::uint64_t room, const ModChange* c, std::uint64_t now_ms, Done done);

    redis::Client& redis_;
    std::size_t max_entries_, log_max_;
    std::atomic<long long> cursor_{-1};  // the last change seen; -1 = none yet
};

}  // namespace lp::router
