// tests/integration/redis_server: a real redis-server child process for tests.
//
// It listens on 127.0.0.1 on a port free at run time, keeps nothing on disk (no RDB, no AOF,
// its own temporary directory) and can be restarted on the same port, killed with SIGKILL or
// paused with SIGSTOP, so tests can see what clients do when Redis goes away and comes back.
// Every process it starts is gone when it is destroyed, and dies with the thread that started
// it too (PR_SET_PDEATHSIG), so a crashed test leaves no redis-server behind.
//
// redis-server is looked up in $LP_REDIS_SERVER, then on PATH. Not finding it is an error, not
// a skip: CI installs it (apt-get install redis-server).
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lp::testing {

class RedisServer {
public:
    // Starts redis-server with `extra_args` appended (e.g. {"--requirepass", "x"}) and waits
    // until it answers PING (10 s at most). Throws std::runtime_error with its log if it does not.
    // `leading_args` go right after the binary's name, before the port and the rest: a
    // configuration file must come first (redis-sentinel: {"/path/sentinel.conf"} with
    // extra_args {"--sentinel"}).
    explicit RedisServer(std::vector<std::string> extra_args = {},
                         std::vector<std::string> leading_args = {});
    ~RedisServer();  // stop()
    RedisServer(const RedisServer&) = delete;
    RedisServer& operator=(const RedisServer&) = delete;

    const std::string& host() const { return host_; }
    const std::string& dir() const { return dir_; }  // its own temporary directory
    std::uint16_t port() const { return port_; }
    pid_t pid() const { return pid_; }
    bool running() const { return pid_ > 0; }

    // SIGTERM, wait for exit; SIGKILL if it is still there after 5 s. No-op when not running.
    void stop();
    // Starts it again on the same port (after stop() or kill9()); waits for PING as above.
    void start();
    // stop() + start(): a Redis restart as clients see it (connections closed, data gone).
    void restart();
    // SIGKILL and reap: a crash, no clean shutdown.
    void kill9();
    // SIGSTOP / SIGCONT: a server that holds its connections open but answers nothing.
    void pause();
    void resume();

    // What the server wrote to stdout/stderr so far (all runs).
    std::string log() const;

private:
    void spawn();
    void wait_ready();
    void reap(int sig, int grace_ms);

    std::string host_ = "127.0.0.1";
    std::uint16_t port_ = 0;
    pid_t pid_ = -1;
    bool paused_ = false;
    std::string binary_;
    std::string dir_;
    std::vector<std::string> extra_args_;
    std::vector<std::string> leading_args_;
};

}  // namespace lp::testing
