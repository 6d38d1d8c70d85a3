// tests/integration/node_process: runs a real livepushd as a child process on ports chosen at
// run time (it listens on 127.0.0.1:0 and the fixture reads the ports from its "ready" line),
// and stops it at the end. Its log goes to a file the test can read.
//
// The server's own memory and UB checks must reach the test: at destruction it is stopped with
// SIGTERM (SIGKILL only after a bounded wait) and the current test fails, with the log's tail
// and the kept log file's path, if it did not exit 0 or if its log holds a sanitizer report.
// A test that kills a node on purpose does it through stop(SIGKILL, ...); only the exit status
// is then excused, never a sanitizer report. The child dies with the test's thread
// (PR_SET_PDEATHSIG), so a crashed test leaves no livepushd behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "auth/profile.hpp"

namespace lp::testing {

inline constexpr const char* kTestSecret = "integration-test-secret-0123456789abcdef";
// cluster.secret of every node a test starts (given through LIVEPUSH_CLUSTER_SECRET, so that a
// flag or --set in a test's args still wins); cluster mode refuses to start without one.
inline constexpr const char* kTestClusterSecret = "integration-test-cluster-secret-0123456789";

class NodeProcess {
public:
    // Starts livepushd with a test secret, loopback listens on port 0, 127.0.0.1 as a trusted
    // proxy, and `args` appended (later flags win). Throws std::runtime_error if it does not
    // become ready in 10 s. $LP_LIVEPUSHD, when set, runs that binary instead (e.g. the base
    // commit's build, to show a security test fails without its defence).
    explicit NodeProcess(std::vector<std::string> args = {});
    // Flags::None: only `args`, none of the test flags above (a test of a --config file, whose
    // keys a flag would override, e.g. the reload test); the file must set listens and secret.
    enum class Flags : std::uint8_t { Test, None };
    NodeProcess(std::vector<std::string> args, Flags flags);
    ~NodeProcess();
    NodeProcess(const NodeProcess&) = delete;
    NodeProcess& operator=(const NodeProcess&) = delete;

    std::uint16_t tcp_port() const { return tcp_port_; }
    std::uint16_t ws_port() const { return ws_port_; }
    std::uint16_t api_port() const { return api_port_; }
    std::uint16_t link_port() const { return link_port_; }  // cluster mode only
    pid_t pid() const { return pid_; }

    // Sends sig and waits up to `timeout` for exit. Returns the exit status (WEXITSTATUS), or
    // -1 if it did not exit in time (it is then killed), or -2 if it died of a signal, or -3 if
    // it had already exited. stop(SIGKILL, ...) is a deliberate crash: the destructor then
    // does not require a clean exit.
    int stop(int sig, std::chrono::milliseconds timeout);
    bool running();
    // How long the destructor waits after SIGTERM before it kills (default 20 s).
    void set_shutdown_timeout(std::chrono::milliseconds t) { shutdown_timeout_ = t; }
    std::string log() const;  // the server's stderr so far
    std::uint64_t rss_bytes() const;

private:
    pid_t pid_ = -1;
    std::uint16_t tcp_port_ = 0;
    std::uint16_t ws_port_ = 0;
    std::uint16_t api_port_ = 0;
    std::uint16_t link_port_ = 0;
    void reaped(int status);
    // Why this process's end is a test failure ("" if it is not): an unclean exit that was not
    // a deliberate SIGKILL, or a sanitizer report in its log.
    std::string end_problem() const;

    std::string log_path_;
    bool exited_ = false;
    int wait_status_ = 0;  // from waitpid, valid once exited_
    bool killed_on_purpose_ = false;
    std::chrono::milliseconds shutdown_timeout_{20000};
};

// The first line of `log` that is a sanitizer report (ASan, UBSan, LSan, TSan), or "".
std::string sanitizer_report_in(const std::string& log);

// A token for `user` signed with kTestSecret, valid for `ttl_s` seconds (negative = expired).
std::string token_for(std::uint64_t user, std::int64_t ttl_s = 3600,
                      const std::string& role = "viewer");
// The same with profile claims (auth/profile.hpp), written as given (unchecked).
std::string token_for(std::uint64_t user, const auth::ProfileClaims& profile,
                      std::int64_t ttl_s = 3600, const std::string& role = "viewer");

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
