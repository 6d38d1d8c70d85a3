// redis/client: see client.hpp for what the client is for and why it runs one I/O
// thread over a blocking hiredis connection.
//
// The I/O thread's life is a small state machine:
//   no connection → connect (+ AUTH, SELECT, PING in one round trip) → on_state(true)
//   connected     → take up to batch_limit commands → append all → read all replies
//                   → retry NOSCRIPT answers as EVAL → run the callbacks in order
//   broken        → fail what was on the wire → on_state(false) → reconnect at once, then with
//                   doubling backoff; meanwhile every queued command fails with "disconnected".
// Sentinel mode adds a look-up before each connect (redis/sentinel), a ROLE check in the
// handshake and in idle health checks, and "broken" also on a READONLY answer. WAIT adds one
// command at the end of a round trip that holds replicated commands.
// Callbacks always run with no lock held, so they may queue more commands.
//
// Why this file holds the whole state machine (connect, batch, read, WAIT, fail, back off):
// split, each half would need the other's private state. The callers' side (queueing, waits,
// stats) is in client_calls.cpp; Reply/Script and the sentinel look-up, which need none of it,
// are in reply.cpp and sentinel.cpp.
#include "redis/client.hpp"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <random>
#include <stdexcept>

#include "redis/sentinel.hpp"
#include "redis/timeval.hpp"

namespace lp::redis {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return (x | 0x20) == (y | 0x20);  // ASCII letters only; command names are ASCII
           });
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Callers' side

struct Client::Wire {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
};

Client::Client(Options options) : opt_(std::move(options)), wire_(std::make_unique<Wire>()) {
    using std::chrono::milliseconds;
    if (opt_.connect_timeout <= milliseconds::zero() ||
        opt_.command_timeout <= milliseconds::zero()) {
        throw std::invalid_argument("redis: connect_timeout and command_timeout must be > 0");
    }
    if (opt_.backoff_min <= milliseconds::zero() || opt_.backoff_min > opt_.backoff_max) {
        throw std::invalid_argument("redis: need 0 < backoff_min <= backoff_max");
    }
    if (opt_.health_check_interval < milliseconds::zero()) {
        throw std::invalid_argument("redis: health_check_interval must be >= 0 (0 = off)");
    }
    if (opt_.batch_limit == 0 || opt_.max_queue == 0) {
        throw std::invalid_argument("redis: batch_limit and max_queue must be > 0");
    }
    if (opt_.db < 0) throw std::invalid_argument("redis: db must be >= 0");
    if (opt_.wait_replicas > 0 && opt_.wait_timeout <= milliseconds::zero()) {
        throw std::invalid_argument("redis: wait_timeout must be > 0 with wait_replicas");
    }
    if (!opt_.sentinels.empty() && opt_.master_name.empty()) {
        throw std::invalid_argument("redis: master_name must be set with sentinels");
    }
}

Client::~Client() {
    stop();
}

void Client::start() {
    std::lock_guard lc(lifecycle_mu_);
    if (thread_.joinable()) return;
    {
        std::lock_guard lk(mu_);
        if (stopping_) throw std::logic_error("Client::start() after stop()");
    }
    thread_ = std::thread([this] { run(); });
}

void Client::stop() {
    {
        std::lock_guard lk(mu_);
        stopping_ = true;
    }
    cv_.notify_all();
    if (on_io_thread()) return;  // run() sees stopping_ after this batch; the owner joins later
    std::lock_guard lc(lifecycle_mu_);
    if (thread_.joinable()) thread_.join();
    fail_queued(kErrStopped);  // only non-empty if the thread never started
}

// ---------------------------------------------------------------------------------------------
// The I/O thread

