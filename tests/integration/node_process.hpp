// tests/integration/node_process: runs a real livepushd as a child process on ports chosen at
// run time (it listens on 127.0.0.1:0 and the fixture reads the ports from its "ready" line),
// and stops it at the end. Its log goes to a file the test can read.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace lp::testing {

inline constexpr const char* kTestSecret = "integration-test-secret-0123456789abcdef";

class NodeProcess {
public:
    // Starts livepushd with a test secret, loopback listens on port 0, and `args` appended
    // (later flags win). Throws std::runtime_error if it does not become ready in 10 s.
    explicit NodeProcess(std::vector<std::string> args = {});
    ~NodeProcess();
    NodeProcess(const NodeProcess&) = delete;
    NodeProcess& operator=(const NodeProcess&) = delete;

    std::uint16_t tcp_port() const { return tcp_port_; }
    std::uint16_t ws_port() const { return ws_port_; }
    std::uint16_t api_port() const { return api_port_; }
    pid_t pid() const { return pid_; }

    // Sends sig and waits up to `timeout` for exit. Returns the exit status (WEXITSTATUS), or
    // -1 if it did not exit in time (it is then killed), or -2 if it died of a signal.
    int stop(int sig, std::chrono::milliseconds timeout);
    bool running();
    std::string log() const;  // the server's stderr so far
    std::uint64_t rss_bytes() const;

private:
    pid_t pid_ = -1;
    std::uint16_t tcp_port_ = 0;
    std::uint16_t ws_port_ = 0;
    std::uint16_t api_port_ = 0;
    std::string log_path_;
    bool exited_ = false;
};

// A token for `user` signed with kTestSecret, valid for `ttl_s` seconds (negative = expired).
std::string token_for(std::uint64_t user, std::int64_t ttl_s = 3600, const std::string& role = "viewer");

// A temporary directory removed at destruction.
class TempDir {
public:
    TempDir();
    ~TempDir();
    const std::string& path() const { return path_; }

private:
    std::string path_;
};

}  // namespace lp::testing
