// ack/redis_inbox: see redis_inbox.hpp for the layout and the failure behaviour.
#include "ack/redis_inbox.hpp"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string_view>

#include "codec/wall_clock.hpp"
#include "internal.pb.h"
#include "redis/client.hpp"

namespace lp::ack {

using redis::Client;
using redis::Reply;
using redis::Script;

namespace {

// A user's keys: `prefix{user}` (the LIST) and these appended to it (the HASH, the ZSET).
constexpr char kMessagesSuffix[] = ":m";
constexpr char kExpirySuffix[] = ":exp";
constexpr char kSendersSuffix[] = ":s";

// ------------------------------------------------------------------------------- Lua scripts
// Every script takes KEYS = {ids LIST, messages HASH, expiry ZSET, senders HASH} of one user.
// Invariants the scripts keep: an id is in the LIST iff it is a field of the HASH; it is in the
// ZSET iff it is in both and its message expires (expires_at_ms > 0); `m<id>` is in the senders
// HASH iff the message is held and has a sender, and `c<sender>` counts those `m<id>` fields
// naming that sender (absent at 0). Numbers cross as decimal strings; real
// ms timestamps are far below 2^53, so Lua's doubles hold them exactly.

// A helper prepended to the scripts that prune: drops every message with expires_at_ms <= now
// from the three keys and returns how many it dropped. One range query on the ZSET finds them.
// forget_sender: a held message `id` leaves; its sender's count goes down with it.
constexpr std::string_view kForgetSenderLua = R"lua(
local function forget_sender(senders, id)
  local s = redis.call('HGET', senders, 'm' .. id)
  if not s then return end
  redis.call('HDEL', senders, 'm' .. id)
  if redis.call('HINCRBY', senders, 'c' .. s, -1) <= 0 then redis.call('HDEL', senders, 'c' .. s) end
end
)lua";

constexpr std::string_view kPruneExpiredLua = R"lua(
local function prune_expired(ids, messages, expiry, senders, now)
  local gone = redis.call('ZRANGEBYSCORE', expiry, '-inf', now)
  if #gone == 0 then return 0 end
  if #gone >= redis.call('LLEN', ids) then
    redis.call('DEL', ids, messages, expiry, senders)
    return #gone
  end
  for i = 1, #gone do
    redis.call('LREM', ids, 1, gone[i])
    redis.call('HDEL', messages, gone[i])
    forget_sender(senders, gone[i])
  end
  redis.call('ZREMRANGEBYSCORE', expiry, '-inf', now)
  return #gone
end
)lua";

// append. ARGV = {msg_id, stored value, expires_at_ms (0: never), now_ms, max_per_user, sender
// (0: none), max_per_sender (0: no check)}. Returns {0, 0} if msg_id is already in the inbox
// (nothing changes), {2, 0} if the sender already holds max_per_sender messages here (nothing
// changes), else {1, dropped}: stored at the end, and `dropped` oldest messages removed to bring
// the inbox back to its cap. Then
// sets the key TTL of all three keys to the latest expiry held (relative to now_ms, at least
// 1 ms, at most 1e15 ms so PEXPIRE gets an integer it accepts), or removes it while a
// never-expiring message is held.
constexpr std::string_view kAppendLua = R"lua(
local ids, messages, expiry, senders = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id = ARGV[1]
local expires_at, now, cap = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local sender, share = ARGV[6], tonumber(ARGV[7])
if redis.call('HEXISTS', messages, id) == 1 then return {0, 0} end
if sender ~= '0' and share > 0 and tonumber(redis.call('HGET', senders, 'c' .. sender) or '0') >= share then
  return {2, 0}
end
redis.call('HSET', messages, id, ARGV[2])
if sender ~= '0' then
  redis.call('HSET', senders, 'm' .. id, sender)
  redis.call('HINCRBY', senders, 'c' .. sender, 1)
end
redis.call('RPUSH', ids, id)
if expires_at > 0 then redis.call('ZADD', expiry, expires_at, id) end
local held = redis.call('LLEN', ids)
local dropped = 0
while held > cap do
  local oldest = redis.call('LPOP', ids)
  redis.call('HDEL', messages, oldest)
  redis.call('ZREM', expiry, oldest)
  forget_sender(senders, oldest)
  dropped = dropped + 1
  held = held - 1
end
if held == 0 then return {1, dropped} end
if redis.call('ZCARD', expiry) < held then
  redis.call('PERSIST', ids)
  redis.call('PERSIST', messages)
  redis.call('PERSIST', expiry)
  redis.call('PERSIST', senders)
