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
// For Redis Cluster, put the keys in one slot with a hash tag in the prefix ("{lp:jobs}:").
#pragma once

#include <chrono>
#include <string>

#include "plugins/host/job_queue.hpp"
#include "redis/client.hpp"

namespace lp::plugins {

class RedisJobQueue final : public JobQueue {
public:
    explicit RedisJobQueue(redis::Client& redis,
                           std::string key_prefix = "lp:jobs:", NowMs now = system_now_ms,
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
