// router/cluster_routing: Routing on a cluster node, over router::Cluster (routes and presence
// in Redis, node links, rooms' home nodes). What happens on this node itself (kicks, the
// local share of a broadcast) goes through a LocalRouting over the same hub.
//
// It owns the cluster's policy for pushes: a qos1 message is written to the durable inbox
// before it is routed; while Redis is down, only users on this node can be reached. It must
// never hold state of its own: the Cluster and the hub hold it.
#pragma once

#include "router/local_routing.hpp"
#include "router/routing.hpp"

namespace lp::server {
class Hub;
}

namespace lp::router {

class Cluster;

class ClusterRouting final : public Routing {
public:
    ClusterRouting(Cluster& cluster, server::Hub& hub) : cluster_(cluster), hub_(hub), here_(hub) {}

    void on_login(server::Session& s) override;
    void on_logout(server::Session& s) override;

    bool room_is_home(std::uint64_t room) const override;
    std::uint64_t room_online_elsewhere(std::uint64_t room) const override;
    void fetch_room(std::uint64_t room, std::optional<std::uint64_t> after_seq,
                    std::function<void(HomeRoom)> done) override;
    std::uint64_t publish_room(RoomMessage m) override;
    RoomPublished publish_room_wait(RoomMessage m) override;
    RoomView room_view(std::uint64_t room) override;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> home_rooms_online() override;
    void publish_room_unsequenced(const RoomMessage& m) override;
    void forward_room_likes(
        const std::vector<std::pair<std::uint64_t, std::uint64_t>>& likes) override;

    UsersPushed push_users(const std::vector<std::uint64_t>& users, const UserMessage& m,
                           LocalDelivery& here) override;
    std::uint64_t broadcast(const server::SharedPacket& packet, const UserMessage& m,
                            const std::vector<std::uint64_t>& exclude) override;
    std::uint64_t kick(std::uint64_t user, const std::string& reason) override;
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) override;
    std::vector<RemoteSession> sessions_elsewhere(std::uint64_t user) override;

    bool ready(std::string& why) const override;

private:
    Cluster& cluster_;
    server::Hub& hub_;
    LocalRouting here_;  // this node's own sessions
};

}  // namespace lp::router