else
  local latest = tonumber(redis.call('ZRANGE', expiry, -1, -1, 'WITHSCORES')[2])
  local ttl = math.min(math.max(latest - now, 1), 1e15)
  redis.call('PEXPIRE', ids, ttl)
  redis.call('PEXPIRE', messages, ttl)
  redis.call('PEXPIRE', expiry, ttl)
  redis.call('PEXPIRE', senders, ttl)
end
return {1, dropped}
)lua";

// load. ARGV = {now_ms, max (>= 0)}. Prunes the expired messages, then returns {expired,
// value, value, ...}: the stored values of the oldest `max` messages, oldest first (none when
// max is 0). The messages stay. HMGET goes in chunks: Lua's unpack has a stack limit.
constexpr std::string_view kLoadLua = R"lua(
local ids, messages, expiry, senders = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local out = {prune_expired(ids, messages, expiry, senders, ARGV[1])}
local max = tonumber(ARGV[2])
if max <= 0 then return out end
local first = redis.call('LRANGE', ids, 0, max - 1)
for i = 1, #first, 512 do
  local values = redis.call('HMGET', messages, unpack(first, i, math.min(i + 511, #first)))
  for j = 1, #values do
    if values[j] then out[#out + 1] = values[j] end
  end
end
return out
)lua";

// remove. ARGV = the msg_ids to remove. Returns how many of them were in the inbox (each counted
// once, however often it is listed).
constexpr std::string_view kRemoveLua = R"lua(
local ids, messages, expiry, senders = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local removed = 0
for i = 1, #ARGV do
  if redis.call('HDEL', messages, ARGV[i]) == 1 then
    redis.call('LREM', ids, 1, ARGV[i])
    redis.call('ZREM', expiry, ARGV[i])
    forget_sender(senders, ARGV[i])
    removed = removed + 1
  end
end
return removed
)lua";

// size. ARGV = {now_ms}. Prunes the expired messages, returns {expired, messages left}.
constexpr std::string_view kSizeLua = R"lua(
local ids, messages, expiry, senders = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local expired = prune_expired(ids, messages, expiry, senders, ARGV[1])
return {expired, redis.call('LLEN', ids)}
)lua";

std::string with_prune(std::string_view body) {
    std::string source(kForgetSenderLua);
    source += kPruneExpiredLua;
    source += body;
    return source;
}

std::string with_forget(std::string_view body) {
    std::string source(kForgetSenderLua);
    source += body;
    return source;
}

std::uint64_t non_negative(const redis::Reply& r) {
    return r.type == redis::Reply::Type::Integer && r.integer > 0
               ? static_cast<std::uint64_t>(r.integer)
               : 0;
}

// An Array reply of at least `n` elements whose first `n` are integers.
bool integers_first(const redis::Reply& r, std::size_t n) {
    if (r.type != redis::Reply::Type::Array || r.elements.size() < n) return false;
    return std::all_of(r.elements.begin(), r.elements.begin() + static_cast<std::ptrdiff_t>(n),
                       [](const redis::Reply& e) { return e.type == redis::Reply::Type::Integer; });
}

void inc(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) {
    c.fetch_add(n, std::memory_order_relaxed);
}

// One flag per pipelined command, set by its callback, waited for together. Shared with the
// callbacks (make_shared): after a timed-out wait they still run, into this object.
class FlagBatch {
public:
    explicit FlagBatch(std::size_t n) : flags_(n, 0) {}
    void set(std::size_t i, bool v) {
        std::lock_guard lock(mu_);
        flags_[i] = v ? 1 : 0;
        ++answered_;
        done_.notify_one();
    }
    // Waits until every command answered or `timeout`; returns the flags as they are then.
    std::vector<char> wait(std::chrono::milliseconds timeout) {
        std::unique_lock lock(mu_);
        done_.wait_for(lock, timeout, [&] { return answered_ == flags_.size(); });
        return flags_;
    }

private:
    std::mutex mu_;
    std::condition_variable done_;
    std::size_t answered_ = 0;
    std::vector<char> flags_;
};

}  // namespace

// ------------------------------------------------------------------------------- shared state

struct RedisInbox::Shared : std::enable_shared_from_this<Shared> {
    explicit Shared(redis::Client& r) : redis(r) {}

    redis::Client& redis;
    const redis::Script append_script{with_forget(kAppendLua)};
    const redis::Script load_script{with_prune(kLoadLua)};
    const redis::Script remove_script{with_forget(kRemoveLua)};
    const redis::Script size_script{with_prune(kSizeLua)};

