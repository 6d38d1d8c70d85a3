// plugins/host/redis_store: see redis_store.hpp.
#include "plugins/host/redis_store.hpp"

#include <algorithm>
#include <charconv>
#include <condition_variable>
#include <cstdio>
#include <limits>
#include <memory>
#include <mutex>

namespace lp::plugins {

namespace {

using redis::Reply;
using redis::Script;
using Type = redis::Reply::Type;

// Sets KEYS[1] to ARGV[3] if its value is ARGV[2] (ARGV[1] = "1"), or if it is absent
// (ARGV[1] = "0"). ARGV[4]: TTL in ms, "0" for none. 1 if it set, 0 if not. GET on a key of
// another type raises WRONGTYPE: the caller sees an error, as a mismatch.
const redis::Script kCompareAndSet(R"lua(
local current = redis.call('GET', KEYS[1])
if ARGV[1] == '1' then
  if current ~= ARGV[2] then return 0 end
elseif current then
  return 0
end
if ARGV[4] ~= '0' then
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3])
end
return 1
)lua");

// LPUSH ARGV[1] onto KEYS[1], then keeps indexes 0..ARGV[2], or removes the list when ARGV[2]
// is "-" (keep none). The index goes to LTRIM as the string it came as: a Lua number would be
// formatted back as a float for large values.
const redis::Script kLpushTrim(R"lua(
redis.call('LPUSH', KEYS[1], ARGV[1])
if ARGV[2] == '-' then
  redis.call('DEL', KEYS[1])
else
  redis.call('LTRIM', KEYS[1], 0, ARGV[2])
end
return 1
)lua");

// kLpushTrim over every key of KEYS: one script call for a whole batch (a feed batch of 1,000
// followers: one EVALSHA, not 1,000). pcall: a key of another type fails alone, as with one
// call per key. Returns how many keys it was applied to.
const redis::Script kLpushTrimMany(R"lua(
local applied = 0
for i = 1, #KEYS do
  local ok = redis.pcall('LPUSH', KEYS[i], ARGV[1])
  if type(ok) == 'number' then
    if ARGV[2] == '-' then
      redis.call('DEL', KEYS[i])
    else
      redis.call('LTRIM', KEYS[i], 0, ARGV[2])
    end
    applied = applied + 1
  end
end
return applied
)lua");

// Keys per kLpushTrimMany call: bounds how long one call holds Redis (about 1 µs a key).
constexpr std::size_t kLpushTrimChunk = 500;

// "%.17g" round-trips every double; "inf" / "-inf" are what Redis accepts for infinities.
std::string format_score(double score) {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.17g", score);
    return std::string(buf, static_cast<std::size_t>(n));
}

std::optional<double> parse_score(const redis::Reply& r) {
    if (r.type != Type::String) return std::nullopt;
    double v = 0;
    const char* end = r.str.data() + r.str.size();
    auto [p, ec] = std::from_chars(r.str.data(), end, v);
    if (ec != std::errc() || p != end) return std::nullopt;
    return v;
}

// LTRIM's last index for `keep` items, or "-" for none (kLpushTrim).
std::string last_kept_index(std::size_t keep) {
    constexpr auto kMaxIndex = static_cast<std::size_t>(std::numeric_limits<std::int64_t>::max());
    return keep == 0 ? "-" : std::to_string(std::min(keep, kMaxIndex) - 1);
}

std::string ttl_ms(std::chrono::milliseconds ttl) {
    return std::to_string(std::max<std::int64_t>(ttl.count(), 0));
}

std::optional<std::int64_t> integer_of(const redis::Reply& r) {
    if (r.type != Type::Integer) return std::nullopt;
    return static_cast<std::int64_t>(r.integer);
}

bool positive(const redis::Reply& r) {
    return r.type == Type::Integer && r.integer > 0;
}

std::optional<std::string> string_of(const redis::Reply& r) {
    if (r.type != Type::String) return std::nullopt;
    return r.str;
}

std::optional<std::vector<std::string>> strings_of(const redis::Reply& r) {
    if (r.type != Type::Array) return std::nullopt;
    std::vector<std::string> out;
    out.reserve(r.elements.size());
    for (const auto& e : r.elements) out.push_back(e.str);
    return out;
}

}  // namespace

