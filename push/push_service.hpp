// push/push_service: the push service behind the HTTP API (and, later, Kafka consumers and
// plugins): to one user, to many users, to a room, to everyone, with qos0 or qos1.
//
// It adds no delivery logic of its own: where a message goes (this node, other nodes, a room's
// home) is router::Routing's, whichever mode the node runs in; qos1 goes through
// ack::QosDelivery (windows, retries, inbox), qos0 user pushes straight to the sessions' loops,
// grouped so that each loop encodes each wire form once. It is the LocalDelivery routing hands
// this node's share of a user push to.
#pragma once

#include <array>
#include <atomic>
#include <functional>
#include <string>

#include "ack/qos_delivery.hpp"
#include "push/api.hpp"
#include "router/routing.hpp"
#include "server/hub.hpp"
#include "server/msg_id.hpp"

namespace livepush::cluster {
class UserDelivery;
}

namespace lp::push {

struct PushStats {
    // [qos][target]: accepted pushes by qos and target kind (Target order).
    std::atomic<std::uint64_t> accepted[2][4] = {};
    std::atomic<std::uint64_t> rejected{0};
    std::atomic<std::uint64_t> unavailable{0};  // 503: Redis needed and down
};

class PushService final : public PushBackend, private router::LocalDelivery {
public:
    // `routing`: router::LocalRouting on an embedded node, router::ClusterRouting in a cluster
    // (where the delivery's inbox is durable: a qos1 push is written there before the API
    // answers).
    PushService(server::Hub& hub, ack::QosDelivery& delivery, server::MsgIdGenerator& ids,
                std::string node_id, std::function<std::string()> metrics,
                router::Routing& routing);

    PushOutcome push(const PushRequest& req) override;
    UserView user(std::uint64_t id) override;
    RoomView room(std::uint64_t id) override;
    std::uint64_t kick(std::uint64_t user, const std::string& reason) override;
    std::string metrics_text() override;
    bool ready(std::string& why) override;

    const PushStats& stats() const noexcept { return stats_; }
    static const char* target_name(Target t);
    // auth.guests on: ids in the guest range (server/guest_id.hpp) get qos1 online-only (no
    // inbox: a guest id is spent with its session, so an inbox for it would never be read).
    // Set before the API starts.
    void set_guests_have_no_inbox(bool on) noexcept { guests_no_inbox_ = on; }

    // Users (of `users`) with a session on any node (cluster mode: as Redis says; if Redis is
    // down, as this node knows).
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users);

    // A UserDelivery from another node (cluster mode): deliver to the local sessions.
    void deliver_from_link(const livepush::cluster::UserDelivery& d);

private:
    PushOutcome push_users(const PushRequest& req, const std::vector<std::uint64_t>& users,
                           std::uint64_t msg_id, std::uint64_t now);
    PushOutcome route_users(const PushRequest& req, const std::vector<std::uint64_t>& users,
                            std::uint64_t msg_id, std::uint64_t now);
    PushOutcome push_room(const PushRequest& req, std::uint64_t msg_id, std::uint64_t now);
    std::uint64_t push_users_qos0(const std::vector<std::uint64_t>& users,
                                  const server::SharedPacket& packet,
                                  bool outside_rooms_only = false);

    // router::LocalDelivery: this node's share of a user push.
    Sent send(const std::vector<std::uint64_t>& users, const router::UserMessage& m) override;
    void deliver_stored(const std::vector<std::uint64_t>& users,
                        const router::UserMessage& m) override;
    Stored store_checked(std::uint64_t user, const router::UserMessage& m) override;
    std::size_t store_many(const std::vector<std::uint64_t>& users,
                           const router::UserMessage& m) override;

    server::Hub& hub_;
    ack::QosDelivery& delivery_;
    server::MsgIdGenerator& ids_;
    std::string node_id_;
    std::function<std::string()> metrics_;
    router::Routing& routing_;
    PushStats stats_;
    bool guests_no_inbox_ = false;
};

}  // namespace lp::push
