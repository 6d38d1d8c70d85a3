// handlers/gateway_room_state: room.enter's wait for this node's copy of a room's state
// (issue 14 item 5; the design is in router/room_state_cache.hpp). The copy is trusted only
// while the room has members here (the node then sees every room.state message); the first
// enter of a room on this node loads it from the store, asynchronously, and answers on the
// session's loop afterwards. Never blocks the loop.
#include <boost/asio/post.hpp>

#include "handlers/gateway.hpp"
#include "server/event_loop.hpp"

namespace lp::handlers {

using server::Session;

bool Gateway::room_state_ready(std::uint64_t room) const {
    return !state_cache_ || (hub_->room_state(room).online > 0 && state_cache_->ready(room));
}

void Gateway::load_room_state(Session& s, std::uint64_t room, std::function<void(Session&)> then) {
    if (room_state_ready(room)) return then(s);
    const bool reload = hub_->room_state(room).online == 0;
    std::weak_ptr<Session> weak = s.shared_from_this();
    auto& io = s.loop().io();
    // A failed load answers all the same, without "state" (the client may GET it later).
    state_cache_->ensure(room, reload, [weak, &io, then = std::move(then)](bool) {
        boost::asio::post(io, [weak, then] {
            if (auto sp = weak.lock(); sp && !sp->closing()) then(*sp);
        });
    });
}

}  // namespace lp::handlers
