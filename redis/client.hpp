// redis/client: the node's one connection to Redis, shared by every thread.
//
// What it is for: the cluster layer (routes, node liveness, kicks across nodes) talks to Redis
// through this client. Callers on any thread queue commands; one I/O thread owned by the client
// sends them and hands back the replies.
//
// Why a dedicated thread with blocking hiredis: the I/O thread takes everything queued (up to
// `batch_limit`), appends it all to one hiredis buffer, writes it in one go and then reads the
// replies in order: one round trip per batch, however many commands it holds. Under load a
// batch fills while the previous one is on the wire, so pipelining comes for free. An async
// adapter on an event loop would do the same round trips with more code (hiredis callbacks,
// a reactor to drive, reconnects from inside callbacks); with a blocking connection the
// reconnect, the timeouts and the EVALSHA→EVAL fallback are plain sequential code.
//
// What it owns: the hiredis context (only the I/O thread touches it), the command queue
// (bounded by `max_queue` commands and `max_queue_bytes` bytes), the reconnect backoff and its
// counters.
//
// What it must never do: run a caller's callback while holding its lock, block a caller for
// longer than the caller asked (command_sync has its own deadline), or crash because Redis went
// away, answered something hiredis cannot parse, or a callback threw.
//
// Sentinel (high availability): with Options::sentinels set, host/port are not used. Each
// connect asks the sentinels in turn (SENTINEL get-master-addr-by-name, plus SENTINEL replicas
// to count the healthy replicas) on this same I/O thread, with the connect and command
// timeouts, then connects to the address named and checks with ROLE that it is a master. A
// failover is followed by re-asking: a connection error, a READONLY answer, or an idle health
// check whose ROLE is no longer "master" drops the connection, and the reconnect asks again
// (callers see on_state(false) then on_state(true), exactly as after a Redis restart, so they
// re-register what they keep in Redis). No +switch-master subscription: the old master is either
// gone (connection error) or demoted (READONLY / ROLE), and both are caught within one health
// check interval.
//
// WAIT (Options::wait_replicas = N > 0): commands queued with the `replicated` forms
// (eval_replicated, eval_replicated_sync) are confirmed by `WAIT N wait_timeout`, appended after
// them in the same pipelined round trip (one WAIT per round trip, whatever the number of such
// commands in it). If fewer than N replicas acknowledged in time, each of them gets an Error
// reply starting "WAIT" (kErrWaitPrefix) instead of its own: the write did happen on the master
// but is not known to survive a failover, so the caller must report it as not stored. WAIT
// blocks the connection for up to wait_timeout while replicas lag or are gone: give such writes
// a client of their own.
//
// Connection-state commands (SUBSCRIBE, MULTI, SELECT, AUTH, ...) are refused: the connection is
// shared and pipelined, so they would leak into other callers' commands. Blocking commands
// (BLPOP, ...) work but hold up every command queued behind them; keep them off this client.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <iterator>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "redis/round_trips.hpp"

struct redisContext;
struct redisReply;

namespace lp::redis {

// The messages of the errors the client makes up itself (Error replies that never came from
// Redis). Compare `reply.str` against these; Redis's own errors start with a code such as "ERR".
inline constexpr std::string_view kErrDisconnected = "disconnected";  // no connection, or it broke
inline constexpr std::string_view kErrTimeout = "timeout";            // no answer in time
inline constexpr std::string_view kErrQueueFull = "queue full";       // over Options::max_queue
inline constexpr std::string_view kErrQueueBytes = "queue full (bytes)";  // over max_queue_bytes
inline constexpr std::string_view kErrStopped = "stopped";                // the client was stopped
// Start of the Error a replicated command gets when WAIT confirmed it on too few replicas.
inline constexpr std::string_view kErrWaitPrefix = "WAIT";

// An owning copy of a hiredis reply.
struct Reply {
    enum class Type : std::uint8_t { Nil, Integer, String, Status, Error, Array };

    Type type = Type::Nil;
    long long integer = 0;        // Integer
    std::string str;              // String, Status, Error
    std::vector<Reply> elements;  // Array (elements may be Nil or arrays themselves)

