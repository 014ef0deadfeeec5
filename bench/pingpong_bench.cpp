// pingpong: two actors exchange a message, round trip after round trip.
//
// Scenarios:
//   pingpong/default      pinger and ponger spawned as a user would (no pin, default config):
//                         the scheduler decides where each runs. Goal: p50 <= 200 ns per round
//                         trip.
//   pingpong/pinned       pinger pinned to worker 0, ponger to worker 1 (spawn_options.pin), the
//                         workers pinned to CPUs 0 and 1 (scheduler_config.pin_threads): every
//                         message crosses cores. Floor: p50 <= 1.5x the reference.
//   pingpong/reference    raw two-atomic ping-pong between two threads pinned to CPUs 0 and 1
//                         (reference/pingpong_ref.h, no keel code).
//   pingpong/envelope_ceiling  the same threads, each message an envelope pushed into the other
//                         thread's intrusive Vyukov mailbox and recycled in batches
//                         (reference/envelope_mailbox.h, no keel code): the design's ceiling,
//                         for the analysis of the floor (not a floor).
//
// The timed loop runs inside the pinger: a `go` message starts `round_trips` round trips, each a
// ping (pinger -> ponger, sent through the ref) and a pong (ponger -> pinger, sent with reply());
// the pinger reads the steady clock once per batch of k_batch round trips and records the
// batch's mean per-round-trip time as one sample; the last pong signals the harness thread,
// which blocks meanwhile. Counters: p50_ns, p99_ns, p999_ns, max_ns per round trip (over
// batch samples), items_per_second = round trips per second, ns_per_item.
#include <vector>

#include "harness.h"
#include "reference/envelope_mailbox.h"
#include "reference/pingpong_ref.h"

namespace keel::bench {
namespace {

constexpr std::uint32_t k_batch = 16;

struct pp_run {
  std::uint64_t round_trips = 0;
  std::vector<double>* samples = nullptr;
  completion* done = nullptr;
  std::uint64_t completed = 0;
  std::uint64_t start_ns = 0;
  std::uint64_t end_ns = 0;
};

struct pp_go {
  static constexpr std::string_view keel_name = "bench.pingpong.go/1";
  pp_run* run;
};
struct pp_ping {
  static constexpr std::string_view keel_name = "bench.pingpong.ping/1";
};
struct pp_pong {
  static constexpr std::string_view keel_name = "bench.pingpong.pong/1";
};

class ponger : public actor<ponger, pp_ping> {
 public:
  static constexpr std::string_view keel_name = "bench.ponger";
  void on(pp_ping&) { reply(pp_pong{}); }
};

class pinger : public actor<pinger, pp_go, pp_pong> {
 public:
  static constexpr std::string_view keel_name = "bench.pinger";
  explicit pinger(actor_ref<ponger> peer) : peer_(peer) {}

  void on(pp_go& g) {
    run_ = g.run;
    n_ = 0;
    run_->start_ns = now_ns();
    batch_start_ = run_->start_ns;
    peer_.send(pp_ping{});
  }
  void on(pp_pong&) {
    ++n_;
    if (n_ % k_batch == 0) {
      const std::uint64_t t = now_ns();
      run_->samples->push_back(static_cast<double>(t - batch_start_) / k_batch);
      batch_start_ = t;
    }
    if (n_ == run_->round_trips) {
      run_->end_ns = now_ns();
      run_->completed = n_;
      run_->done->signal();
      return;
    }
    peer_.send(pp_ping{});
  }

 private:
  actor_ref<ponger> peer_;
  pp_run* run_ = nullptr;
  std::uint64_t n_ = 0;
  std::uint64_t batch_start_ = 0;
};

std::uint64_t round_trips_per_iteration() { return sized<std::uint64_t>(20'000, 2'000); }
constexpr benchmark::IterationCount k_iterations = 50;

void bm_keel(benchmark::State& state, bool pinned) {
  auto sys = make_system(state, [&](system_config& c) {
    if (pinned) {
      c.scheduler.workers = 2;
      c.scheduler.pin_threads = true;
    }
  });
  if (!sys) return;
  spawn_options pong_opts;
  spawn_options ping_opts;
  if (pinned) {
    ping_opts.pin = 0;
    pong_opts.pin = 1;
  }
  auto pong_ref = sys->spawn_with<ponger>(pong_opts);
  if (!check(state, pong_ref.has_value(), "spawn ponger")) return;
  auto ping_ref = sys->spawn_with<pinger>(ping_opts, *pong_ref);
  if (!check(state, ping_ref.has_value(), "spawn pinger")) return;

  const std::uint64_t n = round_trips_per_iteration();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations) * (n / k_batch + 1));
  std::uint64_t total = 0;
  double total_ns = 0;
  for (auto _ : state) {
    completion done;
    pp_run run;
    run.round_trips = n;
    run.samples = &samples;
    run.done = &done;
    ping_ref->send(pp_go{&run});
    if (!wait_or_fail(state, done, "the last pong")) break;
    if (!check(state, run.completed == n, "round trips completed != requested")) break;
    const double ns = static_cast<double>(run.end_ns - run.start_ns);
    state.SetIterationTime(ns / 1e9);
    total += run.completed;
    total_ns += ns;
  }
  set_rate(state, total, total_ns);
  set_latency_counters(state, samples);
  sys->shutdown();
}

void bm_reference(benchmark::State& state, bool envelopes) {
  const std::uint64_t n = round_trips_per_iteration();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations) * (n / k_batch + 1));
  std::uint64_t total = 0;
  double total_ns = 0;
  for (auto _ : state) {
    const reference::pingpong_result r =
        envelopes ? reference::envelope_pingpong(0, 1, n, k_batch, samples)
                  : reference::atomic_pingpong(0, 1, n, k_batch, samples);
    if (!check(state, r.round_trips == n, "reference round trips != requested")) break;
    state.SetIterationTime(static_cast<double>(r.elapsed_ns) / 1e9);
    total += r.round_trips;
    total_ns += static_cast<double>(r.elapsed_ns);
  }
  set_rate(state, total, total_ns);
  set_latency_counters(state, samples);
}

void register_pingpong() {
  benchmark::RegisterBenchmark("pingpong/default", bm_keel, false)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("pingpong/pinned", bm_keel, true)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("pingpong/reference", bm_reference, false)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("pingpong/envelope_ceiling", bm_reference, true)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_pingpong);

}  // namespace
}  // namespace keel::bench