    std::atomic<std::uint64_t> stored{0}, duplicates{0}, dropped_cap{0}, expired{0}, removed{0};
    std::atomic<std::uint64_t> append_failures{0}, load_failures{0}, size_failures{0},
        remove_failures{0}, sweep_failures{0}, corrupt{0}, sweep_passes{0}, share_full{0};
    std::atomic<std::uint64_t> size{0}, users{0};  // as of the last full sweep pass

    // The sweep: one SCAN step at a time, and the totals of the pass it belongs to.
    std::mutex sweep_mu;
    bool step_running = false;
    std::string cursor = "0";
    bool step_ends_pass = false;     // the running step's SCAN answered cursor 0
    std::size_t prunes_pending = 0;  // size scripts of the running step not answered yet
    std::uint64_t pass_size = 0, pass_users = 0;

    // I/O thread: a SCAN step answered; prune and count every inbox it found.
    void on_scan_step(const redis::Reply& r, std::uint64_t now);
    // I/O thread: one inbox's size script answered (also on refusal, on the caller's thread).
    void on_inbox_swept(const redis::Reply& r);
    // sweep_mu held: the running step has nothing more to wait for.
    void finish_step_locked();
};

void RedisInbox::Shared::on_scan_step(const redis::Reply& r, std::uint64_t now) {
    const bool well_formed = r.type == redis::Reply::Type::Array && r.elements.size() == 2 &&
                             r.elements[0].type == redis::Reply::Type::String &&
                             r.elements[1].type == redis::Reply::Type::Array;
    if (!well_formed) {
        inc(sweep_failures);
        std::lock_guard lk(sweep_mu);
        step_running = false;  // the cursor stays: the next call resumes there
        return;
    }
    const auto& found = r.elements[1].elements;
    {
        std::lock_guard lk(sweep_mu);
        cursor = r.elements[0].str;
        step_ends_pass = cursor == "0";
        prunes_pending = found.size();
        if (found.empty()) {
            finish_step_locked();
            return;
        }
    }
    // Not under sweep_mu: a refused eval calls back at once, on this thread.
    const std::string now_arg = std::to_string(now);
    for (const auto& key : found) {
        redis.eval(
            size_script,
            {key.str, key.str + kMessagesSuffix, key.str + kExpirySuffix, key.str + kSendersSuffix},
            {now_arg}, [self = shared_from_this()](const redis::Reply& reply) {
                self->on_inbox_swept(reply);
            });
    }
}

void RedisInbox::Shared::on_inbox_swept(const redis::Reply& r) {
    std::uint64_t left = 0;
    if (integers_first(r, 2)) {
        inc(expired, non_negative(r.elements[0]));
        left = non_negative(r.elements[1]);
    } else {
        inc(sweep_failures);
    }
    std::lock_guard lk(sweep_mu);
    pass_size += left;
    if (left > 0) ++pass_users;
    if (--prunes_pending == 0) finish_step_locked();
}

void RedisInbox::Shared::finish_step_locked() {
    if (step_ends_pass) {
        size.store(pass_size, std::memory_order_relaxed);
        users.store(pass_users, std::memory_order_relaxed);
        inc(sweep_passes);
        pass_size = pass_users = 0;
    }
    step_running = false;
}

// ------------------------------------------------------------------------------- RedisInbox

RedisInbox::RedisInbox(redis::Client& redis, std::size_t max_per_user, Options opts,
                       std::size_t max_per_sender)
    : redis_(redis),
      max_per_user_(max_per_user),
      max_per_sender_(max_per_sender),
      opts_(std::move(opts)),
      shared_(std::make_shared<Shared>(redis)) {
    if (opts_.timeout.count() <= 0) throw std::invalid_argument("RedisInbox: timeout must be > 0");
    if (opts_.key_prefix.find_first_of("{}*?[]\\") != std::string::npos) {
        throw std::invalid_argument("RedisInbox: key_prefix '" + opts_.key_prefix +
                                    "' must not contain { } * ? [ ] or \\");
    }
}

// In-flight callbacks hold `shared_`; nothing here waits for them.
RedisInbox::~RedisInbox() = default;

RedisInbox::Keys RedisInbox::keys_of(std::uint64_t user) const {
    Keys k;
    k.ids = opts_.key_prefix + '{' + std::to_string(user) + '}';
    k.messages = k.ids + kMessagesSuffix;
    k.expiry = k.ids + kExpirySuffix;
    k.senders = k.ids + kSendersSuffix;
    return k;
}

