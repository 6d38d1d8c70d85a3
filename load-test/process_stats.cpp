// load-test/process_stats: see process_stats.hpp.
#include "load-test/process_stats.hpp"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>

namespace lp::load {

long read_rss_kib(int pid) {
    std::ifstream status("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    // Bounded by the file's length (a few dozen lines).
    while (std::getline(status, line)) {
        if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
    }
    return -1;
}

long long read_cpu_ticks(int pid) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string text;
    std::getline(stat, text);
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    std::size_t close = text.rfind(')');
    if (close == std::string::npos) return -1;
    const char* p = text.c_str() + close + 1;
    long long utime = 0, stime = 0;
    if (std::sscanf(p, " %*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lld %lld", &utime, &stime) !=
        2) {
        return -1;
    }
    return utime + stime;
}

double own_cpu_s() {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
           double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

CpuWindow::CpuWindow(int server_pid)
    : server_pid_(server_pid),
      server_ticks_0_(server_pid > 0 ? read_cpu_ticks(server_pid) : -1),
      cpu_0_(own_cpu_s()) {}

void CpuWindow::finish(double window_s, double& client_pct, double& server_pct) const {
    client_pct = window_s > 0 ? (own_cpu_s() - cpu_0_) / window_s * 100 : 0;
    long long server_ticks_1 = server_pid_ > 0 ? read_cpu_ticks(server_pid_) : -1;
    if (server_ticks_0_ >= 0 && server_ticks_1 >= 0 && window_s > 0) {
        server_pct = double(server_ticks_1 - server_ticks_0_) / double(sysconf(_SC_CLK_TCK)) /
                     window_s * 100;
    }
}

}  // namespace lp::load
