// plugins/host/memory_job_queue: delayed jobs in process memory (embedded mode).
//
// The same states as RedisJobQueue (due, reserved, gone) and the same answers, for a node
// that runs alone: a job map by key, and two indexes ordered by time, one for due jobs (by
// due time) and one for reserved jobs (by TTR deadline). One mutex; every call is short
// (claim is O(k log n) for the k jobs it moves). Jobs do not survive the process.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>

#include "plugins/host/job_queue.hpp"

namespace lp::plugins {

class MemoryJobQueue final : public JobQueue {
public:
    explicit MemoryJobQueue(NowMs now = system_now_ms);

    bool schedule(const std::string& topic, const std::string& id, std::chrono::milliseconds delay,
                  const std::string& body) override;
    bool cancel(const std::string& topic, const std::string& id) override;
    std::vector<DueJob> claim(std::size_t max, std::chrono::milliseconds ttr) override;
    void done(const DueJob& job) override;
    std::size_t pending() override;
    bool bury(const DueJob& job, const std::string& why) override;
    std::vector<DeadJob> dead(std::size_t max) override;

private:
    struct Job {
        std::string topic, id, body;
        std::uint64_t token = 0;
        bool reserved = false;
        std::int64_t at_ms = 0;  // due time, or TTR deadline while reserved: its index's key
        std::uint32_t attempts = 0;
    };
    using TimeIndex = std::set<std::pair<std::int64_t, std::string>>;  // (ms, job key)

    void unindex(const std::string& key, const Job& job);

    const NowMs now_;
    std::mutex mu_;
    std::uint64_t last_token_ = 0;
    std::unordered_map<std::string, Job> jobs_;  // by job key
    TimeIndex due_;
    TimeIndex reserved_;
    std::deque<DeadJob> dead_;  // newest first, at most kDeadLetters
};

}  // namespace lp::plugins
