// handlers/chat_filter: what the gateway asks before it publishes a room.chat, when something
// (the plugins' filter_chat room hook, SDK 5) wants to judge chats. The gateway knows only this
// interface; app/ wires the plugins behind it, so handlers/ never sees the plugin host.
//
// Rules for an implementation: active() is cheap and fixed once the server runs (while it is
// false a chat is published at once, synchronously, as without filters); filter() never blocks
// the caller (a loop) and calls `done` exactly once, from any thread, within a bounded time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "server/session.hpp"

namespace lp::handlers {

class ChatFilter {
public:
    struct Chat {
        std::uint64_t user_id = 0;
        server::Role role{};
        std::uint64_t room_id = 0;
        std::string text;
        std::string profile_json;  // empty: no profile
    };
    struct Verdict {
        enum class Kind : std::uint8_t {
            Pass,     // publish `text` (the original, or a rewrite)
            Reject,   // a filter refused it: CHAT_REJECTED with `reason`
            Unjudged  // no verdict in time (or a failure) and the filter fails closed
        };
        Kind kind = Kind::Pass;
        std::string text;
        std::string reason;
        bool rewritten = false;
    };
    virtual ~ChatFilter() = default;
    virtual bool active() const = 0;
    virtual void filter(Chat chat, std::function<void(Verdict)> done) = 0;
};

}  // namespace lp::handlers
