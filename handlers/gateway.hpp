// handlers/gateway: the strategy table. Every packet a client sends is dispatched by its code to
// one handler (LOGIN, HEARTBEAT, BIZ, LOGOUT, ACK), and every BIZ packet by its type to one BIZ
// handler (room.enter, room.leave, room.chat, scene.set, im.send, and whatever plugins add).
//
// The gateway owns the meaning of packets, not the sockets: it sees sessions through
// server::Session and reaches other sessions only through server::Hub. Delivery guarantees
// (qos1 windows, inboxes) plug in through ack::DeliveryHooks, presence and rooms' home nodes
// through router::Routing: it never asks whether the node runs alone or in a cluster.
// The room BIZ types (room.enter, room.leave, room.chat) are in gateway_rooms.cpp; guest
// logins (an empty token with auth.guests on) and what guests may do in gateway_guests.cpp.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

#include "ack/delivery_hooks.hpp"
#include "auth/jwt.hpp"
#include "handlers/chat_filter.hpp"
#include "handlers/defaults.hpp"
#include "handlers/sender_rate.hpp"
#include "livepush.pb.h"
#include "router/like_counter.hpp"
#include "router/moderation.hpp"
#include "router/room_state_cache.hpp"
#include "router/routing.hpp"
#include "server/defaults.hpp"
#include "server/hub.hpp"
#include "server/msg_id.hpp"
#include "server/session.hpp"

namespace boost::json {
class object;
}

