// handlers/gateway: see gateway.hpp.
#include "handlers/gateway.hpp"

#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <algorithm>
#include <charconv>

#include "codec/envelope.hpp"
#include "codec/json_numbers.hpp"
#include "server/event_loop.hpp"
#include "server/room_fanout.hpp"

namespace lp::handlers {

namespace pb = livepush::v1;
namespace json = boost::json;
using codec::Code;
using server::Inbound;
using server::Session;

std::uint64_t now_ms() noexcept {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                          std::chrono::system_clock::now().time_since_epoch())
                                          .count());
}

namespace {

// An unsigned 64-bit JSON number or decimal string.
bool read_u64(const json::object& o, std::string_view key, std::uint64_t& out) {
    const json::value* v = o.if_contains(key);
    if (!v) return false;
    if (v->is_uint64()) {
        out = v->get_uint64();
    } else if (v->is_int64()) {
        if (v->get_int64() < 0) return false;
        out = static_cast<std::uint64_t>(v->get_int64());
    } else if (v->is_string()) {
        const auto& s = v->get_string();
        auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
        if (ec != std::errc() || p != s.data() + s.size() || s.empty()) return false;
    } else {
        return false;
    }
    return true;
}

// A user or room id: as read_u64, and non-zero.
bool read_id(const json::object& o, std::string_view key, std::uint64_t& out) {
    return read_u64(o, key, out) && out != 0;
}

BizReply error_reply(std::int32_t code, std::string message) {
    BizReply r;
    r.code = code;
    r.message = std::move(message);
    return r;
}

std::string id_str(std::uint64_t id) { return std::to_string(id); }

}  // namespace

Gateway::Gateway(GatewayOptions opts)
    : opts_(std::move(opts)), jwt_(opts_.jwt) {
    table_[0] = [](Gateway& g, Session& s, const Inbound& in) { g.on_login(s, in); };
    table_[1] = [](Gateway& g, Session& s, const Inbound& in) { g.on_logout(s, in); };
    table_[2] = [](Gateway& g, Session& s, const Inbound& in) { g.on_biz(s, in); };
    table_[3] = [](Gateway& g, Session& s, const Inbound& in) { g.on_heartbeat(s, in); };
    table_[4] = [](Gateway& g, Session& s, const Inbound& in) { g.on_ack(s, in); };
    register_builtins();
}

void Gateway::attach(server::Hub& hub, ack::DeliveryHooks& hooks, router::Presence* presence) {
    hub_ = &hub;
    hooks_ = &hooks;
    presence_ = presence;
}

void Gateway::register_biz(const std::string& type, BizHandler h) {
    async_biz_.erase(type);
    biz_[type] = std::move(h);
}

void Gateway::register_biz_async(const std::string& type, AsyncBizHandler h) {
    biz_.erase(type);
    async_biz_[type] = std::move(h);
}

