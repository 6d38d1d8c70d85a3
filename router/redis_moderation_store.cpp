// router/redis_moderation_store: see redis_moderation_store.hpp.
#include "router/redis_moderation_store.hpp"

#include <algorithm>
#include <charconv>
#include <memory>

namespace lp::router {
namespace {

// KEYS: mod, muted, banned, shadow. ARGV: now, op, user, until, value, moderators, max_entries.
// Returns {full, HGETALL mod, muted, banned, shadow (ZRANGE WITHSCORES)}.
constexpr const char* kRoomLua = R"lua(
local now = tonumber(ARGV[1])
for i = 2, 4 do redis.call('ZREMRANGEBYSCORE', KEYS[i], 1, now) end
local op = ARGV[2]
local full = 0
local function add(k)
  if not redis.call('ZSCORE', k, ARGV[3]) and redis.call('ZCARD', k) >= tonumber(ARGV[7]) then
    full = 1
    return
  end
  redis.call('ZADD', k, ARGV[4], ARGV[3])
end
if op == 'mute' then add(KEYS[2])
elseif op == 'unmute' then redis.call('ZREM', KEYS[2], ARGV[3])
elseif op == 'ban' then add(KEYS[3])
elseif op == 'unban' then redis.call('ZREM', KEYS[3], ARGV[3]); redis.call('ZREM', KEYS[4], ARGV[3])
elseif op == 'shadow_ban' then add(KEYS[4])
elseif op == 'mute_all' then redis.call('HSET', KEYS[1], 'mute_all', ARGV[5])
elseif op == 'slow_mode' then redis.call('HSET', KEYS[1], 'slow_mode_s', ARGV[5])
elseif op == 'meta' then redis.call('HSET', KEYS[1], 'anchor', ARGV[5], 'moderators', ARGV[6])
end
if op ~= 'load' then
  for i = 2, 4 do
    local lo = redis.call('ZRANGE', KEYS[i], 0, 0, 'WITHSCORES')
    if #lo > 0 then
      if tonumber(lo[2]) == 0 then redis.call('PERSIST', KEYS[i])
      else
        local hi = redis.call('ZRANGE', KEYS[i], -1, -1, 'WITHSCORES')
        redis.call('PEXPIREAT', KEYS[i], hi[2])
      end
    end
  end
end
return {full, redis.call('HGETALL', KEYS[1]), redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES'),
        redis.call('ZRANGE', KEYS[3], 0, -1, 'WITHSCORES'),
        redis.call('ZRANGE', KEYS[4], 0, -1, 'WITHSCORES')}
)lua";

// KEYS: log, seq. ARGV: room, log_max.
constexpr const char* kLogLua = R"lua(
local s = redis.call('INCR', KEYS[2])
redis.call('ZADD', KEYS[1], s, ARGV[1] .. ':' .. s)
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(tonumber(ARGV[2]) + 1))
return s
)lua";

// KEYS: log, seq. ARGV: after (-1 = first call), log_max. Returns {seq, all, rooms...}.
constexpr const char* kChangedLua = R"lua(
local cur = tonumber(redis.call('GET', KEYS[2]) or '0')
local after = tonumber(ARGV[1])
if after < 0 or after > cur then return {cur, 1} end
if after == cur then return {cur, 0} end
if cur - after > tonumber(ARGV[2]) then return {cur, 1} end
local items = redis.call('ZRANGEBYSCORE', KEYS[1], '(' .. after, cur)
if #items < cur - after then return {cur, 1} end
local out = {cur, 0}
for _, m in ipairs(items) do out[#out + 1] = string.match(m, '^(%d+):') end
return out
)lua";

const redis::Script& room_script() {
    static const redis::Script s{kRoomLua};
    return s;
}
const redis::Script& log_script() {
    static const redis::Script s{kLogLua};
    return s;
}
const redis::Script& changed_script() {
    static const redis::Script s{kChangedLua};
    return s;
}

const std::string kLogKey = "lp:{mod}:log";
const std::string kSeqKey = "lp:{mod}:seq";

std::string room_key(std::uint64_t room, const char* what) {
    return "lp:{room:" + std::to_string(room) + "}:" + what;
}

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

