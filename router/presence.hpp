// router/presence: what the gateway tells the routing layer about logins. In embedded mode
// nothing implements it (the hub is the whole truth); in cluster mode router::Cluster does.
#pragma once

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
};

}  // namespace lp::router
