// router/cluster: what makes several livepush nodes one service (design.md section 6).
//
// - Presence: a login binds user -> (node, session) in Redis; if that replaced a session on
//   another live node, that node is told over the link to kick it ("replaced"). Logout removes
//   the route with compare-and-delete. Routes live as long as their node's liveness key.
// - Users: route_users() finds the nodes of a set of users in one script call; the push layer
//   sends each node one UserDelivery over the link (one hop) and delivers local ones itself.
// - Rooms: every room has a home node (rendezvous hash of the room id over the live nodes).
//   Nodes with members subscribe to the home; the home assigns room_seq and the epoch, keeps the
//   history and forwards each message once to each subscribed node, in order over its FIFO
//   link; nodes without members get nothing. Per-node member counts ride on RoomSub (the home
//   sums them for online counts) and go to Redis. Elsewhere, room.enter, a push's room_seq and
//   GET /v1/rooms ask the home over the link (RoomQuery/RoomReply, a correlation id and a
//   timeout; cluster_rooms.cpp): the home subscribes the asker and answers under the room's
//   lock, with the history after the asker's last_seq, so reply and later deliveries arrive
//   in seq order.
// - Failure: while Redis is down the node keeps serving its own sessions and room traffic
//   (links do not need Redis); when Redis is back it re-registers its routes, its liveness key
//   and its room counts by itself. A dead node's routes die with its liveness key (node_ttl).
//
// Runs its timers and link handlers on the node-link thread; the public calls are thread-safe.
#pragma once

#include <atomic>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "redis/client.hpp"
#include "router/defaults.hpp"
#include "router/node_links.hpp"
#include "router/node_number.hpp"
#include "router/route_store.hpp"
#include "router/routing.hpp"
#include "server/hub.hpp"

namespace livepush::cluster {
class UserDelivery;
class RoomSub;
class RoomPublish;
class RoomQuery;
class RoomReply;
class UserQuery;
class UserReply;
}  // namespace livepush::cluster
namespace google::protobuf {
class Message;
}

namespace lp::router {

struct ClusterOptions {
    std::string node_id;
    std::string redis;  // host:port (unused with redis_sentinels)
    // Sentinel mode when not empty: the master of redis_master_name, found through these.
    std::vector<std::pair<std::string, std::uint16_t>> redis_sentinels;
    std::string redis_master_name = "mymaster";
    std::string redis_sentinel_password;
    std::string redis_user;      // Redis ACL user; empty = default
    std::string redis_password;  // AUTH on every connect; empty = none
    std::string client_addr;     // advertised to TCP clients (reconnect_to)
    std::string client_ws_addr;  // advertised to WebSocket clients (host:port); empty = none
    std::string link_listen{kDefaultLinkListen};
    std::string
        link_advertise;  // host:port other nodes dial; empty = host of client_addr + link port
    std::string secret;  // cluster.secret: proves link peers belong to the cluster
    std::chrono::milliseconds link_hello_timeout = kDefaultLinkHelloTimeout;
    std::size_t link_max_connections = kDefaultLinkMaxConnections;
    std::size_t link_queue_max_bytes = kDefaultLinkQueueMaxBytes;
    std::string link_tls_cert, link_tls_key, link_tls_ca;  // all set: links are mutual TLS
    std::chrono::milliseconds node_ttl = kDefaultNodeTtl;
    std::chrono::milliseconds heartbeat{1000};
    std::chrono::milliseconds resubscribe{5000};  // anti-entropy of room subscriptions
    std::chrono::milliseconds room_query_timeout = kDefaultRoomQueryTimeout;  // home's answer
    // redis::Client::Options::max_queue_bytes
    std::size_t redis_queue_max_bytes = kDefaultRedisQueueMaxBytes;
    // Message ids: the node claims a node number in Redis (router/node_number.hpp), starting
    // from this one, and tells `on_node_number` every number it holds (at start, and again if
    // it had to take another). start() throws when every number is held by a live node.
    std::uint16_t node_number_hint = 0;
    std::function<void(std::uint16_t)> on_node_number;
};

struct ClusterStats {
    std::atomic<std::uint64_t> route_binds{0};
    std::atomic<std::uint64_t> route_bind_failures{0};
    std::atomic<std::uint64_t> remote_kicks_sent{0};
    std::atomic<std::uint64_t> remote_kicks_received{0};
    std::atomic<std::uint64_t> user_deliveries_sent{0};  // UserDelivery frames to other nodes
    std::atomic<std::uint64_t> user_deliveries_received{0};
    std::atomic<std::uint64_t> room_publishes_forwarded{0};  // to a home node elsewhere
    std::atomic<std::uint64_t> room_deliveries_sent{0};      // home -> nodes with members
    std::atomic<std::uint64_t> room_deliveries_received{0};
    std::atomic<std::uint64_t> room_queries_sent{0};  // RoomQuery, or RoomPublish awaiting its seq
    std::atomic<std::uint64_t> room_query_timeouts{0};
    std::atomic<std::uint64_t> room_history_sent{0};   // messages replayed to another node
    std::atomic<std::uint64_t> room_nodes_skipped{0};  // live nodes a room message was not sent to
    std::atomic<std::uint64_t> redis_down_events{0};
    std::atomic<std::uint64_t> reregistrations{0};
    std::atomic<std::uint64_t> node_number_changes{0};      // claim lost, another number taken
    std::atomic<std::uint64_t> node_number_unavailable{0};  // refreshes that found none free
};

// ClusterRouting (cluster_routing.hpp) is what push/ and handlers/ see of it.
class Cluster final : public server::HubObserver {
public:
    using UserHandler = std::function<void(const livepush::cluster::UserDelivery&)>;
    Cluster(ClusterOptions opts, server::Hub& hub, UserHandler on_users);
    ~Cluster() override;