RedisStore::RedisStore(redis::Client& redis, std::string prefix, std::chrono::milliseconds timeout)
    : redis_(redis), prefix_(std::move(prefix)), timeout_(timeout) {}

redis::Reply RedisStore::call(std::vector<std::string> args) {
    return redis_.command_sync(std::move(args), timeout_);
}

redis::Reply RedisStore::eval(const Script& script, const std::string& key,
                              std::vector<std::string> args) {
    return redis_.eval_sync(script, {full_key(key)}, std::move(args), timeout_);
}

// ---- strings

std::optional<std::string> RedisStore::get(const std::string& key) {
    return string_of(call({"GET", full_key(key)}));
}

bool RedisStore::set(const std::string& key, const std::string& value,
                     std::chrono::milliseconds ttl) {
    if (ttl.count() > 0)
        return call({"SET", full_key(key), value, "PX", ttl_ms(ttl)}).is_status("OK");
    return call({"SET", full_key(key), value}).is_status("OK");
}

bool RedisStore::set_if_absent(const std::string& key, const std::string& value,
                               std::chrono::milliseconds ttl) {
    if (ttl.count() > 0) {
        return call({"SET", full_key(key), value, "NX", "PX", ttl_ms(ttl)}).is_status("OK");
    }
    return call({"SET", full_key(key), value, "NX"}).is_status("OK");
}

bool RedisStore::compare_and_set(const std::string& key, const std::optional<std::string>& expected,
                                 const std::string& desired, std::chrono::milliseconds ttl) {
    auto r = eval(kCompareAndSet, key,
                  {expected ? "1" : "0", expected.value_or(""), desired, ttl_ms(ttl)});
    return positive(r);
}

bool RedisStore::del(const std::string& key) {
    return positive(call({"DEL", full_key(key)}));
}

std::optional<std::int64_t> RedisStore::incr_by(const std::string& key, std::int64_t delta) {
    return integer_of(call({"INCRBY", full_key(key), std::to_string(delta)}));
}

bool RedisStore::expire(const std::string& key, std::chrono::milliseconds ttl) {
    // PEXPIRE with 0 or less deletes the key (and answers 1 if it existed), as MemoryStore.
    return positive(
        call({"PEXPIRE", full_key(key), std::to_string(std::max<std::int64_t>(ttl.count(), 0))}));
}

// ---- hashes

bool RedisStore::hset(const std::string& key, const std::string& field, const std::string& value) {
    return call({"HSET", full_key(key), field, value}).type == Type::Integer;
}

std::optional<std::string> RedisStore::hget(const std::string& key, const std::string& field) {
    return string_of(call({"HGET", full_key(key), field}));
}

std::optional<std::map<std::string, std::string>> RedisStore::hgetall(const std::string& key) {
    auto r = call({"HGETALL", full_key(key)});
    if (r.type != Type::Array) return std::nullopt;
    std::map<std::string, std::string> out;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        out.emplace(std::move(r.elements[i].str), std::move(r.elements[i + 1].str));
    }
    return out;
}

std::optional<std::int64_t> RedisStore::hincr_by(const std::string& key, const std::string& field,
                                                 std::int64_t delta) {
    return integer_of(call({"HINCRBY", full_key(key), field, std::to_string(delta)}));
}

bool RedisStore::hdel(const std::string& key, const std::string& field) {
    return positive(call({"HDEL", full_key(key), field}));
}

// ---- sorted sets

bool RedisStore::zadd(const std::string& key, const std::string& member, double score) {
    return call({"ZADD", full_key(key), format_score(score), member}).type == Type::Integer;
}

std::optional<double> RedisStore::zincr_by(const std::string& key, const std::string& member,
                                           double delta) {
    return parse_score(call({"ZINCRBY", full_key(key), format_score(delta), member}));
}

std::optional<double> RedisStore::zscore(const std::string& key, const std::string& member) {
    return parse_score(call({"ZSCORE", full_key(key), member}));
}

