// plugins/host/job_queue: the host's side of the SDK's delayed jobs.
//
// What it is for: plugins schedule() and cancel() jobs through sdk::Jobs (invitation expiry,
// phase ends, retries); the node's JobRunner claim()s the due ones, runs them and marks them
// done(). The platform's delayed queue (domain.md, "Delayed jobs"), made cluster-safe: a job is
// delay → (due) → reserved → deleted, and a reserved job not done() by its deadline (TTR, time
// to run) is due again, so a job whose node died mid-run runs again elsewhere: at least once,
// hence idempotent handlers. Each claim counts an attempt; the runner buries a job that failed
// its last allowed attempt (JobRunner::Options::max_attempts) into the dead letters.
//
// A job is (topic, id): scheduling an existing (topic, id) replaces it, body, due time and all,
// and gives it a new token; done() with an older token does not remove the replacement (a job
// rescheduled while it ran is kept for its new time).
//
// Time is wall-clock ms since the epoch, read from the queue's NowMs (every node of a cluster
// has its own clock: a node whose clock is ahead claims early by as much). Tests pass a clock
// they move by hand.
//
// Two implementations: MemoryJobQueue (one process), RedisJobQueue (a cluster).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "plugins/sdk/plugin.hpp"
#include "plugins/sdk/wall_clock.hpp"

namespace lp::plugins {

// Milliseconds since the Unix epoch. The default is the SDK's clock, the one plugins use, so a
// job's times and a plugin's compare.
using NowMs = std::function<std::int64_t()>;
inline std::int64_t system_now_ms() { return sdk::wall_ms(); }

struct DueJob {
    std::string topic, id, body;
    std::uint64_t token = 0;      // this schedule() of (topic, id); done() checks it
    std::int64_t due_ms = 0;      // when it became due: its time, or its TTR deadline when re-run
    std::int64_t claimed_ms = 0;  // the claim's now (claimed_ms - due_ms = how late it is)
    std::uint32_t attempts = 0;   // claims of this schedule() so far, this one included (1 = first run)
};

// A job given up on (bury): what it was, how often it ran, why it failed last.
struct DeadJob {
    std::string topic, id, body, error;
    std::uint32_t attempts = 0;
    std::int64_t buried_ms = 0;
};

class JobQueue : public sdk::Jobs {  // schedule()/cancel() from sdk::Jobs
public:
    // schedule(): due at now + delay (a delay <= 0 is due at once). False when the store is
    // unavailable or the topic is not valid (empty, or holding ':' or '|', which the queues use
    // to build keys and records). cancel(): true if the job existed.

    // Claims up to `max` due jobs; each due job is claimed by exactly one caller across the
    // cluster and is reserved until now + ttr. A reserved job not done() by then is due again.
    // Oldest due first. Empty when the store is unavailable.
    virtual std::vector<DueJob> claim(std::size_t max, std::chrono::milliseconds ttr) = 0;
    // The job ran: remove it, unless it was rescheduled (new token) meanwhile.
    virtual void done(const DueJob& job) = 0;
    virtual std::size_t pending() = 0;  // scheduled + reserved (for metrics)
    // Gives up on a claimed job whose runs keep failing: removes it (unless it was rescheduled
    // meanwhile: new token, kept) and records it in the dead letters, newest first, at most
    // kDeadLetters of them (older ones drop). True if it removed the job.
    virtual bool bury(const DueJob& job, const std::string& why) = 0;
    // The newest `max` dead letters, newest first. Empty when the store is unavailable.
    virtual std::vector<DeadJob> dead(std::size_t max) = 0;
    static constexpr std::size_t kDeadLetters = 1000;

    static bool valid_topic(const std::string& topic) {
        return !topic.empty() && topic.find_first_of(":|") == std::string::npos;
    }
    // The key of (topic, id): unambiguous because a topic holds no ':'.
    static std::string job_key(const std::string& topic, const std::string& id) {
        return topic + ":" + id;
    }
};

}  // namespace lp::plugins
