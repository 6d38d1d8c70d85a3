// plugins/host/redis_job_queue: delayed jobs in Redis, shared by every node of a cluster.
//
//   {prefix}pool       HASH job key ("topic:id") -> "topic|token|body": every job not yet done
//   {prefix}due        ZSET job key, score = ms it is due at (scheduled, or re-due after TTR)
//   {prefix}reserved   ZSET job key, score = TTR deadline ms: claimed, running somewhere
//   {prefix}seq        STRING counter: the token of each schedule()
//   {prefix}attempts   HASH job key -> claims of its current schedule() (reset by schedule())
//   {prefix}dead       LIST of JSON dead letters {topic,id,body,error,attempts,buried_ms},
//                      newest first, at most kDeadLetters (operators: LRANGE {prefix}dead 0 9)
//
// A job is in exactly one of due / reserved while it is in the pool. Every operation is one Lua
// script, so a claim is atomic across the cluster: a due job moves to reserved in the same
// script that returns it, and no other claim can see it due until its deadline passes. `now`
// comes from the caller's clock (NowMs), never from Redis's, so tests control time.
//
// The platform this replaces scanned several ZSET "buckets" with timers and fed per-topic ready
// lists; one due ZSET scanned by a score range does the same work with one script per claim, and
// the topic travels with the job instead of choosing a list (the runner dispatches by topic).
//
// What it must never do: lose a job because a claim's reply was lost (a timed-out claim leaves
// its jobs reserved: they run after their TTR), or block Redis for long (a claim moves at most
// `max` due jobs and kRequeueLimit expired reservations).
//
// The keys share the hash tag {jobs} (prefix "lp:{jobs}:"), so a later Redis Cluster puts them
// in one slot, as the scripts need, without moving data. Nodes before the tag used "lp:jobs:":
// adopt_legacy() moves such a queue into this one once at start (docs/scaling.md).
#pragma once

#include <chrono>
#include <string>

#include "plugins/host/job_queue.hpp"
#include "redis/client.hpp"

namespace lp::plugins {

// The cluster's job keys, and those of nodes before the hash tag.
inline constexpr const char* kJobKeyPrefix = "lp:{jobs}:";
inline constexpr const char* kLegacyJobKeyPrefix = "lp:jobs:";

class RedisJobQueue final : public JobQueue {
public:
    explicit RedisJobQueue(redis::Client& redis, std::string key_prefix = kJobKeyPrefix,
                           NowMs now = system_now_ms,
                           std::chrono::milliseconds timeout = std::chrono::milliseconds(1000));

    bool schedule(const std::string& topic, const std::string& id, std::chrono::milliseconds delay,
                  const std::string& body) override;
    bool cancel(const std::string& topic, const std::string& id) override;
    std::vector<DueJob> claim(std::size_t max, std::chrono::milliseconds ttr) override;
    // Queued without waiting for the answer (the redis::Client sends commands in call order, so a
    // later call on this client sees it). If it never arrives the job runs again after its TTR.
    void done(const DueJob& job) override;
    std::size_t pending() override;
    bool bury(const DueJob& job, const std::string& why) override;
    std::vector<DeadJob> dead(std::size_t max) override;  // 0 when Redis does not answer

    // Moves the jobs of a queue under `legacy_prefix` into this one, in one script: each job this
    // queue does not hold (by topic and id) keeps its record, due time or reservation and
    // attempts; the token counter becomes the larger of the two, so no token repeats; the dead
    // letters follow this queue's, kept to its bound; the legacy keys are deleted. Safe to call
    // on every start (nothing to move: no change). Returns the jobs moved, or -1 when Redis did
    // not answer. One script: a queue of a million jobs blocks Redis for about a second, once.
    std::int64_t adopt_legacy(const std::string& legacy_prefix = kLegacyJobKeyPrefix);

    const std::string& pool_key() const noexcept { return pool_; }
    const std::string& due_key() const noexcept { return due_; }
    const std::string& reserved_key() const noexcept { return reserved_; }

private:
    redis::Client& redis_;
    const std::string pool_, due_, reserved_, seq_, attempts_, dead_;
    const NowMs now_;
    const std::chrono::milliseconds timeout_;
};

}  // namespace lp::plugins
