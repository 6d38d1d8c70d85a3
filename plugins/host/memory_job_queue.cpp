// plugins/host/memory_job_queue: see memory_job_queue.hpp.
#include "plugins/host/memory_job_queue.hpp"

#include <algorithm>

namespace lp::plugins {

MemoryJobQueue::MemoryJobQueue(NowMs now) : now_(std::move(now)) {}

void MemoryJobQueue::unindex(const std::string& key, const Job& job) {
    (job.reserved ? reserved_ : due_).erase({job.at_ms, key});
}

bool MemoryJobQueue::schedule(const std::string& topic, const std::string& id,
                              std::chrono::milliseconds delay, const std::string& body) {
    if (!valid_topic(topic)) return false;
    const std::int64_t due_ms = now_() + std::max<std::int64_t>(delay.count(), 0);
    std::string key = job_key(topic, id);
    std::lock_guard lk(mu_);
    auto [it, fresh] = jobs_.try_emplace(key);
    Job& job = it->second;
    if (!fresh) unindex(key, job);
    job = Job{topic, id, body, ++last_token_, false, due_ms};
    due_.emplace(due_ms, std::move(key));
    return true;
}

bool MemoryJobQueue::cancel(const std::string& topic, const std::string& id) {
    const std::string key = job_key(topic, id);
    std::lock_guard lk(mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end()) return false;
    unindex(key, it->second);
    jobs_.erase(it);
    return true;
}

std::vector<DueJob> MemoryJobQueue::claim(std::size_t max, std::chrono::milliseconds ttr) {
    std::vector<DueJob> out;
    const std::int64_t now = now_();
    const std::int64_t deadline = now + ttr.count();
    std::lock_guard lk(mu_);
    // Reservations past their deadline are due again, at their deadline.
    while (!reserved_.empty() && reserved_.begin()->first <= now) {
        auto node = reserved_.extract(reserved_.begin());
        Job& job = jobs_.at(node.value().second);
        job.reserved = false;
        due_.insert(std::move(node));
    }
    while (out.size() < max && !due_.empty() && due_.begin()->first <= now) {
        auto node = due_.extract(due_.begin());
        Job& job = jobs_.at(node.value().second);
        out.push_back(
            DueJob{job.topic, job.id, job.body, job.token, job.at_ms, now, ++job.attempts});
        job.reserved = true;
        job.at_ms = deadline;
        node.value().first = deadline;
        reserved_.insert(std::move(node));
    }
    return out;
}

void MemoryJobQueue::done(const DueJob& done_job) {
    const std::string key = job_key(done_job.topic, done_job.id);
    std::lock_guard lk(mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end() || it->second.token != done_job.token) return;
    unindex(key, it->second);
    jobs_.erase(it);
}

bool MemoryJobQueue::bury(const DueJob& job, const std::string& why) {
    const std::string key = job_key(job.topic, job.id);
    std::lock_guard lk(mu_);
    auto it = jobs_.find(key);
    if (it == jobs_.end() || it->second.token != job.token) return false;
    unindex(key, it->second);
    jobs_.erase(it);
    dead_.push_front(DeadJob{job.topic, job.id, job.body, why, job.attempts, now_()});
    if (dead_.size() > kDeadLetters) dead_.pop_back();
    return true;
}

std::vector<DeadJob> MemoryJobQueue::dead(std::size_t max) {
    std::lock_guard lk(mu_);
    const auto n = std::min(max, dead_.size());
    return {dead_.begin(), dead_.begin() + static_cast<std::ptrdiff_t>(n)};
}

std::size_t MemoryJobQueue::pending() {
    std::lock_guard lk(mu_);
    return jobs_.size();
}

}  // namespace lp::plugins
