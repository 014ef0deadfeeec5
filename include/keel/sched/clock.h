// The monotonic clock keel reads, as nanoseconds since an arbitrary epoch.
//
// Hot paths never call it per message: each worker keeps a cached tick (worker::now()) that it
// refreshes at the start of every activation and every few messages.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif
#include <thread>

namespace keel::sched {

// A spin-wait hint (PAUSE on x86).
inline void cpu_relax() noexcept {
#if defined(__x86_64__) || defined(__i386__)
  _mm_pause();
#else
  std::this_thread::yield();
#endif
}

// Monotonic nanoseconds (CLOCK_MONOTONIC through std::chrono::steady_clock).
inline std::uint64_t clock_now() noexcept {
  return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                        std::chrono::steady_clock::now().time_since_epoch())
                                        .count());
}

}  // namespace keel::sched