std::vector<std::pair<std::uint64_t, std::uint64_t>> entries(const redis::Reply& r) {
    std::vector<std::pair<std::uint64_t, std::uint64_t>> out;
    for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2)
        out.emplace_back(to_u64(r.elements[i].str), to_u64(r.elements[i + 1].str));
    return out;
}

ModState state_of(const redis::Reply& r) {
    ModState st;
    const auto& h = r.elements[1].elements;
    for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
        const std::string& k = h[i].str;
        const std::string& v = h[i + 1].str;
        if (k == "anchor") {
            st.anchor = to_u64(v);
        } else if (k == "mute_all") {
            st.mute_all = v == "1";
        } else if (k == "slow_mode_s") {
            st.slow_mode_s = static_cast<std::uint32_t>(to_u64(v));
        } else if (k == "moderators") {
            std::string_view rest = v;
            while (!rest.empty()) {
                auto comma = rest.find(',');
                if (auto id = to_u64(rest.substr(0, comma))) st.moderators.push_back(id);
                rest = comma == std::string_view::npos ? "" : rest.substr(comma + 1);
            }
            std::sort(st.moderators.begin(), st.moderators.end());
        }
    }
    st.muted = entries(r.elements[2]);
    st.banned = entries(r.elements[3]);
    st.shadow = entries(r.elements[4]);
    return st;
}

}  // namespace

RedisModerationStore::RedisModerationStore(redis::Client& redis, std::size_t max_entries,
                                           std::size_t log_max)
    : redis_(redis), max_entries_(max_entries), log_max_(log_max) {}

void RedisModerationStore::load(std::uint64_t room, std::uint64_t now_ms, Done done) {
    run(room, nullptr, now_ms, std::move(done));
}

void RedisModerationStore::apply(std::uint64_t room, const ModChange& c, std::uint64_t now_ms,
                                 Done done) {
    run(room, &c, now_ms, std::move(done));
    // Queued behind the change on the same connection: in order, and not waited for.
    redis_.eval(log_script(), {kLogKey, kSeqKey}, {std::to_string(room), std::to_string(log_max_)});
}

void RedisModerationStore::run(std::uint64_t room, const ModChange* c, std::uint64_t now_ms,
                               Done done) {
    std::string op = c ? std::string(to_string(c->action)) : "load";
    std::string value, moderators;
    if (c) {
        if (c->action == ModAction::MuteAll) value = c->on ? "1" : "0";
        if (c->action == ModAction::SlowMode) value = std::to_string(c->interval_s);
        if (c->action == ModAction::Meta) {
            value = std::to_string(c->anchor);
            for (auto id : c->moderators) {
                if (!moderators.empty()) moderators.push_back(',');
                moderators += std::to_string(id);
            }
        }
    }
    redis_.eval(room_script(),
                {room_key(room, "mod"), room_key(room, "muted"), room_key(room, "banned"),
                 room_key(room, "shadow")},
                {std::to_string(now_ms), std::move(op), std::to_string(c ? c->user : 0),
                 std::to_string(c ? c->until_ms : 0), std::move(value), std::move(moderators),
                 std::to_string(max_entries_)},
                [done = std::move(done)](const redis::Reply& r) {
                    if (r.type != redis::Reply::Type::Array || r.elements.size() != 5) {
                        done(Status::Unavailable, {});
                        return;
                    }
                    done(r.elements[0].integer ? Status::Full : Status::Ok, state_of(r));
                });
}

void RedisModerationStore::changed(std::function<void(std::vector<std::uint64_t>, bool)> done) {
    redis_.eval(changed_script(), {kLogKey, kSeqKey},
                {std::to_string(cursor_.load()), std::to_string(log_max_)},
                [this, done = std::move(done)](const redis::Reply& r) {
                    if (r.type != redis::Reply::Type::Array || r.elements.size() < 2) {
                        done({}, false);  // Redis down: try again next time
                        return;
                    }
                    cursor_.store(r.elements[0].integer);
                    std::vector<std::uint64_t> rooms;
                    for (std::size_t i = 2; i < r.elements.size(); ++i)
                        rooms.push_back(to_u64(r.elements[i].str));
                    std::sort(rooms.begin(), rooms.end());
                    rooms.erase(std::unique(rooms.begin(), rooms.end()), rooms.end());
                    done(std::move(rooms), r.elements[1].integer != 0);
                });
}

}  // namespace lp::router
