// handlers/gateway_metrics: the gateway's Prometheus families — logins by result, kicks, BIZ
// packets, room chat and recovery, im.send refusals, and the client limits hit.
//
// It owns the names, HELP texts and labels of those families. Two of them also count what the
// transports saw (kicks of slow consumers, per-IP refusals), so it reads those from the server's
// totals and per-IP stats: each family is written whole, in one place. It must never count
// anything itself.
#pragma once

namespace lp::codec {
class PromText;
}

namespace lp::server {
struct ServerTotals;
struct IpLimitsStats;
}  // namespace lp::server

namespace lp::handlers {

struct GatewayStats;

void write_metrics(codec::PromText& m, const GatewayStats& g,
                   const server::ServerTotals& transports, const server::IpLimitsStats& per_ip);

}  // namespace lp::handlers
