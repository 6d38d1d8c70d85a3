// tests/plugins/hook_test_plugin: a shared-object plugin (SDK 5) for the room hook tests. It
// declares every room hook and does, by the chat's text, what a test needs to see:
//   "...deny..."   -> deny with the reason "hooktest says no"
//   "...sleep..."  -> sleeps plugins.hooktest.sleep_ms (default 500), then rewrites to
//                     "slept: <text>" (a rewrite that must never be published once late)
//   anything else  -> allow
// and counts visits: livepush_plugin_hooktest_enter_total / _leave_total.
#include <chrono>
#include <string>
#include <thread>

#include "plugins/sdk/plugin.hpp"

namespace {

class HookTestPlugin final : public lp::sdk::Plugin {
public:
    std::string name() const override { return "hooktest"; }
    void start(lp::sdk::Context& ctx) override {
        ctx_ = &ctx;
        sleep_ = std::chrono::milliseconds(ctx.config_int("sleep_ms", 500));
    }
    lp::sdk::RoomHooks room_hooks() const override { return {true, true}; }
    void on_room_enter(const lp::sdk::RoomVisit&) override { ctx_->metrics->count("enter"); }
    void on_room_leave(const lp::sdk::RoomVisit&) override { ctx_->metrics->count("leave"); }
    lp::sdk::ChatVerdict filter_chat(const lp::sdk::ChatToFilter& chat) override {
        if (chat.text.find("deny") != std::string::npos)
            return lp::sdk::ChatVerdict::deny("hooktest says no");
        if (chat.text.find("sleep") != std::string::npos) {
            std::this_thread::sleep_for(sleep_);
            return lp::sdk::ChatVerdict::rewrite("slept: " + chat.text);
        }
        return lp::sdk::ChatVerdict::allow();
    }

private:
    lp::sdk::Context* ctx_ = nullptr;
    std::chrono::milliseconds sleep_{500};
};

}  // namespace

extern "C" lp::sdk::Plugin* livepush_plugin_create(int api_version) {
    if (api_version != lp::sdk::kApiVersion) return nullptr;
    return new HookTestPlugin();
}
