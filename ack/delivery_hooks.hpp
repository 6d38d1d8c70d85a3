// ack/delivery_hooks: the interface the gateway (handlers/) calls for everything about
// guaranteed delivery. QosDelivery (qos_delivery.hpp) implements it.
#pragma once

#include <cstddef>
#include <cstdint>

#include "livepush.pb.h"

namespace lp::server {
class Session;
}

namespace lp::ack {

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
    // A private message (im.send): qos1 to every session of `to`, or the inbox. Returns the
    // number of sessions it was queued to now.
    virtual std::uint64_t send_private(std::uint64_t to, std::uint64_t msg_id, std::string type,
                                       std::string payload) = 0;
};

}  // namespace lp::ack
