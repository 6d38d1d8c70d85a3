// redis/client_calls: the callers' side of redis::Client (client.hpp): queueing commands (with
// their refusals and bounds), the *_sync waits, the replicated (WAIT) forms, stats. The I/O
// thread that drains the queue is in client.cpp; the two share only the members under mu_ and
// the atomics.
#include <algorithm>
#include <condition_variable>
#include <iterator>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "redis/client.hpp"

namespace lp::redis {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);  // ASCII letters only; command names are ASCII
           });
}

// Commands that change the state of the connection itself. On a connection shared by every
// caller and pipelined they would change it under other callers' commands (SELECT, AUTH),
// turn it into a push stream (SUBSCRIBE, MONITOR, SYNC) or split a transaction across batches.
const char* connection_state_command(const std::vector<std::string>& args) {
    static constexpr const char* kRefused[] = {
        "SUBSCRIBE",    "PSUBSCRIBE", "SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE",
        "SUNSUBSCRIBE", "MONITOR",    "SYNC",       "PSYNC",       "MULTI",
        "EXEC",         "DISCARD",    "WATCH",      "UNWATCH",     "SELECT",
        "AUTH",         "HELLO",      "RESET",      "QUIT"};
    for (const char* name : kRefused) {
        if (iequals(args[0], name)) return name;
    }
    if (iequals(args[0], "CLIENT") && args.size() > 1 && iequals(args[1], "REPLY")) {
        return "CLIENT REPLY";
    }
    return nullptr;
}

}  // namespace

void Client::on_state(std::function<void(bool up)> hook) {
    std::lock_guard lk(mu_);
    on_state_ = std::move(hook);
}

void Client::command(std::vector<std::string> args, Callback cb) {
    enqueue(Pending{std::move(args), std::move(cb), nullptr}, nullptr);
}

Reply Client::command_sync(std::vector<std::string> args, std::chrono::milliseconds timeout) {
    return wait_sync(Pending{std::move(args), {}, nullptr}, nullptr, timeout);
}

namespace {
std::vector<std::string> eval_args(const Script& script, std::vector<std::string>& keys,
                                   std::vector<std::string>& args) {
    std::vector<std::string> argv;
    argv.reserve(3 + keys.size() + args.size());
    argv.emplace_back("EVALSHA");
    argv.push_back(script.sha1);
    argv.push_back(std::to_string(keys.size()));
    std::move(keys.begin(), keys.end(), std::back_inserter(argv));
    std::move(args.begin(), args.end(), std::back_inserter(argv));
    return argv;
}
}  // namespace

void Client::eval(const Script& script, std::vector<std::string> keys,
                  std::vector<std::string> args, Callback cb) {
    enqueue(Pending{eval_args(script, keys, args), std::move(cb), nullptr}, &script);
}

Reply Client::eval_sync(const Script& script, std::vector<std::string> keys,
                        std::vector<std::string> args, std::chrono::milliseconds timeout) {
    return wait_sync(Pending{eval_args(script, keys, args), {}, nullptr}, &script, timeout);
}

void Client::eval_replicated(const Script& script, std::vector<std::string> keys,
                             std::vector<std::string> args, Callback cb) {
    Pending p{eval_args(script, keys, args), std::move(cb), nullptr};
    p.replicated = true;
    enqueue(std::move(p), &script);
}

Reply Client::eval_replicated_sync(const Script& script, std::vector<std::string> keys,
                                   std::vector<std::string> args,
                                   std::chrono::milliseconds timeout) {
    Pending p{eval_args(script, keys, args), {}, nullptr};
    p.replicated = true;
    return wait_sync(std::move(p), &script, timeout);
}

