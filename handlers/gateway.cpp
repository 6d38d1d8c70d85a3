// handlers/gateway: see gateway.hpp.
#include "handlers/gateway.hpp"

#include <algorithm>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>
#include <stdexcept>

#include "codec/envelope.hpp"
#include "codec/json_ids.hpp"
#include "codec/json_numbers.hpp"
#include "codec/wall_clock.hpp"
#include "handlers/biz_data.hpp"
#include "server/event_loop.hpp"
#include "server/guest_id.hpp"

namespace lp::handlers {

namespace pb = livepush::v1;
namespace json = boost::json;
using codec::Code;
using server::Inbound;
using server::Session;

namespace {

// A per-session token bucket of `rate` per second with a burst of the same size.
bool take_token(float& tokens, std::uint32_t& refill_ms, std::uint32_t rate_per_s) {
    if (rate_per_s == 0) return true;
    auto now = static_cast<std::uint32_t>(codec::wall_ms());
    float rate = static_cast<float>(rate_per_s);
    if (tokens < 0) {
        tokens = rate;
    } else {
        std::uint32_t elapsed = now - refill_ms;  // wraps correctly
        tokens = std::min(rate, tokens + rate * static_cast<float>(elapsed) / 1000.0f);
    }
    refill_ms = now;
    if (tokens < 1.0f) return false;
    tokens -= 1.0f;
    return true;
}

std::vector<std::string> split_platforms(const std::string& list) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= list.size()) {
        std::size_t comma = std::min(list.find(',', start), list.size());
        std::string item = list.substr(start, comma - start);
        item.erase(0, item.find_first_not_of(" \t"));
        item.erase(item.find_last_not_of(" \t") + 1);
        if (!item.empty()) out.push_back(item);
        start = comma + 1;
    }
    return out;
}

std::string join(const std::vector<std::string>& items) {
    std::string out;
    for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
    return out;
}

// The largest ACK body that can hold max_ids ids: protobuf spends at most 11 bytes an id
// (unpacked tag + 10-byte varint), a JSON envelope body about 24 ("\"18446744073709551615\",").
// A body beyond it is refused before it is parsed.
std::size_t max_ack_body(std::uint32_t max_ids, bool json) {
    return static_cast<std::size_t>(max_ids) * (json ? 32 : 11) + 64;
}

}  // namespace

Gateway::Gateway(GatewayOptions opts)
    : opts_(std::move(opts)),
      platforms_(split_platforms(opts_.platforms)),
      jwt_(std::make_shared<const auth::JwtVerifier>(opts_.jwt)),
      im_rate_(opts_.im_rate_per_s, 2 * opts_.im_rate_per_s),
      room_chat_rate_(opts_.room_chat_rate_per_s, opts_.room_chat_rate_per_s) {
    set_live_limits(opts_);
    if (platforms_.empty()) throw std::runtime_error("auth.platforms: needs at least one platform");
    for (const auto& p : platforms_)
        if (p.size() > 32)
            throw std::runtime_error("auth.platforms: \"" + p + "\" is longer than 32 bytes");
    table_[0] = [](Gateway& g, Session& s, const Inbound& in) { g.on_login(s, in); };
    table_[1] = [](Gateway& g, Session& s, const Inbound& in) { g.on_logout(s, in); };
    table_[2] = [](Gateway& g, Session& s, const Inbound& in) { g.on_biz(s, in); };
    table_[3] = [](Gateway& g, Session& s, const Inbound& in) { g.on_heartbeat(s, in); };
    table_[4] = [](Gateway& g, Session& s, const Inbound& in) { g.on_ack(s, in); };
    register_builtins();
}

