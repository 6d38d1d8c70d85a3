// plugins/host/push_adapter: the SDK's Pusher on top of the node's push service, so plugins
// push exactly as business services do through the HTTP API (same routing, qos, inbox,
// cluster forwarding), plus the plugin-only options (online_only, outside_rooms_only).
#pragma once

#include "plugins/sdk/plugin.hpp"
#include "push/push_service.hpp"

namespace lp::plugins {

class PushAdapter final : public sdk::Pusher {
public:
    explicit PushAdapter(push::PushService& push) : push_(push) {}
    sdk::PushResult to_user(std::uint64_t user, const std::string& type,
                            const std::string& payload_json, const sdk::PushOptions& opts) override;
    sdk::PushResult to_users(const std::vector<std::uint64_t>& users, const std::string& type,
                             const std::string& payload_json,
                             const sdk::PushOptions& opts) override;
    sdk::PushResult to_room(std::uint64_t room, const std::string& type,
                            const std::string& payload_json, const sdk::PushOptions& opts) override;
    std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) override;
    sdk::PushResult to_room_as(sdk::RoomClass cls, std::uint64_t room, const std::string& type,
                               const std::string& payload_json,
                               const sdk::PushOptions& opts) override;

private:
    sdk::PushResult run(push::PushRequest& req, const sdk::PushOptions& opts);
    push::PushService& push_;
};

}  // namespace lp::plugins