void Client::enqueue(Pending p, const Script* script) {
    std::string refusal;
    if (p.args.empty()) {
        refusal = "refused: empty command";
    } else if (const char* name = connection_state_command(p.args)) {
        refusal = std::string("refused: ") + name +
                  " changes the state of the shared, pipelined Redis connection";
    }
    bool wake = false;
    p.bytes = 0;
    for (const auto& a : p.args) p.bytes += a.size();
    if (refusal.empty()) {
        std::lock_guard lk(mu_);
        if (stopping_) {
            refusal = kErrStopped;
        } else if (queue_.size() >= opt_.max_queue) {
            refusal = kErrQueueFull;
        } else if (opt_.max_queue_bytes && queue_bytes_ + p.bytes > opt_.max_queue_bytes) {
            refusal = kErrQueueBytes;
            rejected_bytes_.fetch_add(1, std::memory_order_relaxed);
        } else {
            queue_bytes_ += p.bytes;
            queue_bytes_seen_.store(queue_bytes_, std::memory_order_relaxed);
            if (script) {
                auto& source = scripts_[script->sha1];
                if (!source) source = std::make_shared<const std::string>(script->source);
                p.script = source;
            }
            queue_.push_back(std::move(p));
            queue_depth_.store(queue_.size(), std::memory_order_relaxed);
            wake = waiting_;
        }
    }
    if (!refusal.empty()) {
        rejected_.fetch_add(1, std::memory_order_relaxed);
        deliver(p.cb, Reply::error(refusal), false);
        return;
    }
    if (wake) cv_.notify_one();
}

Reply Client::wait_sync(Pending p, const Script* script, std::chrono::milliseconds timeout) {
    if (on_io_thread()) {
        throw std::logic_error(
            "Client: a *_sync call from a callback or on_state would wait for itself; "
            "use the async form there");
    }
    struct Waiter {
        std::mutex m;
        std::condition_variable cv;
        bool done = false;
        Reply reply;
    };
    auto w = std::make_shared<Waiter>();
    // The waiter outlives a timed-out call: the reply may still come and lands in it.
    p.cb = [w](const Reply& r) {
        {
            std::lock_guard lk(w->m);
            w->reply = r;
            w->done = true;
        }
        w->cv.notify_one();
    };
    enqueue(std::move(p), script);
    std::unique_lock lk(w->m);
    if (!w->cv.wait_for(lk, timeout, [&] { return w->done; })) {
        return Reply::error(kErrTimeout);
    }
    return std::move(w->reply);
}

bool Client::on_io_thread() const noexcept {
    return io_thread_id_.load(std::memory_order_acquire) == std::this_thread::get_id();
}

Client::Stats Client::stats() const {
    Stats s;
    s.commands = commands_.load(std::memory_order_relaxed);
    s.errors = errors_.load(std::memory_order_relaxed);
    s.failed = failed_.load(std::memory_order_relaxed);
    s.rejected = rejected_.load(std::memory_order_relaxed);
    s.callback_exceptions = callback_exceptions_.load(std::memory_order_relaxed);
    s.batches = batches_.load(std::memory_order_relaxed);
    s.reconnects = reconnects_.load(std::memory_order_relaxed);
    s.script_reloads = script_reloads_.load(std::memory_order_relaxed);
    s.queue_depth = queue_depth_.load(std::memory_order_relaxed);
    s.queue_bytes = queue_bytes_seen_.load(std::memory_order_relaxed);
    s.rejected_bytes = rejected_bytes_.load(std::memory_order_relaxed);
    s.auth_failures = auth_failures_.load(std::memory_order_relaxed);
    s.round_trips = round_trips_.snapshot();
    s.connected = connected();
    {
        std::lock_guard lk(mu_);
        s.master = master_;
    }
    s.master_changes = master_changes_.load(std::memory_order_relaxed);
    s.replicas = replicas_.load(std::memory_order_relaxed);
    s.sentinel_failures = sentinel_failures_.load(std::memory_order_relaxed);
    s.stale_master_drops = stale_drops_.load(std::memory_order_relaxed);
    s.wait_failures = wait_failures_.load(std::memory_order_relaxed);
    {
        std::lock_guard lk(wait_mu_);
        s.wait_buckets = wait_buckets_;
        s.wait_seconds_sum = wait_sum_;
        s.waits = waits_;
    }
    return s;
}

std::string Client::last_error() const {
    std::lock_guard lk(mu_);
    return last_error_;
}

void Client::set_last_error(std::string why) {
    std::lock_guard lk(mu_);
    last_error_ = std::move(why);
}

}  // namespace lp::redis
