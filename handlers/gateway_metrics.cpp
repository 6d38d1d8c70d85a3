// handlers/gateway_metrics: see gateway_metrics.hpp.
#include "handlers/gateway_metrics.hpp"

#include <iterator>
#include <string>

#include "codec/prometheus_text.hpp"
#include "handlers/gateway.hpp"
#include "server/ip_limits.hpp"
#include "server/server.hpp"

namespace lp::handlers {

namespace {

void write_logins(codec::PromText& m, const GatewayStats& g) {
    const char* help = "logins by result";
    m.counter("livepush_logins_total", help, g.login_ok.load(), "result=\"ok\"");
    // By JwtError (index), 0 being "none".
    const char* fail_reasons[] = {"none",           "malformed",  "bad_algorithm",
                                  "bad_signature",  "expired",    "not_yet_valid",
                                  "no_subject",     "bad_issuer", "bad_audience",
                                  "too_long_lived", "bad_profile"};
    for (int i = 1; i < static_cast<int>(std::size(fail_reasons)); ++i)
        m.counter("livepush_logins_total", help, g.login_failed[i].load(),
                  std::string("result=\"failed\",reason=\"") + fail_reasons[i] + "\"");
    m.counter("livepush_logins_total", help, g.login_failed[GatewayStats::kLoginBadBody].load(),
              "result=\"failed\",reason=\"bad_body\"");
}

void write_limits_hit(codec::PromText& m, const GatewayStats& g,
                      const server::IpLimitsStats& per_ip) {
    auto hit = [&](const char* limit, std::uint64_t v) {
        m.counter("livepush_limit_hits_total",
                  "client limits hit (the client was refused, kicked or closed)", v,
                  std::string("limit=\"") + limit + "\"");
    };
    hit("max_sessions_per_user", g.kicked_too_many_sessions.load());
    hit("platform", g.bad_platform.load());
    hit("max_connections_per_ip", per_ip.connections_refused.load());
    hit("login_rate_per_ip", per_ip.logins_refused.load());
    hit("ack_rate_per_s", g.ack_rate_limited.load());
    hit("max_ack_ids", g.ack_too_many_ids.load());
    hit("guest_max_sessions", g.guest_refused[1].load());
}

void write_guests(codec::PromText& m, const GatewayStats& g) {
    m.gauge("livepush_guest_sessions", "guest sessions on this node (auth.guests)",
            g.guest_sessions.load());
    m.counter("livepush_guest_logins_total", "guest logins accepted", g.guest_logins.load());
    const char* reasons[] = {"off", "limit", "platform"};
    for (int i = 0; i < static_cast<int>(std::size(reasons)); ++i)
        m.counter("livepush_guest_logins_refused_total",
                  "guest logins (empty token) refused by reason: off = auth.guests is off, "
                  "limit = auth.guest_max_sessions, platform",
                  g.guest_refused[i].load(), std::string("reason=\"") + reasons[i] + "\"");
    m.counter("livepush_guest_biz_refused_total", "BIZ packets from guests refused (NOT_ALLOWED)",
              g.guest_biz_refused.load());
    m.counter("livepush_auth_previous_key_logins_total",
              "logins whose token was verified by a previous key (auth.jwt_secret_previous, or a "
              "key a reload replaced, within auth.key_overlap_s): tokens still to be re-minted",
              g.login_previous_key.load());
}

}  // namespace

void write_metrics(codec::PromText& m, const GatewayStats& g,
                   const server::ServerTotals& transports, const server::IpLimitsStats& per_ip) {
    write_logins(m, g);
    m.counter("livepush_kicks_total", "sessions kicked", g.kicked_replaced.load(),
              "reason=\"replaced\"");
    m.counter("livepush_kicks_total", "sessions kicked", g.kicked_too_many_sessions.load(),
              "reason=\"too_many_sessions\"");
    m.counter("livepush_kicks_total", "sessions kicked", transports.slow_kicks, "reason=\"slow\"");
    m.counter("livepush_kicks_total", "sessions kicked", transports.token_expired_kicks,
              "reason=\"token_expired\"");
    m.counter("livepush_slow_consumer_kicks_total",
              "sessions kicked for a send queue over its limit", transports.slow_kicks);
    m.counter("livepush_token_expired_kicks_total",
              "sessions kicked because their login token expired (auth.expire_sessions)",
              transports.token_expired_kicks);
    m.counter("livepush_heartbeats_total", "heartbeats answered", g.heartbeats.load());
    m.counter("livepush_biz_total", "BIZ packets by result", g.biz[0].load(), "result=\"ok\"");
    m.counter("livepush_biz_total", "BIZ packets by result", g.biz[1].load(), "result=\"error\"");
    m.counter("livepush_biz_rate_limited_total",
              "BIZ packets refused by the per-session rate limit", g.biz_rate_limited.load());
    m.counter("livepush_room_chat_total", "room.chat messages published", g.room_chat.load());
    m.counter("livepush_room_chat_refused_total",
              "room.chat refused: the room is over room.chat_rate_per_s on this node",
              g.room_chat_rate_limited.load(), "reason=\"ROOM_RATE_LIMITED\"");
    write_limits_hit(m, g, per_ip);
    write_guests(m, g);
    m.counter("livepush_room_recovery_total", "room.enter/resume with last_seq",
              g.recovery[0].load(), "result=\"recovered\"");
    m.counter("livepush_room_recovery_total", "room.enter/resume with last_seq",
              g.recovery[1].load(), "result=\"gap\"");
    m.counter("livepush_room_recovered_messages_total", "messages replayed by room recovery",
              g.recovered_messages.load());
    const char* im_reasons[] = {"rate", "payload", "inbox_share", "unavailable", "busy"};
    for (int i = 0; i < static_cast<int>(std::size(im_reasons)); ++i)
        m.counter("livepush_im_refused_total", "im.send refused by reason", g.im_refused[i].load(),
                  std::string("reason=\"") + im_reasons[i] + "\"");
}

}  // namespace lp::handlers
