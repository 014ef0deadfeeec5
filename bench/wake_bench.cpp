// wake_latency: from an idle runtime to the first message handled.
//
// Scenarios:
//   wake_latency/keel/default      default configuration, one unpinned actor, an unpinned
//                                  sending thread. The sender sleeps k_gap (the workers spin
//                                  50 us, then park), stamps the time and sends the actor a
//                                  message carrying the stamp; the handler records steady-clock
//                                  now minus the stamp (send -> handler start: the send, the
//                                  injection queue, the futex wake and the worker's search).
//   wake_latency/reference/default a raw futex wake -> run between two unpinned threads, the
//                                  same gap (reference/wake_ref.h, no keel code).
//   wake_latency/keel/cross_cpu    workers pinned to CPUs 0 and 1, the actor pinned to worker
//                                  1, the sending thread pinned to CPU 0: every wake-up crosses
//                                  CPUs.
//   wake_latency/reference/cross_cpu  the raw futex wake with the waker on CPU 0, the waiter on
//                                  CPU 1.
// The unpinned pair lets the kernel place the woken thread on the waker's CPU (cheap on a VM);
// the cross_cpu pair compares the same placement on both sides. Counters p50_ns, p99_ns,
// p999_ns, max_ns, and same_cpu_share (the share of wake-ups where the handler / waiter ran on
// the sender's CPU, from sched_getcpu()), and send_p50_ns: the p50 of the time the sending thread
// spent from its stamp to the return of send() (keel) or of the futex wake (reference). Floor:
// keel's p50 <= 1.2x the reference's p50.
#include <sched.h>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "harness.h"
#include "reference/wake_ref.h"

namespace keel::bench {
namespace {

constexpr std::chrono::microseconds k_gap(5000);

struct wk_stamp {
  static constexpr std::string_view keel_name = "bench.wake.stamp/1";
  std::uint64_t sent_ns;
  int sender_cpu;
};

class wk_actor : public actor<wk_actor, wk_stamp> {
 public:
  static constexpr std::string_view keel_name = "bench.wake.actor";
  wk_actor(std::vector<double>* samples, std::atomic<std::uint32_t>* handled,
           std::uint32_t* same_cpu)
      : samples_(samples), handled_(handled), same_cpu_(same_cpu) {}
  void on(wk_stamp& s) {
    const std::uint64_t t = now_ns();
    samples_->push_back(static_cast<double>(t - s.sent_ns));
    if (sched_getcpu() == s.sender_cpu) ++*same_cpu_;
    handled_->fetch_add(1, std::memory_order_release);
  }

 private:
  std::vector<double>* samples_;
  std::atomic<std::uint32_t>* handled_;
  std::uint32_t* same_cpu_;
};

std::uint32_t samples_per_iteration() { return sized<std::uint32_t>(200, 10); }

void bm_keel(benchmark::State& state, bool cross_cpu) {
  auto sys = make_system(state, [&](system_config& c) {
    if (cross_cpu) {
      c.scheduler.workers = 2;
      c.scheduler.pin_threads = true;
    }
  });
  if (!sys) return;
  const std::uint32_t n = samples_per_iteration();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations) * n);
  std::atomic<std::uint32_t> handled{0};
  std::uint32_t same_cpu = 0;  // written by the actor, read after the last handled (acquire)
  spawn_options opts;
  if (cross_cpu) opts.pin = 1;
  auto a = sys->spawn_with<wk_actor>(opts, &samples, &handled, &same_cpu);
  if (!check(state, a.has_value(), "spawn")) return;
  std::uint32_t sent = 0;
  std::vector<double> send_ns;  // how long the sender's send() took (the sender thread's)
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    std::thread sender([&] {
      if (cross_cpu) pin_this_thread(0);
      for (std::uint32_t i = 0; i < n; ++i) {
        std::this_thread::sleep_for(k_gap);
        // The previous message must have been handled (and the worker parked again).
        while (handled.load(std::memory_order_acquire) != sent) std::this_thread::sleep_for(k_gap);
        const std::uint64_t before = now_ns();
        a->send(wk_stamp{before, sched_getcpu()});
        send_ns.push_back(static_cast<double>(now_ns() - before));
        ++sent;
      }
      while (handled.load(std::memory_order_acquire) != sent) {
        std::this_thread::sleep_for(std::chrono::microseconds(100));
      }
    });
    sender.join();
    state.SetIterationTime(static_cast<double>(now_ns() - t0) / 1e9);
  }
  check(state, samples.size() == sent, "wake samples != messages sent");
  state.counters["same_cpu_share"] = sent == 0 ? 0 : static_cast<double>(same_cpu) / sent;
  // The part of the latency the sending thread spends in send() (allocation, the injection
  // queue, the futex wake), as the p50 of its own samples.
  state.counters["send_p50_ns"] = percentile(send_ns, 50);
  set_latency_counters(state, samples);
  sys->shutdown();
}

void bm_reference(benchmark::State& state, bool cross_cpu) {
  const std::uint32_t n = samples_per_iteration();
  std::vector<double> samples;
  samples.reserve(static_cast<std::size_t>(state.max_iterations) * n);
  std::uint32_t same_cpu = 0;
  std::vector<double> wake_ns;  // the waker's stamp -> futex return
  for (auto _ : state) {
    const std::uint64_t t0 = now_ns();
    same_cpu += reference::futex_wake_latency(n, k_gap, cross_cpu ? 0 : -1, cross_cpu ? 1 : -1,
                                              samples, wake_ns);
    state.SetIterationTime(static_cast<double>(now_ns() - t0) / 1e9);
  }
  check(state, samples.size() == static_cast<std::size_t>(state.iterations()) * n,
        "reference samples != wake-ups");
  state.counters["same_cpu_share"] =
      samples.empty() ? 0 : static_cast<double>(same_cpu) / static_cast<double>(samples.size());
  state.counters["send_p50_ns"] = percentile(wake_ns, 50);  // comparable with keel's send()
  set_latency_counters(state, samples);
}

void register_wake() {
  for (const bool cross : {false, true}) {
    const char* suffix = cross ? "cross_cpu" : "default";
    benchmark::RegisterBenchmark((std::string("wake_latency/keel/") + suffix).c_str(), bm_keel,
                                 cross)
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
    benchmark::RegisterBenchmark((std::string("wake_latency/reference/") + suffix).c_str(),
                                 bm_reference, cross)
        ->UseManualTime()
        ->Iterations(1)
        ->Unit(benchmark::kMillisecond);
  }
}

const registrar reg(&register_wake);

}  // namespace
}  // namespace keel::bench
