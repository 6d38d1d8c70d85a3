// app/room_hook_bridge: the plugins' room hooks (plugins/host/room_hook_runner) seen by the
// parts that produce room visits and chats: the hub (server::RoomMemberObserver: a session
// entered or left a room) and the gateway (handlers::ChatFilter: judge a room.chat first). It
// translates between their types and the SDK's and holds no logic of its own; app/ is the only
// folder that may know both sides.
#pragma once

#include "handlers/chat_filter.hpp"
#include "plugins/host/room_hook_runner.hpp"
#include "server/hub.hpp"

namespace lp::app {

class RoomHookBridge final : public handlers::ChatFilter, public server::RoomMemberObserver {
public:
    explicit RoomHookBridge(plugins::RoomHookRunner& runner) : runner_(runner) {}

    bool active() const override { return runner_.filters_chat(); }
    void filter(Chat chat, std::function<void(Verdict)> done) override;
    void on_member(const server::Session& s, std::uint64_t room, bool entered) override;

private:
    plugins::RoomHookRunner& runner_;
};

}  // namespace lp::app