    // True for every reply but an Error (a Nil GET is ok). For "+OK" test is_status("OK").
    bool ok() const noexcept { return type != Type::Error; }
    bool is_error() const noexcept { return type == Type::Error; }
    bool is_nil() const noexcept { return type == Type::Nil; }
    bool is_status(std::string_view s) const noexcept { return type == Type::Status && str == s; }

    static Reply error(std::string_view message);
    static Reply from_hiredis(const redisReply& r);
};

// A Lua script: its source and the SHA1 Redis files it under, computed here (no SCRIPT LOAD).
// Meant to be built once per script and kept (the client remembers every source it is given).
struct Script {
    std::string source;
    std::string sha1;  // 40 lowercase hex digits

    explicit Script(std::string src);
};

class Client {
public:
    using Callback = std::function<void(const Reply&)>;

    struct Options {
        std::string host = "127.0.0.1";
        std::uint16_t port = 6379;
        int db = 0;            // SELECT after each connect when not 0
        std::string username;  // AUTH username password (Redis 6 ACL) when both are set
        std::string password;  // AUTH password when set
        std::chrono::milliseconds connect_timeout{1000};
        // Bound on each socket read or write of a batch (SO_RCVTIMEO/SO_SNDTIMEO): a server that
        // stops answering for this long is taken for hung, the connection is dropped and remade.
        std::chrono::milliseconds command_timeout{1000};
        std::chrono::milliseconds backoff_min{100};  // first reconnect delay, doubled per failure
        std::chrono::milliseconds backoff_max{5000};
        // An idle connection sends PING this often, so a Redis restart is noticed (and
        // on_state fires) without waiting for the next command. 0 disables it.
        std::chrono::milliseconds health_check_interval{1000};
        std::size_t batch_limit = 512;   // commands per round trip at most
        std::size_t max_queue = 100000;  // commands waiting (not yet sent) at most
        // Bytes of arguments waiting (not yet sent) at most: a command that would go over is
        // refused at once with kErrQueueBytes (counted in rejected_bytes). 0 = no byte bound.
        std::size_t max_queue_bytes = std::size_t{64} << 20;

        // Sentinel mode when not empty: the master of `master_name` is found through these
        // (host, port) pairs, asked in turn; host/port above are then unused.
        std::vector<std::pair<std::string, std::uint16_t>> sentinels;
        std::string master_name = "mymaster";
        std::string sentinel_password;  // AUTH to the sentinels when set
        // Replicas that must acknowledge a replicated command (WAIT); 0 = no WAIT.
        std::size_t wait_replicas = 0;
        // WAIT's own timeout (must be > 0 with wait_replicas); the socket read timeout of a
        // round trip holding a WAIT is command_timeout + this.
        std::chrono::milliseconds wait_timeout{1000};
    };

    // Buckets (upper bounds, seconds) of the WAIT latency histogram.
    static constexpr double kWaitBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                              0.05,   0.1,   0.25,   0.5,   1,    2.5};
    static constexpr std::size_t kWaitBucketCount = std::size(kWaitBuckets) + 1;  // + the +Inf one

