// router/routing: the one interface push/ and handlers/ use to reach users and rooms, whatever
// the node's mode. Two implementations: LocalRouting (local_routing.hpp, the embedded node: the
// hub is the whole truth) and ClusterRouting (cluster_routing.hpp: routes in Redis, node links,
// rooms' home nodes). app/ picks one; no code above router/ asks which mode it runs in.
//
// It owns where a message goes (this node, other nodes, a room's home) and presence; it never
// owns qos1 windows or inboxes (ack/): what this node does with a user message is asked of the
// LocalDelivery the caller passes. Costs: one virtual call per push, per room publish, per
// login and per lookup, never one per receiver.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/outbound.hpp"
#include "server/room_packet.hpp"

namespace lp::server {
class Session;
}

namespace lp::router {

// A message for a room (room.chat, a room push): its home node assigns the room_seq.
struct RoomMessage {
    std::uint64_t room = 0;
    std::uint64_t msg_id = 0;
    std::string type;
    std::string payload;
    std::uint64_t sent_at_ms = 0;
    std::vector<std::uint64_t> exclude;  // user ids, sorted ascending
    // What a viewer budget may shed (server/msg_class.hpp); unset: the type's default.
    std::optional<server::MsgClass> cls;
    std::uint64_t sender = 0;  // the sending user, who sees it even when a budget sheds it
    server::RoomMeta meta() const { return {cls.value_or(server::class_of_type(type)), sender}; }
};

// What a room's home node answered about it (elsewhere than the home).
struct HomeRoom {
    bool answered = false;  // false: the home did not answer in time
    std::uint64_t seq = 0, epoch = 0;
    std::uint64_t online_elsewhere = 0;  // members on other nodes than this one
    std::uint64_t likes_total = 0;       // the room's likes total as the home knows it
};

// A message for users. Views, valid during the call that gets it (nothing keeps it).
struct UserMessage {
    std::uint64_t msg_id = 0;
    std::string_view type;
    std::string_view payload;
    std::uint64_t sent_at_ms = 0;
    std::uint64_t expires_at_ms = 0;  // qos1: dropped after this
    int qos = 0;
    bool online_only = false;         // qos1 without the inbox
    bool outside_rooms_only = false;  // only sessions in a non-consumption scene
    std::uint64_t sender = 0;         // im.send's sending user (its share of an inbox is bounded)
};

// What this node does itself with a user message: its qos1 windows and inbox (ack/), its
// sessions. The push service implements it; routing calls it for the users it finds here.
class LocalDelivery {
public:
    virtual ~LocalDelivery() = default;
    struct Sent {
        std::uint64_t sessions = 0;
        std::uint64_t stored = 0;
        bool share_full = false;   // (qos1, offline) refused: the sender's share is full
        bool unavailable = false;  // (qos1, offline) refused: the inbox is down
    };
    // qos1: into the windows of the users' sessions here, or their inbox; qos0: to their
    // sessions here (encoded once per wire form per loop).
    virtual Sent send(const std::vector<std::uint64_t>& users, const UserMessage& m) = 0;
    // A qos1 message already in the (shared) inbox: into the windows of the sessions here.
    virtual void deliver_stored(const std::vector<std::uint64_t>& users, const UserMessage& m) = 0;
    // Writes a qos1 message into the inbox before it is routed. store_checked: one user, with
    // the sender's share checked; store_many: returns how many users it could not be stored for.
    enum class Stored { Yes, ShareFull, Unavailable };
    virtual Stored store_checked(std::uint64_t user, const UserMessage& m) = 0;
    virtual std::size_t store_many(const std::vector<std::uint64_t>& users,
                                   const UserMessage& m) = 0;
};

class Routing {
public:
    virtual ~Routing() = default;

    // ---- presence (event loops; never blocks)
    // After the session is bound in the local hub and LOGIN_RESULT is queued.
    virtual void on_login(server::Session& s) = 0;
    // A logged-in session closed.
    virtual void on_logout(server::Session& s) = 0;