void Client::run() {
    io_thread_id_.store(std::this_thread::get_id(), std::memory_order_release);
    // hiredis writes with write(2): a peer that closed would raise SIGPIPE and kill the process
    // unless it is ignored. Blocking it on this thread turns it into EPIPE whatever the process
    // does with the signal.
    sigset_t pipe_set;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, nullptr);

    std::minstd_rand jitter_rng(std::random_device{}());
    std::vector<Pending> batch;
    batch.reserve(opt_.batch_limit);
    auto backoff = opt_.backoff_min;
    bool ever_connected = false;
    std::chrono::steady_clock::time_point last_role{};

    while (true) {
        if (!ctx_) {
            {
                std::lock_guard lk(mu_);
                if (stopping_) break;
            }
            std::string why;
            if (connect(why)) {
                backoff = opt_.backoff_min;
                if (ever_connected) reconnects_.fetch_add(1, std::memory_order_relaxed);
                ever_connected = true;
                notify_state(true);
            } else {
                set_last_error(std::move(why));
                // 75–100 % of the current step, so nodes that lost the same Redis spread out.
                auto step = backoff * (75 + static_cast<int>(jitter_rng() % 26)) / 100;
                wait_backoff(std::chrono::steady_clock::now() + step);
                backoff = std::min(backoff * 2, opt_.backoff_max);
                continue;
            }
        }
        if (!take_batch(batch)) break;
        const auto now = std::chrono::steady_clock::now();
        if (!opt_.sentinels.empty() && now - last_role >= std::chrono::seconds(1)) {
            // Sentinel mode: a ROLE once a second, idle or not, so a demoted master is noticed
            // and the replica count stays current.
            batch.push_back(Pending{{"ROLE"}, {}, nullptr});
            last_role = now;
        } else if (batch.empty()) {
            batch.push_back(Pending{{"PING"}, {}, nullptr});  // idle: health check
        }
        if (!execute(batch)) notify_state(false);
        batch.clear();
    }
    drop_connection();
    fail_queued(kErrStopped);
    io_thread_id_.store(std::thread::id{}, std::memory_order_release);  // ids get reused
}

namespace {

// Redis's answers to bad or missing credentials: WRONGPASS (6+), NOAUTH, and the older
// "ERR invalid password" / "ERR AUTH <password> called without any password configured".
bool is_auth_error(std::string_view e) {
    return e.starts_with("WRONGPASS") || e.starts_with("NOAUTH") || e.starts_with("NOPERM") ||
           e.starts_with("ERR invalid password") || e.starts_with("ERR AUTH") ||
           e.starts_with("ERR Client sent AUTH");
}

}  // namespace