void Gateway::set_live_limits(const GatewayOptions& o) {
    live_.max_rooms_per_session.set(o.max_rooms_per_session);
    live_.biz_rate_per_s.set(o.biz_rate_per_s);
    live_.max_sessions_per_user.set(o.max_sessions_per_user);
    live_.ack_rate_per_s.set(o.ack_rate_per_s);
    live_.max_ack_ids.set(o.max_ack_ids);
    live_.im_rate_per_s.set(o.im_rate_per_s);
    live_.im_max_payload_bytes.set(o.im_max_payload_bytes);
    live_.room_chat_rate_per_s.set(o.room_chat_rate_per_s);
    live_.guest_max_sessions.set(o.guest_max_sessions);
    live_.like_max_count.set(o.like_max_count);
    live_.like_rate_per_s.set(o.like_rate_per_s);
    im_rate_.set_rate(o.im_rate_per_s, 2 * o.im_rate_per_s);
    room_chat_rate_.set_rate(o.room_chat_rate_per_s, o.room_chat_rate_per_s);
}

void Gateway::set_jwt(auth::JwtPolicy policy) {
    jwt_.store(std::make_shared<const auth::JwtVerifier>(std::move(policy)));
}

void Gateway::attach(server::Hub& hub, ack::DeliveryHooks& hooks, router::Routing& routing) {
    hub_ = &hub;
    hooks_ = &hooks;
    routing_ = &routing;
}

void Gateway::register_biz(const std::string& type, BizHandler h, GuestAccess guests) {
    async_biz_.erase(type);
    biz_[type] = std::move(h);
    set_guest_access(type, guests);
}

void Gateway::register_biz_async(const std::string& type, AsyncBizHandler h, GuestAccess guests) {
    biz_.erase(type);
    async_biz_[type] = std::move(h);
    set_guest_access(type, guests);
}

void Gateway::register_builtins() {
    const auto open = GuestAccess::Open;
    register_biz(
        "room.enter", [this](BizCall& c) { return room_enter(c); }, open);
    register_biz(
        "room.leave", [this](BizCall& c) { return room_leave(c); }, open);
    register_biz("room.chat", [this](BizCall& c) { return room_chat(c); });
    register_biz(
        "scene.set", [this](BizCall& c) { return scene_set(c); }, open);
    register_biz("im.send", [this](BizCall& c) { return im_send(c); });
    register_biz(
        "room.like", [this](BizCall& c) { return room_like(c); },
        opts_.guests_may_like ? open : GuestAccess::Closed);
}

// ---------------------------------------------------------------- packets

void Gateway::on_packet(Session& s, const Inbound& in) {
    auto code = in.header.code;
    // Before login only LOGIN and HEARTBEAT are allowed (design.md section 3).
    if (!s.logged_in() && code != static_cast<std::uint16_t>(Code::Login) &&
        code != static_cast<std::uint16_t>(Code::Heartbeat)) {
        s.fail(pb::NOT_LOGGED_IN, std::string(codec::code_name(code)) + " before LOGIN", &in);
        return;
    }
    table_[code - 1001](*this, s, in);
}

