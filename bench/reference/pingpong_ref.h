// Reference for `pingpong`: a raw two-atomic ping-pong between two threads pinned to two cores,
// written without keel. Thread A stores i into `ping` and spins until `pong` reads i; thread B
// spins until `ping` reads i and stores i into `pong`. Each word sits on its own 128-byte span.
// This is the floor any cross-core message exchange pays: two cache-line transfers per round
// trip, no queue, no allocation, no scheduling.
//
// Timing matches the keel benchmark: thread A reads the steady clock once per batch of round
// trips and records the batch's mean per-round-trip time as one sample.
#pragma once

#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

namespace keel::bench::reference {

inline void spin_pause() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#endif
}

inline void pin_to_cpu(int cpu) noexcept {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
}

inline std::uint64_t ref_now_ns() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

// Thread A's clock in a ping-pong: reads the steady clock once per `batch` round trips and
// records the batch's mean per-round-trip time as one sample.
class batch_timer {
 public:
  batch_timer(std::uint32_t batch, std::vector<double>& samples)
      : batch_(batch), samples_(samples), start_(ref_now_ns()), batch_start_(start_) {}
  void round_trip_done(std::uint64_t i) {
    if (i % batch_ != 0) return;
    const std::uint64_t t = ref_now_ns();
    samples_.push_back(static_cast<double>(t - batch_start_) / batch_);
    batch_start_ = t;
  }
  std::uint64_t elapsed_ns() const { return ref_now_ns() - start_; }

 private:
  std::uint32_t batch_;
  std::vector<double>& samples_;
  std::uint64_t start_;
  std::uint64_t batch_start_;
};

struct pingpong_result {
  std::uint64_t round_trips = 0;  // completed (checked by the caller)
  std::uint64_t elapsed_ns = 0;   // first send to last reply, measured by thread A
};

// Runs `round_trips` round trips between a thread on `cpu_a` and one on `cpu_b`; appends one
// per-round-trip sample (ns) per `batch` round trips to `samples`.
inline pingpong_result atomic_pingpong(int cpu_a, int cpu_b, std::uint64_t round_trips,
                                       std::uint32_t batch, std::vector<double>& samples) {
  struct alignas(128) word {
    std::atomic<std::uint64_t> v{0};
  };
  word ping;
  word pong;
  std::atomic<bool> b_ready{false};
  pingpong_result r;
  std::thread b([&] {
    pin_to_cpu(cpu_b);
    b_ready.store(true, std::memory_order_release);
    for (std::uint64_t i = 1; i <= round_trips; ++i) {
      while (ping.v.load(std::memory_order_acquire) != i) spin_pause();
      pong.v.store(i, std::memory_order_release);
    }
  });
  std::thread a([&] {
    pin_to_cpu(cpu_a);
    while (!b_ready.load(std::memory_order_acquire)) spin_pause();
    batch_timer timer(batch, samples);
    std::uint64_t done = 0;
    for (std::uint64_t i = 1; i <= round_trips; ++i) {
      ping.v.store(i, std::memory_order_release);
      while (pong.v.load(std::memory_order_acquire) != i) spin_pause();
      done = i;
      timer.round_trip_done(i);
    }
    r.elapsed_ns = timer.elapsed_ns();
    r.round_trips = done;
  });
  a.join();
  b.join();
  return r;
}

}  // namespace keel::bench::reference
