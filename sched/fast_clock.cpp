// fast_clock's slow path: calibration, re-anchoring, and the clock_now() fallback.
#include <algorithm>

#include <keel/sched/fast_clock.h>

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace keel::sched {
namespace {

__extension__ typedef unsigned __int128 u128;  // for the 64x64 -> 128 frequency divisions

// An invariant TSC ticks at a constant rate in every P-, C- and T-state (CPUID 0x80000007 EDX
// bit 8); without it the TSC is not a clock.
bool invariant_tsc() noexcept {
#if defined(__x86_64__)
  unsigned a = 0;
  unsigned b = 0;
  unsigned c = 0;
  unsigned d = 0;
  if (__get_cpuid(0x80000000U, &a, &b, &c, &d) == 0 || a < 0x80000007U) return false;
  if (__get_cpuid(0x80000007U, &a, &b, &c, &d) == 0) return false;
  return ((d >> 8) & 1U) != 0;
#else
  return false;
#endif
}

}  // namespace

fast_clock::fast_clock(bool use_tsc) noexcept : tsc_ok_(use_tsc && invariant_tsc()) {}

bool fast_clock::tsc_available() noexcept { return invariant_tsc(); }

std::uint64_t fast_clock::slow_now() noexcept {
#if !defined(KEEL_BENCH_WS_ONLY)
  // relaxed: the virtual clock is set by the thread that then runs the activations.
  if (virtual_ != nullptr) return virtual_->load(std::memory_order_relaxed);
#endif
#if defined(__x86_64__)
  if (tsc_ok_) {
    // One (tsc, ns) pair: the TSC read on both sides of clock_now(), the midpoint taken. A pair
    // whose reads were far apart (the thread was preempted between them) anchors the clock but
    // does not feed the frequency estimate.
    const std::uint64_t t1 = __rdtsc();
    const std::uint64_t ns = clock_now();
    const std::uint64_t t2 = __rdtsc();
    const std::uint64_t t = t1 + (t2 - t1) / 2;
    // Tight: read within 1/16 of a window (before calibration: 200k ticks, 20 us at 10 GHz).
    const bool tight = t2 >= t1 && t2 - t1 < (mult_ != 0 ? reanchor_ticks_ / 16 : 200'000);

    if (base_ns_ == 0 || t < base_tsc_) {
      // First call, or the TSC went back past the base: measure the frequency afresh.
      base_tsc_ = t;
      base_ns_ = ns;
      mult_ = 0;
    } else if (mult_ != 0) {
      ++reanchors_;
      // Everything returned since the last anchor was at most the old line at this tick (or at
      // the end of the window if the TSC moved back or jumped beyond it).
      const std::uint64_t d = std::min(t - anchor_tsc_, reanchor_ticks_);
      floor_ = std::max(floor_, anchor_ns_ + ((d * mult_) >> k_shift));
      // A TSC that jumped against clock_now() (the last window's rate differs from the
      // long-term one by more than ~1.5%) makes the long baseline useless: restart it here.
      if (tight && t >= anchor_tsc_ && ns >= anchor_ns_) {
        const std::uint64_t expected = ((t - anchor_tsc_) * mult_) >> k_shift;
        const std::uint64_t actual = ns - anchor_ns_;
        const std::uint64_t diff = expected > actual ? expected - actual : actual - expected;
        if (diff > actual / 64 + 20'000) {
          base_tsc_ = t;
          base_ns_ = ns;
        }
      }
    }
    if (tight && t > base_tsc_ && ns - base_ns_ >= k_reanchor_ns) {
      const auto m = static_cast<std::uint64_t>((static_cast<u128>(ns - base_ns_) << k_shift) /
                                                (t - base_tsc_));
      if (m != 0) {
        mult_ = m;
        reanchor_ticks_ =
            static_cast<std::uint64_t>((static_cast<u128>(k_reanchor_ns) << k_shift) / m);
        if (reanchor_ticks_ == 0) mult_ = 0;
      }
    }
    anchor_tsc_ = t;
    anchor_ns_ = ns;
    floor_ = std::max(floor_, ns);
    return floor_;
  }
#endif
  const std::uint64_t ns = clock_now();
  floor_ = std::max(floor_, ns);
  return floor_;
}

}  // namespace keel::sched
