// load-test/process_stats: what livepush-load reads about processes: the server's resident
// memory and CPU time from /proc/<pid>, its own CPU time from getrusage, and the CPU use of both
// over a measuring window (CpuWindow). Reads only; never signals or changes a process.
#pragma once

namespace lp::load {

// Resident set size of a process in KiB from /proc/<pid>/status (VmRSS); -1 when unreadable.
long read_rss_kib(int pid);
// CPU time (user + system) a process has used, in clock ticks from /proc/<pid>/stat; -1 when
// unreadable.
long long read_cpu_ticks(int pid);
// CPU time (user + system) this process has used, in seconds.
double own_cpu_s();

// The CPU use of this process and (with a pid > 0) of the server over one window, in % of one
// core. Made at the window's start; finish() at its end.
class CpuWindow {
public:
    explicit CpuWindow(int server_pid);
    // client_pct: 0 for an empty window; server_pct: -1 when unknown (no pid, /proc unreadable,
    // or an empty window).
    void finish(double window_s, double& client_pct, double& server_pct) const;

private:
    int server_pid_;
    long long server_ticks_0_;
    double cpu_0_;
};

}  // namespace lp::load
