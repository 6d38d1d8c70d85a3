// plugins/host/room_hook_runner: runs the plugins' room hooks (SDK 5) off the event loops.
//
// What it is for: a room visit (enter, leave) and a room.chat to filter reach the plugins that
// asked for them (PluginHost::wants_room_visits / filters_chat) on keyed workers of their own,
// one user's calls in order, so that neither a plugin's store round trips nor a slow filter
// stall a loop, and a slow BIZ plugin does not delay chat. Visits and chats have a pool each:
// a visit may wait on the store (welcome schedules a job in Redis), and a Redis hiccup must not
// push chats past their time bound, where they would pass unfiltered. A loop only posts.
//
// The time bound: a chat's filters must answer within `filter_timeout` of being asked. A
// deadline thread settles what has not answered by then as TimedOut; the plugin's late answer
// is dropped (counted). All deadlines are "now + the same timeout", so they arrive in order and
// a deque is the whole timer. What is not answered (timeout, a filter that threw, the workers'
// queue full) passes unchanged when fail_open, else is refused.
//
// What it owns: its workers, its deadline thread and the counts (allowed, denied, rewritten,
// timeouts, failed, busy, late; visits run and dropped). It never decides what a filter says.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "plugins/host/defaults.hpp"
#include "plugins/host/keyed_workers.hpp"
#include "plugins/host/plugin_host.hpp"

namespace lp::codec {
class PromText;
}

namespace lp::plugins {

struct RoomHookOptions {
    std::chrono::milliseconds filter_timeout = kDefaultFilterTimeout;  // plugins.filter_timeout_ms
    bool fail_open = true;                                             // plugins.filter_fail_open
    std::size_t threads = 2;        // server.plugin_workers (at least 1)
    std::size_t queue_max = 10000;  // server.plugin_queue_max, per worker
};

class RoomHookRunner {
public:
    enum class Outcome : std::uint8_t { Allowed, Denied, Rewritten, TimedOut, Failed, Busy };
    struct FilterResult {
        Outcome outcome = Outcome::Allowed;
        bool pass = true;    // publish `text`; false: refuse with `reason`
        std::string text;    // what to publish (the original unless rewritten)
        std::string reason;  // Denied: the plugin's reason; otherwise why it was not judged
    };

    RoomHookRunner(PluginHost& host, RoomHookOptions opts);
    ~RoomHookRunner();  // stop()
    RoomHookRunner(const RoomHookRunner&) = delete;
    RoomHookRunner& operator=(const RoomHookRunner&) = delete;

    bool wants_room_visits() const { return host_.wants_room_visits(); }
    bool filters_chat() const { return host_.filters_chat(); }

    // Queued for the plugins (dropped and counted when the user's worker is full).
    void entered(sdk::RoomVisit visit);
    void left(sdk::RoomVisit visit);
    // `done` is called exactly once, on a worker or the deadline thread (or here, when the
    // workers refuse it), within about filter_timeout.
    void filter_chat(sdk::ChatToFilter chat, std::function<void(FilterResult)> done);

    // Runs what is queued, settles what is still waiting as timed out, joins. Idempotent.
    void stop();
    void write_metrics(codec::PromText& m) const;

private:
    struct Pending;
    void visit(sdk::RoomVisit visit, bool enter);
    // The result of a chat its filters did not judge (timeout, failure, busy), by fail_open.
    FilterResult unjudged(Outcome why, std::string text) const;
    void settle(Pending& p, FilterResult r);
    void run_deadlines();

    PluginHost& host_;
    const RoomHookOptions opts_;
    std::unique_ptr<KeyedWorkers> visit_workers_;   // when a plugin wants visits
    std::unique_ptr<KeyedWorkers> filter_workers_;  // when a plugin filters chat

    std::mutex mu_;
    std::condition_variable wake_;
    std::deque<std::shared_ptr<Pending>> deadlines_;  // oldest (soonest) first
    bool stopping_ = false;
    std::thread deadline_thread_;

    static constexpr int kOutcomes = 6;
    std::atomic<std::uint64_t> outcomes_[kOutcomes] = {};
    std::atomic<std::uint64_t> late_{0};
    std::atomic<std::uint64_t> visits_[2] = {};  // [enter, leave] handed to the plugins
    std::atomic<std::uint64_t> visits_dropped_{0};
};

}  // namespace lp::plugins
