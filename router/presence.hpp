// router/presence: what the gateway tells the routing layer about logins. In embedded mode
// nothing implements it (the hub is the whole truth); in cluster mode router::Cluster does.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

namespace lp::server {
class Session;
}

namespace lp::router {

class Presence {
public:
    virtual ~Presence() = default;
    // After the session is bound in the local hub and LOGIN_RESULT is queued.
    virtual void on_login(server::Session& s) = 0;
    // A logged-in session closed.
    virtual void on_logout(server::Session& s) = 0;

    // ---- rooms: a room's seq, epoch, history and online count are its home node's.
    // True when this node is the room's home (or there is no cluster): the hub is the truth.
    virtual bool room_is_home(std::uint64_t /*room*/) const { return true; }
    // On the home: members of the room on the other nodes, as they last reported.
    virtual std::uint64_t room_online_elsewhere(std::uint64_t /*room*/) const { return 0; }
    struct HomeRoom {
        bool answered = false;  // false: the home did not answer in time
        std::uint64_t seq = 0, epoch = 0;
        std::uint64_t online_elsewhere = 0;  // members on other nodes than this one
    };
    // Elsewhere: subscribes this node to the room at its home and asks for the room's state and
    // (with after_seq) the messages after it, merged into the local hub before `done` runs (on
    // the cluster thread, or on timeout). Never blocks.
    virtual void fetch_room(std::uint64_t /*room*/, std::optional<std::uint64_t> /*after_seq*/,
                            std::function<void(HomeRoom)> done) {
        done({});
    }
};

}  // namespace lp::router