void Gateway::on_login(Session& s, const Inbound& in) {
    pb::Result res;
    if (s.logged_in()) {
        res.set_code(pb::ALREADY_LOGGED_IN);
        res.set_message("this connection is already logged in as " + id_str(s.user.id));
        s.send(Code::LoginResult, in.header.seq, res, 0, &in);
        return;
    }
    // Before the token is verified: the rate bounds the signature checks one address can cause.
    if (auto* ip = s.loop().ip_limits(); ip && !ip->take_login(s.peer_ip(), codec::wall_ms())) {
        stats_.login_rate_limited.fetch_add(1, std::memory_order_relaxed);
        refuse_login(
            s, in, pb::LOGIN_RATE_LIMITED,
            "more than " + std::to_string(ip->options().login_rate_per_ip) +
                " logins per second from this address (server.login_rate_per_ip); retry later");
        return;
    }
    pb::LoginReq req;
    if (!codec::parse_body(in.body, in.json, req)) {
        stats_.login_failed[GatewayStats::kLoginBadBody].fetch_add(1, std::memory_order_relaxed);
        s.fail(pb::BAD_BODY, "LOGIN body is not a LoginReq", &in);
        return;
    }
    if (req.token().empty()) {
        if (opts_.guests) return login_guest(s, in, req);
        stats_.guest_refused[0].fetch_add(
            1, std::memory_order_relaxed);  // then refused as a bad token
    }
    auth::Claims claims;
    auto err = jwt_.load()->verify(req.token(), static_cast<std::int64_t>(codec::wall_ms() / 1000),
                                   claims);
    if (err == auth::JwtError::None && claims.by_previous_key)
        stats_.login_previous_key.fetch_add(1, std::memory_order_relaxed);
    if (err != auth::JwtError::None) {
        stats_.login_failed[static_cast<int>(err)].fetch_add(1, std::memory_order_relaxed);
        res.set_code(err == auth::JwtError::Expired        ? pb::TOKEN_EXPIRED
                     : err == auth::JwtError::NoSubject    ? pb::TOKEN_NO_SUBJECT
                     : err == auth::JwtError::BadIssuer    ? pb::TOKEN_BAD_ISSUER
                     : err == auth::JwtError::BadAudience  ? pb::TOKEN_BAD_AUDIENCE
                     : err == auth::JwtError::TooLongLived ? pb::TOKEN_TOO_LONG_LIVED
                     : err == auth::JwtError::BadProfile   ? pb::TOKEN_BAD_PROFILE
                                                           : pb::TOKEN_INVALID);
        res.set_message(err == auth::JwtError::BadProfile
                            ? "token refused: profile claim " + claims.profile_error
                            : std::string("token refused: ") + std::string(auth::to_string(err)));
        res.set_server_time_ms(codec::wall_ms());
        s.send(Code::LoginResult, in.header.seq, res, 0, &in);
        s.close_after_flush(server::CloseReason::ProtocolError);
        return;
    }
    if (opts_.guests && server::is_guest_id(claims.user_id)) {
        stats_.login_failed[static_cast<int>(auth::JwtError::NoSubject)].fetch_add(
            1, std::memory_order_relaxed);
        refuse_login(s, in, pb::TOKEN_NO_SUBJECT,
                     "token refused: sub " + id_str(claims.user_id) +
                         " is in the guest id range (>= 2^63), reserved while auth.guests is on");
        return;
    }
    std::string refusal;
    std::string platform = login_platform(req.platform(), claims, refusal);
    if (platform.empty()) {
        stats_.bad_platform.fetch_add(1, std::memory_order_relaxed);
        refuse_login(s, in, pb::BAD_PLATFORM, std::move(refusal));
        return;
    }
    complete_login(s, in, req, claims.user_id, server::role_from(claims.role), std::move(platform),
                   std::move(claims.profile));
    if (opts_.expire_sessions && !s.closing()) {
        // The same instant login refuses the token from: exp + leeway (seconds), in ms from now.
        // An exp over a year away (only with auth.max_token_ttl_s = 0) is not scheduled: no
        // arithmetic on a huge exp, and such a token is meant to outlive any session.
        const std::int64_t leeway = std::max<std::int64_t>(0, jwt_.load()->policy().leeway_s);
        const std::int64_t now_ms = static_cast<std::int64_t>(codec::wall_ms());
        constexpr std::int64_t kMaxS = 366LL * 86400;
        const std::int64_t left_s =
            std::clamp<std::int64_t>(claims.exp - now_ms / 1000 + leeway, -1, kMaxS);
        if (left_s < kMaxS)
            s.expire_after(std::chrono::milliseconds(
                std::max<std::int64_t>(0, (now_ms / 1000 + left_s + 1) * 1000 - now_ms)));
    }
}