bool Client::connect(std::string& why) {
    std::string host = opt_.host;
    std::uint16_t port = opt_.port;
    const bool sentinel_mode = !opt_.sentinels.empty();
    if (sentinel_mode && !find_master(host, port, why)) return false;
    const std::string where = host + ":" + std::to_string(port);
    redisContext* c = redisConnectWithTimeout(host.c_str(), port, to_timeval(opt_.connect_timeout));
    if (!c) {
        why = "connect " + where + ": out of memory";
        return false;
    }
    if (c->err) {
        why = "connect " + where + ": " + c->errstr;
        redisFree(c);
        return false;
    }
    // A round trip holding a WAIT may take wait_timeout longer than any other.
    const auto read_timeout =
        opt_.command_timeout +
        (opt_.wait_replicas > 0 ? opt_.wait_timeout : std::chrono::milliseconds::zero());
    if (redisSetTimeout(c, to_timeval(read_timeout)) != REDIS_OK ||
        redisEnableKeepAlive(c) != REDIS_OK) {
        why = "connect " + where + ": setting socket options: " + c->errstr;
        redisFree(c);
        return false;
    }
    ctx_ = c;
    loaded_scripts_.clear();

    // AUTH, SELECT and a PING (a server that accepts connections but does not answer, paused
    // or stuck in a script, is not up) in one round trip.
    std::vector<Pending> hello;
    if (!opt_.password.empty()) {
        if (opt_.username.empty()) {
            hello.push_back(Pending{{"AUTH", opt_.password}, {}, nullptr});
        } else {
            hello.push_back(Pending{{"AUTH", opt_.username, opt_.password}, {}, nullptr});
        }
    }
    if (opt_.db != 0) hello.push_back(Pending{{"SELECT", std::to_string(opt_.db)}, {}, nullptr});
    hello.push_back(Pending{{"PING"}, {}, nullptr});
    // Sentinel mode: what the sentinels named may be a demoted master they have not yet
    // noticed (or one restarted as a replica): connect only to a master.
    if (sentinel_mode) hello.push_back(Pending{{"ROLE"}, {}, nullptr});
    std::vector<Reply> replies;
    std::vector<char> made_up;
    bool appended = true;
    for (const auto& p : hello) appended = appended && append(p);
    if (!appended || !read_replies(hello.size(), replies, made_up)) {
        why = "connect " + where + ": " + (ctx_->errstr[0] ? ctx_->errstr : "handshake failed");
        drop_connection();
        return false;
    }
    for (std::size_t i = 0; i < hello.size(); ++i) {
        if (replies[i].is_error()) {
            // AUTH refused, or a PING answered NOAUTH because we sent no password.
            if (is_auth_error(replies[i].str))
                auth_failures_.fetch_add(1, std::memory_order_relaxed);
            why = "connect " + where + ": " + hello[i].args[0] + " failed: " + replies[i].str;
            drop_connection();
            return false;
        }
    }
    if (sentinel_mode) {
        const Reply& role = replies.back();
        const bool master = role.type == Reply::Type::Array && !role.elements.empty() &&
                            role.elements[0].str == "master";
        if (!master) {
            why = "connect " + where + ": the sentinels name it master of " + opt_.master_name +
                  " but its ROLE is " +
                  (role.type == Reply::Type::Array && !role.elements.empty()
                       ? role.elements[0].str
                       : std::string("unknown"));
            drop_connection();
            return false;
        }
        std::string previous;
        {
            std::lock_guard lk(mu_);
            previous = std::exchange(master_, where);
        }
        if (!previous.empty() && previous != where) {
            master_changes_.fetch_add(1, std::memory_order_relaxed);
            spdlog::warn("redis: master of {} moved from {} to {} (failover followed)",
                         opt_.master_name, previous, where);
        }
        const auto replicas = replicas_.load(std::memory_order_relaxed);
        if (opt_.wait_replicas > 0 &&
            replicas < static_cast<std::int64_t>(opt_.wait_replicas) + 1) {
            spdlog::warn(
                "redis: master {} of {} has {} healthy replica(s); WAIT {} needs {} so that a "
                "failover leaves {} for the new master: until then a failover stops durable "
                "writes (503) until enough replicas are back",
                where, opt_.master_name, replicas, opt_.wait_replicas, opt_.wait_replicas + 1,
                opt_.wait_replicas);
        }
    }
    connected_.store(true, std::memory_order_release);
    return true;
}

// Asks the sentinels (redis/sentinel) and remembers which one answered, for the next time.
bool Client::find_master(std::string& host, std::uint16_t& port, std::string& why) {
    SentinelAnswer a;
    if (!ask_sentinels(opt_, next_sentinel_, a, why)) {
        sentinel_failures_.fetch_add(1, std::memory_order_relaxed);
        return false;
    }
    replicas_.store(a.healthy_replicas, std::memory_order_relaxed);
    host = std::move(a.host);
    port = a.port;
    return true;
}

void Client::drop_connection() {
    connected_.store(false, std::memory_order_release);
    if (ctx_) {
        redisFree(ctx_);
        ctx_ = nullptr;
    }
    loaded_scripts_.clear();
}

bool Client::take_batch(std::vector<Pending>& batch) {
    std::unique_lock lk(mu_);
    if (queue_.empty() && !stopping_) {
        waiting_ = true;
        auto ready = [this] { return !queue_.empty() || stopping_; };
        if (opt_.health_check_interval.count() > 0) {
            cv_.wait_for(lk, opt_.health_check_interval, ready);
        } else {
            cv_.wait(lk, ready);
        }
        waiting_ = false;
    }
    if (stopping_) return false;
    const std::size_t n = std::min(queue_.size(), opt_.batch_limit);
    for (std::size_t i = 0; i < n; ++i) {
        queue_bytes_ -= queue_.front().bytes;
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
    }
    queue_depth_.store(queue_.size(), std::memory_order_relaxed);
    queue_bytes_seen_.store(queue_bytes_, std::memory_order_relaxed);
    return true;
}