std::string RedisInbox::encode(const StoredMessage& m) {
    livepush::internal::v1::InboxMessage pb;
    pb.set_msg_id(m.msg_id);
    pb.set_type(m.type);
    pb.set_payload(m.payload);
    pb.set_sent_at_ms(m.sent_at_ms);
    pb.set_expires_at_ms(m.expires_at_ms);
    pb.set_sender(m.sender);
    return pb.SerializeAsString();
}

bool RedisInbox::decode(const std::string& bytes, StoredMessage& out) {
    livepush::internal::v1::InboxMessage pb;
    if (!pb.ParseFromString(bytes)) return false;
    out.msg_id = pb.msg_id();
    out.type = std::move(*pb.mutable_type());
    out.payload = std::move(*pb.mutable_payload());
    out.sent_at_ms = pb.sent_at_ms();
    out.expires_at_ms = pb.expires_at_ms();
    out.sender = pb.sender();
    return true;
}

bool RedisInbox::append(std::uint64_t user, const StoredMessage& m) {
    return append_script_call(user, m, 0) != AppendResult::Unavailable;
}

AppendResult RedisInbox::append_checked(std::uint64_t user, const StoredMessage& m) {
    return append_script_call(user, m, m.sender != 0 ? max_per_sender_ : 0);
}

AppendResult RedisInbox::append_script_call(std::uint64_t user, const StoredMessage& m,
                                            std::size_t share) {
    Keys k = keys_of(user);
    // Replicated: with WAIT on (the client's wait_replicas), a write too few replicas
    // acknowledged comes back as an error, so the caller answers 503, never "stored".
    redis::Reply r = redis_.eval_replicated_sync(
        shared_->append_script,
        {std::move(k.ids), std::move(k.messages), std::move(k.expiry), std::move(k.senders)},
        {std::to_string(m.msg_id), encode(m), std::to_string(m.expires_at_ms),
         std::to_string(codec::wall_ms()), std::to_string(max_per_user_), std::to_string(m.sender),
         std::to_string(share)},
        opts_.timeout);
    if (!integers_first(r, 2)) {
        inc(shared_->append_failures);
        return AppendResult::Unavailable;
    }
    if (r.elements[0].integer == 2) {
        inc(shared_->share_full);
        return AppendResult::ShareFull;
    }
    inc(r.elements[0].integer == 1 ? shared_->stored : shared_->duplicates);
    inc(shared_->dropped_cap, non_negative(r.elements[1]));
    return AppendResult::Stored;
}

std::vector<std::uint64_t> RedisInbox::append_many(const std::vector<std::uint64_t>& users,
                                                   const StoredMessage& m) {
    if (users.size() == 1) return append(users[0], m) ? std::vector<std::uint64_t>{} : users;
    auto batch = std::make_shared<FlagBatch>(users.size());
    const std::string encoded = encode(m), id = std::to_string(m.msg_id),
                      expires = std::to_string(m.expires_at_ms),
                      now = std::to_string(codec::wall_ms()), cap = std::to_string(max_per_user_),
                      sender = std::to_string(m.sender);
    auto shared = shared_;
    for (std::size_t i = 0; i < users.size(); ++i) {
        Keys k = keys_of(users[i]);
        redis_.eval_replicated(
            shared_->append_script,
            {std::move(k.ids), std::move(k.messages), std::move(k.expiry), std::move(k.senders)},
            {id, encoded, expires, now, cap, sender, "0"},
            [batch, shared, i](const redis::Reply& r) {
                const bool stored = integers_first(r, 2);
                if (stored) {
                    inc(r.elements[0].integer == 1 ? shared->stored : shared->duplicates);
                    inc(shared->dropped_cap, non_negative(r.elements[1]));
                }
                batch->set(i, stored);
            });
    }
    std::vector<std::uint64_t> failed;
    const auto ok = batch->wait(opts_.timeout);
    for (std::size_t i = 0; i < users.size(); ++i) {
        if (!ok[i]) failed.push_back(users[i]);
    }
    inc(shared_->append_failures, failed.size());
    return failed;
}

std::vector<std::uint64_t> RedisInbox::nonempty(const std::vector<std::uint64_t>& users) {
    auto batch = std::make_shared<FlagBatch>(users.size());
    for (std::size_t i = 0; i < users.size(); ++i) {
        redis_.command({"LLEN", keys_of(users[i]).ids}, [batch, i](const redis::Reply& r) {
            batch->set(i, r.type == redis::Reply::Type::Integer && r.integer > 0);
        });
    }
    std::vector<std::uint64_t> out;
    const auto has = batch->wait(opts_.timeout);
    for (std::size_t i = 0; i < users.size(); ++i) {
        if (has[i]) out.push_back(users[i]);
    }
    return out;
}