void Gateway::complete_login(Session& s, const Inbound& in, const pb::LoginReq& req,
                             std::uint64_t user_id, server::Role role, std::string platform,
                             std::string profile) {
    pb::Result res;
    s.user.id = user_id;
    s.user.role = role;
    s.user.platform = std::move(platform);
    if (!profile.empty()) s.user.profile = std::make_shared<const std::string>(std::move(profile));
    s.set_logged_in(in);
    stats_.login_ok.fetch_add(1, std::memory_order_relaxed);

    // One session per (user, platform): the newcomer wins, the old one is told why. Over
    // max_sessions_per_user the newcomer wins too and the user's oldest session is kicked:
    // the newest login is almost always the device in the user's hand, while the oldest is
    // often a dead connection (a phone that changed network) the heartbeat has not timed out
    // yet. Refusing instead would lock a user out behind their own stale sessions, and let a
    // stolen token hold every slot; kicking the oldest bounds the sessions just as well.
    auto kick = [&s](const std::shared_ptr<Session>& old, const char* reason) {
        auto& old_loop = old->loop();
        if (&old_loop == &s.loop()) {
            old->kick(reason);
        } else {
            boost::asio::post(old_loop.io(), [old, reason] { old->kick(reason); });
        }
    };
    auto bound = hub_->bind_user(s, live_.max_sessions_per_user());
    if (bound.replaced) {
        stats_.kicked_replaced.fetch_add(1, std::memory_order_relaxed);
        kick(bound.replaced, "replaced");
    }
    if (bound.evicted) {
        stats_.kicked_too_many_sessions.fetch_add(1, std::memory_order_relaxed);
        kick(bound.evicted, "too_many_sessions");
    }

    res.set_code(pb::OK);
    res.set_user_id(s.user.id);
    res.set_role(std::string(server::to_string(s.user.role)));
    res.set_node_id(opts_.node_id);
    res.set_heartbeat_interval_ms(static_cast<std::uint32_t>(opts_.heartbeat_interval.count()));
    res.set_server_time_ms(codec::wall_ms());
    s.send(Code::LoginResult, in.header.seq, res, 0, &in);

    routing_->on_login(s);
    // Inbox first (qos1 messages that waited for this login), then the room's missed messages.
    hooks_->on_login(s);
    if (req.has_resume() && req.resume().room_id() != 0) {
        const std::uint64_t room = req.resume().room_id(), last_seq = req.resume().last_seq();
        auto resume = [this, room, last_seq](Session& s, const router::HomeRoom* home) {
            json::object ignored;
            auto replay = enter_room(s, room, last_seq, std::nullopt, ignored, home);
            if (replay) replay();
        };
        // A user banned from the room is not resumed into it (room.enter tells them why).
        admitted(s, room,
                 [this, room, last_seq, resume](Session& s, const router::ModVerdict* ban) {
                     if (ban) return;
                     if (!routing_->room_is_home(room))
                         enter_room_via_home(s, room, last_seq, resume);
                     else
                         resume(s, nullptr);
                 });
    }
}

std::string Gateway::login_platform(const std::string& asked, const auth::Claims& claims,
                                    std::string& refusal) const {
    if (!claims.platform.empty()) {
        if (asked.empty() || asked == claims.platform) return claims.platform.substr(0, 32);
        refusal = "platform \"" + asked.substr(0, 32) + "\" is not the token's platform \"" +
                  claims.platform.substr(0, 32) + "\"";
        return {};
    }
    if (std::find(platforms_.begin(), platforms_.end(), asked) != platforms_.end()) return asked;
    // An empty platform is refused rather than defaulted: a default would silently replace the
    // user's real session on that platform.
    refusal = (asked.empty() ? std::string("LoginReq.platform is required")
                             : "platform \"" + asked.substr(0, 32) + "\" is not allowed") +
              "; use one of: " + join(platforms_);
    return {};
}

void Gateway::refuse_login(Session& s, const Inbound& in, std::int32_t code, std::string message) {
    pb::Result res;
    res.set_code(code);
    res.set_message(std::move(message));
    res.set_server_time_ms(codec::wall_ms());
    s.send(Code::LoginResult, in.header.seq, res, 0, &in);
    s.close_after_flush(server::CloseReason::ProtocolError);
}

