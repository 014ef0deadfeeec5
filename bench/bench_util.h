// Measurement helpers for keel-bench that know nothing of keel: resident memory, per-thread CPU
// time, clocks and percentiles, and a temporary directory. Linux only (they read /proc).
//
// Thread safety: every function may be called from any thread; none keeps state.
#pragma once

#include <dirent.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

namespace keel::bench {

// ---- files -------------------------------------------------------------------------------------

// A fresh directory under the system's temporary directory (keel-bench-<tag>-XXXXXX), removed
// with everything in it when the object goes: declare it before what writes into it.
struct bench_dir {
  std::string root;
  explicit bench_dir(std::string_view tag) {
    std::string t =
        (std::filesystem::temp_directory_path() / ("keel-bench-" + std::string(tag) + "-XXXXXX"))
            .string();
    if (::mkdtemp(t.data()) != nullptr) root = t;
  }
  ~bench_dir() {
    std::error_code ec;
    if (!root.empty()) std::filesystem::remove_all(root, ec);
  }
  bench_dir(const bench_dir&) = delete;
  bench_dir& operator=(const bench_dir&) = delete;
  // The event log directory inside it (created by event_log::open).
  std::string log() const { return root + "/log"; }
};

// ---- clocks ------------------------------------------------------------------------------------

// Monotonic nanoseconds (steady_clock, a vDSO call: about 20-40 ns here).
inline std::uint64_t now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// ---- memory ------------------------------------------------------------------------------------

// Resident set size in bytes (/proc/self/statm, second field).
inline std::uint64_t rss_bytes() {
  std::ifstream in("/proc/self/statm");
  std::uint64_t size = 0;
  std::uint64_t resident = 0;
  in >> size >> resident;
  return resident * static_cast<std::uint64_t>(sysconf(_SC_PAGESIZE));
}

// A "Vm...:" line of /proc/self/status, in bytes (0 if absent).
inline std::uint64_t status_field_bytes(std::string_view field) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.compare(0, field.size(), field) == 0 && line.size() > field.size() &&
        line[field.size()] == ':') {
      return std::strtoull(line.c_str() + field.size() + 1, nullptr, 10) * 1024;
    }
  }
  return 0;
}

// Peak resident set size (VmHWM) in bytes.
inline std::uint64_t peak_rss_bytes() { return status_field_bytes("VmHWM"); }

// Resets VmHWM to the current RSS (writes 5 to /proc/self/clear_refs, Linux >= 4.0), so that a
// later peak_rss_bytes() is the peak of what ran in between. Returns false if it could not.
inline bool reset_peak_rss() {
  std::FILE* f = std::fopen("/proc/self/clear_refs", "w");
  if (f == nullptr) return false;
  const bool ok = std::fputs("5", f) >= 0;
  return std::fclose(f) == 0 && ok;
}

// ---- threads -----------------------------------------------------------------------------------

// Thread ids of this process whose name (comm) starts with `prefix` (e.g. "keel-w").
inline std::vector<int> threads_named(std::string_view prefix) {
  std::vector<int> tids;
  DIR* d = opendir("/proc/self/task");
  if (d == nullptr) return tids;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] < '0' || e->d_name[0] > '9') continue;
    std::ifstream in(std::string("/proc/self/task/") + e->d_name + "/comm");
    std::string comm;
    std::getline(in, comm);
    if (comm.compare(0, prefix.size(), prefix) == 0) tids.push_back(std::atoi(e->d_name));
  }
  closedir(d);
  std::sort(tids.begin(), tids.end());
  return tids;
}

// CPU time (user + system) of thread `tid` of this process in ns, from its per-thread CPU clock
// (the kernel's MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) encoding, the same clock that
// pthread_getcpuclockid returns); falls back to /proc/self/task/<tid>/schedstat.
inline std::uint64_t thread_cpu_ns(int tid) {
  const auto clock = static_cast<clockid_t>((~static_cast<unsigned>(tid) << 3) | 6U);
  timespec ts{};
  if (clock_gettime(clock, &ts) == 0) {
    return static_cast<std::uint64_t>(ts.tv_sec) * 1'000'000'000ULL +
           static_cast<std::uint64_t>(ts.tv_nsec);
  }
  std::ifstream in("/proc/self/task/" + std::to_string(tid) + "/schedstat");
  std::uint64_t run_ns = 0;
  in >> run_ns;
  return run_ns;
}

// Summed CPU time of the given threads in ns.
inline std::uint64_t threads_cpu_ns(const std::vector<int>& tids) {
  std::uint64_t sum = 0;
  for (int t : tids) sum += thread_cpu_ns(t);
  return sum;
}

// ---- statistics --------------------------------------------------------------------------------

// The p-th percentile (0..100, nearest rank) of `v`; sorts `v`. 0 for an empty vector.
inline double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size());
  std::size_t i = rank <= 1 ? 0 : static_cast<std::size_t>(rank + 0.999999) - 1;
  if (i >= v.size()) i = v.size() - 1;
  return v[i];
}

// Percentiles the latency benchmarks report.
struct latency_summary {
  double p50 = 0;
  double p99 = 0;
  double p999 = 0;
  double max = 0;
};

inline latency_summary summarize(std::vector<double>& v) {
  latency_summary s;
  s.p50 = percentile(v, 50);
  s.p99 = percentile(v, 99);
  s.p999 = percentile(v, 99.9);
  s.max = v.empty() ? 0 : v.back();
  return s;
}

}  // namespace keel::bench