void Gateway::register_builtins() {
    register_biz("room.enter", [this](BizCall& c) { return room_enter(c); });
    register_biz("room.leave", [this](BizCall& c) { return room_leave(c); });
    register_biz("room.chat", [this](BizCall& c) { return room_chat(c); });
    register_biz("scene.set", [this](BizCall& c) { return scene_set(c); });
    register_biz("im.send", [this](BizCall& c) { return im_send(c); });
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
    pb::LoginReq req;
    if (!codec::parse_body(in.body, in.json, req)) {
        stats_.login_failed[GatewayStats::kLoginBadBody].fetch_add(1, std::memory_order_relaxed);
        s.fail(pb::BAD_BODY, "LOGIN body is not a LoginReq", &in);
        return;
    }
    auth::Claims claims;
    auto err = jwt_.verify(req.token(), static_cast<std::int64_t>(now_ms() / 1000), claims);
    if (err != auth::JwtError::None) {
        stats_.login_failed[static_cast<int>(err)].fetch_add(1, std::memory_order_relaxed);
        res.set_code(err == auth::JwtError::Expired        ? pb::TOKEN_EXPIRED
                     : err == auth::JwtError::NoSubject     ? pb::TOKEN_NO_SUBJECT
                     : err == auth::JwtError::BadIssuer     ? pb::TOKEN_BAD_ISSUER
                     : err == auth::JwtError::BadAudience   ? pb::TOKEN_BAD_AUDIENCE
                     : err == auth::JwtError::TooLongLived  ? pb::TOKEN_TOO_LONG_LIVED
                                                            : pb::TOKEN_INVALID);
        res.set_message(std::string("token refused: ") + std::string(auth::to_string(err)));
        res.set_server_time_ms(now_ms());
        s.send(Code::LoginResult, in.header.seq, res, 0, &in);
        s.close_after_flush(server::CloseReason::ProtocolError);
        return;
    }
    s.user.id = claims.user_id;
    s.user.role = server::role_from(claims.role);
    s.user.platform = req.platform().empty() ? "app" : req.platform().substr(0, 32);
    s.set_logged_in(in);
    stats_.login_ok.fetch_add(1, std::memory_order_relaxed);

    // One session per (user, platform): the newcomer wins, the old one is told why.
    if (auto old = hub_->bind_user(s)) {
        stats_.kicked_replaced.fetch_add(1, std::memory_order_relaxed);
        auto& old_loop = old->loop();
        if (&old_loop == &s.loop()) {
            old->kick("replaced");
        } else {
            boost::asio::post(old_loop.io(), [old] { old->kick("replaced"); });
        }
    }

    res.set_code(pb::OK);
    res.set_user_id(s.user.id);
    res.set_node_id(opts_.node_id);
    res.set_heartbeat_interval_ms(static_cast<std::uint32_t>(opts_.heartbeat_interval.count()));
    res.set_server_time_ms(now_ms());
    s.send(Code::LoginResult, in.header.seq, res, 0, &in);

    if (presence_) presence_->on_login(s);
    // Inbox first (qos1 messages that waited for this login), then the room's missed messages.
    hooks_->on_login(s);
    if (req.has_resume() && req.resume().room_id() != 0) {
        json::object ignored;
        auto replay = enter_room(s, req.resume().room_id(), req.resume().last_seq(), std::nullopt, ignored);
        if (replay) replay();
    }
}

void Gateway::on_heartbeat(Session& s, const Inbound& in) {
    stats_.heartbeats.fetch_add(1, std::memory_order_relaxed);
    pb::Result res;
    res.set_code(pb::OK);
    res.set_server_time_ms(now_ms());
    s.send(Code::Pong, in.header.seq, res, 0, &in);
}

void Gateway::on_logout(Session& s, const Inbound& in) {
    pb::Result res;
    res.set_code(pb::OK);
    s.send(Code::LogoutResult, in.header.seq, res, 0, &in);
    s.close_after_flush(server::CloseReason::Logout);
}

void Gateway::on_ack(Session& s, const Inbound& in) {
    pb::Ack ack;
    if (!codec::parse_body(in.body, in.json, ack)) {
        s.fail(pb::BAD_BODY, "ACK body is not an Ack", &in);
        return;
    }
    hooks_->on_ack(s, ack);
}

void Gateway::on_biz(Session& s, const Inbound& in) {
    pb::BizReq req;
    if (!codec::parse_body(in.body, in.json, req)) {
        s.fail(pb::BAD_BODY, "BIZ body is not a BizReq", &in);
        return;
    }
    BizReply reply;
    auto it = biz_.find(req.type());
    auto async = it == biz_.end() ? async_biz_.find(req.type()) : async_biz_.end();
    if (!take_biz_token(s)) {
        stats_.biz_rate_limited.fetch_add(1, std::memory_order_relaxed);
        reply = error_reply(pb::RATE_LIMITED, "more than " + std::to_string(opts_.biz_rate_per_s) +
                                                  " BIZ packets per second; slow down");
    } else if (it == biz_.end() && async == async_biz_.end()) {
        reply = error_reply(pb::UNKNOWN_BIZ_TYPE, "unknown BIZ type \"" + req.type().substr(0, 64) + "\"");
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
            std::weak_ptr<Session> weak = s.shared_from_this();
            auto& io = s.loop().io();
            const std::uint32_t seq = in.header.seq;
            AsyncBizCall call{s.user.id, s.user.role, req.type(), req.data(), {}};
            call.done = [this, weak, &io, seq, type = req.type(), data = req.data()](BizReply r) mutable {
                boost::asio::post(io, [this, weak, seq, type = std::move(type), data = std::move(data),
                                       r = std::move(r)]() mutable {
                    if (auto sp = weak.lock(); sp && !sp->closing()) finish_biz(*sp, seq, type, r, data, nullptr);
                });
            };
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
        }
    }
    finish_biz(s, in.header.seq, req.type(), reply, req.data(), &in);
}

