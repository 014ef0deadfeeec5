// fanin: N sender actors on one worker send to one receiver actor on the other worker.
//
// Scenarios (N = 2 and 8):
//   fanin/keel/N        senders pinned to worker 1, the receiver pinned to worker 0
//                       (spawn_options.pin), workers pinned to CPUs 0 and 1. Each sender sends
//                       its share in chunks of k_chunk messages per activation (it re-sends
//                       itself a `go` to continue, so the N senders take turns on worker 1).
//                       The receiver counts and checks per-sender FIFO; the last message
//                       signals the harness thread, which blocks meanwhile.
//   fanin/reference/N   N producer threads pinned to CPU 1 -> 1 consumer thread pinned to CPU 0
//                       through a moodycamel::ConcurrentQueue with producer tokens and bulk
//                       dequeue (reference/fanin_ref.h, no keel code).
//   fanin/envelope_ceiling/N   the same threads and placement, but 96-byte envelopes (keel's
//                       80-byte header, 16-byte payload) through an intrusive Vyukov mailbox,
//                       recycled to their producer in batches of 64 (reference/
//                       envelope_mailbox.h, no keel code): the design's ceiling, for the
//                       analysis of the floor (not a floor).
// Floor: keel >= 0.8x the reference in messages per second. items_per_second = messages per
// second, from the first send to the last message handled.
#include <algorithm>
#include <string>
#include <vector>

#include "harness.h"
#include "many_to_one.h"
#include "reference/envelope_mailbox.h"
#include "reference/fanin_ref.h"

namespace keel::bench {
namespace {

constexpr std::uint32_t k_chunk = 64;

std::uint64_t messages_per_iteration() { return sized<std::uint64_t>(1'000'000, 20'000); }
constexpr benchmark::IterationCount k_iterations = 5;

void bm_keel(benchmark::State& state) {
  const auto senders = static_cast<std::uint32_t>(state.range(0));
  auto sys = make_system(state, [](system_config& c) {
    c.scheduler.workers = 2;
    c.scheduler.pin_threads = true;
  });
  if (!sys) return;
  spawn_options on0;
  on0.pin = 0;
  spawn_options on1;
  on1.pin = 1;
  auto rx = sys->spawn_with<n1_receiver>(on0, senders);
  if (!check(state, rx.has_value(), "spawn receiver")) return;
  std::vector<actor_ref<n1_sender>> tx;
  for (std::uint32_t i = 0; i < senders; ++i) {
    auto s = sys->spawn_with<n1_sender>(on1, *rx, i, k_chunk);
    if (!check(state, s.has_value(), "spawn sender")) return;
    tx.push_back(*s);
  }
  const std::uint64_t per_sender = messages_per_iteration() / senders;
  std::uint64_t total = 0;
  double total_ns = 0;
  std::uint64_t epoch = 0;
  for (auto _ : state) {
    n1_run run;
    run.epoch = ++epoch;
    run.per_sender = per_sender;
    const double ns = run_many_to_one(state, *rx, tx, run, "fan-in", [] {});
    if (ns < 0) break;
    state.SetIterationTime(ns / 1e9);
    total += run.received;
    total_ns += ns;
  }
  set_rate(state, total, total_ns);
  sys->shutdown();
}

void bm_reference(benchmark::State& state, bool envelopes) {
  const auto producers = static_cast<std::uint32_t>(state.range(0));
  const std::uint64_t per_producer = messages_per_iteration() / producers;
  std::uint64_t total = 0;
  double total_ns = 0;
  for (auto _ : state) {
    const reference::fanin_result r =
        envelopes ? reference::envelope_fanin(producers, per_producer, 1, 0)
                  : reference::moodycamel_fanin(producers, per_producer, 1, 0);
    if (!check(state, r.received == per_producer * producers, "reference count != sent")) break;
    if (!check(state, r.order_errors == 0, "reference per-producer order broken")) break;
    state.SetIterationTime(static_cast<double>(r.elapsed_ns) / 1e9);
    total += r.received;
    total_ns += static_cast<double>(r.elapsed_ns);
  }
  set_rate(state, total, total_ns);
}

void register_fanin() {
  auto reg_one = [](const char* name, auto fn) {
    benchmark::RegisterBenchmark(name, fn)
        ->Arg(2)
        ->Arg(8)
        ->ArgName("senders")
        ->UseManualTime()
        ->Iterations(iterations(k_iterations))
        ->Unit(benchmark::kMillisecond);
  };
  reg_one("fanin/keel", bm_keel);
  reg_one("fanin/reference", [](benchmark::State& st) { bm_reference(st, false); });
  reg_one("fanin/envelope_ceiling", [](benchmark::State& st) { bm_reference(st, true); });
}

const registrar reg(&register_fanin);

}  // namespace
}  // namespace keel::bench
