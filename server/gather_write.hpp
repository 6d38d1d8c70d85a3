// server/gather_write: the plain transport's write loop (Session::write_gathered), apart from
// the socket so a unit test drives it with a scripted send (tests/server/fake_transport.hpp).
//
// Owns: turning the send queue into gather writes and feeding what left back to wrote().
// Must never: own a socket, allocate, copy queued bytes, or decide what a failure means (the
// transport closes or waits). A template: the send call inlines into the loop, so the seam adds
// no virtual call and no allocation (at most one direct call per flush of a session).
#pragma once

#include <sys/types.h>
#include <sys/uio.h>

#include <cerrno>
#include <cstddef>

#include "server/session.hpp"

namespace lp::server {

inline constexpr std::size_t kMaxGatherChunks = 64;

template <class Send>
Session::GatherResult Session::write_gathered(Send&& send) {
    while (!out_.empty() && !closed()) {
        iovec iov[kMaxGatherChunks];
        std::size_t count = 0;
        std::size_t want = 0;
        for (std::size_t i = 0; i < out_.size() && count < kMaxGatherChunks; ++i) {
            const char* d = out_[i].data();
            std::size_t len = out_[i].size();
            if (i == 0) {
                d += out_offset_;
                len -= out_offset_;
            }
            iov[count++] = {const_cast<char*>(d), len};
            want += len;
        }
        ssize_t n = send(static_cast<const iovec*>(iov), count);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) return GatherResult::WouldBlock;
            return GatherResult::Failed;
        }
        wrote(static_cast<std::size_t>(n));
        if (static_cast<std::size_t>(n) < want) return GatherResult::WouldBlock;
    }
    return GatherResult::Drained;
}

}  // namespace lp::server
