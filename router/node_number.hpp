// router/node_number: this node's number (0..1023), the 10 bits that keep message ids unique
// across the nodes of a cluster (server/msg_id.hpp), claimed in Redis.
//
//   lp:nodenum:{n}   the node id holding number n, PX node_ttl: held with the node's liveness,
//                    refreshed in the same pipelined round trip as lp:node:{id} (Cluster's
//                    heartbeat), removed with compare-and-delete at a clean stop.
//
// A claim is one script: keep the number this node holds (or held: a free number is taken back),
// else take the first free one after it. The check and the take are one script, which Redis
// runs alone, so two live nodes never hold the same number. A node that finds its number held by
// another (its claim lapsed while it could not reach Redis and a new node took it) gets a new one
// in the same round trip and switches to it before its next id.
//
// What it must never do: hand out a number it did not just see this node holding in Redis.
//
// Left open by design: ids issued while the node cannot reach Redis keep its last number. If
// its claim lapsed meanwhile (node_ttl without a refresh) and a new node took that number, both
// issue ids with it until this node's next refresh (one heartbeat after Redis is back) moves it
// to a free one. Stopping ids instead would stop every room message and push while Redis is
// away, which the cluster design (router/cluster.hpp) promises not to do.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>

#include "redis/client.hpp"

namespace lp::router {

class NodeNumberClaim {
public:
    static constexpr std::uint16_t kNumbers = 1024;

    NodeNumberClaim(redis::Client& redis, std::string node_id, std::chrono::milliseconds ttl);

    // The outcome of a claim: the number, or none (no free number, or Redis did not answer:
    // `error` says which).
    struct Claimed {
        std::optional<std::uint16_t> number;
        bool none_free = false;
        std::string error;
    };
    // Blocking; at start. `wanted` is the number to keep or start looking from.
    Claimed claim_sync(std::uint16_t wanted, std::chrono::milliseconds timeout);
    // Asynchronous; `done` runs on the Redis thread. Queued right behind the liveness refresh,
    // it travels in the same round trip.
    void claim_async(std::uint16_t wanted, std::function<void(const Claimed&)> done);
    // Gives `number` back if this node still holds it. Blocking, best effort.
    void release_sync(std::uint16_t number, std::chrono::milliseconds timeout);

    static std::string key(std::uint16_t number);

private:
    static Claimed parse(const redis::Reply& r);

    redis::Client& redis_;
    std::string node_id_;
    std::chrono::milliseconds ttl_;
};

}  // namespace lp::router
