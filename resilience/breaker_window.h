// breaker_window: the sliding window of call outcomes a circuit breaker judges rates over, and
// the lifetime counts behind breaker_stats.
//
// time_based: a ring of buckets, each covering bucket_width ns of the caller's clock and
// stamped with its epoch (now / bucket_width). The ring has a power-of-two number of slots, at
// least window_buckets, so the last window_buckets epochs map to distinct slots and the slot is
// epoch & mask. A writer that finds a slot stamped with an older epoch claims it by
// compare-exchange and moves its counts into the lifetime totals (first writer zeroes). Two
// words per bucket: calls | bad << 32, and slow | timeouts << 32 ("bad": a failure, or a timeout
// when timeouts count). A success costs one multiply (the epoch) and one fetch_add. The claimer
// of a bucket also sums the window's other buckets once and keeps that sum in the bucket
// ("prior", published by prior_epoch and stamped with the window's reset count), so judging the
// window within an epoch reads one bucket, not window_buckets of them; a reset makes every prior
// sum stale.
//
// count_based: a ring of the last window_calls outcomes, one byte each, and their running totals
// packed in one word (four 16-bit fields: calls, bad, slow, timeouts). A call takes the next
// position (fetch_add), adds its outcome to the totals, swaps its byte in (exchange, acq_rel) and
// then subtracts the byte it evicted. The evicted byte's own add happened before it was
// published (release, read by the acq_rel exchange), so no field ever goes below zero; a field
// can run ahead by the calls in flight, which the 60000-call limit leaves room for.
//
// Approximations (documented in docs/resilience.md): under races at a bucket boundary or a reset
// a few outcomes may land in the bucket of the next epoch, be left out of a prior sum, or be
// swept out by the reset; a count-based window may count the calls in flight. Lifetime totals
// are exact once calls stop (read field by field while they run).
//
// Thread safety: add, view, reset and lifetime from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include <keel/base/cache.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel::resilience::detail {

// 128-bit products for the reciprocal division (a GCC/Clang extension).
__extension__ using u128 = unsigned __int128;

// What one outcome adds.
struct outcome_bits {
  bool bad = false;
  bool slow = false;
  bool timeout = false;
};

struct window_counts {
  std::uint64_t calls = 0;
  std::uint64_t bad = 0;
  std::uint64_t slow = 0;
  std::uint64_t timeouts = 0;
};

class breaker_window {
 public:
  explicit breaker_window(const breaker_config& cfg);

  // Counts one outcome at `now`.
  void add(std::uint64_t now, outcome_bits b) noexcept;
  // The calls of the last window (time_based: the buckets of the last window_buckets epochs up
  // to now's). with_slow false: slow and timeouts are left 0 (one load less per bucket).
  window_counts view(std::uint64_t now, bool with_slow = true) const noexcept;
  // Empties the window (moving its counts into the lifetime totals).
  void reset() noexcept;
  // What one would_trip event stands for: now's epoch (time_based), or the calls seen divided
  // by window_calls (count_based).
  std::uint64_t stamp(std::uint64_t now) const noexcept {
    return count_based_ ? position_.load(std::memory_order_relaxed) / n_ : epoch_of(now);
  }
  // Everything ever added, including what the window holds now.
  window_counts lifetime() const noexcept;
  // Outcomes kept out of the window (probes, stale results) but counted for life.
  void add_lifetime_only(outcome_bits b) noexcept;

 private:
  struct alignas(k_cache_line) bucket {
    std::atomic<std::uint64_t> epoch{~std::uint64_t{0}};
    std::atomic<std::uint64_t> calls_bad{0};
    std::atomic<std::uint64_t> slow_timeouts{0};
    // The other buckets of the window ending at `epoch`, summed by its claimer; valid when
    // prior_epoch == epoch (stored last, with release) and prior_resets is the window's reset
    // count.
    std::atomic<std::uint64_t> prior_calls{0};
    std::atomic<std::uint64_t> prior_bad{0};
    std::atomic<std::uint64_t> prior_slow{0};
    std::atomic<std::uint64_t> prior_timeouts{0};
    std::atomic<std::uint64_t> prior_resets{0};
    std::atomic<std::uint64_t> prior_epoch{~std::uint64_t{0}};
  };
  window_counts scan(std::uint64_t cur, std::uint32_t from, bool with_slow) const noexcept;
  void roll(bucket& b, std::uint64_t seen, std::uint64_t epoch) noexcept;
  // now / width_ without a division: a multiply by the rounded-down reciprocal gives the
  // quotient or one less; one multiply-subtract corrects it.
  std::uint64_t epoch_of(std::uint64_t now) const noexcept {
    std::uint64_t q = static_cast<std::uint64_t>((static_cast<u128>(now) * reciprocal_) >> 64);
    if (now - q * width_ >= width_) ++q;
    return q;
  }
  void retire(window_counts c) noexcept;

  const bool count_based_;
  const std::uint64_t width_;       // time_based: bucket width in ns
  const std::uint64_t reciprocal_;  // floor(2^64 / width_)
  const std::uint32_t n_;           // buckets or calls
  const std::uint64_t mask_;        // time_based: slots - 1
  std::unique_ptr<bucket[]> buckets_;
  std::unique_ptr<std::atomic<std::uint8_t>[]> outcomes_;                  // count_based
  alignas(k_false_sharing_range) std::atomic<std::uint64_t> position_{0};  // count_based
  alignas(k_false_sharing_range) std::atomic<std::uint64_t> totals_{0};    // count_based
  std::atomic<std::uint64_t> resets_{0};  // time_based: reset() calls, stamps prior sums
  // Lifetime counts of what has left the window (or never entered it).
  alignas(k_false_sharing_range) std::atomic<std::uint64_t> retired_calls_{0};
  std::atomic<std::uint64_t> retired_bad_{0};
  std::atomic<std::uint64_t> retired_slow_{0};
  std::atomic<std::uint64_t> retired_timeouts_{0};
};

}  // namespace keel::resilience::detail
