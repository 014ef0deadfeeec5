// Circuit breaker: the cost of the calls a protected call makes, beside the atomic operations
// they are built from, measured in the same run (the floors are ratios to these).
//
// Scenarios (each op repeated k_batch times per iteration; ns_per_item is per op):
//   breaker/check/keel              try_acquire on a closed breaker (and the permit's destructor).
//   breaker/check/reference         one relaxed load of a 64-bit atomic.
//                                   Floor: keel <= 3x reference. Goal: <= 3 ns.
//   breaker/success/keel            try_acquire + success(now) on a closed breaker, the clock
//                                   moving 1 us per call through 1 s buckets.
//   breaker/success/count_window    the same with a count-based window of 100 calls.
//   breaker/failure/keel            try_acquire + failure(now): the window, the consecutive
//                                   count and a rate evaluation over 10 buckets (min_calls is out
//                                   of reach, so it never trips).
//   breaker/fetch_add/reference     one relaxed fetch_add on a 64-bit atomic.
//                                   Floors: success <= 4x, failure <= 8x reference.
//                                   Goals: success <= 40 ns, failure <= 80 ns.
//   breaker/contended/keel/threads:2       two threads on one breaker, acquire + success.
//   breaker/contended/reference/threads:2  two threads fetch_add one atomic (reported beside).
#include <atomic>
#include <cstdint>
#include <memory>

#include "harness.h"

#include <keel/resilience/circuit_breaker.h>

namespace keel::bench {
namespace {

using resilience::breaker_config;
using resilience::circuit_breaker;
using resilience::permit;

constexpr int k_batch = 64;

std::unique_ptr<circuit_breaker> make_breaker(resilience::window_kind kind, std::uint32_t min) {
  breaker_config c;
  c.name = "bench";
  c.window = kind;
  c.window_calls = 100;
  c.min_calls = kind == resilience::window_kind::count_based ? 100 : min;
  c.failure_ratio = 1.0;
  auto b = circuit_breaker::create(c);
  if (!b) std::abort();
  return std::move(b).value();
}

void per_op(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * k_batch);
  // kIsRate | kInvert gives seconds per unit: counting units of 1e-9 item makes it ns per item.
  state.counters["ns_per_item"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * k_batch / 1e9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void check_keel(benchmark::State& state) {
  auto b = make_breaker(resilience::window_kind::time_based, 20);
  const std::uint64_t now = 1'000'000'000;
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) {
      permit p = b->try_acquire(now);
      bool ok = static_cast<bool>(p);
      benchmark::DoNotOptimize(ok);
    }
  }
  per_op(state);
}

void check_reference(benchmark::State& state) {
  std::atomic<std::uint64_t> word{0};
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) {
      std::uint64_t v = word.load(std::memory_order_relaxed);
      benchmark::DoNotOptimize(v);
    }
  }
  per_op(state);
}

void success_with(benchmark::State& state, resilience::window_kind kind) {
  auto b = make_breaker(kind, 20);
  std::uint64_t now = 1'000'000'000;
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) {
      now += 1000;
      permit p = b->try_acquire(now);
      p.success(now);
    }
  }
  per_op(state);
  if (b->stats().successes != static_cast<std::uint64_t>(state.iterations()) * k_batch) {
    state.SkipWithError("success count mismatch");
  }
}

void success_keel(benchmark::State& state) {
  success_with(state, resilience::window_kind::time_based);
}
void success_count_window(benchmark::State& state) {
  success_with(state, resilience::window_kind::count_based);
}

void failure_keel(benchmark::State& state) {
  auto b = make_breaker(resilience::window_kind::time_based, 4'000'000'000U);
  std::uint64_t now = 1'000'000'000;
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) {
      now += 1000;
      permit p = b->try_acquire(now);
      p.failure(now);
    }
  }
  per_op(state);
  if (b->state() != resilience::breaker_state::closed) state.SkipWithError("it tripped");
}

void fetch_add_reference(benchmark::State& state) {
  std::atomic<std::uint64_t> counter{0};
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) counter.fetch_add(1, std::memory_order_relaxed);
  }
  benchmark::DoNotOptimize(counter.load());
  per_op(state);
}

circuit_breaker* g_shared = nullptr;
std::atomic<std::uint64_t> g_shared_counter{0};

void contended_keel(benchmark::State& state) {
  static std::unique_ptr<circuit_breaker> b;
  if (state.thread_index() == 0) {
    b = make_breaker(resilience::window_kind::time_based, 20);
    g_shared = b.get();
  }
  std::uint64_t now = 1'000'000'000 + static_cast<std::uint64_t>(state.thread_index()) * 500;
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) {
      now += 1000;
      permit p = g_shared->try_acquire(now);
      p.success(now);
    }
  }
  per_op(state);
}

void contended_reference(benchmark::State& state) {
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) g_shared_counter.fetch_add(1, std::memory_order_relaxed);
  }
  per_op(state);
}

void register_breaker() {
  // Smoke runs (ctest bench.smoke) check the counts once with few iterations.
  auto fixed = [](benchmark::internal::Benchmark* b) {
    if (smoke()) b->Iterations(100);
    return b;
  };
  fixed(benchmark::RegisterBenchmark("breaker/check/keel", check_keel));
  fixed(benchmark::RegisterBenchmark("breaker/check/reference", check_reference));
  fixed(benchmark::RegisterBenchmark("breaker/success/keel", success_keel));
  fixed(benchmark::RegisterBenchmark("breaker/success/count_window", success_count_window));
  fixed(benchmark::RegisterBenchmark("breaker/failure/keel", failure_keel));
  fixed(benchmark::RegisterBenchmark("breaker/fetch_add/reference", fetch_add_reference));
  fixed(benchmark::RegisterBenchmark("breaker/contended/keel", contended_keel))
      ->Threads(2)
      ->UseRealTime();
  fixed(benchmark::RegisterBenchmark("breaker/contended/reference", contended_reference))
      ->Threads(2)
      ->UseRealTime();
}

const registrar reg(&register_breaker);

}  // namespace
}  // namespace keel::bench
