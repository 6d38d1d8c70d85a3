// tests/integration/redis_server: see redis_server.hpp.
#include "redis_server.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string_view>
#include <thread>

namespace lp::testing {

namespace {

using Clock = std::chrono::steady_clock;

std::string find_redis_server() {
    if (const char* env = std::getenv("LP_REDIS_SERVER"); env && *env) {
        if (::access(env, X_OK) == 0) return env;
        throw std::runtime_error(std::string("LP_REDIS_SERVER=") + env + " is not an executable");
    }
    if (const char* path = std::getenv("PATH")) {
        std::stringstream dirs(path);
        std::string dir;
        while (std::getline(dirs, dir, ':')) {
            std::string candidate = (dir.empty() ? "." : dir) + "/redis-server";
            if (::access(candidate.c_str(), X_OK) == 0) return candidate;
        }
    }
    throw std::runtime_error(
        "redis-server not found on PATH. The Redis tests run a real Redis: install it "
        "(apt-get install redis-server) or set LP_REDIS_SERVER=/path/to/redis-server");
}

// Major version from "Redis server v=7.0.15 ...", 0 if it cannot be read.
int major_version(const std::string& binary) {
    std::string cmd = "'" + binary + "' --version 2>/dev/null";
    FILE* p = ::popen(cmd.c_str(), "r");
    if (!p) return 0;
    char buf[256] = {};
    std::string out;
    while (std::fgets(buf, sizeof buf, p)) out += buf;
    ::pclose(p);
    auto at = out.find("v=");
    return at == std::string::npos ? 0 : std::atoi(out.c_str() + at + 2);
}

std::uint16_t free_loopback_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) throw std::runtime_error("socket() failed");
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = 0;
    socklen_t len = sizeof addr;
    if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
        ::close(fd);
        throw std::runtime_error("cannot find a free loopback port");
    }
    ::close(fd);
    return ntohs(addr.sin_port);
}

// True if a Redis on 127.0.0.1:port answers an inline PING within 200 ms (+PONG, or -NOAUTH
// when it requires a password).
bool answers_ping(std::uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) return false;
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    bool ok = false;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        static constexpr char kPing[] = "PING\r\n";
        if (::send(fd, kPing, sizeof kPing - 1, MSG_NOSIGNAL) == sizeof kPing - 1) {
            pollfd p{fd, POLLIN, 0};
            char buf[16] = {};
            if (::poll(&p, 1, 200) > 0 && ::recv(fd, buf, sizeof buf - 1, 0) > 0) {
                std::string_view answer(buf);
                ok = answer.starts_with("+PONG") || answer.starts_with("-NOAUTH");
            }
        }
    }
    ::close(fd);
    return ok;
}

}  // namespace

RedisServer::RedisServer(std::vector<std::string> extra_args, std::vector<std::string> leading_args)
    : binary_(find_redis_server()),
      extra_args_(std::move(extra_args)),
      leading_args_(std::move(leading_args)) {
    std::string tmpl = (std::filesystem::temp_directory_path() / "livepush-redis-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw std::runtime_error("mkdtemp failed");
    dir_ = tmpl;
    if (major_version(binary_) >= 7) {
        // Redis 7 refuses DEBUG by default; tests use DEBUG SLEEP to stall the server.
        extra_args_.insert(extra_args_.begin(), {"--enable-debug-command", "local"});
    }
    // The free port can be taken between our probe and redis-server's bind: try a few.
    for (int attempt = 1;; ++attempt) {
        port_ = free_loopback_port();
        std::error_code ec;
        std::filesystem::remove(dir_ + "/redis.log", ec);
        try {
            start();
            return;
        } catch (const std::exception&) {
            bool port_race = log().find("Address already in use") != std::string::npos;
            if (port_race && attempt < 5) continue;
            std::filesystem::remove_all(dir_, ec);
            throw;
        }
    }
}

RedisServer::~RedisServer() {
    stop();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

void RedisServer::start() {
    if (running()) return;
    spawn();
    wait_ready();
}

void RedisServer::spawn() {
    std::vector<std::string> args = {binary_};
    args.insert(args.end(), leading_args_.begin(), leading_args_.end());
    args.insert(args.end(), {"--port", std::to_string(port_), "--bind", host_, "--save", "",
                             "--appendonly", "no", "--daemonize", "no", "--dir", dir_});
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log_path = dir_ + "/redis.log";
    const pid_t parent = ::getpid();

    pid_t pid = ::fork();
    if (pid < 0) throw std::runtime_error("fork failed");
    if (pid == 0) {
        // Only async-signal-safe calls from here: the test process has other threads.
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) ::_exit(1);
        int logfd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
        if (logfd >= 0) {
            ::dup2(logfd, 1);
            ::dup2(logfd, 2);
        }
        int devnull = ::open("/dev/null", O_RDONLY);
        if (devnull >= 0) ::dup2(devnull, 0);
        ::execv(argv[0], argv.data());
        ::_exit(127);
    }
    pid_ = pid;
    paused_ = false;
}

void RedisServer::wait_ready() {
    const auto deadline = Clock::now() + std::chrono::seconds(10);
    while (Clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            throw std::runtime_error("redis-server exited during start-up on port " +
                                     std::to_string(port_) + "; its log:\n" + log());
        }
        if (answers_ping(port_)) return;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    kill9();
    throw std::runtime_error("redis-server did not answer PING on port " + std::to_string(port_) +
                             " within 10 s; its log:\n" + log());
}

void RedisServer::stop() {
    reap(SIGTERM, 5000);
}

void RedisServer::restart() {
    stop();
    start();
}

void RedisServer::kill9() {
    reap(SIGKILL, 5000);
}

void RedisServer::pause() {
    if (running() && !paused_) {
        ::kill(pid_, SIGSTOP);
        paused_ = true;
    }
}

void RedisServer::resume() {
    if (running() && paused_) {
        ::kill(pid_, SIGCONT);
        paused_ = false;
    }
}

void RedisServer::reap(int sig, int grace_ms) {
    if (!running()) return;
    ::kill(pid_, sig);
    if (paused_) ::kill(pid_, SIGCONT);  // a stopped process would not act on SIGTERM
    paused_ = false;
    const auto deadline = Clock::now() + std::chrono::milliseconds(grace_ms);
    int status = 0;
    while (Clock::now() < deadline) {
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            return;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
}

std::string RedisServer::log() const {
    std::ifstream f(dir_ + "/redis.log");
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

}  // namespace lp::testing
