// plugins/host/room_state_adapter: the SDK's RoomState (plugins/sdk/plugin.hpp, version 5) on
// top of the node's push::RoomStateService, so a plugin's state writes take the same bounds,
// store and room.state push as the HTTP API's. Plugins run on workers, bus and job threads,
// never on an event loop, so the waiting forms are the right ones here.
#pragma once

#include "plugins/sdk/plugin.hpp"
#include "push/room_state_service.hpp"

namespace lp::plugins {

class RoomStateAdapter final : public sdk::RoomState {
public:
    explicit RoomStateAdapter(push::RoomStateService& service) : service_(service) {}

    sdk::RoomStateResult set(std::uint64_t room, const std::string& key,
                             const std::string& value_json) override {
        return convert(service_.set(room, key, value_json));
    }
    sdk::RoomStateResult remove(std::uint64_t room, const std::string& key) override {
        return convert(service_.erase(room, key));
    }
    std::optional<std::string> get(std::uint64_t room) override {
        auto r = service_.get(room);
        if (r.status != 200) return std::nullopt;
        return std::move(r.json);
    }

private:
    static sdk::RoomStateResult convert(const push::RoomStateService::Result& r) {
        sdk::RoomStateResult out;
        out.ok = r.status == 200;
        out.code = r.code;
        out.error = r.error;
        out.version = r.version;
        return out;
    }
    push::RoomStateService& service_;
};

}  // namespace lp::plugins