    struct Stats {
        std::uint64_t commands = 0;  // sent to Redis (health-check PINGs included)
        std::uint64_t errors = 0;    // Error replies handed to callbacks, of any origin
        std::uint64_t failed = 0;    // made up here for queued or sent commands: disconnected,
                                     // timeout, stopped
        std::uint64_t rejected = 0;  // refused by command() itself: queue full, stopped, refused
        std::uint64_t callback_exceptions = 0;  // callbacks (or on_state) that threw
        std::uint64_t batches = 0;              // round trips
        std::uint64_t reconnects = 0;           // successful connects after the first
        std::uint64_t script_reloads = 0;       // EVALSHA answered NOSCRIPT, sent again as EVAL
        std::uint64_t queue_depth = 0;          // waiting to be sent, now
        std::uint64_t queue_bytes = 0;          // argument bytes waiting to be sent, now
        std::uint64_t rejected_bytes = 0;       // of `rejected`: over max_queue_bytes
        // Connects refused for credentials (WRONGPASS, NOAUTH, ...): a wrong or missing
        // username/password, never fixed by retrying.
        std::uint64_t auth_failures = 0;
        RoundTrips::Snapshot round_trips;  // batch round-trip times (redis/round_trips.hpp)
        bool connected = false;
        // Sentinel mode: the master connected to last ("host:port", "" before the first), how
        // many times it changed after the first (failovers followed), and its replicas: the
        // healthy ones the sentinels reported at connect, then those the master's ROLE lists,
        // once a second (-1: not known, or not sentinel mode).
        std::string master;
        std::uint64_t master_changes = 0;
        std::int64_t replicas = -1;
        std::uint64_t sentinel_failures = 0;   // master look-ups no sentinel answered
        std::uint64_t stale_master_drops = 0;  // connections dropped for READONLY / ROLE
        // WAIT: replicated commands refused for too few acknowledgements, and the WAIT latency
        // (per-bucket counts as kWaitBuckets, the sum in seconds, the number of WAITs).
        std::uint64_t wait_failures = 0;
        std::array<std::uint64_t, kWaitBucketCount> wait_buckets{};
        double wait_seconds_sum = 0;
        std::uint64_t waits = 0;
    };

    // Throws std::invalid_argument on nonsensical options (zero timeouts, batch_limit 0,
    // backoff_min > backoff_max).
    explicit Client(Options options);
    ~Client();  // stop()
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Starts the I/O thread, which connects at once. Commands queued before start() wait for it.
    // Call once; a stopped client stays stopped.
    void start();
    // Lets the batch on the wire finish (bounded by command_timeout), fails every command still
    // queued with "stopped", joins the I/O thread. Idempotent. From a callback it only asks the
    // thread to stop (it cannot join itself). If start() was never called the queued commands'
    // callbacks run here, on the caller's thread. Never destroy the client from its own callback.
    void stop();

    // Queues a command. `cb` runs on the client's I/O thread: callers with an event loop must
    // post back to it, and must not block there (it holds up every other command).
    // Commands are sent, and callbacks run, in the order command() calls were made.
    // While disconnected the command fails promptly with "disconnected" (no waiting for the
    // connection to return). A command refused at once (queue full, stopped, empty or
    // connection-state command) gets its callback before command() returns, on this thread.
    void command(std::vector<std::string> args, Callback cb = {});

    // Blocks until the reply or `timeout`, then returns Error "timeout" (the command may still
    // run later). For start-up, the HTTP API thread and tests; never from a callback (throws
    // std::logic_error there: the I/O thread would wait for itself).
    Reply command_sync(std::vector<std::string> args, std::chrono::milliseconds timeout);

    // EVALSHA `script` with `keys` and `args`. The first use of a script on a connection is sent
    // as EVAL (which loads it); a NOSCRIPT answer (SCRIPT FLUSH) is retried as EVAL before any
    // later callback of the batch runs, so callers see one reply, in order. On that rare retry
    // the script runs after the batch's later commands.
    void eval(const Script& script, std::vector<std::string> keys, std::vector<std::string> args,
              Callback cb = {});
    Reply eval_sync(const Script& script, std::vector<std::string> keys,
                    std::vector<std::string> args, std::chrono::milliseconds timeout);
    // The same, confirmed by WAIT when Options::wait_replicas > 0 (see above); plain eval when 0.
    void eval_replicated(const Script& script, std::vector<std::string> keys,
                         std::vector<std::string> args, Callback cb = {});
    Reply eval_replicated_sync(const Script& script, std::vector<std::string> keys,
                               std::vector<std::string> args, std::chrono::milliseconds timeout);

    // `hook(true)` after every successful connect (the first one too), `hook(false)` when a
    // working connection is lost. Runs on the I/O thread before the next batch is taken;
    // commands it queues (re-registering routes) go out in order behind those already queued.
    void on_state(std::function<void(bool up)> hook);