void Gateway::finish_biz(Session& s, std::uint32_t seq, const std::string& type, BizReply& reply,
                         const std::string& data_json, const Inbound* in) {
    stats_.biz[reply.code == 0 ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
    if (s.closing()) return;
    pb::Result res;
    res.set_code(reply.code);
    res.set_message(std::move(reply.message));
    res.set_type(type);
    if (!reply.data_json.empty()) res.set_data(std::move(reply.data_json));
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
    if (opts_.biz_rate_per_s == 0) return true;
    auto now = static_cast<std::uint32_t>(now_ms());
    float rate = static_cast<float>(opts_.biz_rate_per_s);
    auto& u = s.user;
    if (u.biz_tokens < 0) {
        u.biz_tokens = rate;
    } else {
        std::uint32_t elapsed = now - u.biz_refill_ms;  // wraps correctly
        u.biz_tokens = std::min(rate, u.biz_tokens + rate * static_cast<float>(elapsed) / 1000.0f);
    }
    u.biz_refill_ms = now;
    if (u.biz_tokens < 1.0f) return false;
    u.biz_tokens -= 1.0f;
    return true;
}

void Gateway::on_closed(Session& s, server::CloseReason why) {
    if (!s.logged_in()) return;
    hub_->leave_all_rooms(s);
    hub_->unbind_user(s);
    if (presence_) presence_->on_logout(s);
    hooks_->on_closed(s);
}

// ---------------------------------------------------------------- built-in BIZ types

BizReply Gateway::room_enter(BizCall& c) {
    std::uint64_t room = 0;
    if (!read_id(c.data, "room_id", room)) return error_reply(pb::BAD_BIZ_DATA, "room.enter needs room_id");
    bool member = false;
    for (const auto& r : c.session.rooms) member |= r.room_id == room;
    if (!member && c.session.rooms.size() >= opts_.max_rooms_per_session)
        return error_reply(pb::ROOM_LIMIT, "a session may be in at most " +
                                               std::to_string(opts_.max_rooms_per_session) + " rooms");
    std::optional<std::uint64_t> last_seq, epoch;
    std::uint64_t v = 0;
    if (c.data.contains("last_seq")) {
        if (!read_u64(c.data, "last_seq", v))
            return error_reply(pb::BAD_BIZ_DATA, "room.enter last_seq must be an unsigned integer");
        last_seq = v;
    }
    if (c.data.contains("epoch")) {
        if (!read_u64(c.data, "epoch", v)) return error_reply(pb::BAD_BIZ_DATA, "room.enter epoch must be an unsigned integer");
        epoch = v;
    }
    json::object out;
    BizReply r;
    r.after = enter_room(c.session, room, last_seq, epoch, out);
    r.data_json = json::serialize(out);
    return r;
}

std::function<void()> Gateway::enter_room(Session& s, std::uint64_t room,
                                          std::optional<std::uint64_t> last_seq,
                                          std::optional<std::uint64_t> epoch, json::object& out) {
    auto join = hub_->join_room(s, room, last_seq, epoch);
    out["room_id"] = id_str(room);
    out["online"] = join.state.online;
    out["room_seq"] = join.state.seq;
    out["epoch"] = join.state.epoch;
    if (!join.recovery_asked) return {};
    out["recovered"] = join.recovered;
    out["replayed"] = join.replay.size();
    stats_.recovery[join.recovered ? 0 : 1].fetch_add(1, std::memory_order_relaxed);
    if (join.replay.empty()) return {};
    stats_.recovered_messages.fetch_add(join.replay.size(), std::memory_order_relaxed);
    return [&s, replay = std::move(join.replay)] { server::replay_to(s, replay); };
}

BizReply Gateway::room_leave(BizCall& c) {
    std::uint64_t room = 0;
    if (!read_id(c.data, "room_id", room)) return error_reply(pb::BAD_BIZ_DATA, "room.leave needs room_id");
    if (!hub_->leave_room(c.session, room)) return error_reply(pb::NOT_IN_ROOM, "not in room " + id_str(room));
    json::object out;
    out["room_id"] = id_str(room);
    out["online"] = hub_->room_state(room).online;
    BizReply r;
    r.data_json = json::serialize(out);
    return r;
}

BizReply Gateway::room_chat(BizCall& c) {
    std::uint64_t room = 0;
    if (!read_id(c.data, "room_id", room)) return error_reply(pb::BAD_BIZ_DATA, "room.chat needs room_id");
    const json::value* text = c.data.if_contains("text");
    if (!text || !text->is_string() || text->get_string().empty())
        return error_reply(pb::BAD_BIZ_DATA, "room.chat needs a non-empty text");
    if (text->get_string().size() > opts_.max_chat_bytes)
        return error_reply(pb::BAD_BIZ_DATA, "room.chat text is longer than " +
                                                 std::to_string(opts_.max_chat_bytes) + " bytes");
    bool member = false;
    for (const auto& r : c.session.rooms) member |= r.room_id == room;
    if (!member) return error_reply(pb::NOT_IN_ROOM, "room.chat: not in room " + id_str(room));

    json::object payload;
    payload["from"] = id_str(c.session.user.id);
    payload["text"] = text->get_string();
    std::string payload_json = json::serialize(payload);
    std::uint64_t msg_id = msg_ids_.next();
    std::uint64_t sent = now_ms();
    std::uint64_t seq = 0;
    if (room_publisher_) {
        seq = room_publisher_(room, msg_id, "room.chat", payload_json, sent);
    } else {
        seq = hub_->publish_room(room, [&](std::uint64_t s) {
                       auto push = std::make_shared<pb::Push>();
                       push->set_msg_id(msg_id);
                       push->set_type("room.chat");
                       push->set_room_id(room);
                       push->set_room_seq(s);
                       push->set_payload(payload_json);
                       push->set_sent_at_ms(sent);
                       return server::SharedPacket{Code::Push, 0, std::move(push)};
                   }).seq;
    }
    stats_.room_chat.fetch_add(1, std::memory_order_relaxed);
    json::object out;
    out["room_id"] = id_str(room);
    if (seq) out["room_seq"] = seq;  // unknown here when another node is the room's home
    BizReply r;
    r.msg_id = msg_id;
    r.data_json = json::serialize(out);
    return r;
}

BizReply Gateway::scene_set(BizCall& c) {
    const json::value* scene = c.data.if_contains("scene");
    if (!scene || !scene->is_string() || scene->get_string().empty() || scene->get_string().size() > 32)
        return error_reply(pb::BAD_BIZ_DATA, "scene.set needs a scene name (1..32 bytes)");
    c.session.user.scene = std::string(scene->get_string());
    return {};
}

BizReply Gateway::im_send(BizCall& c) {
    std::uint64_t to = 0;
    if (!read_id(c.data, "to", to)) return error_reply(pb::BAD_BIZ_DATA, "im.send needs to (a user id)");
    const json::value* payload = c.data.if_contains("payload");
    if (!payload) return error_reply(pb::BAD_BIZ_DATA, "im.send needs a payload");
    json::object body;
    body["from"] = id_str(c.session.user.id);
    body["payload"] = *payload;
    BizReply r;
    r.msg_id = msg_ids_.next();
    std::uint64_t reached = hooks_->send_private(to, r.msg_id, "im.message", json::serialize(body));
    json::object out;
    out["to"] = id_str(to);
    out["online_sessions"] = reached;
    r.data_json = json::serialize(out);
    return r;
}

}  // namespace lp::handlers