    // ---- rooms: a room's seq, epoch, history and online count are its home node's.
    // True when this node is the room's home: the hub is the truth.
    virtual bool room_is_home(std::uint64_t room) const = 0;
    // On the home: members of the room on the other nodes, as they last reported.
    virtual std::uint64_t room_online_elsewhere(std::uint64_t room) const = 0;
    // Elsewhere: subscribes this node to the room at its home and asks for the room's state and
    // (with after_seq) the messages after it, merged into the local hub before `done` runs (on
    // the routing's thread, or on timeout). Never blocks.
    virtual void fetch_room(std::uint64_t room, std::optional<std::uint64_t> after_seq,
                            std::function<void(HomeRoom)> done) = 0;
    // Publishes without waiting (event loops): the room_seq when this node assigned it, else 0.
    virtual std::uint64_t publish_room(RoomMessage m) = 0;
    // Publishes and waits (API threads only) for the seq the home assigned. seq_known = false:
    // the home did not answer in time (the message was handed to it all the same).
    struct RoomPublished {
        bool seq_known = false;
        std::uint64_t seq = 0;
        std::uint64_t online = 0;  // the room's members on every node
    };
    virtual RoomPublished publish_room_wait(RoomMessage m) = 0;
    // The room as its home sees it (API threads only: may wait for the home).
    struct RoomView {
        std::uint64_t online = 0, seq = 0, epoch = 0;
        std::string home;  // the node that assigns the room's seq; empty on an embedded node
    };
    virtual RoomView room_view(std::uint64_t room) = 0;
    // Rooms this node is the home of with members on any node, and their count on every node
    // (the room.online sweep; any thread). One entry per room.
    virtual std::vector<std::pair<std::uint64_t, std::uint64_t>> home_rooms_online() = 0;
    // On the home: a room message outside the room's seq and history (room.online), to its
    // members on every node. Never blocks.
    virtual void publish_room_unsequenced(const RoomMessage& m) = 0;
    // Likes (router/room_likes): (room, likes) this node counted for rooms homed elsewhere, to
    // their homes, one frame per home. Never blocks.
    virtual void forward_room_likes(
        const std::vector<std::pair<std::uint64_t, std::uint64_t>>& likes) = 0;

    // ---- users (API threads and workers: may wait on Redis)
    struct UsersPushed {
        enum class Status { Ok, ShareFull, Unavailable };
        Status status = Status::Ok;
        std::string why;  // Unavailable: what to tell the caller
        std::uint64_t sessions = 0;
        std::uint64_t stored = 0;  // qos1: users whose inbox got it (offline)
    };
    // Delivers m to `users` wherever they are; `here` does this node's share.
    virtual UsersPushed push_users(const std::vector<std::uint64_t>& users, const UserMessage& m,
                                   LocalDelivery& here) = 0;
    // To every logged-in session on every node, except users in `exclude` (packet: m's qos0
    // form for this node). Returns the sessions reached on this node.
    virtual std::uint64_t broadcast(const server::SharedPacket& packet, const UserMessage& m,
                                    const std::vector<std::uint64_t>& exclude) = 0;
    // Kicks every session of the user on every node with reason; returns how many.
    virtual std::uint64_t kick(std::uint64_t user, const std::string& reason) = 0;
    // Users (of `users`) with a session on any node, in the order given.
    virtual std::vector<std::uint64_t> online(const std::vector<std::uint64_t>& users) = 0;
    // The user's sessions on other nodes (this node's own are the hub's).
    struct RemoteSession {
        std::uint64_t session_id = 0;
        std::string platform, node;
        std::string transport, scene;  // empty when that node did not answer in time
        std::vector<std::uint64_t> rooms;
    };
    virtual std::vector<RemoteSession> sessions_elsewhere(std::uint64_t user) = 0;

    // ---- health: false with `why` when routing is degraded (e.g. Redis down).
    virtual bool ready(std::string& why) const = 0;
};

}  // namespace lp::router