    void start();  // connects Redis, binds the link listener, registers this node
    void stop();   // deregisters (best effort) and stops

    // ---- presence (see Routing in routing.hpp)
    void on_login(server::Session& s);
    void on_logout(server::Session& s);
    bool room_is_home(std::uint64_t room) const { return home_of(room) == opts_.node_id; }
    std::uint64_t room_online_elsewhere(std::uint64_t room) const;
    void fetch_room(std::uint64_t room, std::optional<std::uint64_t> after_seq,
                    std::function<void(HomeRoom)> done);
    // ---- HubObserver
    void on_room_members(std::uint64_t room, std::uint64_t members_here) override;

    // cluster.redis, or the sentinels' master name: for messages.
    std::string redis_name() const;
    bool redis_up() const noexcept;
    const std::string& node_id() const noexcept { return opts_.node_id; }

    // ---- users
    // node -> users with a live session there, and the number of sessions. nullopt when Redis
    // is unavailable.
    struct UserRoutes {
        std::map<std::string, std::vector<std::uint64_t>> by_node;
        std::uint64_t sessions = 0;
    };
    std::optional<UserRoutes> route_users(const std::vector<std::uint64_t>& users);
    std::optional<std::vector<Route>> routes_of(std::uint64_t user);
    // The user's sessions on another node as that node sees them (transport, scene, rooms),
    // asked over the link; blocks up to room_query_timeout (API threads only). nullopt: no answer.
    struct RemoteSession {
        std::uint64_t session_id = 0;
        std::string platform, transport, scene;
        std::vector<std::uint64_t> rooms;
    };
    std::optional<std::vector<RemoteSession>> sessions_on(const std::string& node,
                                                          std::uint64_t user);
    void send_users(const std::string& node, const livepush::cluster::UserDelivery& d);
    void kick_remote(const Route& route, std::uint64_t user, const std::string& reason);

    // ---- rooms
    using RoomPublish = RoomMessage;
    struct RoomPublished {
        bool at_home = false;  // this node is the room's home: seq is known
        std::uint64_t seq = 0;
    };
    RoomPublished publish_room(const RoomPublish& p);
    // The same, waiting (off the event loops: the API's threads) for the seq the home assigned.
    // seq_known = false when the home did not answer within room_query_timeout (the message
    // was handed to the link all the same). online: the room's members on every node.
    struct RoomPublishedAt {
        bool seq_known = false;
        std::uint64_t seq = 0;
        std::uint64_t online = 0;
    };
    RoomPublishedAt publish_room_wait(const RoomPublish& p);
    // The room as its home sees it (blocking up to room_query_timeout: API threads only).
    // answered = false: the home did not answer; the rest is this node's own view.
    struct RoomAtHome {
        bool answered = false;
        std::uint64_t seq = 0, epoch = 0, online = 0;
    };
    RoomAtHome room_at_home(std::uint64_t room);
    std::optional<std::uint64_t> room_online(std::uint64_t room);
    // Rooms this node is the home of with members on any node, with their count on every node.
    std::vector<std::pair<std::uint64_t, std::uint64_t>> home_rooms_online();
    // On the home: to the room's members here and on the subscribed nodes, with room_seq 0
    // (outside the room's seq and history: see Hub::publish_unsequenced).
    void publish_unsequenced(const RoomPublish& p);
    // Likes (router/room_likes): (room, likes) to each room's home, one LinkRoomLikes frame per
    // home. On the receiving home they go to the on_room_likes hook; room.enter elsewhere gets
    // the home's total from the likes_total hook (in RoomReply). Set both before start().
    void send_room_likes(const std::vector<std::pair<std::uint64_t, std::uint64_t>>& likes);
    void on_room_likes(std::function<void(std::uint64_t room, std::uint64_t likes)> hook) {
        room_likes_ = std::move(hook);
    }
    void likes_total_of(std::function<std::uint64_t(std::uint64_t room)> hook) {
        likes_total_ = std::move(hook);
    }

