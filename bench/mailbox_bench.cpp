// mailbox_n1: 100 sender actors to 1 receiver, through an unbounded and a bounded mailbox.
//
// Scenario:
//   mailbox_n1/keel     default configuration, nothing pinned. Each of 100 senders sends its share
//                       in chunks of k_chunk messages per activation (re-sending itself a `go`),
//                       as fast as the scheduler runs it; the receiver may fall behind, so its
//                       unbounded mailbox grows. The receiver counts and checks per-sender FIFO;
//                       the last message signals the harness thread, which blocks meanwhile.
//   mailbox_n1/bounded  the same, but the receiver's mailbox holds at most k_capacity messages
//                       (overflow_policy::reject) and the senders use try_send; a sender that
//                       finds it full waits with await_capacity and goes on when woken. Nothing
//                       is lost; memory stays bounded (CAF's unbounded mailbox peaks at 2.5 GB
//                       on its 100 M-message version of this workload, research/peers.md).
// Reported: items_per_second = messages per second (first send to last message handled),
// peak_rss_delta_mb = VmHWM during the run minus RSS before it (VmHWM reset through
// /proc/self/clear_refs), the largest over the iterations. Checked: count and per-sender order.
// The unbounded run is the bounded one's reference (same workload, same process).
#include <algorithm>
#include <string>
#include <vector>

#include "harness.h"
#include "many_to_one.h"

namespace keel::bench {
namespace {

constexpr std::uint32_t k_senders = 100;
constexpr std::uint32_t k_chunk = 256;
constexpr std::uint32_t k_capacity = 1024;

constexpr benchmark::IterationCount k_iterations = 3;

void bm_mailbox(benchmark::State& state, bool bounded) {
  auto sys = make_system(state);
  if (!sys) return;
  spawn_options rx_opts;
  if (bounded) rx_opts.mailbox = mailbox_bound{k_capacity, overflow_policy::reject};
  auto rx = sys->spawn_with<n1_receiver>(rx_opts, k_senders);
  if (!check(state, rx.has_value(), "spawn receiver")) return;
  std::vector<actor_ref<n1_sender>> tx;
  for (std::uint32_t i = 0; i < k_senders; ++i) {
    auto s = sys->spawn<n1_sender>(*rx, i, k_chunk, bounded ? n1_mode::wait : n1_mode::send);
    if (!check(state, s.has_value(), "spawn sender")) return;
    tx.push_back(*s);
  }
  const std::uint64_t per_sender = sized<std::uint64_t>(10'000, 200);
  std::uint64_t total = 0;
  double total_ns = 0;
  double peak_delta = 0;
  bool hwm_ok = true;
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    n1_run run;
    run.epoch = ++epoch;
    run.per_sender = per_sender;
    std::uint64_t base = 0;
    const double ns = run_many_to_one(state, *rx, tx, run, "mailbox", [&] {
      hwm_ok = reset_peak_rss() && hwm_ok;
      base = rss_bytes();
    });
    if (ns < 0) break;
    const std::uint64_t peak = peak_rss_bytes();
    state.SetIterationTime(ns / 1e9);
    total += run.received;
    total_ns += ns;
    peak_delta = std::max(peak_delta, peak > base ? static_cast<double>(peak - base) : 0.0);
  }
  set_rate(state, total, total_ns);
  state.counters["peak_rss_delta_mb"] = peak_delta / 1e6;
  state.counters["hwm_reset_ok"] = hwm_ok ? 1 : 0;
  if (bounded) {
    auto stats = sys->mailbox(*rx);
    if (stats) {
      state.counters["capacity"] = stats->capacity;
      state.counters["waits"] = static_cast<double>(stats->waits);
      state.counters["full"] = static_cast<double>(stats->rejected);
    }
  }
  sys->shutdown();
}

void register_mailbox() {
  benchmark::RegisterBenchmark("mailbox_n1/keel", bm_mailbox, false)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
  benchmark::RegisterBenchmark("mailbox_n1/bounded", bm_mailbox, true)
      ->UseManualTime()
      ->Iterations(iterations(k_iterations))
      ->Unit(benchmark::kMillisecond);
}

const registrar reg(&register_mailbox);

}  // namespace
}  // namespace keel::bench