std::optional<std::vector<std::pair<std::string, double>>> RedisStore::zrevrange(
    const std::string& key, std::int64_t start, std::int64_t stop) {
    auto r = call(
        {"ZREVRANGE", full_key(key), std::to_string(start), std::to_string(stop), "WITHSCORES"});
    if (r.type != Type::Array) return std::nullopt;
    std::vector<std::pair<std::string, double>> out;
    out.reserve(r.elements.size() / 2);
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
        auto score = parse_score(r.elements[i + 1]);
        if (!score) return std::nullopt;
        out.emplace_back(std::move(r.elements[i].str), *score);
    }
    return out;
}

std::optional<std::int64_t> RedisStore::zrevrank(const std::string& key,
                                                 const std::string& member) {
    return integer_of(call({"ZREVRANK", full_key(key), member}));
}

bool RedisStore::zrem(const std::string& key, const std::string& member) {
    return positive(call({"ZREM", full_key(key), member}));
}

// ---- sets

bool RedisStore::sadd(const std::string& key, const std::vector<std::string>& members) {
    if (members.empty()) return true;  // SADD needs a member; nothing to apply
    std::vector<std::string> args{"SADD", full_key(key)};
    args.insert(args.end(), members.begin(), members.end());
    return call(std::move(args)).type == Type::Integer;
}

bool RedisStore::srem(const std::string& key, const std::vector<std::string>& members) {
    if (members.empty()) return false;
    std::vector<std::string> args{"SREM", full_key(key)};
    args.insert(args.end(), members.begin(), members.end());
    return positive(call(std::move(args)));
}

std::optional<std::int64_t> RedisStore::scard(const std::string& key) {
    return integer_of(call({"SCARD", full_key(key)}));
}

std::optional<std::pair<std::string, std::vector<std::string>>> RedisStore::sscan(
    const std::string& key, const std::string& cursor, std::size_t count) {
    auto r = call(
        {"SSCAN", full_key(key), cursor, "COUNT", std::to_string(std::max<std::size_t>(count, 1))});
    if (r.type != Type::Array || r.elements.size() != 2 || r.elements[0].type != Type::String) {
        return std::nullopt;
    }
    auto members = strings_of(r.elements[1]);
    if (!members) return std::nullopt;
    return std::make_pair(std::move(r.elements[0].str), std::move(*members));
}

// ---- lists

bool RedisStore::lpush_trim(const std::string& key, const std::string& value, std::size_t keep) {
    return positive(eval(kLpushTrim, key, {value, last_kept_index(keep)}));
}

std::size_t RedisStore::lpush_trim_many(const std::vector<std::string>& keys,
                                        const std::string& value, std::size_t keep) {
    if (keys.empty()) return 0;
    // Shared with the callbacks: a batch that times out is still answered later, after this
    // call has returned.
    struct Batch {
        std::mutex mu;
        std::condition_variable done;
        std::size_t answered = 0;
        std::size_t applied = 0;
    };
    auto batch = std::make_shared<Batch>();
    const std::string last_kept = last_kept_index(keep);
    std::size_t calls = 0;
    for (std::size_t at = 0; at < keys.size(); at += kLpushTrimChunk, ++calls) {
        std::vector<std::string> chunk;
        chunk.reserve(std::min(kLpushTrimChunk, keys.size() - at));
        for (std::size_t i = at; i < keys.size() && i < at + kLpushTrimChunk; ++i)
            chunk.push_back(full_key(keys[i]));
        // All chunks are queued before the first wait: the client pipelines them.
        redis_.eval(kLpushTrimMany, std::move(chunk), {value, last_kept},
                    [batch](const redis::Reply& r) {
                        std::lock_guard lock(batch->mu);
                        ++batch->answered;
                        if (r.type == Type::Integer && r.integer > 0)
                            batch->applied += static_cast<std::size_t>(r.integer);
                        batch->done.notify_one();
                    });
    }
    std::unique_lock lock(batch->mu);
    batch->done.wait_for(lock, timeout_, [&] { return batch->answered == calls; });
    return batch->applied;
}

std::optional<std::vector<std::string>> RedisStore::lrange(const std::string& key,
                                                           std::int64_t start, std::int64_t stop) {
    return strings_of(call({"LRANGE", full_key(key), std::to_string(start), std::to_string(stop)}));
}

}  // namespace lp::plugins