    bool connected() const noexcept { return connected_.load(std::memory_order_acquire); }
    Stats stats() const;
    // Why the last connection attempt or connection failed ("" if none did), for logs. Never
    // holds the password.
    std::string last_error() const;
    const Options& options() const noexcept { return opt_; }

private:
    struct Pending {
        std::vector<std::string> args;
        Callback cb;
        std::shared_ptr<const std::string> script;  // set for EVALSHA: the source, for EVAL
        std::size_t bytes = 0;    // argument bytes, counted in queue_bytes_ while queued
        bool replicated = false;  // confirmed by WAIT (Options::wait_replicas > 0)
    };
    struct Wire;  // argv scratch for redisAppendCommandArgv

    void enqueue(Pending p, const Script* script);
    Reply wait_sync(Pending p, const Script* script, std::chrono::milliseconds timeout);
    bool on_io_thread() const noexcept;

    // I/O thread.
    void run();
    bool connect(std::string& why);
    void drop_connection();
    bool take_batch(std::vector<Pending>& batch);
    bool append(const Pending& p);
    bool execute(std::vector<Pending>& batch);
    bool round_trip(const std::vector<const Pending*>& cmds, std::vector<Reply>& out,
                    std::vector<char>& made_up);
    bool find_master(std::string& host, std::uint16_t& port, std::string& why);
    bool stale_master(const std::vector<Pending>& batch);
    void note_replicas(std::int64_t n);
    void record_wait(double seconds);
    bool read_replies(std::size_t n, std::vector<Reply>& out, std::vector<char>& made_up);
    bool reload_scripts(const std::vector<Pending>& batch);
    void wait_backoff(std::chrono::steady_clock::time_point until);
    void fail_queued(std::string_view why);
    void deliver(const Callback& cb, const Reply& reply, bool made_up);
    void notify_state(bool up);
    void set_last_error(std::string why);

    const Options opt_;

    mutable std::mutex mu_;  // queue_, stopping_, waiting_, scripts_, on_state_, last_error_
    std::condition_variable cv_;
    std::deque<Pending> queue_;
    bool stopping_ = false;
    bool waiting_ = false;  // the I/O thread is asleep on cv_
    std::unordered_map<std::string, std::shared_ptr<const std::string>> scripts_;  // sha1 → source
    std::function<void(bool)> on_state_;
    std::string last_error_;

    std::mutex lifecycle_mu_;  // start()/stop()
    std::thread thread_;
    std::atomic<std::thread::id> io_thread_id_{};

    // I/O thread only.
    redisContext* ctx_ = nullptr;
    std::unordered_set<std::string> loaded_scripts_;  // sha1s this connection has seen EVAL'd
    std::unique_ptr<Wire> wire_;
    std::vector<Reply> replies_;  // the batch's replies, in order
    std::vector<char> made_up_;   // per reply: made up here, not from Redis

    std::atomic<bool> connected_{false};
    std::atomic<std::uint64_t> commands_{0};
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<std::uint64_t> failed_{0};
    std::atomic<std::uint64_t> rejected_{0};
    std::atomic<std::uint64_t> callback_exceptions_{0};
    std::atomic<std::uint64_t> batches_{0};
    std::atomic<std::uint64_t> reconnects_{0};
    std::atomic<std::uint64_t> script_reloads_{0};
    std::atomic<std::uint64_t> queue_depth_{0};
    std::size_t queue_bytes_ = 0;  // under mu_: Pending::bytes of queue_
    std::atomic<std::uint64_t> queue_bytes_seen_{0}, rejected_bytes_{0};
    std::atomic<std::uint64_t> auth_failures_{0};
    RoundTrips round_trips_;
    // Sentinel mode and WAIT.
    std::string master_;             // under mu_
    std::size_t next_sentinel_ = 0;  // I/O thread: the one to ask first (the last that answered)
    std::atomic<std::uint64_t> master_changes_{0}, sentinel_failures_{0}, stale_drops_{0};
    std::atomic<std::int64_t> replicas_{-1};
    std::atomic<std::uint64_t> wait_failures_{0};
    mutable std::mutex wait_mu_;  // the WAIT histogram
    std::array<std::uint64_t, kWaitBucketCount> wait_buckets_{};
    double wait_sum_ = 0;
    std::uint64_t waits_ = 0;
};

}  // namespace lp::redis
