// server/session: transport-independent session logic: decoding, the WebSocket upgrade and
// protocol, the send queue and its bound, deadlines, closing. The socket work is in
// transport.cpp.
#include "server/session.hpp"

#include <algorithm>

#include "codec/envelope.hpp"
#include "codec/wall_clock.hpp"
#include "livepush.pb.h"
#include "server/event_loop.hpp"
#include "server/ws_upgrade.hpp"

namespace lp::server {

namespace pb = livepush::v1;

namespace {

std::int32_t error_code_for(codec::DecodeError e) {
    switch (e) {
        case codec::DecodeError::BadMagic:
            return pb::BAD_MAGIC;
        case codec::DecodeError::BadVersion:
            return pb::BAD_VERSION;
        case codec::DecodeError::BadFlags:
            return pb::BAD_FLAGS;
        case codec::DecodeError::BodyTooLarge:
            return pb::BODY_TOO_LARGE;
        case codec::DecodeError::UnknownCode:
            return pb::UNKNOWN_CODE;
        default:
            return pb::BAD_BODY;
    }
}

}  // namespace

const char* to_string(CloseReason r) noexcept {
    switch (r) {
        case CloseReason::PeerClosed:
            return "peer_closed";
        case CloseReason::IoError:
            return "io_error";
        case CloseReason::ProtocolError:
            return "protocol_error";
        case CloseReason::LoginTimeout:
            return "login_timeout";
        case CloseReason::HeartbeatTimeout:
            return "heartbeat_timeout";
        case CloseReason::Logout:
            return "logout";
        case CloseReason::Kicked:
            return "kicked";
        case CloseReason::SlowConsumer:
            return "slow_consumer";
        case CloseReason::Shutdown:
            return "shutdown";
        case CloseReason::HandshakeFailed:
            return "handshake_failed";
        case CloseReason::HttpAnswered:
            return "http_answered";
        case CloseReason::kCount:
            break;
    }
    return "unknown";
}

const char* to_string(HttpAnswerClass c) noexcept {
    switch (c) {
        case HttpAnswerClass::Ok:
            return "ok";
        case HttpAnswerClass::NotModified:
            return "not_modified";
        case HttpAnswerClass::NotFound:
            return "not_found";
        case HttpAnswerClass::Refused:
            return "refused";
        case HttpAnswerClass::RateLimited:
            return "rate_limited";
        case HttpAnswerClass::kCount:
            break;
    }
    return "unknown";
}

std::string_view to_string(Role r) noexcept {
    switch (r) {
        case Role::Anchor:
            return "anchor";
        case Role::Admin:
            return "admin";
        case Role::Guest:
            return "guest";
        default:
            return "viewer";
    }
}

Role role_from(std::string_view name) noexcept {
    if (name == "anchor") return Role::Anchor;
    if (name == "admin") return Role::Admin;
    return Role::Viewer;
}

bool in_consumption_scene(const Session& s) noexcept {
    return !s.rooms.empty() || s.user.scene == "room";
}

Session::Session(EventLoop& loop, TransportKind transport, bool tls)
    : loop_(loop),
      id_(loop.next_session_id()),
      transport_(transport),
      tls_(tls),
      phase_(transport == TransportKind::Ws ? Phase::HttpUpgrade : Phase::Frames),
      wire_(transport == TransportKind::Ws ? Wire::WsBinary : Wire::TcpBinary),
      decoder_(loop.options().max_body) {
    wheel_node.owner = this;
    wheel_node.on_expire = [](WheelNode& n) { static_cast<Node&>(n).owner->on_deadline(); };
}

Session::~Session() {
    TimingWheel::unlink(wheel_node);
}

void Session::arm_login_deadline() {
    // Covers the TLS handshake and the WebSocket upgrade too; a heartbeat deadline replaces it
    // at login.
    loop_.wheel().set_due(wheel_node,
                          loop_.wheel().now() + loop_.ticks(loop_.options().login_timeout));
}

void Session::on_transport_ready() {
    if (closed_) return;
    auto& stats = loop_.stats();
    add(stats.sessions[static_cast<int>(transport_)][tls_ ? 1 : 0], 1);
    ready_ = true;
    start_reading();
}

void Session::set_logged_in(const Inbound& req) {
    logged_in_ = true;
    if (transport_ == TransportKind::Ws)
        wire_ = req.text ? Wire::WsText : (req.json ? Wire::WsJson : Wire::WsBinary);
    else
        wire_ = req.json ? Wire::TcpJson : Wire::TcpBinary;
    add(loop_.stats().logged_in, 1);
    touch();
}

Wire Session::reply_wire(const Inbound* req) const noexcept {
    if (logged_in_ || req == nullptr) return wire_;
    if (transport_ == TransportKind::Ws)
        return req->text ? Wire::WsText : (req->json ? Wire::WsJson : Wire::WsBinary);
    return req->json ? Wire::TcpJson : Wire::TcpBinary;
}

void Session::touch() {
    if (closing()) return;
    auto& wheel = loop_.wheel();
    std::uint64_t due = wheel.now() + loop_.ticks(3 * loop_.options().heartbeat_interval);
    if (expire_tick_ != 0 && expire_tick_ < due) due = expire_tick_;
    wheel.set_due(wheel_node, due);
}

void Session::expire_after(std::chrono::milliseconds after) {
    if (closing()) return;
    if (after < std::chrono::milliseconds(0)) after = std::chrono::milliseconds(0);
    auto& wheel = loop_.wheel();
    expire_tick_ = wheel.now() + std::max<std::uint64_t>(1, loop_.ticks(after));
    touch();
}

void Session::on_deadline() {
    if (closed_) return;
    if (closing_) {
        close(close_reason_);  // linger over: the peer is not reading
    } else if (!logged_in_) {
        fail(pb::LOGIN_TIMEOUT, "no LOGIN within the login deadline", nullptr,
             CloseReason::LoginTimeout);
    } else if (expire_tick_ != 0 && loop_.wheel().now() >= expire_tick_) {
        inc(loop_.stats().token_expired_kicks);
        kick("token_expired", {}, CloseReason::Kicked);
    } else {
        kick("heartbeat_timeout", {}, CloseReason::HeartbeatTimeout);
    }
}

// ---------------------------------------------------------------- input

void Session::on_bytes(std::uint8_t* data, std::size_t n) {
    inc(loop_.stats().bytes_in, n);
    if (closing()) return;
    if (phase_ == Phase::HttpUpgrade) {
        on_upgrade_bytes(data, n);
        return;
    }
    if (ws_) {
        on_ws_bytes(data, n);
        return;
    }
    auto err = decoder_.feed(data, n, [this](const codec::FrameView& f) {
        Inbound in{f.header, f.body, (f.header.flags & codec::kJsonBody) != 0, false};
        return dispatch(in);
    });
    if (err != codec::DecodeError::None) fail(error_code_for(err), codec::to_string(err));
}

bool Session::dispatch(const Inbound& in) {
    inc(loop_.stats().frames_in);
    if (!codec::is_client_code(in.header.code)) {
        fail(pb::UNKNOWN_CODE, "code " + std::to_string(in.header.code) + " is not a client packet",
             &in);
        return false;
    }
    if (logged_in_) touch();
    loop_.handler().on_packet(*this, in);
    return !closing();
}

void Session::on_upgrade_bytes(std::uint8_t* data, std::size_t n) {
    if (!upgrade_buf_) upgrade_buf_ = std::make_unique<std::string>();
    std::string& upgrade_buf = *upgrade_buf_;
    upgrade_buf.append(reinterpret_cast<const char*>(data), n);
    const auto& opts = loop_.options();
    UpgradePolicy policy;
    policy.path = opts.ws_path;
    policy.allowed_origins = &opts.ws_allowed_origins;
    UpgradeVerdict verdict = judge_upgrade(upgrade_buf, policy);
    switch (verdict.outcome) {
        case UpgradeVerdict::Outcome::NeedMore:
            return;
        case UpgradeVerdict::Outcome::Refuse:
            if (verdict.origin_refused) inc(loop_.stats().ws_origin_refused);
            if (verdict.other_path && opts.http_handler) {
                answer_plain_http(verdict);
                return;
            }
            send_raw_and_close(std::move(verdict.response));
            return;
        case UpgradeVerdict::Outcome::Accept:
            break;
    }
    own_tail() += verdict.response;
    account_queued(verdict.response.size());
    phase_ = Phase::Frames;
    ws_ = std::make_unique<codec::ws::FrameDecoder>(codec::ws::FrameDecoder::Role::Server,
                                                    opts.ws_max_message);
    std::string rest = upgrade_buf.substr(verdict.request_bytes);
    upgrade_buf_.reset();
    if (!rest.empty()) on_ws_bytes(reinterpret_cast<std::uint8_t*>(rest.data()), rest.size());
}

void Session::send_raw_and_close(std::string bytes, CloseReason why) {
    std::size_t n = bytes.size();
    out_.push_back(Chunk{nullptr, std::move(bytes)});
    account_queued(n);
    close_after_flush(why);
}

namespace {

HttpAnswerClass class_of(std::string_view response) {
    // "HTTP/1.1 NNN ..."
    const std::string_view status = response.substr(9, 3);
    if (status == "304") return HttpAnswerClass::NotModified;
    if (status == "404") return HttpAnswerClass::NotFound;
    if (status == "429") return HttpAnswerClass::RateLimited;
    if (!status.empty() && (status[0] == '4' || status[0] == '5')) return HttpAnswerClass::Refused;
    return HttpAnswerClass::Ok;
}

}  // namespace

// A plain HTTP request for another path than the WebSocket path (server/plain_http.hpp).
void Session::answer_plain_http(const UpgradeVerdict& v) {
    std::string response;
    IpLimits* limits = loop_.ip_limits();
    if (limits && !limits->take_login(peer_ip_, codec::wall_ms())) {
        response =
            "HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\n"
            "Connection: close\r\nRetry-After: 1\r\n";
        const std::string_view body =
            R"j({"error":"too many requests from this address (server.login_rate_per_ip)","code":429})j";
        response += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n";
        response += body;
    } else {
        PlainHttpRequest req{v.method, v.target, v.if_none_match, peer_ip_,
                             v.origin, v.host,   v.content_type};
        try {
            response = loop_.options().http_handler(req);
        } catch (...) {
            response.clear();  // a bug in the handler: the listener's own 404, the loop lives on
        }
        if (response.size() < 12) response = v.response;  // the handler left it to us: 404
    }
    inc(loop_.stats().ws_http_requests[static_cast<int>(class_of(response))]);
    send_raw_and_close(std::move(response), CloseReason::HttpAnswered);
}

void Session::on_ws_bytes(std::uint8_t* data, std::size_t n) {
    auto err = ws_->feed(data, n, [this](const codec::ws::Message& m) { return on_ws_message(m); });
    if (err != codec::ws::WsError::None && !closing()) {
        bool too_big = err == codec::ws::WsError::MessageTooLarge;
        fail_closing(too_big ? pb::BODY_TOO_LARGE : pb::BAD_WEBSOCKET,
                     std::string("WebSocket: ") + std::string(codec::ws::to_string(err)), nullptr,
                     CloseReason::ProtocolError, codec::ws::close_status_for(err));
    }
}

bool Session::on_ws_message(const codec::ws::Message& m) {
    using codec::ws::Opcode;
    switch (m.opcode) {
        case Opcode::Binary: {
            codec::FrameView fv;
            auto err = codec::decode_one(m.payload, loop_.options().max_body, fv);
            if (err != codec::DecodeError::None) {
                // A packet body over max_body inside the message is a message too big (1009);
                // any other bad packet breaks our protocol, not WebSocket's: policy (1008).
                fail_closing(error_code_for(err), codec::to_string(err), nullptr,
                             CloseReason::ProtocolError,
                             err == codec::DecodeError::BodyTooLarge ? codec::ws::kCloseTooBig
                                                                     : codec::ws::kClosePolicy);
                return false;
            }
            Inbound in{fv.header, fv.body, (fv.header.flags & codec::kJsonBody) != 0, false};
            return dispatch(in);
        }
        case Opcode::Text: {
            codec::Envelope env;
            auto err = codec::decode_envelope(m.payload, env);
            Inbound in;
            in.json = true;
            in.text = true;
            if (err != codec::EnvelopeError::None) {
                fail(pb::BAD_ENVELOPE,
                     std::string("text message: ") + std::string(codec::to_string(err)), &in);
                return false;
            }
            in.header.code = env.code;
            in.header.seq = env.seq;
            in.header.flags = codec::kJsonBody;
            in.header.body_len = static_cast<std::uint32_t>(env.body_json.size());
            in.body = env.body_json;
            return dispatch(in);
        }
        case Opcode::Ping: {
            std::string& tail = own_tail();
            std::size_t before = tail.size();
            tail += codec::ws::encode_frame(Opcode::Pong, m.payload);
            account_queued(tail.size() - before);
            return true;
        }
        case Opcode::Pong:
            return true;
        case Opcode::Close:
            ws_close(codec::ws::kCloseNormal, {});
            close_after_flush(CloseReason::PeerClosed);
            return false;
        default:
            return true;
    }
}

void Session::ws_close(std::uint16_t status, std::string_view reason) {
    if (!ws_ || phase_ != Phase::Frames || closing()) return;
    std::string& tail = own_tail();
    std::size_t before = tail.size();
    tail +=
        codec::ws::encode_frame(codec::ws::Opcode::Close, codec::ws::close_payload(status, reason));
    account_queued(tail.size() - before);
}

// ---------------------------------------------------------------- output

std::string& Session::own_tail() {
    if (out_.empty() || out_.back().shared || out_.size() <= locked_chunks_) out_.emplace_back();
    return out_.back().own;
}

void Session::account_queued(std::size_t n) {
    const std::size_t before = queued_bytes_;
    queued_bytes_ += n;
    auto& stats = loop_.stats();
    add(stats.send_queue_bytes, static_cast<std::int64_t>(n));
    inc(stats.frames_out);
    // Slow means bytes were still waiting when more came and the total crossed the bound. One
    // coalesced batch larger than the bound, queued to a session that had read everything, is
    // not slowness: kicking there would kick every member of a busy room.
    if (before > 0 && queued_bytes_ > loop_.options().send_queue_max_bytes && !closing() &&
        !slow_) {
        on_overflow();
        return;
    }
    loop_.want_flush(*this);
}

void Session::on_overflow() {
    // Once: the KICK queued below goes through account_queued too, and the chunk that must be
    // kept (partly written) can itself be over the bound.
    slow_ = true;
    inc(loop_.stats().slow_kicks);
    // Drop what is not yet on the wire, but never a chunk that is partly written or in flight:
    // that would cut a frame in half.
    std::size_t keep = std::max<std::size_t>(locked_chunks_, out_offset_ > 0 ? 1 : 0);
    std::size_t dropped = 0;
    for (std::size_t i = keep; i < out_.size(); ++i) dropped += out_[i].size();
    out_.resize(keep);
    queued_bytes_ -= dropped;
    add(loop_.stats().send_queue_bytes, -static_cast<std::int64_t>(dropped));
    kick("slow", {}, CloseReason::SlowConsumer);
}

void Session::send(codec::Code code, std::uint32_t seq, const google::protobuf::Message& body,
                   std::uint8_t flags, const Inbound* in_reply_to) {
    if (closing()) return;
    std::string& tail = own_tail();
    std::size_t before = tail.size();
    append_packet(tail, reply_wire(in_reply_to), code, seq, flags, body);
    account_queued(tail.size() - before);
}

void Session::send_bytes(const Bytes& bytes) {
    // An empty chunk would be a zero-length write that completes at once and is issued again:
    // a loop spinning at 100% CPU (seen under the viewer budget, a batch shed whole).
    if (closing() || !bytes || bytes->empty()) return;
    out_.push_back(Chunk{bytes, {}});
    account_queued(bytes->size());
}

void Session::fail(std::int32_t code, std::string_view message, const Inbound* req,
                   CloseReason why) {
    fail_closing(code, message, req, why, codec::ws::kClosePolicy);
}

void Session::fail_closing(std::int32_t code, std::string_view message, const Inbound* req,
                           CloseReason why, std::uint16_t ws_status) {
    if (closing()) return;
    if (why == CloseReason::ProtocolError) inc(loop_.stats().protocol_errors);
    pb::Error e;
    e.set_code(code);
    e.set_message(std::string(message));
    send(codec::Code::Error, req ? req->header.seq : 0, e, 0, req);
    ws_close(ws_status, {});
    close_after_flush(why);
}

void Session::kick(std::string_view reason, std::string_view reconnect_to, CloseReason why) {
    if (closing()) return;
    pb::Kick k;
    k.set_reason(std::string(reason));
    k.set_reconnect_to(std::string(reconnect_to));
    send(codec::Code::Kick, 0, k);
    ws_close(why == CloseReason::Shutdown ? codec::ws::kCloseGoingAway : codec::ws::kCloseNormal,
             reason);
    close_after_flush(why);
}

void Session::close_after_flush(CloseReason why) {
    if (closing()) return;
    closing_ = true;
    close_reason_ = why;
    auto& wheel = loop_.wheel();
    wheel.set_due(wheel_node, wheel.now() + loop_.ticks(loop_.options().close_linger));
    if (out_.empty()) {
        close(why);
        return;
    }
    loop_.want_flush(*this);
}

void Session::flush() {
    if (closed_ || write_in_flight_) return;
    if (out_.empty()) {
        if (closing_) close(close_reason_);
        return;
    }
    write_queued();
}

void Session::wrote(std::size_t n) {
    auto& stats = loop_.stats();
    inc(stats.bytes_out, n);
    inc(stats.writes);
    std::size_t total = n;
    std::size_t done = 0;
    while (n > 0 && done < out_.size()) {
        std::size_t left = out_[done].size() - out_offset_;
        if (n >= left) {
            n -= left;
            out_offset_ = 0;
            ++done;
        } else {
            out_offset_ += n;
            n = 0;
        }
    }
    out_.erase(out_.begin(), out_.begin() + static_cast<std::ptrdiff_t>(done));
    queued_bytes_ -= total;
    add(stats.send_queue_bytes, -static_cast<std::int64_t>(total));
    if (out_.empty()) {
        // An idle session keeps no queue memory (one allocation per write burst is cheaper
        // than 64 bytes held by every idle session).
        std::vector<Chunk>().swap(out_);
        if (closing_) close(close_reason_);
    }
}

void Session::close(CloseReason why) {
    if (closed_) return;
    closed_ = true;
    closing_ = true;
    close_reason_ = why;
    TimingWheel::unlink(wheel_node);
    auto& stats = loop_.stats();
    inc(stats.closed[static_cast<int>(why)]);
    if (ready_) add(stats.sessions[static_cast<int>(transport_)][tls_ ? 1 : 0], -1);
    if (logged_in_) add(stats.logged_in, -1);
    add(stats.send_queue_bytes, -static_cast<std::int64_t>(queued_bytes_));
    queued_bytes_ = 0;
    out_.clear();
    close_transport();
    if (ip_counted_ && loop_.ip_limits()) loop_.ip_limits()->release_connection(peer_ip_);
    ip_counted_ = false;
    loop_.handler().on_closed(*this, why);
    loop_.detach(*this);
    loop_.retire(std::move(self_));
}

}  // namespace lp::server