    // ---- nodes
    std::vector<NodeInfo> nodes() const;  // live nodes, as last seen
    // Called (on the links' thread: it must not block) with the id of each node that left the
    // live list. Set before start().
    void on_peer_gone(std::function<void(const std::string& node)> hook) {
        peer_gone_ = std::move(hook);
    }
    std::string home_of(std::uint64_t room) const;
    // On the home, under the room's lock: p as a RoomDelivery (seq, epoch) to the nodes with
    // members.
    void forward_to_member_nodes(const RoomPublish& p, std::uint64_t seq, std::uint64_t epoch);
    // Another live node for `user` (drain's reconnect_to: its client_addr or ws_addr), or an
    // empty NodeInfo when there is none.
    NodeInfo other_node_for(std::uint64_t user) const;

    // The node number message ids carry; -1 until one was claimed (Redis unreachable at start).
    int node_number() const noexcept { return node_number_.load(std::memory_order_relaxed); }

    redis::Client& redis() noexcept { return *redis_; }
    const ClusterStats& stats() const noexcept { return stats_; }
    const NodeLinksStats& link_stats() const noexcept { return links_->stats(); }
    std::uint16_t link_port() const { return links_->port(); }

private:
    std::function<void(const std::string&)> peer_gone_;
    std::function<void(std::uint64_t, std::uint64_t)> room_likes_;
    std::function<std::uint64_t(std::uint64_t)> likes_total_;
    void on_link(const std::string& from, codec::Code code, std::string_view body);
    void tick_heartbeat();
    void refresh_liveness();  // liveness key and node number, one round trip
    void adopt_node_number(std::uint16_t number);
    void tick_nodes();
    void tick_resubscribe();
    void apply_nodes(std::vector<NodeInfo> nodes);
    void resubscribe_all();
    void reregister();
    void send_sub(const std::string& home, std::vector<std::uint64_t> sub,
                  std::vector<std::uint64_t> unsub);
    std::string link_addr_of(const std::string& node) const;
    RoomPublished publish_as_home(const RoomPublish& p);
    // The link form of a room message on its way to its home (the caller sets corr_id when it
    // waits for the seq).
    static livepush::cluster::RoomPublish to_link(const RoomPublish& p);
    // cluster_rooms.cpp
    void on_room_sub(const std::string& from, const livepush::cluster::RoomSub& m);
    void on_room_query(const std::string& from, const livepush::cluster::RoomQuery& q);
    void on_room_reply(const livepush::cluster::RoomReply& r);
    void on_user_query(const std::string& from, const livepush::cluster::UserQuery& q);
    void answered(std::uint64_t corr, const google::protobuf::Message& reply);
    std::uint64_t online_elsewhere_locked(std::uint64_t room, const std::string& except) const;
    // Sends (on the cluster thread) what `send(corr_id)` builds and calls done with the reply,
    // or with nullptr after room_query_timeout. done runs on the cluster thread.
    void ask_home(std::function<void(std::uint64_t corr)> send,
                  std::function<void(const livepush::cluster::RoomReply*)> done);
    void ask(std::function<void(std::uint64_t corr)> send,
             std::function<void(const google::protobuf::Message*)> done);
    void flush_room_counts();
    void drop_unjoined_fetches();

    ClusterOptions opts_;
    server::Hub& hub_;
    UserHandler on_users_;
    std::unique_ptr<redis::Client> redis_;
    std::unique_ptr<RouteStore> routes_;
    std::unique_ptr<NodeLinks> links_;
    std::unique_ptr<NodeNumberClaim> node_numbers_;
    std::atomic<int> node_number_{-1};
    NodeInfo self_;
    ClusterStats stats_;
    std::atomic<bool> redis_up_{false};

    mutable std::mutex nodes_mu_;
    std::vector<NodeInfo> nodes_;  // live, sorted by id, self included

    // Home side: which other nodes have members in each room this node is home for, and how
    // many (as they last reported on RoomSub).
    mutable std::mutex home_mu_;
    std::unordered_map<std::uint64_t, std::map<std::string, std::uint64_t>> home_members_;

    // Asker side (cluster thread only): replies awaited, by correlation id; rooms this node
    // subscribed to for a room.enter (dropped if no member joined by the next resubscribe).
    struct Awaited {
        std::function<void(const google::protobuf::Message*)> done;
        std::unique_ptr<boost::asio::steady_timer> timer;
    };
    std::unordered_map<std::uint64_t, Awaited> awaited_;
    std::uint64_t next_corr_ = 1;
    std::unordered_map<std::uint64_t, std::chrono::steady_clock::time_point> fetched_;

    // Member side (cluster thread only): rooms with members here, counts not yet written.
    std::unordered_map<std::uint64_t, std::uint64_t> local_rooms_;
    std::unordered_map<std::uint64_t, std::uint64_t> dirty_counts_;

    std::unique_ptr<boost::asio::steady_timer> heartbeat_timer_, nodes_timer_, resub_timer_;
};

}  // namespace lp::router
