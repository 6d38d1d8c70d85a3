// tests/integration/node_process: see node_process.hpp.
#include "node_process.hpp"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>
#include <utility>

#include "auth/jwt.hpp"

#ifndef LIVEPUSHD_PATH
#error "LIVEPUSHD_PATH must point at the livepushd binary"
#endif

extern char** environ;

namespace lp::testing {

namespace {

std::uint16_t port_after(const std::string& line, const std::string& key) {
    auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return 0;
    auto colon = line.find_first_of(' ', at + 1);
    std::string addr =
        line.substr(at + key.size() + 2,
                    colon == std::string::npos ? std::string::npos : colon - at - key.size() - 2);
    return static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
}

}  // namespace

NodeProcess::NodeProcess(std::vector<std::string> args)
    : NodeProcess(std::move(args), Flags::Test) {}

NodeProcess::NodeProcess(std::vector<std::string> args, Flags flags) {
    static int counter = 0;
    log_path_ =
        std::filesystem::temp_directory_path() /
        ("livepushd-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".log");
    const char* other = std::getenv("LP_LIVEPUSHD");
    std::vector<std::string> argv = {other && *other ? other : LIVEPUSHD_PATH,
                                     "--jwt-secret",
                                     kTestSecret,
                                     "--tcp-listen",
                                     "127.0.0.1:0",
                                     "--ws-listen",
                                     "127.0.0.1:0",
                                     "--api-listen",
                                     "127.0.0.1:0",
                                     "--node-id",
                                     "test-node",
                                     "--log-level",
                                     "info"};
    // Every test client connects from 127.0.0.1, many of them within a second: the loopback
    // address stands for a trusted load balancer (exempt from the per-IP limits). The tests of
    // those limits override it. Another build (LP_LIVEPUSHD) may predate the flag.
    if (!other || !*other) argv.insert(argv.end(), {"--trusted-proxies", "127.0.0.1"});
    if (flags == Flags::None) argv.resize(1);
    argv.insert(argv.end(), args.begin(), args.end());
    int out[2];
    // Close-on-exec, so that no other child (another node, redis-server, kcat) holds the pipe.
    if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
    // Built before fork: the child of a threaded process may only make async-signal-safe calls.
    std::vector<char*> cargv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    // The environment, plus a cluster secret (a test's flag or --set still wins over it).
    std::string cluster_secret = std::string("LIVEPUSH_CLUSTER_SECRET=") + kTestClusterSecret;
    std::vector<char*> cenv;
    for (char** e = environ; e && *e; ++e)
        if (std::strncmp(*e, "LIVEPUSH_CLUSTER_SECRET=", 24) != 0) cenv.push_back(*e);
    cenv.push_back(cluster_secret.data());
    cenv.push_back(nullptr);
    const pid_t parent = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        // Die with the test (a crashed or timed-out test must not leave a server behind).
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(127);
        ::dup2(out[1], 1);
        int logfd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (logfd >= 0) ::dup2(logfd, 2);
        ::close(out[0]);
        ::execve(cargv[0], cargv.data(), cenv.data());
        static constexpr char kFailed[] = "execv livepushd failed\n";
        (void)!::write(2, kFailed, sizeof kFailed - 1);
        ::_exit(127);
    }
    ::close(out[1]);
    // Read stdout until the ready line (10 s at most).
    std::string buf;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (std::chrono::steady_clock::now() < deadline) {
        pollfd p{out[0], POLLIN, 0};
        if (::poll(&p, 1, 100) > 0) {
            char tmp[4096];
            ssize_t n = ::read(out[0], tmp, sizeof tmp);
            if (n <= 0) break;
            buf.append(tmp, static_cast<std::size_t>(n));
            auto at = buf.find("livepushd ready");
            if (at != std::string::npos && buf.find('\n', at) != std::string::npos) {
                std::string line = buf.substr(at, buf.find('\n', at) - at);
                tcp_port_ = port_after(line, "tcp");
                ws_port_ = port_after(line, "ws");
                api_port_ = port_after(line, "api");
                link_port_ = port_after(line, "link");
                break;
            }
        }
    }
    // Keep draining stdout in the background so the child never blocks on a full pipe.
    int fd = out[0];
    std::thread([fd] {
        char tmp[4096];
        while (::read(fd, tmp, sizeof tmp) > 0) {
        }
        ::close(fd);
    }).detach();
    if (tcp_port_ == 0 && ws_port_ == 0) {
        stop(SIGKILL, std::chrono::milliseconds(2000));
        std::string text = log();
        std::error_code ec;
        std::filesystem::remove(log_path_, ec);
        throw std::runtime_error("livepushd did not become ready; log:\n" + text);
    }
}

NodeProcess::~NodeProcess() {
    std::string problem;
    if (!exited_ && stop(SIGTERM, shutdown_timeout_) == -1) {
        problem = "did not exit within " + std::to_string(shutdown_timeout_.count()) +
                  " ms of SIGTERM (killed)";
    }
    if (problem.empty()) problem = end_problem();
    std::error_code ec;
    if (problem.empty()) {
        std::filesystem::remove(log_path_, ec);
        return;
    }
    std::string text = log();
    std::size_t from = text.size();
    for (int lines = 0; from > 0 && lines < 80; ++lines) {
        auto nl = text.rfind('\n', from - 1);
        from = nl == std::string::npos ? 0 : nl;
    }
    ADD_FAILURE() << "livepushd (pid " << pid_ << ") " << problem << "\nlog kept at " << log_path_
                  << "; its tail:\n"
                  << text.substr(from);
}

void NodeProcess::reaped(int status) {
    exited_ = true;
    wait_status_ = status;
}

std::string NodeProcess::end_problem() const {
    if (std::string report = sanitizer_report_in(log()); !report.empty()) {
        return "reported: " + report;
    }
    if (killed_on_purpose_) return "";
    if (WIFEXITED(wait_status_) && WEXITSTATUS(wait_status_) == 0) return "";
    if (WIFEXITED(wait_status_))
        return "exited with status " + std::to_string(WEXITSTATUS(wait_status_));
    if (WIFSIGNALED(wait_status_))
        return std::string("died of signal ") + ::strsignal(WTERMSIG(wait_status_));
    return "ended uncleanly (wait status " + std::to_string(wait_status_) + ")";
}

std::string sanitizer_report_in(const std::string& log) {
    static constexpr const char* kMarkers[] = {
        "ERROR: AddressSanitizer", "runtime error:", "ERROR: LeakSanitizer",
        "WARNING: ThreadSanitizer", "ERROR: ThreadSanitizer"};
    std::size_t first = std::string::npos;
    for (const char* m : kMarkers) first = std::min(first, log.find(m));
    if (first == std::string::npos) return "";
    auto begin = log.rfind('\n', first);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return log.substr(begin, log.find('\n', first) - begin);
}

bool NodeProcess::running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        reaped(status);
        return false;
    }
    return true;
}

int NodeProcess::stop(int sig, std::chrono::milliseconds timeout) {
    if (sig == SIGKILL) killed_on_purpose_ = true;
    if (exited_) return -3;
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            reaped(status);
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return -2;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    reaped(status);
    return -1;
}

std::string NodeProcess::log() const {
    std::ifstream f(log_path_);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

std::uint64_t NodeProcess::rss_bytes() const {
    std::ifstream f("/proc/" + std::to_string(pid_) + "/status");
    std::string line;
    while (std::getline(f, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
    }
    return 0;
}

std::string token_for(std::uint64_t user, std::int64_t ttl_s, const std::string& role) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return auth::mint_hs256(kTestSecret, user, role, now, now + ttl_s);
}

std::string token_for(std::uint64_t user, const auth::ProfileClaims& profile, std::int64_t ttl_s,
                      const std::string& role) {
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    return auth::mint_hs256(kTestSecret, user, role, now, now + ttl_s, {}, {}, profile);
}

TempDir::TempDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "livepush-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    path_ = tmpl;
}

TempDir::~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
}

}  // namespace lp::testing
