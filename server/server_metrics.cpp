// server/server_metrics: see server_metrics.hpp.
#include "server/server_metrics.hpp"

#include <string>

#include "codec/prometheus_text.hpp"
#include "server/msg_class.hpp"
#include "server/server.hpp"

namespace lp::server {

void write_metrics(codec::PromText& m, Server& server) {
    const auto t = server.totals();
    const char* transports[] = {"tcp", "ws"};
    for (int k = 0; k < 2; ++k)
        for (int tls = 0; tls < 2; ++tls)
            m.gauge("livepush_sessions", "open sessions by transport", t.sessions[k][tls],
                    std::string("transport=\"") + transports[k] + "\",tls=\"" +
                        (tls ? "true" : "false") + "\"");
    m.gauge("livepush_sessions_logged_in", "logged-in sessions", t.logged_in);
    m.gauge("livepush_online_users", "users with at least one session on this node",
            static_cast<std::int64_t>(server.hub().online_users()));
    m.counter("livepush_connections_accepted_total", "connections accepted", t.accepted);
    m.counter("livepush_connections_rejected_total", "connections refused", t.rejected_limit,
              "reason=\"max_connections\"");
    m.counter("livepush_connections_rejected_total", "connections refused", t.rejected_per_ip,
              "reason=\"max_connections_per_ip\"");
    m.counter("livepush_accept_errors_total", "accept() failures (e.g. out of descriptors)",
              t.accept_errors);
    for (int r = 0; r < static_cast<int>(CloseReason::kCount); ++r)
        m.counter("livepush_sessions_closed_total", "sessions closed by reason", t.closed[r],
                  std::string("reason=\"") + to_string(static_cast<CloseReason>(r)) + "\"");

    m.counter("livepush_frames_in_total", "packets received", t.frames_in);
    m.counter("livepush_frames_out_total",
              "packets queued to sessions (one per batch or reply chunk)", t.frames_out);
    m.counter("livepush_bytes_in_total", "bytes received", t.bytes_in);
    m.counter("livepush_bytes_out_total", "bytes written", t.bytes_out);
    m.counter("livepush_write_syscalls_total", "gather writes", t.writes);
    m.gauge("livepush_send_queue_bytes", "bytes queued to sessions and not yet written",
            t.send_queue_bytes);
    m.counter("livepush_protocol_errors_total", "connections closed for a protocol error",
              t.protocol_errors);

    std::uint64_t room_deliveries = 0, room_batches = 0, direct = 0, origin_refused = 0;
    for (auto* loop : server.loops()) {
        origin_refused += get(loop->stats().ws_origin_refused);
        room_deliveries += get(loop->stats().room_deliveries);
        room_batches += get(loop->stats().room_batches);
        direct += get(loop->stats().direct_deliveries);
    }
    m.counter("livepush_ws_upgrades_refused_total", "WebSocket upgrades refused", origin_refused,
              "reason=\"origin\"");
    for (int c = 0; c < static_cast<int>(HttpAnswerClass::kCount); ++c) {
        std::uint64_t n = 0;
        for (auto* loop : server.loops()) n += get(loop->stats().ws_http_requests[c]);
        m.counter("livepush_ws_http_requests_total",
                  "plain HTTP requests on the WebSocket listener (the demo page), by answer", n,
                  std::string("answer=\"") + to_string(static_cast<HttpAnswerClass>(c)) + "\"");
    }
    m.counter("livepush_deliveries_total", "messages queued to sessions", room_deliveries,
              "kind=\"room\"");
    m.counter("livepush_deliveries_total", "messages queued to sessions", direct,
              "kind=\"direct\"");
    m.counter("livepush_room_batches_total", "coalesced room batches flushed", room_batches);
    // The viewer budget (room.viewer_budget_per_s): per class, what members got and what was
    // shed for them (one per member not sent the message). Each family's samples together.
    std::uint64_t delivered[kMsgClassCount] = {}, shed[kMsgClassCount] = {};
    for (auto* loop : server.loops())
        for (std::size_t c = 0; c < kMsgClassCount; ++c) {
            delivered[c] += get(loop->stats().room_delivered_by_class[c]);
            shed[c] += get(loop->stats().room_shed_by_class[c]);
        }
    auto class_label = [](std::size_t c) {
        return "class=\"" + std::string(to_string(static_cast<MsgClass>(c))) + "\"";
    };
    for (std::size_t c = 0; c < kMsgClassCount; ++c)
        m.counter("livepush_room_delivered_total",
                  "room messages (sequenced) queued to members, by class", delivered[c],
                  class_label(c));
    for (std::size_t c = 0; c < kMsgClassCount; ++c)
        m.counter("livepush_room_shed_total",
                  "room messages the viewer budget did not send to a member, by class", shed[c],
                  class_label(c));
    m.gauge("livepush_rooms", "rooms with members or recent history",
            static_cast<std::int64_t>(server.hub().room_count()));
    m.gauge("livepush_room_members", "room memberships",
            static_cast<std::int64_t>(server.hub().room_members()));
    m.gauge("livepush_ip_limit_entries", "addresses the per-IP limits track now",
            static_cast<std::int64_t>(server.ip_limits().tracked()));
}

}  // namespace lp::server
