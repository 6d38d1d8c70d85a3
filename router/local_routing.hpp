// router/local_routing: Routing on an embedded node (no cluster). The hub is the whole truth:
// every room's home is this node, presence is the hub's directory, and a user message goes to
// this node's delivery layer (the LocalDelivery the caller passes).
//
// It owns nothing but a reference to the hub; it must never reach Redis or another node.
// ClusterRouting uses it for what it does on its own node (kicks, broadcast, presence here).
#pragma once

#include "router/routing.hpp"

namespace lp::server {
class Hub;
}

namespace lp::router {

class LocalRouting final : public Routing {
public:
    explicit LocalRouting(server::Hub& hub) : hub_(hub) {}

    void on_login(server::Session&) override {}
    void on_logout(server::Session&) override {}

    bool room_is_home(std::uint64_t) const override { return true; }
    std::uint64_t room_online_elsewhere(std::uint64_t) const override { return 0; }
    void fetch_room(std::uint64_t, std::optional<std::uint64_t>,
                    std::function<void(HomeRoom)> done) override {
        done({});
    }
    std::uint64_t publish_room(RoomMessage m) override;
    RoomPublished publish_room_wait(RoomMessage m) override;
    RoomView room_view(std::uint64_t room) override;
    std::vector<std::pair<std::uint64_t, std::uint64_t>> home_rooms_online() override;
    void publish_room_unsequenced(const RoomMessage& m) override;
    // Never called: every room's home is this node.
    void forward_room_likes(const std::vector<std::pair<std::uint64_t, std::uint64_t>>&) override {}

    UsersPushed push_users(const std::vector<std::uint64_t>& users, const UserMessage& m,
                           LocalDelivery& here) override;
    std::uint64_t broadcast(const server::SharedPacket& packet, const UserMessage& m,
                            const std::vector<std::uint64_t>& exclude) override;
    std::uint64_t kick(std::uint64_t user, const std::string& reason) override;
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) override;
    std::vector<RemoteSession> sessions_elsewhere(std::uint64_t) override { return {}; }

    bool ready(std::string&) const override { return true; }

private:
    server::Hub& hub_;
};

}  // namespace lp::router
