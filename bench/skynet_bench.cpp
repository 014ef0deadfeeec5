// skynet: 1M actors in a 10-ary tree (the "skynet" benchmark).
//
// Scenario:
//   skynet/keel   default configuration. The harness spawns the root (number 0, size 1M); every
//                 actor of size > 1 spawns 10 children in on_start (child i gets number
//                 num + i * size/10 and size size/10); a leaf (size 1) sends its number to its
//                 parent and stops; a parent sums the 10 replies, sends the sum up and stops.
//                 The root hands the total to the harness thread, which blocks meanwhile.
//                 1,111,111 actors are spawned in all. Checked: the sum is n(n-1)/2, i.e.
//                 499999500000 for n = 1M (smoke: n = 10^4, sum 49995000), no spawn failed, and
//                 every actor has stopped afterwards. Goal: <= 0.3 s.
// Time runs from the root's spawn to the root's result. items_per_second = actors spawned per
// second; counter `seconds` = the tree's time.
#include <chrono>
#include <string>
#include <thread>

#include "harness.h"

namespace keel::bench {
namespace {

struct sk_run {
  completion* done = nullptr;
  std::uint64_t sum = 0;
  std::uint64_t end_ns = 0;
  std::atomic<std::uint64_t> spawn_failures{0};
};

struct sk_result {
  static constexpr std::string_view keel_name = "bench.skynet.result/1";
  std::uint64_t value;
};

class sk_node : public actor<sk_node, sk_result> {
 public:
  static constexpr std::string_view keel_name = "bench.skynet.node";
  sk_node(actor_ref<> parent, sk_run* run, std::uint64_t num, std::uint64_t size)
      : parent_(parent), run_(run), num_(num), size_(size) {}

  void on_start() override {
    if (size_ == 1) {
      report(num_);
      return;
    }
    const std::uint64_t child = size_ / 10;
    for (std::uint64_t i = 0; i < 10; ++i) {
      if (!system().spawn<sk_node>(self(), run_, num_ + i * child, child)) {
        run_->spawn_failures.fetch_add(1, std::memory_order_relaxed);
        ++got_;  // counted as answered, so the tree still completes (with a wrong sum)
      }
    }
    if (got_ == 10) report(sum_);
  }
  void on(sk_result& r) {
    sum_ += r.value;
    if (++got_ == 10) report(sum_);
  }

 private:
  void report(std::uint64_t v) {
    stop_self();
    if (parent_.valid()) {
      parent_.send(sk_result{v});
      return;
    }
    run_->sum = v;
    run_->end_ns = now_ns();
    run_->done->signal();
  }

  actor_ref<> parent_;
  sk_run* run_;
  std::uint64_t num_;
  std::uint64_t size_;
  std::uint64_t sum_ = 0;
  std::uint32_t got_ = 0;
};

void bm_skynet(benchmark::State& state) {
  const std::uint64_t leaves = sized<std::uint64_t>(1'000'000, 10'000);
  std::uint64_t actors = 0;
  for (std::uint64_t level = leaves; level >= 1; level /= 10) actors += level;
  auto sys = make_system(state);
  if (!sys) return;
  std::uint64_t total = 0;
  double total_ns = 0;
  for (auto _ : state) {
    completion done;
    sk_run run;
    run.done = &done;
    const std::uint64_t t0 = now_ns();
    auto root = sys->spawn<sk_node>(actor_ref<>(), &run, std::uint64_t{0}, leaves);
    if (!check(state, root.has_value(), "spawn the root")) break;
    if (!wait_or_fail(state, done, "the root's sum")) break;
    const std::uint64_t expected = leaves * (leaves - 1) / 2;
    if (!check(state, run.spawn_failures.load() == 0, "a spawn failed")) break;
    if (!check(state, run.sum == expected,
               "skynet sum " + std::to_string(run.sum) + " != " + std::to_string(expected))) {
      break;
    }
    const double ns = static_cast<double>(run.end_ns - t0);
    state.SetIterationTime(ns / 1e9);
    total += actors;
    total_ns += ns;
    // Let the tree finish stopping before the next iteration (not timed: manual time).
    const std::uint64_t deadline = now_ns() + 10'000'000'000ULL;
    while (sys->actor_count() > 0 && now_ns() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    check(state, sys->actor_count() == 0,
          "actors still alive after the tree finished: " + std::to_string(sys->actor_count()));
  }
  set_rate(state, total, total_ns);
  state.counters["seconds"] =
      state.iterations() == 0 ? 0 : total_ns / 1e9 / static_cast<double>(state.iterations());
  sys->shutdown();
}

void register_skynet() {
  benchmark::RegisterBenchmark("skynet/keel", bm_skynet)
      ->UseManualTime()
      ->Iterations(iterations(1))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_skynet);

}  // namespace
}  // namespace keel::bench