namespace lp::handlers {

struct GatewayOptions {
    std::string node_id;
    std::chrono::milliseconds heartbeat_interval = server::kDefaultHeartbeatInterval;
    auth::JwtPolicy jwt;  // keys, iss/aud, lifetime bound, rotation, leeway
    std::uint32_t max_rooms_per_session = kDefaultMaxRoomsPerSession;
    std::uint32_t max_chat_bytes = 2048;
    // Per session, burst of the same size; 0 = unlimited.
    std::uint32_t biz_rate_per_s = kDefaultBizRatePerS;
    // Client limits (each 0 = off): sessions per user on this node, ACKs that ack nothing in
    // flight per session per second (burst of the same size), ids per ACK; and the allowed
    // LoginReq.platform values (comma list; a token's "platform" claim pins it instead).
    std::uint32_t max_sessions_per_user = kDefaultMaxSessionsPerUser;
    std::uint32_t ack_rate_per_s = kDefaultAckRatePerS;
    std::uint32_t max_ack_ids = kDefaultMaxAckIds;
    std::string platforms{kDefaultPlatforms};
    // im.send per sending user, burst twice that (0 = unlimited); its payload as JSON text.
    std::uint32_t im_rate_per_s = kDefaultImRatePerS;
    std::uint32_t im_max_payload_bytes = kDefaultImMaxPayloadBytes;
    // Audience room.chat per room on this node per second, burst the same (0 = unlimited).
    std::uint32_t room_chat_rate_per_s = kDefaultRoomChatRatePerS;
    // Guests (auth.guests): a LOGIN with an empty token gets an id of the guest range
    // (server/guest_id.hpp) and Role::Guest; at most guest_max_sessions of them on this node
    // (0 = unlimited). Off: an empty token is refused like any bad token.
    bool guests = false;
    std::uint32_t guest_max_sessions = kDefaultGuestMaxSessions;
    // room.like (gateway_likes.cpp): likes per request at most, requests per session per second
    // (burst of the same size; 0 = unlimited), and whether guests may like (auth.guests_may_like).
    std::uint32_t like_max_count = kDefaultLikeMaxCount;
    std::uint32_t like_rate_per_s = kDefaultLikeRatePerS;
    bool guests_may_like = false;
    // auth.expire_sessions: a token login is kicked (token_expired) when exp + leeway passes.
    bool expire_sessions = true;
};

// Whether guests may send a BIZ type. Built-ins: room.enter, room.leave and scene.set are
// open; room.chat and im.send are not, nor room.like unless auth.guests_may_like opens it.
// Plugins open theirs with sdk::Plugin::guest_biz_types().
enum class GuestAccess : std::uint8_t { Closed, Open };

// The context a BIZ handler gets.
struct BizCall {
    server::Session& session;
    const server::Inbound& in;
    const livepush::v1::BizReq& req;
    const boost::json::object& data;  // BizReq.data parsed (an empty object when absent)
    bool admitted = false;            // room.enter: moderation already let this session in
};
// A BIZ handler answers with code (0 = ok), message and optional JSON data.
struct BizReply {
    std::int32_t code = 0;
    std::string message;
    std::string data_json;  // UTF-8 JSON text, empty = none
    std::uint64_t msg_id = 0;
    // Runs right after the BIZ_RESULT is queued (e.g. room recovery replays after the result).
    std::function<void()> after;
    // Set: the handler answers later (im.send, whose store may block). The gateway sends no
    // BIZ_RESULT now but calls defer(done); `done` must be called exactly once, from any thread,
    // and its reply goes out on the session's loop if the session is still open.
    std::function<void(std::function<void(BizReply)>)> defer;
};
using BizHandler = std::function<BizReply(BizCall&)>;

// A BIZ handler that answers later (a plugin's, run on a worker so that its store round trips
// do not stall the loop). It gets copies, not the session: it may run on any thread, after the
// session is gone. It must call `done` exactly once, from any thread; the BIZ_RESULT then goes
// out on the session's loop if the session is still open.
struct AsyncBizCall {
    std::uint64_t user_id = 0;
    server::Role role{};
    std::string type;
    std::string data_json;  // BizReq.data as sent (a JSON object, already checked)
    std::function<void(BizReply)> done;
};
using AsyncBizHandler = std::function<void(AsyncBizCall)>;

struct GatewayStats {
    std::atomic<std::uint64_t> login_ok{0};
    // By JwtError (index); the last slot counts bodies that are not a LoginReq.
    static constexpr int kLoginBadBody = 15;
    std::atomic<std::uint64_t> login_failed[kLoginBadBody + 1] = {};
    std::atomic<std::uint64_t> kicked_replaced{0};
    std::atomic<std::uint64_t> heartbeats{0};
    std::atomic<std::uint64_t> biz[2] = {};  // [ok, failed]
    std::atomic<std::uint64_t> room_chat{0};
    std::atomic<std::uint64_t> room_chat_rate_limited{0};  // refused: ROOM_RATE_LIMITED
    std::atomic<std::uint64_t> biz_rate_limited{0};
    // Client limits hit (livepush_limit_hits_total{limit=...}).
    std::atomic<std::uint64_t> kicked_too_many_sessions{0};
    std::atomic<std::uint64_t> bad_platform{0};
    std::atomic<std::uint64_t> login_rate_limited{0};
    std::atomic<std::uint64_t> ack_too_many_ids{0};
    std::atomic<std::uint64_t> ack_rate_limited{0};
    std::atomic<std::uint64_t> recovery[2] = {};  // [recovered, not recoverable]
    std::atomic<std::uint64_t> recovered_messages{0};
    // im.send refused, by reason: [rate, payload, inbox share, unavailable, busy]
    std::atomic<std::uint64_t> im_refused[5] = {};
    // Guests: logins, sessions now on this node, logins refused by reason [off (empty token,
    // guests off), limit (guest_max_sessions), platform], BIZ packets refused (NOT_ALLOWED).
    std::atomic<std::uint64_t> guest_logins{0};
    std::atomic<std::int64_t> guest_sessions{0};
    std::atomic<std::uint64_t> guest_refused[3] = {};
    std::atomic<std::uint64_t> guest_biz_refused{0};
    // Logins whose token a previous or retired key verified (key rotation overlap).
    std::atomic<std::uint64_t> login_previous_key{0};
};

class Gateway final : public server::SessionHandler {
public:
    explicit Gateway(GatewayOptions opts);
    // Before the server starts: the node's hub, the delivery layer and the routing (presence,
    // rooms' home nodes; room messages from clients go through it).
    void attach(server::Hub& hub, ack::DeliveryHooks& hooks, router::Routing& routing);
    // Rooms' moderation (gateway_moderation.cpp): registers room.mute & co. and turns on the
    // checks of room.enter, room.chat and resumed rooms. Before the server starts.
    void set_moderation(router::RoomModeration& m);
    // Before the server starts: where room.like counts likes (router/room_likes). Without it
    // room.like answers UNAVAILABLE.
    void attach_likes(router::LikeCounter& likes) { likes_ = &likes; }

    // BIZ packets of these types, once handled successfully, go to `upstream` (the node
    // publishes them to Kafka for business services).
    using Upstream = std::function<void(const server::Session& s, const std::string& type,
                                        const std::string& data_json)>;
    void set_upstream(std::vector<std::string> types, Upstream upstream);
    // room.enter answers with the room's state from this node's cache (issue 14 item 5;
    // router/room_state_cache.hpp). Before the server starts; without it, no "state".
    void set_room_state(router::RoomStateCache& cache) { state_cache_ = &cache; }
    // What judges a room.chat before it is published (the plugins' filter_chat); null or
    // inactive: none. Call before the server starts.
    void set_chat_filter(ChatFilter* filter) noexcept { chat_filter_ = filter; }

    // Registers (or replaces) the handler of a BIZ type. Call before the server starts.
    void register_biz(const std::string& type, BizHandler h,
                      GuestAccess guests = GuestAccess::Closed);
    // The same for a handler that answers later (see AsyncBizCall); replaces a sync one.
    void register_biz_async(const std::string& type, AsyncBizHandler h,
                            GuestAccess guests = GuestAccess::Closed);