void Gateway::on_heartbeat(Session& s, const Inbound& in) {
    stats_.heartbeats.fetch_add(1, std::memory_order_relaxed);
    pb::Result res;
    res.set_code(pb::OK);
    res.set_server_time_ms(codec::wall_ms());
    s.send(Code::Pong, in.header.seq, res, 0, &in);
}

void Gateway::on_logout(Session& s, const Inbound& in) {
    pb::Result res;
    res.set_code(pb::OK);
    s.send(Code::LogoutResult, in.header.seq, res, 0, &in);
    s.close_after_flush(server::CloseReason::Logout);
}

// An ACK has no reply, so a limit can only be told by ERROR and close. Both limits are far
// above what a client that acks what it receives ever needs: it never has more than
// delivery.window messages in flight, and an ACK that acks something in flight is free (the
// server sent those, so they are bounded by what it sends); only ACKs that ack nothing in
// flight, the flood, take a token.
void Gateway::on_ack(Session& s, const Inbound& in) {
    const std::uint32_t max_ids = live_.max_ack_ids();
    auto too_many = [&] {
        stats_.ack_too_many_ids.fetch_add(1, std::memory_order_relaxed);
        s.fail(
            pb::ACK_TOO_MANY_IDS,
            "an ACK may list at most " + std::to_string(max_ids) + " msg ids (server.max_ack_ids)",
            &in);
    };
    if (max_ids && in.body.size() > max_ack_body(max_ids, in.json)) return too_many();
    pb::Ack ack;
    if (!codec::parse_body(in.body, in.json, ack)) {
        s.fail(pb::BAD_BODY, "ACK body is not an Ack", &in);
        return;
    }
    if (max_ids && static_cast<std::uint32_t>(ack.msg_ids_size()) > max_ids) return too_many();
    if (hooks_->on_ack(s, ack) == 0 &&
        !take_token(s.user.ack_tokens, s.user.ack_refill_ms, live_.ack_rate_per_s())) {
        stats_.ack_rate_limited.fetch_add(1, std::memory_order_relaxed);
        s.fail(pb::ACK_RATE_LIMITED,
               "more than " + std::to_string(live_.ack_rate_per_s()) +
                   " ACKs per second that ack nothing in flight (server.ack_rate_per_s)",
               &in);
    }
}

void Gateway::on_biz(Session& s, const Inbound& in) {
    pb::BizReq req;
    if (!codec::parse_body(in.body, in.json, req)) {
        // On a JSON session "data" is the JSON value itself (v1.1) or, for old clients, a
        // base64 string; the message names both so either kind of client sees what to fix.
        s.fail(pb::BAD_BODY,
               in.json
                   ? "BIZ body is not a BizReq: {\"type\": string, \"data\": the JSON value, e.g. "
                     "{\"room_id\":1}, or base64 of its UTF-8 text (a string, the v1.0 form), or "
                     "\"dataB64\": base64, never both}"
                   : "BIZ body is not a BizReq",
               &in);
        return;
    }
    BizReply reply;
    auto it = biz_.find(req.type());
    auto async = it == biz_.end() ? async_biz_.find(req.type()) : async_biz_.end();
    if (!take_biz_token(s)) {
        stats_.biz_rate_limited.fetch_add(1, std::memory_order_relaxed);
        reply =
            error_reply(pb::RATE_LIMITED, "more than " + std::to_string(live_.biz_rate_per_s()) +
                                              " BIZ packets per second; slow down");
    } else if (it == biz_.end() && async == async_biz_.end()) {
        reply = error_reply(pb::UNKNOWN_BIZ_TYPE,
                            "unknown BIZ type \"" + req.type().substr(0, 64) + "\"");
    } else if (std::string why = guest_refusal(s, req.type()); !why.empty()) {
        stats_.guest_biz_refused.fetch_add(1, std::memory_order_relaxed);
        reply = error_reply(pb::NOT_ALLOWED, std::move(why));
    } else {
        json::object data;
        bool ok = true;
        if (!req.data().empty()) {
            boost::system::error_code ec;
            json::value v = json::parse(req.data(), ec);
            if (ec || !v.is_object() || !codec::finite_numbers(v))
                ok = false;  // a number beyond the double range could not be written back
            else
                data = std::move(v.get_object());
        }
        if (!ok) {
            reply = error_reply(pb::BAD_BIZ_DATA, req.type() + ": data must be a JSON object");
        } else if (it == biz_.end()) {
            // Answered later, on this loop, if the session is still there by then.
            AsyncBizCall call{s.user.id, s.user.role, req.type(), req.data(), {}};
            call.done = later_reply(s, in.header.seq, req.type(), req.data());
            try {
                async->second(std::move(call));
            } catch (const std::exception&) {
                reply = error_reply(pb::INTERNAL, req.type() + ": internal error");
                finish_biz(s, in.header.seq, req.type(), reply, req.data(), &in);
            }
            return;
        } else {
            BizCall call{s, in, req, data};
            try {
                reply = it->second(call);
            } catch (const std::exception& e) {
                reply = error_reply(pb::INTERNAL, req.type() + ": internal error");
            }
            if (reply.defer) {
                auto defer = std::move(reply.defer);
                defer(later_reply(s, in.header.seq, req.type(), req.data()));
                return;
            }
        }
    }
    finish_biz(s, in.header.seq, req.type(), reply, req.data(), &in);
}

