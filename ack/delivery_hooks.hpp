// ack/delivery_hooks: the interface the gateway (handlers/) calls for everything about
// guaranteed delivery. QosDelivery (qos_delivery.hpp) implements it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "livepush.pb.h"

namespace lp::server {
class Session;
}

namespace lp::ack {

struct PrivateMessage {
    std::uint64_t from = 0;  // the sending user: its share of `to`'s inbox is bounded
    std::uint64_t to = 0;
    std::uint64_t msg_id = 0;
    std::string type;
    std::string payload;
};

struct PrivateResult {
    enum class Status {
        Accepted,     // queued to `sessions` sessions now, and/or stored in the inbox
        ShareFull,    // not stored: `to`'s inbox holds delivery.inbox_max_per_sender from `from`
        Unavailable,  // not stored: the inbox (Redis) is down and `to` was not reached
        Busy,         // not run: the node's workers are overloaded
    };
    Status status = Status::Accepted;
    std::uint64_t sessions = 0;
    std::string error;  // why, when not Accepted
};

class DeliveryHooks {
public:
    virtual ~DeliveryHooks() = default;
    // Right after LOGIN_RESULT was queued: replay the user's inbox.
    virtual void on_login(server::Session& s) = 0;
    // Returns how many of the ids acked something this session was sent (in flight, or
    // recently moved from it to the inbox); the gateway rate-limits ACKs that ack nothing.
    virtual std::size_t on_ack(server::Session& s, const livepush::v1::Ack& ack) = 0;
    // A logged-in session is going away: what it has in flight goes to the inbox.
    virtual void on_closed(server::Session& s) = 0;
    // A private message (im.send): qos1 to every session of `to`, or the inbox. May block on
    // the store (cluster mode), so an implementation may run it on a worker: `done` is called
    // exactly once, from any thread (or inline, before this returns).
    virtual void send_private(PrivateMessage m, std::function<void(PrivateResult)> done) = 0;
};

}  // namespace lp::ack
