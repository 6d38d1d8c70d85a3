// router/redis_room_state_store: see redis_room_state_store.hpp.
#include "router/redis_room_state_store.hpp"

#include <charconv>

namespace lp::router {

namespace {

// KEYS[1] the room's hash; ARGV[1] the field ("k:" .. key), ARGV[2] the JSON, ARGV[3] max keys,
// ARGV[4] max bytes. -1: the key is new and the room has max keys; -2: the values would pass
// max bytes; else the write's version. A stored value is "VERSION JSON": its JSON's length is
// the whole length past the first space.
const redis::Script kSet(R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
local old_len = 0
if old then
  old_len = #old - string.find(old, ' ', 1, true)
else
  local n = redis.call('HLEN', KEYS[1])
  if redis.call('HEXISTS', KEYS[1], 'v') == 1 then n = n - 1 end
  if redis.call('HEXISTS', KEYS[1], 'b') == 1 then n = n - 1 end
  if n >= tonumber(ARGV[3]) then return -1 end
end
local bytes = tonumber(redis.call('HGET', KEYS[1], 'b') or '0')
if bytes - old_len + #ARGV[2] > tonumber(ARGV[4]) then return -2 end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HINCRBY', KEYS[1], 'b', #ARGV[2] - old_len)
redis.call('HSET', KEYS[1], ARGV[1], v .. ' ' .. ARGV[2])
return v
)lua");

// KEYS[1] the room's hash; ARGV[1] the field. 0: not set; else the delete's version.
const redis::Script kErase(R"lua(
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('HINCRBY', KEYS[1], 'b', string.find(old, ' ', 1, true) - #old)
return redis.call('HINCRBY', KEYS[1], 'v', 1)
)lua");

std::uint64_t to_u64(std::string_view s) {
    std::uint64_t v = 0;
    std::from_chars(s.data(), s.data() + s.size(), v);
    return v;
}

}  // namespace

std::string RedisRoomStateStore::key_of(std::uint64_t room) {
    return "lp:{room:" + std::to_string(room) + "}:state";
}

void RedisRoomStateStore::set(std::uint64_t room, const std::string& key, const std::string& value,
                              RoomStateBounds bounds, std::function<void(RoomStateWrite)> done) {
    redis_.eval(
        kSet, {key_of(room)},
        {"k:" + key, value, std::to_string(bounds.max_keys), std::to_string(bounds.max_bytes)},
        [done = std::move(done)](const redis::Reply& r) {
            RoomStateWrite w;
            if (r.type != redis::Reply::Type::Integer) {
                w.status = RoomStateWrite::Status::Unavailable;
                w.error = r.is_error() ? r.str : "unexpected reply";
            } else if (r.integer == -1) {
                w.status = RoomStateWrite::Status::TooManyKeys;
            } else if (r.integer < 0) {
                w.status = RoomStateWrite::Status::TooManyBytes;
            } else {
                w.version = static_cast<std::uint64_t>(r.integer);
            }
            done(std::move(w));
        });
}

void RedisRoomStateStore::erase(std::uint64_t room, const std::string& key,
                                std::function<void(RoomStateWrite)> done) {
    redis_.eval(kErase, {key_of(room)}, {"k:" + key},
                [done = std::move(done)](const redis::Reply& r) {
                    RoomStateWrite w;
                    if (r.type != redis::Reply::Type::Integer) {
                        w.status = RoomStateWrite::Status::Unavailable;
                        w.error = r.is_error() ? r.str : "unexpected reply";
                    } else if (r.integer == 0) {
                        w.status = RoomStateWrite::Status::Absent;
                    } else {
                        w.version = static_cast<std::uint64_t>(r.integer);
                    }
                    done(std::move(w));
                });
}

void RedisRoomStateStore::get(std::uint64_t room, std::function<void(RoomStateSnapshot)> done) {
    redis_.command({"HGETALL", key_of(room)}, [done = std::move(done)](const redis::Reply& r) {
        RoomStateSnapshot s;
        if (r.type != redis::Reply::Type::Array) {
            s.ok = false;
            s.error = r.is_error() ? r.str : "unexpected reply";
            done(std::move(s));
            return;
        }
        for (std::size_t i = 0; i + 1 < r.elements.size(); i += 2) {
            const std::string& field = r.elements[i].str;
            const std::string& text = r.elements[i + 1].str;
            if (field == "v") {
                s.version = to_u64(text);
            } else if (field.starts_with("k:")) {
                const std::size_t space = text.find(' ');
                if (space == std::string::npos) continue;
                s.items[field.substr(2)] = {text.substr(space + 1),
                                            to_u64(std::string_view(text).substr(0, space))};
            }
        }
        done(std::move(s));
    });
}

}  // namespace lp::router