std::function<void(BizReply)> Gateway::later_reply(Session& s, std::uint32_t seq, std::string type,
                                                   std::string data_json) {
    std::weak_ptr<Session> weak = s.shared_from_this();
    auto& io = s.loop().io();
    return [this, weak, &io, seq, type = std::move(type),
            data = std::move(data_json)](BizReply r) mutable {
        boost::asio::post(io, [this, weak, seq, type = std::move(type), data = std::move(data),
                               r = std::move(r)]() mutable {
            if (auto sp = weak.lock(); sp && !sp->closing())
                finish_biz(*sp, seq, type, r, data, nullptr);
        });
    };
}

void Gateway::finish_biz(Session& s, std::uint32_t seq, const std::string& type, BizReply& reply,
                         const std::string& data_json, const Inbound* in) {
    stats_.biz[reply.code == 0 ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
    if (s.closing()) return;
    pb::Result res;
    res.set_code(reply.code);
    res.set_message(std::move(reply.message));
    res.set_type(type);
    // Result.data is always a JSON object, "{}" when the handler (or an error) has nothing to say.
    res.set_data(reply.data_json.empty() ? std::string("{}") : std::move(reply.data_json));
    if (reply.msg_id) res.set_msg_id(reply.msg_id);
    s.send(Code::BizResult, seq, res, 0, in);
    if (reply.after) reply.after();
    if (reply.code == 0 && upstream_ &&
        std::find(upstream_types_.begin(), upstream_types_.end(), type) != upstream_types_.end())
        upstream_(s, type, data_json);
}

void Gateway::set_upstream(std::vector<std::string> types, Upstream upstream) {
    upstream_types_ = std::move(types);
    upstream_ = std::move(upstream);
}

bool Gateway::take_biz_token(Session& s) {
    return take_token(s.user.biz_tokens, s.user.biz_refill_ms, live_.biz_rate_per_s());
}

void Gateway::on_closed(Session& s, server::CloseReason why) {
    if (!s.logged_in()) return;
    if (s.user.role == server::Role::Guest)
        stats_.guest_sessions.fetch_sub(1, std::memory_order_relaxed);
    hub_->leave_all_rooms(s);
    hub_->unbind_user(s);
    routing_->on_logout(s);
    hooks_->on_closed(s);
}

// ---------------------------------------------------------------- built-in BIZ types

BizReply Gateway::scene_set(BizCall& c) {
    const json::value* scene = c.data.if_contains("scene");
    if (!scene || !scene->is_string() || scene->get_string().empty() ||
        scene->get_string().size() > 32)
        return error_reply(pb::BAD_BIZ_DATA, "scene.set needs a scene name (1..32 bytes)");
    c.session.user.scene = std::string(scene->get_string());
    return {};
}

BizReply Gateway::im_send(BizCall& c) {
    std::uint64_t to = 0;
    if (!read_id(c.data, "to", to))
        return error_reply(pb::BAD_BIZ_DATA, "im.send needs to (a user id)");
    // A guest id is spent with its session: a private message to it could only fill an inbox
    // nobody will read.
    if (opts_.guests && server::is_guest_id(to))
        return error_reply(pb::NOT_ALLOWED,
                           "guests cannot receive private messages (im.send to a guest id)");
    const json::value* payload = c.data.if_contains("payload");
    if (!payload) return error_reply(pb::BAD_BIZ_DATA, "im.send needs a payload");
    const std::size_t payload_bytes = json::serialize(*payload).size();
    if (live_.im_max_payload_bytes() && payload_bytes > live_.im_max_payload_bytes()) {
        stats_.im_refused[1].fetch_add(1, std::memory_order_relaxed);
        return error_reply(pb::PAYLOAD_TOO_LARGE,
                           "im.send payload is " + std::to_string(payload_bytes) +
                               " bytes, over the limit im.max_payload_bytes = " +
                               std::to_string(live_.im_max_payload_bytes()));
    }
    if (!im_rate_.take(c.session.user.id, codec::wall_ms())) {
        stats_.im_refused[0].fetch_add(1, std::memory_order_relaxed);
        return error_reply(pb::IM_RATE_LIMITED,
                           "more than im.rate_per_s = " + std::to_string(live_.im_rate_per_s()) +
                               " im.send per second per user; slow down");
    }
    json::object body;
    body["from"] = id_str(c.session.user.id);
    body["payload"] = *payload;
    ack::PrivateMessage m;
    m.from = c.session.user.id;
    m.to = to;
    m.msg_id = msg_ids_.next();
    m.type = "im.message";
    m.payload = codec::plain_json(body);  // the sender's 1.5 stays 1.5, not 1.5E0
    // Stored and routed by the delivery hooks, which may block on the store: answered later.
    BizReply r;
    r.defer = [this, m = std::move(m)](std::function<void(BizReply)> done) mutable {
        const std::uint64_t msg_id = m.msg_id, to = m.to;
        hooks_->send_private(std::move(m), [this, done = std::move(done), msg_id,
                                            to](ack::PrivateResult pr) {
            BizReply r;
            using St = ack::PrivateResult::Status;
            switch (pr.status) {
                case St::Accepted: {
                    r.msg_id = msg_id;
                    json::object out;
                    out["to"] = id_str(to);
                    out["online_sessions"] = pr.sessions;
                    r.data_json = json::serialize(out);
                    break;
                }
                case St::ShareFull:
                    stats_.im_refused[2].fetch_add(1, std::memory_order_relaxed);
                    r = error_reply(pb::INBOX_SHARE_FULL,
                                    "user " + id_str(to) +
                                        "'s inbox holds delivery.inbox_max_per_sender messages "
                                        "from you already; not stored (wait until they read them)");
                    break;
                case St::Unavailable:
                    stats_.im_refused[3].fetch_add(1, std::memory_order_relaxed);
                    r = error_reply(pb::UNAVAILABLE,
                                    "the message store is unavailable: the message was not "
                                    "stored and not delivered; try again");
                    break;
                case St::Busy:
                    stats_.im_refused[4].fetch_add(1, std::memory_order_relaxed);
                    r = error_reply(
                        pb::BUSY,
                        "the node's im.send workers are overloaded; not stored, retry later");
                    break;
            }
            done(std::move(r));
        });
    };
    return r;
}

}  // namespace lp::handlers
