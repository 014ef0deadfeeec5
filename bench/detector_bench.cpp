// Anomaly detector: the cost of scoring one sample, beside the bare arithmetic of the estimator
// measured in the same run.
//
// Each scenario feeds k_batch samples per iteration from a fixed pseudo-random stream around
// 10 +- 3 to <signals> independent series in turn; ns_per_item is per sample.
//   signals:1   one series: each update waits for the previous one (the loop-carried mean and
//               variance), as a single raw EWMA loop does. The floor is judged here.
//   signals:16  sixteen series in turn, as a collector samples many signals per interval: the
//               updates overlap, so this measures throughput. Reported with its ratio.
//   detector/update/keel/<n>     anomaly_detector::update, EWMA, past the warm-up: the score
//                                (deviation and variance; z() on demand), severity,
//                                hysteresis, the update.
//   detector/ewma/reference/<n>  the raw EWMA mean/variance update alone (d, inc, mean, var)
//                                on <n> {mean, var} pairs kept in an array, as any series'
//                                state is kept between samples. (The same loop with the state
//                                in registers runs in about 3.6 ns per sample here.)
//                                Floor: keel/1 <= 2x reference/1. Goal: <= 12 ns.
//   detector/update/mad/1        the robust estimator over 64 samples (two nth_element per
//                                sample): reported, no floor.
#include <array>
#include <cmath>
#include <cstdint>
#include <vector>

#include "harness.h"

#include <keel/resilience/anomaly_detector.h>

namespace keel::bench {
namespace {

constexpr int k_batch = 256;
constexpr int k_max_signals = 16;

// A fixed stream of samples, so both sides see the same numbers.
const std::array<double, k_batch>& samples() {
  static const std::array<double, k_batch> s = [] {
    std::array<double, k_batch> a{};
    std::uint64_t x = 88172645463325252ULL;
    for (double& v : a) {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      v = 10.0 + static_cast<double>(x % 6001) / 1000.0 - 3.0;
    }
    return a;
  }();
  return s;
}

void per_sample(benchmark::State& state) {
  state.SetItemsProcessed(state.iterations() * k_batch);
  // kIsRate | kInvert gives seconds per unit: counting units of 1e-9 item makes it ns per item.
  state.counters["ns_per_item"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * k_batch / 1e9,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}

void update_with(benchmark::State& state, resilience::estimator kind) {
  const auto k_signals = static_cast<int>(state.range(0));
  resilience::detector_config c;
  c.kind = kind;
  c.min_sigma = 0.5;
  std::vector<resilience::anomaly_detector> ds;
  for (int i = 0; i < k_signals; ++i) {
    auto d = resilience::anomaly_detector::create(c);
    if (!d) std::abort();
    ds.push_back(std::move(d).value());
  }
  const auto& in = samples();
  for (int k = 0; k < 4; ++k) {
    for (int i = 0; i < k_batch; ++i) ds[i % k_signals].update(in[i]);  // past the warm-up
  }
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) {
      auto r = ds[i % k_signals].update(in[i]);
      benchmark::DoNotOptimize(r);
    }
  }
  per_sample(state);
  std::uint64_t seen = 0;
  for (const auto& d : ds) seen += d.samples();
  if (seen < static_cast<std::uint64_t>(state.iterations()) * k_batch) {
    state.SkipWithError("samples refused");
  }
}

void update_keel(benchmark::State& state) { update_with(state, resilience::estimator::ewma); }
void update_mad(benchmark::State& state) { update_with(state, resilience::estimator::mad); }

void ewma_reference(benchmark::State& state) {
  const auto& in = samples();
  const double alpha = 1.0 - std::exp2(-1.0 / 30.0);
  struct ewma_state {
    double mean = 10.0;
    double var = 1.0;
  };
  std::array<ewma_state, k_max_signals> st{};
  const auto k_signals = static_cast<int>(state.range(0));
  for (auto _ : state) {
    for (int i = 0; i < k_batch; ++i) {
      ewma_state& e = st[i % k_signals];
      const double d = in[i] - e.mean;
      const double inc = alpha * d;
      e.mean += inc;
      e.var = (1.0 - alpha) * (e.var + d * inc);
      benchmark::DoNotOptimize(e.var);
    }
  }
  per_sample(state);
}

void register_detector() {
  auto fixed = [](benchmark::internal::Benchmark* b) {
    if (smoke()) b->Iterations(10);
    return b;
  };
  for (int n : {1, k_max_signals}) {
    fixed(benchmark::RegisterBenchmark("detector/update/keel", update_keel))->Arg(n);
    fixed(benchmark::RegisterBenchmark("detector/ewma/reference", ewma_reference))->Arg(n);
  }
  fixed(benchmark::RegisterBenchmark("detector/update/mad", update_mad))->Arg(1);
}

const registrar reg(&register_detector);

}  // namespace
}  // namespace keel::bench
