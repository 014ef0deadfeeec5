// keel::sched::fast_clock: clock_now() nanoseconds read from the CPU's time-stamp counter.
//
// A worker refreshes its cached tick once per activation. On the ring benchmark that is once per
// message, and clock_gettime on a KVM guest (kvm-clock through the vDSO) costs ~27 ns there, more
// than a whole activation should. RDTSC costs ~11 ns. This clock converts TSC ticks to the
// clock_now() scale with a per-thread anchor:
//
//   now = anchor_ns + (tsc - anchor_tsc) * mult >> 32
//
// and re-reads clock_now() (re-anchors) once per millisecond of ticks, so the error is bounded by
// one millisecond of frequency error (the frequency is measured against clock_now() over the whole
// life of the clock: it gets better with time), and a TSC that jumps (VM migration, a thread moved
// to a CPU with another offset) is caught at the next re-anchor, at once if it jumped backwards.
// Values never decrease: after a re-anchor that moves the clock back, now() holds the last value
// until the clock passes it.
//
// Until one millisecond has passed since the first call (the first frequency estimate), and on
// CPUs without an invariant TSC (CPUID 0x80000007 EDX bit 8) or outside x86-64, now() is
// clock_now().
//
// Threads: one owner thread (each worker has its own); not thread-safe.
#pragma once

#include <atomic>
#include <cstdint>

#include <keel/sched/clock.h>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace keel::sched {

class fast_clock {
 public:
  // use_tsc = false forces the clock_now() path (tests compare both).
  explicit fast_clock(bool use_tsc = true) noexcept;

  // Monotonic nanoseconds on the clock_now() scale. Owner thread only.
  std::uint64_t now() noexcept {
#if defined(__x86_64__)
    if (mult_ != 0) [[likely]] {
      const std::uint64_t d = __rdtsc() - anchor_tsc_;  // wraps to huge if the TSC went back
      if (d < reanchor_ticks_) [[likely]] {
        const std::uint64_t ns = anchor_ns_ + ((d * mult_) >> k_shift);
        return ns > floor_ ? ns : floor_;
      }
    }
#endif
    return slow_now();
  }

  // Whether this CPU has an invariant TSC (so now() reads it once calibrated). Any thread.
  static bool tsc_available() noexcept;
  // Whether now() reads the TSC (false before the first millisecond or without one).
  bool uses_tsc() const noexcept { return mult_ != 0; }
  // Times now() re-read clock_now() after calibration (statistics, tests).
  std::uint64_t reanchors() const noexcept { return reanchors_; }
  // From now on now() returns `*source` (the deterministic executor's virtual clock, which only
  // moves forward) instead of reading a clock. The fast path above stays as it is: the clock is
  // left uncalibrated, so every now() takes slow_now(), which reads the source.
  void use_virtual(const std::atomic<std::uint64_t>* source) noexcept {
    virtual_ = source;
    mult_ = 0;
    tsc_ok_ = false;
  }

 private:
  static constexpr unsigned k_shift = 32;
  static constexpr std::uint64_t k_reanchor_ns = 1'000'000;

  std::uint64_t slow_now() noexcept;

  std::uint64_t mult_ = 0;  // ns per tick << k_shift; 0 = not calibrated (or no TSC)
  std::uint64_t anchor_tsc_ = 0;
  std::uint64_t anchor_ns_ = 0;
  std::uint64_t reanchor_ticks_ = 0;
  std::uint64_t floor_ = 0;     // the largest value returned so far, as of the last slow_now()
  std::uint64_t base_tsc_ = 0;  // the first reading: the frequency is measured from here
  std::uint64_t base_ns_ = 0;
  std::uint64_t reanchors_ = 0;
  const std::atomic<std::uint64_t>* virtual_ = nullptr;
  bool tsc_ok_ = false;
};

}  // namespace keel::sched
