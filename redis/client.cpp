// redis/client: see client.hpp for what the client is for and why it runs one I/O
// thread over a blocking hiredis connection.
//
// The I/O thread's life is a small state machine:
//   no connection → connect (+ AUTH, SELECT, PING in one round trip) → on_state(true)
//   connected     → take up to batch_limit commands → append all → read all replies
//                   → retry NOSCRIPT answers as EVAL → run the callbacks in order
//   broken        → fail what was on the wire → on_state(false) → reconnect at once, then with
//                   doubling backoff; meanwhile every queued command fails with "disconnected".
// Callbacks always run with no lock held, so they may queue more commands.
//
// Why one file of ~650 lines: it is that one state machine (connect, batch, read, fail, back
// off) and the queue it drains; split, each half would need the other's private state.
#include "redis/client.hpp"

#include <hiredis/hiredis.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <sys/time.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <stdexcept>

namespace lp::redis {

namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

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

std::string sha1_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    if (EVP_Digest(data.data(), data.size(), md, &len, EVP_sha1(), nullptr) != 1) {
        throw std::runtime_error("SHA1 failed (OpenSSL EVP_Digest)");
    }
    static constexpr char kHex[] = "0123456789abcdef";
    std::string out;
    out.reserve(len * 2);
    for (unsigned int i = 0; i < len; ++i) {
        out.push_back(kHex[md[i] >> 4]);
        out.push_back(kHex[md[i] & 0x0f]);
    }
    return out;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Reply, Script

Reply Reply::error(std::string_view message) {
    Reply r;
    r.type = Type::Error;
    r.str.assign(message);
    return r;
}

Reply Reply::from_hiredis(const redisReply& r) {
    Reply out;
    switch (r.type) {
        case REDIS_REPLY_STRING:
            out.type = Type::String;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_STATUS:
            out.type = Type::Status;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_ERROR:
            out.type = Type::Error;
            out.str.assign(r.str, r.len);
            break;
        case REDIS_REPLY_INTEGER:
            out.type = Type::Integer;
            out.integer = r.integer;
            break;
        case REDIS_REPLY_NIL:
            out.type = Type::Nil;
            break;
        case REDIS_REPLY_ARRAY:
            out.type = Type::Array;
            out.elements.reserve(r.elements);
            for (std::size_t i = 0; i < r.elements; ++i) {
                if (r.element[i]) {
                    out.elements.push_back(from_hiredis(*r.element[i]));
                } else {
                    out.elements.emplace_back();
                }
            }
            break;
        default:
            out = error("unsupported reply type " + std::to_string(r.type));
    }
    return out;
}

Script::Script(std::string src) : source(std::move(src)), sha1(sha1_hex(source)) {}

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
        if (batch.empty()) batch.push_back(Pending{{"PING"}, {}, nullptr});  // idle: health check
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
    const std::string where = opt_.host + ":" + std::to_string(opt_.port);
    redisContext* c =
        redisConnectWithTimeout(opt_.host.c_str(), opt_.port, to_timeval(opt_.connect_timeout));
    if (!c) {
        why = "connect " + where + ": out of memory";
        return false;
    }
    if (c->err) {
        why = "connect " + where + ": " + c->errstr;
        redisFree(c);
        return false;
    }
    if (redisSetTimeout(c, to_timeval(opt_.command_timeout)) != REDIS_OK ||
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
    connected_.store(true, std::memory_order_release);
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
    bool alive = true;
    const auto sent_at = std::chrono::steady_clock::now();
    for (const auto& p : batch) {
        if (!append(p)) {  // hiredis only fails here when out of memory: start afresh
            alive = false;
            break;
        }
    }
    if (alive) {
        batches_.fetch_add(1, std::memory_order_relaxed);
        commands_.fetch_add(batch.size(), std::memory_order_relaxed);
        alive = read_replies(batch.size(), replies_, made_up_);
        if (alive) round_trips_.record(std::chrono::steady_clock::now() - sent_at);
        if (alive) alive = reload_scripts(batch);
    } else {
        set_last_error("out of memory while queueing commands");
        replies_.assign(batch.size(), Reply::error(kErrDisconnected));
        made_up_.assign(batch.size(), 1);
    }
    if (!alive) drop_connection();
    for (std::size_t i = 0; i < batch.size(); ++i) {
        deliver(batch[i].cb, replies_[i], made_up_[i] != 0);
    }
    return alive;
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
    bool alive = true;
    for (std::size_t i : again) alive = alive && append(batch[i]);
    std::vector<Reply> retried;
    std::vector<char> retried_made_up;
    if (alive) {
        script_reloads_.fetch_add(again.size(), std::memory_order_relaxed);
        batches_.fetch_add(1, std::memory_order_relaxed);
        commands_.fetch_add(again.size(), std::memory_order_relaxed);
        alive = read_replies(again.size(), retried, retried_made_up);
    } else {
        retried.assign(again.size(), Reply::error(kErrDisconnected));
        retried_made_up.assign(again.size(), 1);
    }
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
