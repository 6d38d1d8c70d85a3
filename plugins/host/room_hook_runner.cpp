// plugins/host/room_hook_runner: see room_hook_runner.hpp.
#include "plugins/host/room_hook_runner.hpp"

#include <algorithm>

#include "codec/prometheus_text.hpp"

namespace lp::plugins {

struct RoomHookRunner::Pending {
    std::chrono::steady_clock::time_point deadline;
    std::string text;  // the original, for an unjudged chat that passes
    std::atomic<bool> settled{false};
    std::function<void(FilterResult)> done;
};

RoomHookRunner::RoomHookRunner(PluginHost& host, RoomHookOptions opts) : host_(host), opts_(opts) {
    const std::size_t threads = std::max<std::size_t>(1, opts.threads);
    const std::size_t queue = std::max<std::size_t>(1, opts.queue_max);
    if (host_.wants_room_visits()) visit_workers_ = std::make_unique<KeyedWorkers>(threads, queue);
    if (host_.filters_chat()) filter_workers_ = std::make_unique<KeyedWorkers>(threads, queue);
    deadline_thread_ = std::thread([this] { run_deadlines(); });
}

RoomHookRunner::~RoomHookRunner() {
    stop();
}

void RoomHookRunner::entered(sdk::RoomVisit v) {
    visit(std::move(v), true);
}

void RoomHookRunner::left(sdk::RoomVisit v) {
    visit(std::move(v), false);
}

void RoomHookRunner::visit(sdk::RoomVisit v, bool enter) {
    if (!visit_workers_) return;
    const std::uint64_t user = v.user_id;
    const bool queued = visit_workers_->submit(user, [this, v = std::move(v), enter] {
        visits_[enter ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
        if (enter)
            host_.room_enter(v);
        else
            host_.room_leave(v);
    });
    if (!queued) visits_dropped_.fetch_add(1, std::memory_order_relaxed);
}

RoomHookRunner::FilterResult RoomHookRunner::unjudged(Outcome why, std::string text) const {
    FilterResult r;
    r.outcome = why;
    r.pass = opts_.fail_open;
    switch (why) {
        case Outcome::TimedOut:
            r.reason = "the chat filter did not answer within plugins.filter_timeout_ms = " +
                       std::to_string(opts_.filter_timeout.count()) + " ms";
            break;
        case Outcome::Busy:
            r.reason = "the chat filter is overloaded (its workers' queue is full); retry later";
            break;
        default:
            r.reason = "the chat filter failed; the error is logged";
            break;
    }
    if (r.pass) r.text = std::move(text);
    return r;
}

void RoomHookRunner::settle(Pending& p, FilterResult r) {
    if (p.settled.exchange(true)) {
        late_.fetch_add(1, std::memory_order_relaxed);  // the deadline came first
        return;
    }
    outcomes_[static_cast<int>(r.outcome)].fetch_add(1, std::memory_order_relaxed);
    auto done = std::move(p.done);
    done(std::move(r));
}

void RoomHookRunner::filter_chat(sdk::ChatToFilter chat, std::function<void(FilterResult)> done) {
    auto p = std::make_shared<Pending>();
    p->deadline = std::chrono::steady_clock::now() + opts_.filter_timeout;
    p->text = chat.text;
    p->done = std::move(done);
    {
        std::lock_guard lock(mu_);
        if (!stopping_) deadlines_.push_back(p);
    }
    wake_.notify_one();
    const std::uint64_t user = chat.user_id;
    const bool queued =
        filter_workers_ && filter_workers_->submit(user, [this, p, chat = std::move(chat)] {
            if (p->settled.load(std::memory_order_acquire)) {
                late_.fetch_add(1, std::memory_order_relaxed);  // waited past its deadline: skip
                return;
            }
            auto verdict = host_.filter_chat(chat);
            FilterResult r;
            if (!verdict) {
                r = unjudged(Outcome::Failed, chat.text);
            } else if (verdict->action == sdk::ChatVerdict::Action::Deny) {
                r.outcome = Outcome::Denied;
                r.pass = false;
                r.reason = std::move(verdict->reason);
            } else if (verdict->action == sdk::ChatVerdict::Action::Rewrite) {
                r.outcome = Outcome::Rewritten;
                r.text = std::move(verdict->text);
            } else {
                r.text = chat.text;
            }
            settle(*p, std::move(r));
        });
    if (!queued) settle(*p, unjudged(Outcome::Busy, p->text));
}

void RoomHookRunner::run_deadlines() {
    std::unique_lock lock(mu_);
    for (;;) {
        if (stopping_) break;
        if (deadlines_.empty()) {
            wake_.wait(lock);
            continue;
        }
        auto front = deadlines_.front();
        if (std::chrono::steady_clock::now() < front->deadline) {
            wake_.wait_until(lock, front->deadline);
            continue;
        }
        deadlines_.pop_front();
        if (front->settled.load(std::memory_order_acquire)) continue;
        lock.unlock();
        settle(*front, unjudged(Outcome::TimedOut, front->text));
        lock.lock();
    }
}

void RoomHookRunner::stop() {
    // What is queued runs (and settles its chat).
    if (visit_workers_) visit_workers_->stop();
    if (filter_workers_) filter_workers_->stop();
    std::deque<std::shared_ptr<Pending>> left;
    {
        std::lock_guard lock(mu_);
        if (stopping_ && !deadline_thread_.joinable()) return;
        stopping_ = true;
        left.swap(deadlines_);
    }
    wake_.notify_all();
    if (deadline_thread_.joinable()) deadline_thread_.join();
    for (auto& p : left)
        if (!p->settled.load(std::memory_order_acquire))
            settle(*p, unjudged(Outcome::TimedOut, p->text));
}

void RoomHookRunner::write_metrics(codec::PromText& m) const {
    static constexpr const char* kNames[kOutcomes] = {"allowed", "denied", "rewritten",
                                                      "timeout", "failed", "busy"};
    for (int i = 0; i < kOutcomes; ++i)
        m.counter("livepush_chat_filter_total",
                  "room.chat judged by the plugins' filter_chat, by result (timeout, failed and "
                  "busy pass when plugins.filter_fail_open, else are refused)",
                  outcomes_[i].load(), codec::PromText::label("result", kNames[i]));
    m.counter("livepush_chat_filter_late_total",
              "filter_chat answers that came after plugins.filter_timeout_ms (dropped)",
              late_.load());
    m.counter("livepush_room_hook_visits_total",
              "room visits handed to the plugins' on_room_enter / on_room_leave", visits_[0].load(),
              codec::PromText::label("hook", "enter"));
    m.counter("livepush_room_hook_visits_total",
              "room visits handed to the plugins' on_room_enter / on_room_leave", visits_[1].load(),
              codec::PromText::label("hook", "leave"));
    m.counter("livepush_room_hook_visits_dropped_total",
              "room visits not handed to the plugins: the user's hook worker queue was full",
              visits_dropped_.load());
}

}  // namespace lp::plugins
