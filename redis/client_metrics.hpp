// redis/client_metrics: the Prometheus families of the node's Redis clients — commands, errors,
// reconnects, round trips, the queue, refusals and credential failures of the cluster's client,
// and of the plugin stores' own client (cluster.plugin_redis) its credential failures and
// whether it is connected; Sentinel (master, failovers followed, healthy replicas) and WAIT
// (refusals, latency) of the clients that use them.
//
// It owns the names, HELP texts and labels of those families; it reads Client::Stats and must
// never count anything itself nor know what the clients are used for beyond their label.
#pragma once

#include "redis/client.hpp"

namespace lp::codec {
class PromText;
}

namespace lp::redis {

// `plugin`: the plugin stores' own client, or null when they share the cluster's. `inbox`: the
// durable inbox's own client (cluster.redis_wait_replicas > 0), or null: the WAIT families.
void write_metrics(codec::PromText& m, const Client::Stats& cluster, const Client* plugin,
                   const Client* inbox = nullptr);

}  // namespace lp::redis
