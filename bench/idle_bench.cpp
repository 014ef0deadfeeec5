// idle_memory and idle_cpu: what an idle keel costs.
//
// Scenarios:
//   idle_memory/keel        1M unnamed idle actors (one handler, never messaged: each handles
//                           only its start) in a fresh actor_system, spawned from the harness
//                           thread. Bytes per actor = (RSS once every actor has started and the
//                           workers have parked - RSS of the fresh system) / 1M, which includes
//                           the cell with its empty mailbox, the actor object, the actor table
//                           and the per-worker counter shards. Measured in a child process
//                           (keel-bench re-executed with --bench-child) so that memory the
//                           allocators kept from earlier benchmarks cannot hide the growth.
//                           Floor: <= 192 bytes per actor. items_per_second = spawns per second
//                           from outside the system (spawn to every start handled).
//   idle_cpu/no_timer       a fresh system with no actor; worker CPU time (the keel-w* threads'
//                           CPU clocks) over k_idle_window of wall time, as % of one core.
//   idle_cpu/periodic_1s    the same with one actor ticking itself every second
//                           (send_periodic). Checked: the ticks arrived.
//                           Floor for both: < 1% of one core.
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>

#include "harness.h"

namespace keel::bench {
namespace {

// ---- idle_memory --------------------------------------------------------------------------------

struct im_never {
  static constexpr std::string_view keel_name = "bench.idle.never/1";
};

class im_idle : public actor<im_idle, im_never> {
 public:
  static constexpr std::string_view keel_name = "bench.idle.actor";
  explicit im_idle(std::atomic<std::uint64_t>* started) : started_(started) {}
  void on_start() override { started_->fetch_add(1, std::memory_order_relaxed); }
  void on(im_never&) {}