std::vector<StoredMessage> RedisInbox::load(std::uint64_t user, std::size_t max) {
    std::vector<StoredMessage> out;
    // Bounded so it prints as a plain integer for LRANGE; no inbox is anywhere near this long.
    const std::size_t bounded_max = std::min<std::size_t>(max, std::size_t{1} << 30);
    Keys k = keys_of(user);
    redis::Reply r = redis_.eval_sync(
        shared_->load_script,
        {std::move(k.ids), std::move(k.messages), std::move(k.expiry), std::move(k.senders)},
        {std::to_string(codec::wall_ms()), std::to_string(bounded_max)}, opts_.timeout);
    if (!integers_first(r, 1)) {
        inc(shared_->load_failures);
        return out;
    }
    inc(shared_->expired, non_negative(r.elements[0]));
    out.reserve(r.elements.size() - 1);
    for (std::size_t i = 1; i < r.elements.size(); ++i) {
        StoredMessage m;
        if (r.elements[i].type == redis::Reply::Type::String && decode(r.elements[i].str, m)) {
            out.push_back(std::move(m));
        } else {
            inc(shared_->corrupt);
        }
    }
    return out;
}

void RedisInbox::remove(std::uint64_t user, const std::vector<std::uint64_t>& msg_ids) {
    if (msg_ids.empty()) return;
    std::vector<std::string> ids;
    ids.reserve(msg_ids.size());
    for (std::uint64_t id : msg_ids) ids.push_back(std::to_string(id));
    Keys k = keys_of(user);
    redis_.eval(
        shared_->remove_script,
        {std::move(k.ids), std::move(k.messages), std::move(k.expiry), std::move(k.senders)},
        std::move(ids), [shared = shared_](const redis::Reply& r) {
            if (r.type == redis::Reply::Type::Integer) {
                inc(shared->removed, non_negative(r));
            } else {
                inc(shared->remove_failures);
            }
        });
}

std::size_t RedisInbox::size(std::uint64_t user) {
    Keys k = keys_of(user);
    redis::Reply r = redis_.eval_sync(
        shared_->size_script,
        {std::move(k.ids), std::move(k.messages), std::move(k.expiry), std::move(k.senders)},
        {std::to_string(codec::wall_ms())}, opts_.timeout);
    if (!integers_first(r, 2)) {
        inc(shared_->size_failures);
        return 0;
    }
    inc(shared_->expired, non_negative(r.elements[0]));
    return static_cast<std::size_t>(non_negative(r.elements[1]));
}

void RedisInbox::sweep(std::uint64_t now) {
    if (opts_.sweep_keys_per_call == 0) return;
    std::string cursor;
    {
        std::lock_guard lk(shared_->sweep_mu);
        if (shared_->step_running) return;
        shared_->step_running = true;
        cursor = shared_->cursor;
    }
    // The LIST keys only: `prefix{*}` cannot match the `:m` / `:exp` keys, which go on past `}`.
    redis_.command(
        {"SCAN", std::move(cursor), "MATCH", opts_.key_prefix + "{*}", "COUNT",
         std::to_string(opts_.sweep_keys_per_call)},
        [shared = shared_, now](const redis::Reply& r) { shared->on_scan_step(r, now); });
}

InboxCounters RedisInbox::counters() const {
    const Shared& s = *shared_;
    InboxCounters c;
    c.stored = s.stored.load(std::memory_order_relaxed);
    c.duplicates = s.duplicates.load(std::memory_order_relaxed);
    c.dropped_cap = s.dropped_cap.load(std::memory_order_relaxed);
    c.expired = s.expired.load(std::memory_order_relaxed);
    c.removed = s.removed.load(std::memory_order_relaxed);
    c.size = s.size.load(std::memory_order_relaxed);
    c.users = s.users.load(std::memory_order_relaxed);
    c.share_full = s.share_full.load(std::memory_order_relaxed);
    return c;
}

RedisInbox::Stats RedisInbox::stats() const {
    const Shared& s = *shared_;
    Stats st;
    st.append_failures = s.append_failures.load(std::memory_order_relaxed);
    st.load_failures = s.load_failures.load(std::memory_order_relaxed);
    st.size_failures = s.size_failures.load(std::memory_order_relaxed);
    st.remove_failures = s.remove_failures.load(std::memory_order_relaxed);
    st.sweep_failures = s.sweep_failures.load(std::memory_order_relaxed);
    st.corrupt = s.corrupt.load(std::memory_order_relaxed);
    st.sweep_passes = s.sweep_passes.load(std::memory_order_relaxed);
    return st;
}

}  // namespace lp::ack
