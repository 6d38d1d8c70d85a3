// redis/sentinel: asking Redis Sentinel where the master is (SENTINEL get-master-addr-by-name)
// and how many healthy replicas it has (SENTINEL replicas), for redis::Client's connects in
// sentinel mode.
//
// It owns nothing: one short blocking hiredis connection per sentinel asked, closed before it
// returns, every step bounded by the client's connect and command timeouts. It runs on the
// client's I/O thread (never on an event loop). It must never hold a password in `why`.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

#include "redis/client.hpp"

namespace lp::redis {

struct SentinelAnswer {
    std::string host;
    std::uint16_t port = 0;
    // Replicas not flagged s_down, o_down or disconnected and with their link up; -1 when the
    // sentinel's answer could not be read.
    std::int64_t healthy_replicas = -1;
};

// Asks opt.sentinels in turn, starting at `next` (set to the one that answered), for the
// master of opt.master_name. False with every sentinel's failure in `why` when none named one.
bool ask_sentinels(const Client::Options& opt, std::size_t& next, SentinelAnswer& out,
                   std::string& why);

}  // namespace lp::redis
