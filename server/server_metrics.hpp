// server/server_metrics: the transports' Prometheus families — sessions by transport, connections
// accepted and refused, closes by reason, frames and bytes, deliveries and room batches, rooms,
// and the per-IP limits' table size.
//
// It owns the names, HELP texts and labels of those families and nothing else: it reads the
// counters the loops, the hub and the listeners keep, and must never count anything itself or
// write a family another module owns (kicks and client limits hit are the gateway's).
#pragma once

namespace lp::codec {
class PromText;
}

namespace lp::server {

class Server;

void write_metrics(codec::PromText& m, Server& server);

}  // namespace lp::server