    void on_packet(server::Session& s, const server::Inbound& in) override;
    void on_closed(server::Session& s, server::CloseReason why) override;

    const GatewayStats& stats() const noexcept { return stats_; }
    server::MsgIdGenerator& msg_ids() noexcept { return msg_ids_; }
    // Construction-time options; the limits a reload changes are read through live_ instead.
    const GatewayOptions& options() const noexcept { return opts_; }

    // A configuration reload (app/reload, SIGHUP): the limits of `o` that may change live (the
    // rates, bounds and caps below) take effect for the next packet, each key as a whole; the
    // token rules are swapped as one (logins in flight finish with the rules they started with).
    // Thread-safe; sessions are untouched.
    void set_live_limits(const GatewayOptions& o);
    void set_jwt(auth::JwtPolicy policy);
    // The token rules in force (a reload starts the next ones from them).
    std::shared_ptr<const auth::JwtVerifier> jwt() const { return jwt_.load(); }

private:
    // Plain function pointers, not pointers to members: GCC's UBSan misreports the index of
    // an array of member-function pointers (and aborts the sanitizer build at the first login).
    using PacketFn = void (*)(Gateway&, server::Session&, const server::Inbound&);
    void on_login(server::Session& s, const server::Inbound& in);
    void on_heartbeat(server::Session& s, const server::Inbound& in);
    void on_biz(server::Session& s, const server::Inbound& in);
    void on_logout(server::Session& s, const server::Inbound& in);
    void on_ack(server::Session& s, const server::Inbound& in);
    void register_builtins();
    bool take_biz_token(server::Session& s);
    // The platform a login gets: req's, checked against the allowed set or the token's claim.
    // Empty with `refusal` set when refused.
    std::string login_platform(const std::string& asked, const auth::Claims& claims,
                               std::string& refusal) const;
    void refuse_login(server::Session& s, const server::Inbound& in, std::int32_t code,
                      std::string message);
    // An empty token with guests on (gateway_guests.cpp).
    void login_guest(server::Session& s, const server::Inbound& in,
                     const livepush::v1::LoginReq& req);
    // The rest of a login once the user is known: binds the session, answers LOGIN_RESULT,
    // routes, replays the inbox and the resumed room. `profile`: the token's profile claims as
    // canonical JSON (auth/profile.hpp); empty for none and for guests.
    void complete_login(server::Session& s, const server::Inbound& in,
                        const livepush::v1::LoginReq& req, std::uint64_t user_id, server::Role role,
                        std::string platform, std::string profile = {});
    void set_guest_access(const std::string& type, GuestAccess guests);
    // Empty when s may send a BIZ of `type`; else the NOT_ALLOWED message.
    std::string guest_refusal(const server::Session& s, const std::string& type) const;
    // The `done` of a BIZ answered later: posts finish_biz to s's loop.
    std::function<void(BizReply)> later_reply(server::Session& s, std::uint32_t seq,
                                              std::string type, std::string data_json);
    // Counts the reply, sends BIZ_RESULT and runs `after` and the upstream hook (on s's loop).
    void finish_biz(server::Session& s, std::uint32_t seq, const std::string& type, BizReply& reply,
                    const std::string& data_json, const server::Inbound* in);

