// router/cluster_metrics: see cluster_metrics.hpp.
#include "router/cluster_metrics.hpp"

#include <cstdint>
#include <string>

#include "codec/prometheus_text.hpp"
#include "router/cluster.hpp"
#include "router/link_hello.hpp"
#include "router/node_links.hpp"

namespace lp::router {

namespace {

void write_traffic(codec::PromText& m, const ClusterStats& cs) {
    m.counter("livepush_cluster_route_binds_total", "logins bound in Redis", cs.route_binds.load());
    m.counter("livepush_cluster_route_bind_failures_total", "route binds that failed (Redis down)",
              cs.route_bind_failures.load());
    m.counter("livepush_cluster_kicks_total", "kicks across nodes", cs.remote_kicks_sent.load(),
              "direction=\"sent\"");
    m.counter("livepush_cluster_kicks_total", "kicks across nodes", cs.remote_kicks_received.load(),
              "direction=\"received\"");
    m.counter("livepush_cluster_user_deliveries_total", "user pushes over node links",
              cs.user_deliveries_sent.load(), "direction=\"sent\"");
    m.counter("livepush_cluster_user_deliveries_total", "user pushes over node links",
              cs.user_deliveries_received.load(), "direction=\"received\"");
    m.counter("livepush_cluster_room_publishes_forwarded_total",
              "room messages sent to their home node", cs.room_publishes_forwarded.load());
    m.counter("livepush_cluster_room_deliveries_total", "room messages between nodes",
              cs.room_deliveries_sent.load(), "direction=\"sent\"");
    m.counter("livepush_cluster_room_deliveries_total", "room messages between nodes",
              cs.room_deliveries_received.load(), "direction=\"received\"");
    const char* queries_help =
        "questions to another node over the link (room state and room_seq from its home, presence)";
    m.counter("livepush_cluster_room_queries_total", queries_help, cs.room_queries_sent.load(),
              "outcome=\"sent\"");
    m.counter("livepush_cluster_room_queries_total", queries_help, cs.room_query_timeouts.load(),
              "outcome=\"timeout\"");
    m.counter("livepush_cluster_room_history_replayed_total",
              "room messages a home node sent to another for recovery",
              cs.room_history_sent.load());
    m.counter("livepush_cluster_room_nodes_skipped_total",
              "live nodes a room message was not sent to (no members there)",
              cs.room_nodes_skipped.load());
    m.counter("livepush_cluster_redis_down_total", "times Redis became unavailable",
              cs.redis_down_events.load());
    m.counter("livepush_cluster_reregistrations_total",
              "route re-registrations after Redis came back", cs.reregistrations.load());
}

void write_links(codec::PromText& m, const NodeLinksStats& ls) {
    m.counter("livepush_link_frames_sent_total", "frames sent over node links",
              ls.frames_sent.load());
    m.counter("livepush_link_frames_received_total", "frames received over node links",
              ls.frames_received.load());
    m.counter("livepush_link_dropped_total", "frames dropped: link queue full",
              ls.dropped_queue_full.load());
    m.gauge("livepush_link_outbound", "connected outbound links", ls.outbound_links.load());
    m.gauge("livepush_link_inbound", "inbound link connections, proven or not",
            ls.inbound_links.load());
    constexpr LinkReject kReasons[] = {LinkReject::BadFrame,  LinkReject::BadProof,
                                       LinkReject::WrongPeer, LinkReject::Deadline,
                                       LinkReject::OverCap,   LinkReject::Tls};
    for (auto r : kReasons)
        m.counter("livepush_link_rejected_total",
                  "inbound link connections closed by the listener's checks",
                  ls.rejected[static_cast<std::size_t>(r)].load(),
                  "reason=\"" + std::string(to_string(r)) + "\"");
    for (auto r : kReasons)
        m.counter("livepush_link_handshake_failures_total",
                  "outbound link handshakes that failed (then retried)",
                  ls.handshake_failures[static_cast<std::size_t>(r)].load(),
                  "reason=\"" + std::string(to_string(r)) + "\"");
}

}  // namespace

void write_metrics(codec::PromText& m, const Cluster& cluster) {
    m.gauge("livepush_cluster_redis_up", "1 while Redis answers", cluster.redis_up() ? 1 : 0);
    m.gauge("livepush_cluster_nodes", "live nodes this node knows of",
            static_cast<std::int64_t>(cluster.nodes().size()));
    const auto& cs = cluster.stats();
    write_traffic(m, cs);
    m.gauge("livepush_node_number",
            "node number in this node's message ids, claimed in Redis (-1: not yet)",
            cluster.node_number());
    m.counter("livepush_node_number_changes_total",
              "node number lost while Redis was away and another taken",
              cs.node_number_changes.load());
    m.counter("livepush_node_number_unavailable_total",
              "claim refreshes that found every node number held",
              cs.node_number_unavailable.load());
    write_links(m, cluster.link_stats());
}

}  // namespace lp::router