 private:
  std::atomic<std::uint64_t>* started_;
};

std::string self_exe() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return {};
  return std::string(buf, static_cast<std::size_t>(n));
}

void bm_idle_memory(benchmark::State& state) {
  const std::uint64_t actors = sized<std::uint64_t>(1'000'000, 20'000);
  const std::string exe = self_exe();
  double bytes_per_actor = 0;
  double total_ns = 0;
  std::uint64_t total = 0;
  for (auto _ : state) {
    const std::string cmd = "'" + exe + "' --bench-child=idle_memory:" + std::to_string(actors);
    std::FILE* p = popen(cmd.c_str(), "r");
    if (!check(state, p != nullptr, "cannot run the idle_memory child")) break;
    unsigned long long before = 0;
    unsigned long long after = 0;
    unsigned long long ns = 0;
    unsigned long long started = 0;
    const int fields = std::fscanf(p, "%llu %llu %llu %llu", &before, &after, &ns, &started);
    const int rc = pclose(p);
    if (!check(state, fields == 4 && rc == 0, "the idle_memory child failed")) break;
    if (!check(state, started == actors, "idle actors started != spawned")) break;
    bytes_per_actor =
        after > before ? static_cast<double>(after - before) / static_cast<double>(actors) : 0;
    state.SetIterationTime(static_cast<double>(ns) / 1e9);
    total += actors;
    total_ns += static_cast<double>(ns);
  }
  set_rate(state, total, total_ns);
  state.counters["bytes_per_actor"] = bytes_per_actor;
}

// ---- idle_cpu -----------------------------------------------------------------------------------

struct ic_tick {
  static constexpr std::string_view keel_name = "bench.idle.tick/1";
};

class ic_ticker : public actor<ic_ticker, ic_tick> {
 public:
  static constexpr std::string_view keel_name = "bench.idle.ticker";
  ic_ticker(std::chrono::nanoseconds period, std::atomic<std::uint64_t>* ticks)
      : period_(period), ticks_(ticks) {}
  void on_start() override { timer_ = send_periodic(self(), period_, ic_tick{}); }
  void on_stop() override { timer_.cancel(); }
  void on(ic_tick&) { ticks_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::chrono::nanoseconds period_;
  std::atomic<std::uint64_t>* ticks_;
  timer_handle timer_;
};

void bm_idle_cpu(benchmark::State& state, bool with_timer) {
  const auto window = sized<std::chrono::milliseconds>(std::chrono::milliseconds(10'000),
                                                       std::chrono::milliseconds(300));
  const auto period = sized<std::chrono::milliseconds>(std::chrono::milliseconds(1000),
                                                       std::chrono::milliseconds(50));
  double pct = 0;
  double wakeups_per_s = 0;
  for (auto _ : state) {
    auto sys = make_system(state);
    if (!sys) break;
    std::atomic<std::uint64_t> ticks{0};
    if (with_timer) {
      auto t = sys->spawn<ic_ticker>(std::chrono::nanoseconds(period), &ticks);
      if (!check(state, t.has_value(), "spawn ticker")) break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the workers park
    const std::vector<int> tids = threads_named(sys->scheduler().config().thread_name_prefix);
    if (!check(state, tids.size() == sys->scheduler().worker_count(),
               "found " + std::to_string(tids.size()) + " keel-w threads")) {
      break;
    }
    const std::uint64_t ticks0 = ticks.load();
    const std::uint64_t wake0 = sys->scheduler().total_stats().wakeups;
    const std::uint64_t cpu0 = threads_cpu_ns(tids);
    const std::uint64_t t0 = now_ns();
    std::this_thread::sleep_for(window);
    const std::uint64_t cpu1 = threads_cpu_ns(tids);
    const std::uint64_t t1 = now_ns();
    const std::uint64_t wake1 = sys->scheduler().total_stats().wakeups;
    const std::uint64_t ticks1 = ticks.load();
    const double wall = static_cast<double>(t1 - t0);
    pct = static_cast<double>(cpu1 - cpu0) / wall * 100.0;
    wakeups_per_s = static_cast<double>(wake1 - wake0) / (wall / 1e9);
    state.SetIterationTime(wall / 1e9);
    if (with_timer) {
      const auto expected = static_cast<std::uint64_t>(window / period);
      check(state, ticks1 - ticks0 + 1 >= expected,
            "periodic ticks " + std::to_string(ticks1 - ticks0) + " < " + std::to_string(expected));
    }
    sys->shutdown();
  }
  state.counters["cpu_pct_of_core"] = pct;
  state.counters["wakeups_per_s"] = wakeups_per_s;
}

// The child process: prints "<rss before> <rss after> <spawn ns> <started>" and exits.
int idle_memory_child(const char* arg) {
  const std::uint64_t actors = std::strtoull(arg, nullptr, 10);
  auto s = actor_system::create(system_config{});
  if (!s) {
    std::fprintf(stderr, "idle_memory child: %s\n", s.error().to_string().c_str());
    return 1;
  }
  std::unique_ptr<actor_system> sys = std::move(s).value();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  const std::uint64_t before = rss_bytes();
  std::atomic<std::uint64_t> started{0};
  const std::uint64_t t0 = now_ns();
  for (std::uint64_t i = 0; i < actors; ++i) {
    if (!sys->spawn<im_idle>(&started)) {
      std::fprintf(stderr, "idle_memory child: spawn %llu failed\n",
                   static_cast<unsigned long long>(i));
      return 1;
    }
  }
  while (started.load(std::memory_order_relaxed) < actors) {
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  const std::uint64_t t1 = now_ns();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // workers park and collect
  const std::uint64_t after = rss_bytes();
  std::printf("%llu %llu %llu %llu\n", static_cast<unsigned long long>(before),
              static_cast<unsigned long long>(after), static_cast<unsigned long long>(t1 - t0),
              static_cast<unsigned long long>(started.load()));
  std::fflush(stdout);
  // Skip the graceful shutdown of 1M actors: the process ends here.
  std::_Exit(0);
}

void register_idle() {
  benchmark::RegisterBenchmark("idle_memory/keel", bm_idle_memory)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("idle_cpu/no_timer", bm_idle_cpu, false)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("idle_cpu/periodic_1s", bm_idle_cpu, true)
      ->UseManualTime()
      ->Iterations(1)
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_idle);
const child_registrar child_reg("idle_memory", &idle_memory_child);

}  // namespace

}  // namespace keel::bench