    BizReply room_enter(BizCall& c);
    // Joins a room, with recovery when last_seq is given; fills out (room.enter's result data)
    // and returns the replay to send after the reply.
    // `home`: what the room's home node answered (elsewhere than the home; null on it).
    std::function<void()> enter_room(server::Session& s, std::uint64_t room,
                                     std::optional<std::uint64_t> last_seq,
                                     std::optional<std::uint64_t> epoch, boost::json::object& out,
                                     const router::HomeRoom* home = nullptr);
    // Elsewhere than the room's home (Routing::room_is_home false): asks the home first (never
    // blocking the loop), then on s's loop enters the room with the home's state and calls
    // `then` there.
    void enter_room_via_home(server::Session& s, std::uint64_t room,
                             std::optional<std::uint64_t> last_seq,
                             std::function<void(server::Session&, const router::HomeRoom*)> then);
    // Room state (gateway_room_state.cpp): calls `then` on s's loop once this node's copy of
    // the room's state is loaded (at once when it is); loads it when no member of the room is
    // on this node. Never blocks.
    void load_room_state(server::Session& s, std::uint64_t room,
                         std::function<void(server::Session&)> then);
    // Whether room.enter can answer now (the copy is loaded and kept fresh by members here).
    bool room_state_ready(std::uint64_t room) const;
    // The deferred end of room.enter, on s's loop: the room limit, the join, BIZ_RESULT.
    void finish_enter(server::Session& s, std::uint64_t room, std::optional<std::uint64_t> last_seq,
                      std::optional<std::uint64_t> epoch, std::uint32_t seq,
                      const std::string& data, const router::HomeRoom* home);
    BizReply room_leave(BizCall& c);
    // Moderation (gateway_moderation.cpp). moderate_enter: a refusal (ROOM_BANNED), a deferred
    // reply (the room is loaded first), or nothing (let in). admitted: then(s, banned or null)
    // on s's loop once the room is in the moderation cache. moderate_chat: a refusal or nothing;
    // shadow = only the sender may see the message (echo_to_sender).
    void moderate(router::ModAction action, AsyncBizCall call);
    std::optional<BizReply> moderate_enter(BizCall& c, std::uint64_t room);
    void admitted(server::Session& s, std::uint64_t room,
                  std::function<void(server::Session&, const router::ModVerdict*)> then);
    // staff: the room's anchor or a moderator (their chat is high: message classes).
    std::optional<BizReply> moderate_chat(BizCall& c, std::uint64_t room, bool& shadow,
                                          bool& staff);
    std::uint64_t echo_to_sender(server::Session& s, std::uint64_t room, std::uint64_t msg_id,
                                 const std::string& payload, std::uint64_t sent_at_ms);
    BizReply room_chat(BizCall& c);
    // A checked room.chat of s, published now (on s's loop); shadow: to s alone (moderation);
    // staff: class high, never shed by a viewer budget (server/msg_class.hpp).
    BizReply publish_chat(server::Session& s, std::uint64_t room, std::string_view text,
                          bool shadow = false, bool staff = false);
    // Asks the chat filter first, publishes on s's loop what it lets pass (gateway_chat_filter).
    BizReply filter_then_publish(BizCall& c, std::uint64_t room, std::string text,
                                 bool shadow = false, bool staff = false);
    BizReply scene_set(BizCall& c);
    BizReply im_send(BizCall& c);
    BizReply room_like(BizCall& c);  // gateway_likes.cpp

    // A number a reload may replace at any time: read once where used, relaxed (each limit is
    // independent of the others; a packet sees the old value or the new one, never half).
    struct Live {
        std::atomic<std::uint32_t> v{0};
        std::uint32_t operator()() const noexcept { return v.load(std::memory_order_relaxed); }
        void set(std::uint32_t n) noexcept { v.store(n, std::memory_order_relaxed); }
    };
    struct LiveLimits {
        Live max_rooms_per_session, biz_rate_per_s, max_sessions_per_user, ack_rate_per_s,
            max_ack_ids, im_rate_per_s, im_max_payload_bytes, room_chat_rate_per_s,
            guest_max_sessions, like_max_count, like_rate_per_s;
    };

    GatewayOptions opts_;
    LiveLimits live_;
    std::vector<std::string> platforms_;  // opts_.platforms, split
    ack::DeliveryHooks* hooks_ = nullptr;
    router::Routing* routing_ = nullptr;
    router::RoomModeration* moderation_ = nullptr;  // null: no moderation checks
    router::RoomStateCache* state_cache_ = nullptr;
    router::LikeCounter* likes_ = nullptr;
    std::vector<std::string> upstream_types_;
    Upstream upstream_;
    ChatFilter* chat_filter_ = nullptr;
    server::Hub* hub_ = nullptr;
    // The token rules, swapped whole by a reload. A mutex held for a pointer copy once per
    // LOGIN, not std::atomic<shared_ptr>: libstdc++ 12 builds that on a lock bit ThreadSanitizer
    // cannot see, and TSan reported the reload's store against a loop's load as a race.
    class SharedJwt {
    public:
        explicit SharedJwt(std::shared_ptr<const auth::JwtVerifier> v) : v_(std::move(v)) {}
        std::shared_ptr<const auth::JwtVerifier> load() const {
            std::lock_guard lock(m_);
            return v_;
        }
        void store(std::shared_ptr<const auth::JwtVerifier> v) {
            std::lock_guard lock(m_);
            v_.swap(v);
        }

    private:
        mutable std::mutex m_;
        std::shared_ptr<const auth::JwtVerifier> v_;
    };
    SharedJwt jwt_;
    server::MsgIdGenerator msg_ids_;
    PacketFn table_[5] = {};  // code - 1001
    std::unordered_map<std::string, BizHandler> biz_;
    std::unordered_map<std::string, AsyncBizHandler> async_biz_;
    std::unordered_set<std::string> guest_open_;  // BIZ types guests may send
    GatewayStats stats_;
    SenderRate im_rate_;
    SenderRate room_chat_rate_;  // keyed by room: room.chat_rate_per_s
};

}  // namespace lp::handlers
