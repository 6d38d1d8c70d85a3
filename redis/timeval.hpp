// redis/timeval: a std::chrono duration as the timeval hiredis takes for its connect and
// command timeouts. One helper for the client's own connections and the sentinel queries.
#pragma once

#include <sys/time.h>

#include <chrono>

namespace lp::redis {

inline timeval to_timeval(std::chrono::milliseconds ms) {
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(ms.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((ms.count() % 1000) * 1000);
    return tv;
}

}  // namespace lp::redis
