// plugins/host/redis_job_queue: see redis_job_queue.hpp.
#include "plugins/host/redis_job_queue.hpp"

#include <algorithm>
#include <boost/json.hpp>
#include <charconv>
#include <cstdint>

namespace lp::plugins {

namespace {

using redis::Reply;
using redis::Script;
using Type = redis::Reply::Type;

// Expired reservations a claim moves back to due at most, so that a claim after a node with
// many jobs died stays a short script; the rest move on the next claims.
constexpr const char* kRequeueLimit = "1000";

// Schedules (or replaces) a job: a new token, its record, due at ARGV[4], not reserved, no
// attempts yet. KEYS: pool, due, reserved, seq, attempts. ARGV: job key, topic, body, due ms.
// Returns the token. The token is formatted with %d: Lua's own number-to-string would print
// 1e+14 from there on.
const redis::Script kSchedule(R"lua(
local token = string.format('%d', redis.call('INCR', KEYS[4]))
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2] .. '|' .. token .. '|' .. ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[5], ARGV[1])
return token
)lua");

// Removes a job wherever it is. KEYS: pool, due, reserved, attempts. ARGV: job key. 1 if it
// existed.
const redis::Script kCancel(R"lua(
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
return redis.call('HDEL', KEYS[1], ARGV[1])
)lua");

// Claims due jobs. First, reservations whose deadline is <= now are due again (at their
// deadline; ARGV[4] of them at most). Then up to ARGV[2] jobs due at <= now, oldest first, move
// to reserved with deadline ARGV[3], each counting an attempt. KEYS: pool, due, reserved,
// attempts. ARGV: now ms, max, deadline ms, requeue limit. Returns {job key, record, due score,
// attempts, ...}. A due key without a record (cannot happen through this file's scripts) is
// dropped.
const redis::Script kClaim(R"lua(
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[4])
for i = 1, #expired, 2 do
  redis.call('ZADD', KEYS[2], expired[i + 1], expired[i])
  redis.call('ZREM', KEYS[3], expired[i])