// Appends one command to the hiredis output buffer. A script this connection has not loaded
// goes as EVAL with its source (which loads it), later ones as EVALSHA.
bool Client::append(const Pending& p) {
    auto& w = *wire_;
    w.argv.clear();
    w.lens.clear();
    const bool as_eval = p.script && !loaded_scripts_.contains(p.args[1]);
    for (std::size_t i = 0; i < p.args.size(); ++i) {
        const std::string* arg = &p.args[i];
        static const std::string kEval = "EVAL";
        if (as_eval && i == 0) arg = &kEval;
        if (as_eval && i == 1) arg = p.script.get();
        w.argv.push_back(arg->data());
        w.lens.push_back(arg->size());
    }
    if (as_eval) loaded_scripts_.insert(p.args[1]);
    return redisAppendCommandArgv(ctx_, static_cast<int>(w.argv.size()), w.argv.data(),
                                  w.lens.data()) == REDIS_OK;
}

// Reads replies until `out` holds `n` of them. On a broken connection or a timeout the missing
// ones are made up ("disconnected" / "timeout", flagged in `made_up`) and false is returned: the
// connection must then be dropped.
bool Client::read_replies(std::size_t n, std::vector<Reply>& out, std::vector<char>& made_up) {
    while (out.size() < n) {
        void* raw = nullptr;
        errno = 0;
        if (redisGetReply(ctx_, &raw) != REDIS_OK || raw == nullptr) {
            // hiredis retries EINTR itself; EAGAIN on a blocking socket is SO_RCVTIMEO firing.
            const int saved_errno = errno;
            const bool timed_out =
                ctx_->err == REDIS_ERR_IO && (saved_errno == EAGAIN || saved_errno == EWOULDBLOCK);
            set_last_error(std::string(timed_out ? "command timeout: " : "connection lost: ") +
                           (ctx_->errstr[0] ? ctx_->errstr : "no reply"));
            while (out.size() < n) {
                out.push_back(Reply::error(timed_out ? kErrTimeout : kErrDisconnected));
                made_up.push_back(1);
            }
            return false;
        }
        auto* reply = static_cast<redisReply*>(raw);
        out.push_back(Reply::from_hiredis(*reply));
        made_up.push_back(0);
        freeReplyObject(reply);
    }
    return true;
}

// One round trip for the batch, a second one if some EVALSHA met NOSCRIPT, then every callback
// in order. Returns false if the connection broke (already dropped when the callbacks run).
bool Client::execute(std::vector<Pending>& batch) {
    replies_.clear();
    made_up_.clear();
    std::vector<const Pending*> cmds;
    cmds.reserve(batch.size());
    for (const auto& p : batch) cmds.push_back(&p);
    bool alive = round_trip(cmds, replies_, made_up_);
    if (alive) alive = reload_scripts(batch);
    // Sentinel mode: a READONLY answer or a ROLE that is not master means this is no longer
    // the master (demoted in a failover): drop it, and the reconnect asks the sentinels again.
    if (alive && stale_master(batch)) {
        stale_drops_.fetch_add(1, std::memory_order_relaxed);
        set_last_error("the master was demoted (READONLY or ROLE): asking the sentinels again");
        spdlog::warn("redis: {} is no longer the master of {}: asking the sentinels again",
                     stats().master, opt_.master_name);
        alive = false;
    }
    if (!alive) drop_connection();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        deliver(batch[i].cb, replies_[i], made_up_[i] != 0);
    }
    return alive;
}

