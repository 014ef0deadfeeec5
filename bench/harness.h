// The keel-bench harness: registration of the workload families, the smoke mode, result checks
// that make the process fail, and the small synchronisation pieces the benchmarks share.
//
// Each workload file registers its benchmarks with a `registrar` at static-initialisation time;
// bench_main.cpp calls the registered functions after it has parsed --smoke, so every workload
// can size itself with `sized(full, smoke)`.
//
// Thread safety: registration and smoke() before main's benchmarks run; check() and completion
// from any thread.
#pragma once

#include <benchmark/benchmark.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <climits>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "bench_util.h"

#include <keel/keel.h>

namespace keel::bench {

// ---- registration and modes --------------------------------------------------------------------

using register_fn = void (*)();

inline std::vector<register_fn>& registry() {
  static std::vector<register_fn> fns;
  return fns;
}

struct registrar {
  explicit registrar(register_fn f) { registry().push_back(f); }
};

// A child mode: keel-bench re-executed as `keel-bench --bench-child=<name>:<arg>` runs `fn(arg)`
// instead of the benchmarks and exits with its result (used where a measurement needs a fresh
// process, e.g. idle_memory's RSS).
using child_fn = int (*)(const char* arg);
struct child_mode {
  const char* name;
  child_fn fn;
};
inline std::vector<child_mode>& child_modes() {
  static std::vector<child_mode> modes;
  return modes;
}
struct child_registrar {
  child_registrar(const char* name, child_fn fn) { child_modes().push_back({name, fn}); }
};

inline bool& smoke_flag() {
  static bool on = false;
  return on;
}
// Smoke mode (--smoke or KEEL_BENCH_SMOKE=1): every workload at a size that runs in well under a
// second, one iteration, results checked.
inline bool smoke() { return smoke_flag(); }
template <class T>
T sized(T full, T smoke_size) {
  return smoke() ? smoke_size : full;
}
// Iterations per repetition: the given count, or 1 in smoke mode.
inline benchmark::IterationCount iterations(benchmark::IterationCount full) {
  return smoke() ? 1 : full;
}

// ---- result checks -----------------------------------------------------------------------------

inline std::atomic<int>& failed_checks() {
  static std::atomic<int> n{0};
  return n;
}

// Records a failed result check: the benchmark is marked with the error and keel-bench exits
// non-zero at the end. Returns `ok`. Harness thread only (it touches `state`).
inline bool check(benchmark::State& state, bool ok, const std::string& what) {
  if (ok) return true;
  failed_checks().fetch_add(1, std::memory_order_relaxed);
  std::fprintf(stderr, "CHECK FAILED: %s\n", what.c_str());
  state.SkipWithError(what.c_str());
  return false;
}

// ---- synchronisation ---------------------------------------------------------------------------

// A one-shot event: the last actor of a workload signals, the harness thread blocks in wait()
// on a futex (no polling, so the waiting harness does not disturb the workers). Memory
// ordering: everything written before signal() is visible after wait() returns true (release /
// acquire).
class completion {
 public:
  void signal() noexcept {
    done_.store(1, std::memory_order_release);
    syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&done_), FUTEX_WAKE_PRIVATE, INT32_MAX,
            nullptr, nullptr, 0);
  }
  // Blocks until signal() or `timeout`; returns whether it was signalled. A workload that never
  // completes (a lost message or wake-up in the runtime) fails its check instead of hanging.
  bool wait(std::chrono::nanoseconds timeout = std::chrono::seconds(30)) const noexcept {
    const std::uint64_t deadline = now_ns() + static_cast<std::uint64_t>(timeout.count());
    while (done_.load(std::memory_order_acquire) == 0) {
      const std::uint64_t now = now_ns();
      if (now >= deadline) return false;
      const std::uint64_t left = deadline - now;
      timespec ts{static_cast<time_t>(left / 1'000'000'000U),
                  static_cast<long>(left % 1'000'000'000U)};
      syscall(SYS_futex,
              reinterpret_cast<std::uint32_t*>(const_cast<std::atomic<std::uint32_t>*>(&done_)),
              FUTEX_WAIT_PRIVATE, 0, &ts, nullptr, 0);
    }
    return true;
  }
  bool done() const noexcept { return done_.load(std::memory_order_acquire) != 0; }

 private:
  std::atomic<std::uint32_t> done_{0};
};

// Waits for `done`; on timeout fails the benchmark with `what` and returns false.
inline bool wait_or_fail(benchmark::State& state, const completion& done, const std::string& what,
                         std::chrono::nanoseconds timeout = std::chrono::seconds(30)) {
  if (done.wait(timeout)) return true;
  return check(state, false, "timed out waiting for " + what);
}

// Pins the calling thread to `cpu`.
inline void pin_this_thread(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// ---- keel systems ------------------------------------------------------------------------------

// keel diagnostics (failure reports, mailbox_age warnings) seen during the run; bench_main
// prints the count at the end instead of letting them interleave with the results.
inline std::atomic<std::uint64_t>& diagnostics_seen() {
  static std::atomic<std::uint64_t> n{0};
  return n;
}

// A keel actor system as a user runs it (default configuration: one worker per core), with
// `tweak` applied to the configuration; diagnostics are counted, not printed. Fails the
// benchmark if it cannot be created.
template <class Tweak>
std::unique_ptr<actor_system> make_system(benchmark::State& state, Tweak&& tweak) {
  system_config cfg;
  cfg.diagnostics = [](const diagnostic&) {
    diagnostics_seen().fetch_add(1, std::memory_order_relaxed);
  };
  tweak(cfg);
  auto s = actor_system::create(std::move(cfg));
  if (!s) {
    check(state, false, "actor_system::create: " + s.error().to_string());
    return nullptr;
  }
  return std::move(s).value();
}
inline std::unique_ptr<actor_system> make_system(benchmark::State& state) {
  return make_system(state, [](system_config&) {});
}

// Writes the latency percentiles of `samples_ns` as counters p50_ns, p99_ns, p999_ns, max_ns.
inline void set_latency_counters(benchmark::State& state, std::vector<double>& samples_ns) {
  const latency_summary s = summarize(samples_ns);
  state.counters["p50_ns"] = s.p50;
  state.counters["p99_ns"] = s.p99;
  state.counters["p999_ns"] = s.p999;
  state.counters["max_ns"] = s.max;
}

// Sets items_per_second (through SetItemsProcessed) and ns_per_item for `items` handled in
// `total_ns` (the manual time of all iterations).
inline void set_rate(benchmark::State& state, std::uint64_t items, double total_ns) {
  state.SetItemsProcessed(static_cast<std::int64_t>(items));
  state.counters["ns_per_item"] = items == 0 ? 0 : total_ns / static_cast<double>(items);
}

}  // namespace keel::bench