end
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'WITHSCORES', 'LIMIT', 0, ARGV[2])
local out = {}
for i = 1, #due, 2 do
  local key = due[i]
  redis.call('ZREM', KEYS[2], key)
  local record = redis.call('HGET', KEYS[1], key)
  if record then
    redis.call('ZADD', KEYS[3], ARGV[3], key)
    out[#out + 1] = key
    out[#out + 1] = record
    out[#out + 1] = due[i + 1]
    out[#out + 1] = redis.call('HINCRBY', KEYS[4], key, 1)
  end
end
return out
)lua");

// Removes a job that ran, only if its record still carries ARGV[2] as token (a schedule() while
// it ran replaced it: the new one stays). KEYS: pool, due, reserved, attempts. ARGV: job key,
// token. With KEYS[5] (the dead letters), ARGV[3] is pushed onto them, kept to ARGV[4] entries:
// bury.
const redis::Script kDone(R"lua(
local record = redis.call('HGET', KEYS[1], ARGV[1])
if not record then return 0 end
if string.match(record, '^[^|]*|([^|]*)|') ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[3], ARGV[1])
redis.call('HDEL', KEYS[4], ARGV[1])
if KEYS[5] then
  redis.call('LPUSH', KEYS[5], ARGV[3])
  redis.call('LTRIM', KEYS[5], 0, ARGV[4])
end
return 1
)lua");

// Moves a legacy queue into this one (RedisJobQueue::adopt_legacy). KEYS: the legacy pool, due,
// reserved, seq, attempts, dead, then this queue's six. ARGV: the dead letters' last index.
// Returns the jobs moved.
const redis::Script kAdopt(R"lua(
local moved = 0
local old = redis.call('HGETALL', KEYS[1])
for i = 1, #old, 2 do
  local key = old[i]
  if redis.call('HSETNX', KEYS[7], key, old[i + 1]) == 1 then
    moved = moved + 1
    local due = redis.call('ZSCORE', KEYS[2], key)
    if due then redis.call('ZADD', KEYS[8], due, key) end
    local reserved = redis.call('ZSCORE', KEYS[3], key)
    if reserved then redis.call('ZADD', KEYS[9], reserved, key) end
    local attempts = redis.call('HGET', KEYS[5], key)
    if attempts then redis.call('HSET', KEYS[11], key, attempts) end
  end
end
local seq = tonumber(redis.call('GET', KEYS[4]) or '0')
if seq > tonumber(redis.call('GET', KEYS[10]) or '0') then
  redis.call('SET', KEYS[10], string.format('%d', seq))
end
local dead = redis.call('LRANGE', KEYS[6], 0, -1)
for i = 1, #dead do redis.call('RPUSH', KEYS[12], dead[i]) end
if #dead > 0 then redis.call('LTRIM', KEYS[12], 0, ARGV[1]) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
return moved
)lua");

template <class T>
bool parse_number(const std::string& s, T& out) {
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
    return ec == std::errc() && p == s.data() + s.size();
}

// A claim's (job key, "topic|token|body", due score) into a DueJob; false if malformed.
bool parse_claimed(const std::string& key, const std::string& record, const std::string& due_score,
                   std::int64_t attempts, std::int64_t now_ms, DueJob& out) {
    const auto topic_end = record.find('|');
    if (topic_end == std::string::npos) return false;
    const auto token_end = record.find('|', topic_end + 1);
    if (token_end == std::string::npos) return false;
    out.topic = record.substr(0, topic_end);
    if (key.size() <= out.topic.size() || key.compare(0, out.topic.size(), out.topic) != 0)
        return false;
    out.id = key.substr(out.topic.size() + 1);
    if (!parse_number(record.substr(topic_end + 1, token_end - topic_end - 1), out.token))
        return false;
    out.body = record.substr(token_end + 1);
    double due = 0;  // Redis prints integral scores as integers, but a score is a double
    if (!parse_number(due_score, due)) return false;
    out.due_ms = static_cast<std::int64_t>(due);
    out.claimed_ms = now_ms;
    out.attempts = static_cast<std::uint32_t>(std::clamp<std::int64_t>(attempts, 1, UINT32_MAX));
    return true;
}

}  // namespace

RedisJobQueue::RedisJobQueue(redis::Client& redis, std::string key_prefix, NowMs now,
                             std::chrono::milliseconds timeout)
    : redis_(redis),
      pool_(key_prefix + "pool"),
      due_(key_prefix + "due"),
      reserved_(key_prefix + "reserved"),
      seq_(key_prefix + "seq"),
      attempts_(key_prefix + "attempts"),
      dead_(key_prefix + "dead"),
      now_(std::move(now)),
      timeout_(timeout) {}

bool RedisJobQueue::schedule(const std::string& topic, const std::string& id,
                             std::chrono::milliseconds delay, const std::string& body) {
    if (!valid_topic(topic)) return false;
    const std::int64_t due_ms = now_() + std::max<std::int64_t>(delay.count(), 0);
    auto r = redis_.eval_sync(kSchedule, {pool_, due_, reserved_, seq_, attempts_},
                              {job_key(topic, id), topic, body, std::to_string(due_ms)}, timeout_);
    return r.type == Type::String;
}

bool RedisJobQueue::cancel(const std::string& topic, const std::string& id) {
    auto r = redis_.eval_sync(kCancel, {pool_, due_, reserved_, attempts_}, {job_key(topic, id)},
                              timeout_);
    return r.type == Type::Integer && r.integer > 0;
}

std::vector<DueJob> RedisJobQueue::claim(std::size_t max, std::chrono::milliseconds ttr) {
    std::vector<DueJob> out;
    if (max == 0) return out;
    const std::int64_t now = now_();
    auto r = redis_.eval_sync(kClaim, {pool_, due_, reserved_, attempts_},
                              {std::to_string(now), std::to_string(max),
                               std::to_string(now + ttr.count()), kRequeueLimit},
                              timeout_);
    if (r.type != Type::Array) return out;
    out.reserve(r.elements.size() / 4);
    for (std::size_t i = 0; i + 3 < r.elements.size(); i += 4) {
        DueJob job;
        if (parse_claimed(r.elements[i].str, r.elements[i + 1].str, r.elements[i + 2].str,
                          static_cast<std::int64_t>(r.elements[i + 3].integer), now, job)) {
            out.push_back(std::move(job));
        }
    }
    return out;
}

void RedisJobQueue::done(const DueJob& job) {
    redis_.eval(kDone, {pool_, due_, reserved_, attempts_},
                {job_key(job.topic, job.id), std::to_string(job.token)});
}

bool RedisJobQueue::bury(const DueJob& job, const std::string& why) {
    boost::json::object letter{{"topic", job.topic},       {"id", job.id},
                               {"body", job.body},         {"error", why},
                               {"attempts", job.attempts}, {"buried_ms", now_()}};
    auto r = redis_.eval_sync(kDone, {pool_, due_, reserved_, attempts_, dead_},
                              {job_key(job.topic, job.id), std::to_string(job.token),
                               boost::json::serialize(letter), std::to_string(kDeadLetters - 1)},
                              timeout_);
    return r.type == Type::Integer && r.integer > 0;
}

std::vector<DeadJob> RedisJobQueue::dead(std::size_t max) {
    std::vector<DeadJob> out;
    if (max == 0) return out;
    auto r = redis_.command_sync({"LRANGE", dead_, "0", std::to_string(max - 1)}, timeout_);
    if (r.type != Type::Array) return out;
    for (const auto& e : r.elements) {
        boost::system::error_code ec;
        auto v = boost::json::parse(e.str, ec);
        if (ec || !v.is_object()) continue;  // not ours: skip rather than fail the whole read
        const auto& o = v.get_object();
        DeadJob d;
        auto text = [&](const char* k) {
            const auto* f = o.if_contains(k);
            return f && f->is_string() ? std::string(f->get_string()) : std::string();
        };
        auto number = [&](const char* k) {
            const auto* f = o.if_contains(k);
            return f && f->is_number() ? f->to_number<std::int64_t>() : std::int64_t{0};
        };
        d.topic = text("topic");
        d.id = text("id");
        d.body = text("body");
        d.error = text("error");
        d.attempts = static_cast<std::uint32_t>(number("attempts"));
        d.buried_ms = number("buried_ms");
        out.push_back(std::move(d));
    }
    return out;
}

std::size_t RedisJobQueue::pending() {
    auto r = redis_.command_sync({"HLEN", pool_}, timeout_);
    return r.type == Type::Integer ? static_cast<std::size_t>(r.integer) : 0;
}

std::int64_t RedisJobQueue::adopt_legacy(const std::string& legacy_prefix) {
    const std::string& p = legacy_prefix;
    if (p + "pool" == pool_) return 0;
    auto r = redis_.eval_sync(kAdopt,
                              {p + "pool", p + "due", p + "reserved", p + "seq", p + "attempts",
                               p + "dead", pool_, due_, reserved_, seq_, attempts_, dead_},
                              {std::to_string(kDeadLetters - 1)}, timeout_);
    if (r.type != Type::Integer) return -1;
    return r.integer;
}

}  // namespace lp::plugins
