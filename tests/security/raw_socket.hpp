// tests/security/raw_socket: a plain blocking TCP socket to a loopback port, for attack tests
// that must send exactly the bytes they choose (half a header, a lying Content-Length, a bad
// WebSocket frame) and watch what comes back. Every read has a deadline.
#pragma once

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdint>
#include <string>

namespace lp::testing {

// A connected socket to 127.0.0.1:port; -1 if the connect failed.
inline int connect_raw(std::uint16_t port) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
        ::close(fd);
        return -1;
    }
    return fd;
}

inline bool send_all(int fd, const std::string& bytes) {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
        const ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
        if (n <= 0) return false;
        sent += static_cast<std::size_t>(n);
    }
    return true;
}

// Reads what arrives within `within` (or until the peer closes) and appends it to `out`.
// Returns false when the peer closed (EOF or reset).
inline bool read_some(int fd, std::string& out, std::chrono::milliseconds within) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(within.count())) <= 0) return true;
    char buf[16 * 1024];
    const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) return false;
    out.append(buf, static_cast<std::size_t>(n));
    return true;
}

// Reads until `needle` has arrived, the peer closed, or `within` passed. Returns what came.
inline std::string read_until(int fd, const std::string& needle, std::chrono::milliseconds within) {
    using Clock = std::chrono::steady_clock;
    std::string got;
    const auto deadline = Clock::now() + within;
    while (got.find(needle) == std::string::npos) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) break;
        if (!read_some(fd, got, left)) break;
    }
    return got;
}

// True when the server has closed `fd` (EOF or reset) within `within`; bytes still arriving
// before the close are read and dropped.
inline bool closed_by_server(int fd, std::chrono::milliseconds within) {
    using Clock = std::chrono::steady_clock;
    const auto deadline = Clock::now() + within;
    for (;;) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0) return false;
        pollfd p{fd, POLLIN, 0};
        if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
        char buf[4096];
        const ssize_t n = ::recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (n == 0) return true;
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return true;
    }
}

// Many sockets in one test: take the hard descriptor limit.
inline void raise_fd_limit() {
    rlimit rl{};
    if (::getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        ::setrlimit(RLIMIT_NOFILE, &rl);
    }
}

}  // namespace lp::testing
