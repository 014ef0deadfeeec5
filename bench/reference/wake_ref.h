// Reference for `wake_latency`: a raw futex wake -> run, written without keel. A waiter thread
// sleeps in FUTEX_WAIT_PRIVATE on a word; the waking thread stamps the time, sets the word and
// calls FUTEX_WAKE_PRIVATE; the waiter, once running, records now - stamp. This is the cost any
// runtime pays to get an idle (parked) worker to run something: keel adds the send, the
// injection queue and its sleep protocol.
//
// Placement matches the keel benchmark: either neither thread is pinned (the kernel may run the
// waiter on the waker's CPU), or the waker is pinned to one CPU and the waiter to another.
#pragma once

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace keel::bench::reference {

inline void pin_if(int cpu) {
  if (cpu < 0) return;
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

// Takes `samples` wake-ups, `gap` apart (so the waiter is asleep in the kernel each time);
// appends each wake -> run latency (ns) to `out`. The waker runs on `waker_cpu`, the waiter on
// `waiter_cpu` (-1: not pinned). Returns how many wake-ups ran the waiter on the waker's CPU.
// Appends to `wake_out` how long the waker took from its stamp to the futex call's return.
inline std::uint32_t futex_wake_latency(std::uint32_t samples, std::chrono::microseconds gap,
                                        int waker_cpu, int waiter_cpu, std::vector<double>& out,
                                        std::vector<double>& wake_out) {
  auto now = [] {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  };
  std::atomic<std::uint32_t> word{0};
  std::atomic<std::uint64_t> stamp{0};
  std::atomic<int> waker_on{-1};
  std::uint32_t same_cpu = 0;
  std::atomic<std::uint32_t> handled{0};
  std::thread waiter([&] {
    pin_if(waiter_cpu);
    for (std::uint32_t i = 0; i < samples; ++i) {
      while (word.load(std::memory_order_acquire) == 0) {
        syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAIT_PRIVATE, 0, nullptr,
                nullptr, 0);
      }
      const std::uint64_t t = now();
      out.push_back(static_cast<double>(t - stamp.load(std::memory_order_relaxed)));
      if (sched_getcpu() == waker_on.load(std::memory_order_relaxed)) ++same_cpu;
      word.store(0, std::memory_order_relaxed);
      handled.store(i + 1, std::memory_order_release);
    }
  });
  std::thread waker([&] {
    pin_if(waker_cpu);
    for (std::uint32_t i = 0; i < samples; ++i) {
      std::this_thread::sleep_for(gap);
      while (handled.load(std::memory_order_acquire) != i) std::this_thread::sleep_for(gap);
      waker_on.store(sched_getcpu(), std::memory_order_relaxed);
      const std::uint64_t before = now();
      stamp.store(before, std::memory_order_relaxed);
      word.store(1, std::memory_order_release);
      syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(&word), FUTEX_WAKE_PRIVATE, 1, nullptr,
              nullptr, 0);
      wake_out.push_back(static_cast<double>(now() - before));
    }
  });
  waker.join();
  waiter.join();
  return same_cpu;
}

}  // namespace keel::bench::reference
