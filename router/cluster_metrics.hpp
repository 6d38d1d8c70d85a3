// router/cluster_metrics: the cluster layer's Prometheus families — Redis reachability and live
// nodes, routes bound, kicks, user and room traffic between nodes, room queries, the node
// number, and the node links (frames, drops, connections, refusals, failed handshakes).
//
// It owns the names, HELP texts and labels of those families; it reads ClusterStats and
// NodeLinksStats and must never count anything itself. The Redis client's own families are
// redis/client_metrics'.
#pragma once

namespace lp::codec {
class PromText;
}

namespace lp::router {

class Cluster;

void write_metrics(codec::PromText& m, const Cluster& cluster);

}  // namespace lp::router
