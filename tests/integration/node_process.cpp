// tests/integration/node_process: see node_process.hpp.
#include "node_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "handlers/jwt.hpp"

#ifndef LIVEPUSHD_PATH
#error "LIVEPUSHD_PATH must point at the livepushd binary"
#endif

namespace lp::testing {

namespace {

std::uint16_t port_after(const std::string& line, const std::string& key) {
    auto at = line.find(" " + key + "=");
    if (at == std::string::npos) return 0;
    auto colon = line.find_first_of(' ', at + 1);
    std::string addr = line.substr(at + key.size() + 2, colon == std::string::npos ? std::string::npos : colon - at - key.size() - 2);
    return static_cast<std::uint16_t>(std::stoi(addr.substr(addr.rfind(':') + 1)));
}

}  // namespace

NodeProcess::NodeProcess(std::vector<std::string> args) {
    static int counter = 0;
    log_path_ = std::filesystem::temp_directory_path() /
                ("livepushd-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter) + ".log");
    std::vector<std::string> argv = {LIVEPUSHD_PATH,         "--jwt-secret", kTestSecret,
                                     "--tcp-listen",         "127.0.0.1:0",  "--ws-listen",
                                     "127.0.0.1:0",          "--api-listen", "127.0.0.1:0",
                                     "--node-id",            "test-node",    "--log-level",
                                     "info"};
    argv.insert(argv.end(), args.begin(), args.end());
    int out[2];
    if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
        ::dup2(out[1], 1);
        int logfd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (logfd >= 0) ::dup2(logfd, 2);
        ::close(out[0]);
        std::vector<char*> cargv;
        for (auto& a : argv) cargv.push_back(a.data());
        cargv.push_back(nullptr);
        ::execv(cargv[0], cargv.data());
        std::perror("execv livepushd");
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
        throw std::runtime_error("livepushd did not become ready; log:\n" + log());
    }
}

NodeProcess::~NodeProcess() {
    if (!exited_) stop(SIGKILL, std::chrono::milliseconds(5000));
    // In the sanitizer builds a report in the node's log fails the test that started the node,
    // whatever the test checked: a race or a memory error at shutdown must not pass unseen.
    const std::string text = log();
    for (const char* report : {"WARNING: ThreadSanitizer", "ERROR: AddressSanitizer", "runtime error:"}) {
        if (text.find(report) != std::string::npos) {
            std::fprintf(stderr, "livepushd wrote a sanitizer report (%s):\n%s\n", report, text.c_str());
            std::abort();
        }
    }
    std::error_code ec;
    std::filesystem::remove(log_path_, ec);
}

bool NodeProcess::running() {
    if (exited_) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
        exited_ = true;
        return false;
    }
    return true;
}

int NodeProcess::stop(int sig, std::chrono::milliseconds timeout) {
    if (exited_) return -3;
    ::kill(pid_, sig);
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
        int status = 0;
        if (::waitpid(pid_, &status, WNOHANG) == pid_) {
            exited_ = true;
            if (WIFEXITED(status)) return WEXITSTATUS(status);
            return -2;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exited_ = true;
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
