// Cache-line constants and padding for data shared between threads.
//
// keel pads per-worker hot fields to 128 bytes, not to
// std::hardware_destructive_interference_size (64 with GCC 12): Intel's adjacent-line prefetcher
// pulls lines in pairs, so two hot words 64 bytes apart still interfere.
#pragma once

#include <cstddef>
#include <new>
#include <utility>

namespace keel {

inline constexpr std::size_t k_cache_line = 64;
inline constexpr std::size_t k_false_sharing_range = 128;

// A T alone on its own 128-byte span.
template <class T>
struct alignas(k_false_sharing_range) cache_padded {
  T value;

  template <class... Args>
  explicit cache_padded(Args&&... args) : value(std::forward<Args>(args)...) {}
  T& operator*() noexcept { return value; }
  const T& operator*() const noexcept { return value; }
  T* operator->() noexcept { return &value; }
  const T* operator->() const noexcept { return &value; }
};

// Asks the CPU to bring the line holding `p` in, ready to be written. On x86 this is PREFETCHW:
// for a line another core holds, the transfer of ownership starts now rather than at the write
// (__builtin_prefetch(p, 1) emits PREFETCHT0 unless the build targets PREFETCHW, and a line
// fetched for reading still needs a second round trip before the write). x86 CPUs without
// PREFETCHW execute it as a NOP. A hint only: `p` need not be valid.
inline void prefetch_for_write(const void* p) noexcept {
#if defined(__x86_64__)
  asm volatile("prefetchw %0" : : "m"(*static_cast<const char*>(p)));
#else
  __builtin_prefetch(p, 1);
#endif
}

}  // namespace keel