bool Client::stale_master(const std::vector<Pending>& batch) {
    if (opt_.sentinels.empty()) return false;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        const Reply& r = replies_[i];
        if (r.is_error() && r.str.starts_with("READONLY")) return true;
        if (!iequals(batch[i].args[0], "ROLE") || r.type != Reply::Type::Array ||
            r.elements.empty())
            continue;
        if (r.elements[0].str != "master") return true;
        // ROLE of a master: {"master", offset, {{ip, port, offset}, ...}}: its replicas now.
        if (r.elements.size() >= 3 && r.elements[2].type == Reply::Type::Array)
            note_replicas(static_cast<std::int64_t>(r.elements[2].elements.size()));
    }
    return false;
}

// The replica count changed: published, and a warning when it falls below what WAIT needs
// after a failover (N + 1), once per fall.
void Client::note_replicas(std::int64_t n) {
    const auto before = replicas_.exchange(n, std::memory_order_relaxed);
    const auto needed = static_cast<std::int64_t>(opt_.wait_replicas) + 1;
    if (opt_.wait_replicas > 0 && n < needed && before >= needed) {
        spdlog::warn(
            "redis: the master of {} has {} replica(s) now; WAIT {} needs {} so that a failover "
            "leaves {} for the new master",
            opt_.master_name, n, opt_.wait_replicas, needed, opt_.wait_replicas);
    }
}

