// router/node_number: see node_number.hpp.
#include "router/node_number.hpp"

namespace lp::router {

namespace {

constexpr const char* kPrefix = "lp:nodenum:";

// ARGV[1] key prefix, ARGV[2] node id, ARGV[3] TTL ms, ARGV[4] wanted number, ARGV[5] numbers.
// From the wanted number on, the first number this node already holds (refreshed) or that is
// free (taken) is the answer; -1 when every number is held by another node. A script runs
// alone in Redis, so the GET and the SET cannot be split by another node's claim.
const redis::Script kClaim(R"lua(
local prefix, id, ttl = ARGV[1], ARGV[2], ARGV[3]
local wanted, count = tonumber(ARGV[4]), tonumber(ARGV[5])
for i = 0, count - 1 do
  local n = (wanted + i) % count
  local key = prefix .. n
  local holder = redis.call('GET', key)
  if holder == id then
    redis.call('PEXPIRE', key, ttl)
    return n
  end
  if not holder then
    redis.call('SET', key, id, 'PX', ttl)
    return n
  end
end
return -1
)lua");

// Compare-and-delete: KEYS[1] is removed only while it still names ARGV[1].
const redis::Script kRelease(R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
)lua");

}  // namespace

NodeNumberClaim::NodeNumberClaim(redis::Client& redis, std::string node_id,
                                 std::chrono::milliseconds ttl)
    : redis_(redis), node_id_(std::move(node_id)), ttl_(ttl) {}

std::string NodeNumberClaim::key(std::uint16_t number) {
    return kPrefix + std::to_string(number);
}

NodeNumberClaim::Claimed NodeNumberClaim::parse(const redis::Reply& r) {
    Claimed out;
    if (r.type != redis::Reply::Type::Integer) {
        out.error = r.is_error() ? r.str : "unexpected reply to the node number claim";
        return out;
    }
    if (r.integer < 0 || r.integer >= kNumbers) {
        out.none_free = true;
        out.error = "all " + std::to_string(kNumbers) + " node numbers (" + kPrefix + "0.." +
                    std::to_string(kNumbers - 1) + ") are held by live nodes";
        return out;
    }
    out.number = static_cast<std::uint16_t>(r.integer);
    return out;
}

NodeNumberClaim::Claimed NodeNumberClaim::claim_sync(std::uint16_t wanted,
                                                     std::chrono::milliseconds timeout) {
    return parse(redis_.eval_sync(kClaim, {},
                                  {kPrefix, node_id_, std::to_string(ttl_.count()),
                                   std::to_string(wanted % kNumbers), std::to_string(kNumbers)},
                                  timeout));
}

void NodeNumberClaim::claim_async(std::uint16_t wanted, std::function<void(const Claimed&)> done) {
    redis_.eval(kClaim, {},
                {kPrefix, node_id_, std::to_string(ttl_.count()), std::to_string(wanted % kNumbers),
                 std::to_string(kNumbers)},
                [done = std::move(done)](const redis::Reply& r) {
                    if (done) done(parse(r));
                });
}

void NodeNumberClaim::release_sync(std::uint16_t number, std::chrono::milliseconds timeout) {
    redis_.eval_sync(kRelease, {key(number)}, {node_id_}, timeout);
}

}  // namespace lp::router
