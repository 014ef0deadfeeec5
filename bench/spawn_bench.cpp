// spawn: an actor spawns short-lived actors, each of which receives one message and stops itself.
//
// Scenarios:
//   spawn/unnamed   a spawner actor (default configuration, unpinned) spawns N children, k_chunk
//                   per activation (it re-sends itself a `go` to continue); right after each
//                   spawn it sends the child one message, on which the child calls stop_self()
//                   and counts itself done. The last child signals the harness thread, which
//                   blocks meanwhile. Goal: <= 300 ns per spawn.
//   spawn/named     the same with spawn_options.name unique per spawn ("s<counter>"), which adds
//                   the name registry (reported apart, no goal).
// Time runs from the first spawn to the last child's message handled; items_per_second = spawns
// per second. Checked: every spawn succeeded, every child handled its message, and the system's
// live actor count returns to the spawner alone.
#include <charconv>
#include <chrono>
#include <string>
#include <thread>

#include "harness.h"

namespace keel::bench {
namespace {

constexpr std::uint32_t k_chunk = 64;

struct sp_run {
  std::uint64_t epoch = 0;  // the harness's iteration number: tells a new run from the last
  std::uint64_t children = 0;
  bool named = false;
  std::atomic<std::uint64_t> remaining{0};
  std::uint64_t spawn_failures = 0;
  std::atomic<std::uint64_t> send_failures{0};  // written by the spawner, read on timeout
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
  completion* done = nullptr;
};

struct sp_go {
  static constexpr std::string_view keel_name = "bench.spawn.go/1";
  sp_run* run;
};
struct sp_hello {
  static constexpr std::string_view keel_name = "bench.spawn.hello/1";
};

class sp_child : public actor<sp_child, sp_hello> {
 public:
  static constexpr std::string_view keel_name = "bench.spawn.child";
  explicit sp_child(sp_run* run) : run_(run) {}
  void on(sp_hello&) {
    stop_self();
    if (run_->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      run_->end_ns = now_ns();
      run_->done->signal();
    }
  }

 private:
  sp_run* run_;
};

class sp_spawner : public actor<sp_spawner, sp_go> {
 public:
  static constexpr std::string_view keel_name = "bench.spawn.spawner";

  void on(sp_go& g) {
    sp_run* run = g.run;
    if (run != run_ || run->epoch != epoch_) {  // a new run (the harness reuses the address)
      run_ = run;
      epoch_ = run->epoch;
      spawned_ = 0;
      run->start_ns = now_ns();
    }
    spawn_options opts;
    for (std::uint32_t k = 0; k < k_chunk && spawned_ < run->children; ++k, ++spawned_) {
      if (run->named) {
        // "s<serial>" (to_chars: GCC 12 warns falsely on "s" + std::to_string at -O3).
        char buf[24] = {'s'};
        const auto r = std::to_chars(buf + 1, buf + sizeof(buf), serial_++);
        opts.name.assign(buf, r.ptr);
      }
      auto child = system().spawn_with<sp_child>(opts, run);
      if (!child) {
        ++run->spawn_failures;
        if (run->remaining.fetch_sub(1, std::memory_order_acq_rel) == 1) {
          run->end_ns = now_ns();
          run->done->signal();
        }
        continue;
      }
      if (child->send(sp_hello{}) != send_status::ok) ++run->send_failures;
    }
    if (spawned_ < run->children) self().send(sp_go{run});
  }

 private:
  sp_run* run_ = nullptr;
  std::uint64_t epoch_ = 0;
  std::uint64_t spawned_ = 0;
  std::uint64_t serial_ = 0;
};

std::uint64_t spawns_per_iteration() { return sized<std::uint64_t>(200'000, 2'000); }
constexpr benchmark::IterationCount k_iterations = 5;

void bm_spawn(benchmark::State& state, bool named) {
  auto sys = make_system(state);
  if (!sys) return;
  auto spawner = sys->spawn<sp_spawner>();
  if (!check(state, spawner.has_value(), "spawn spawner")) return;
  const std::uint64_t n = spawns_per_iteration();
  std::uint64_t total = 0;
  double total_ns = 0;
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    completion done;
    sp_run run;
    run.epoch = ++epoch;
    run.children = n;
    run.named = named;
    run.remaining.store(n, std::memory_order_relaxed);
    run.done = &done;
    spawner->send(sp_go{&run});
    if (!done.wait()) {
      check(state, false,
            "timed out waiting for the last child: " + std::to_string(run.remaining.load()) +
                " of " + std::to_string(n) + " children left, " +
                std::to_string(sys->actor_count()) + " live actors, " +
                std::to_string(sys->dead_letter_count()) + " dead letters, send failures " +
                std::to_string(run.send_failures.load()));
      break;
    }
    if (!check(state, run.spawn_failures == 0, "a spawn failed")) break;
    if (!check(state, run.remaining.load() == 0, "a child did not handle its message")) break;
    const double ns = static_cast<double>(run.end_ns - run.start_ns);
    state.SetIterationTime(ns / 1e9);
    total += n;
    total_ns += ns;
  }
  // The children stop after their handler returned: wait (bounded) for the count to settle.
  const std::uint64_t deadline = now_ns() + 5'000'000'000ULL;
  while (sys->actor_count() > 1 && now_ns() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  check(state, sys->actor_count() == 1,
        "live actors after the children stopped: " + std::to_string(sys->actor_count()));
  set_rate(state, total, total_ns);
  sys->shutdown();
}

void register_spawn() {
  benchmark::RegisterBenchmark("spawn/unnamed", bm_spawn, false)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("spawn/named", bm_spawn, true)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_spawn);

}  // namespace
}  // namespace keel::bench