// Appends `cmds` (and one WAIT after them if any is replicated and WAIT is on), reads every
// reply into `out` / `made_up` (one per command; WAIT's own is not among them), and turns the
// replies of replicated commands into "WAIT ..." errors when too few replicas acknowledged.
// False if the connection broke (the missing replies are made up).
bool Client::round_trip(const std::vector<const Pending*>& cmds, std::vector<Reply>& out,
                        std::vector<char>& made_up) {
    const std::size_t first = out.size();
    const bool wait = opt_.wait_replicas > 0 &&
                      std::any_of(cmds.begin(), cmds.end(), [](auto* p) { return p->replicated; });
    bool alive = true;
    const auto sent_at = std::chrono::steady_clock::now();
    for (const auto* p : cmds) alive = alive && append(*p);
    Pending wait_cmd;
    if (alive && wait) {
        wait_cmd.args = {"WAIT", std::to_string(opt_.wait_replicas),
                         std::to_string(opt_.wait_timeout.count())};
        alive = append(wait_cmd);
    }
    if (!alive) {  // hiredis only fails here when out of memory: start afresh
        set_last_error("out of memory while queueing commands");
        for (std::size_t i = 0; i < cmds.size(); ++i) {
            out.push_back(Reply::error(kErrDisconnected));
            made_up.push_back(1);
        }
        return false;
    }
    batches_.fetch_add(1, std::memory_order_relaxed);
    commands_.fetch_add(cmds.size() + (wait ? 1 : 0), std::memory_order_relaxed);
    alive = read_replies(first + cmds.size(), out, made_up);
    // The round trip as the commands see it; WAIT's own wait is in its histogram.
    if (alive) round_trips_.record(std::chrono::steady_clock::now() - sent_at);
    if (!wait) return alive;
    // The replicated commands' verdict: WAIT's answer, or the broken connection's.
    std::string refusal;
    if (alive) {
        const auto t0 = std::chrono::steady_clock::now();
        std::vector<Reply> w;
        std::vector<char> w_made_up;
        alive = read_replies(1, w, w_made_up);
        record_wait(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
        if (!alive) {
            refusal = std::string(kErrWaitPrefix) + ": no answer (" + w[0].str + ")";
        } else if (w[0].type != Reply::Type::Integer ||
                   w[0].integer < static_cast<long long>(opt_.wait_replicas)) {
            refusal = std::string(kErrWaitPrefix) + ": " +
                      (w[0].type == Reply::Type::Integer ? std::to_string(w[0].integer)
                                                         : "error " + w[0].str) +
                      " of " + std::to_string(opt_.wait_replicas) +
                      " replica(s) acknowledged within " +
                      std::to_string(opt_.wait_timeout.count()) + " ms";
        }
    }
    if (!refusal.empty()) {
        for (std::size_t i = 0; i < cmds.size(); ++i) {
            Reply& r = out[first + i];
            if (!cmds[i]->replicated || r.is_error()) continue;
            r = Reply::error(refusal);
            made_up[first + i] = 1;
            wait_failures_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    return alive;
}

void Client::record_wait(double seconds) {
    std::size_t b = 0;
    while (b < std::size(kWaitBuckets) && seconds > kWaitBuckets[b]) ++b;
    std::lock_guard lk(wait_mu_);
    ++wait_buckets_[b];
    wait_sum_ += seconds;
    ++waits_;
}

// EVALSHA answered NOSCRIPT (the script cache was flushed under us): send those commands again
// as EVAL, in one more round trip, and put their replies in place of the NOSCRIPT errors.
bool Client::reload_scripts(const std::vector<Pending>& batch) {
    std::vector<std::size_t> again;
    for (std::size_t i = 0; i < batch.size(); ++i) {
        if (batch[i].script && replies_[i].is_error() && replies_[i].str.starts_with("NOSCRIPT")) {
            again.push_back(i);
        }
    }
    if (again.empty()) return true;
    for (std::size_t i : again) loaded_scripts_.erase(batch[i].args[1]);
    std::vector<const Pending*> cmds;
    for (std::size_t i : again) cmds.push_back(&batch[i]);
    std::vector<Reply> retried;
    std::vector<char> retried_made_up;
    script_reloads_.fetch_add(again.size(), std::memory_order_relaxed);
    const bool alive = round_trip(cmds, retried, retried_made_up);
    for (std::size_t k = 0; k < again.size(); ++k) {
        replies_[again[k]] = std::move(retried[k]);
        made_up_[again[k]] = retried_made_up[k];
    }
    return alive;
}

// Disconnected: until `until`, fail every command as it arrives (callers must not wait for a
// Redis that may be gone for minutes), then let run() try to connect again.
void Client::wait_backoff(std::chrono::steady_clock::time_point until) {
    std::unique_lock lk(mu_);
    while (true) {
        if (!queue_.empty()) {
            std::deque<Pending> doomed;
            doomed.swap(queue_);
            queue_depth_.store(0, std::memory_order_relaxed);
            queue_bytes_ = 0;
            queue_bytes_seen_.store(0, std::memory_order_relaxed);
            lk.unlock();
            for (auto& p : doomed) deliver(p.cb, Reply::error(kErrDisconnected), true);
            lk.lock();
            continue;
        }
        if (stopping_ || std::chrono::steady_clock::now() >= until) return;
        waiting_ = true;
        cv_.wait_until(lk, until);
        waiting_ = false;
    }
}

void Client::fail_queued(std::string_view why) {
    std::deque<Pending> doomed;
    {
        std::lock_guard lk(mu_);
        doomed.swap(queue_);
        queue_depth_.store(0, std::memory_order_relaxed);
        queue_bytes_ = 0;
        queue_bytes_seen_.store(0, std::memory_order_relaxed);
    }
    for (auto& p : doomed) deliver(p.cb, Reply::error(why), true);
}

void Client::deliver(const Callback& cb, const Reply& reply, bool made_up) {
    if (reply.is_error()) errors_.fetch_add(1, std::memory_order_relaxed);
    if (made_up) failed_.fetch_add(1, std::memory_order_relaxed);
    if (!cb) return;
    try {
        cb(reply);
    } catch (...) {
        // A caller's bug must not take the connection (and every other caller) down with it.
        callback_exceptions_.fetch_add(1, std::memory_order_relaxed);
    }
}

void Client::notify_state(bool up) {
    std::function<void(bool)> hook;
    {
        std::lock_guard lk(mu_);
        hook = on_state_;
    }
    if (!hook) return;
    try {
        hook(up);
    } catch (...) {
        callback_exceptions_.fetch_add(1, std::memory_order_relaxed);
    }
}

}  // namespace lp::redis
