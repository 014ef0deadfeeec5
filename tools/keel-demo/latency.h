// latency_histogram: a fixed-size log-linear histogram of nanosecond values (32 buckets per
// power of two: a percentile is within about 3% of the true value), so a long run at a high
// rate costs the same 15 KB as a short one.
//
// Thread safety: a value owned by one actor (the ledger).
#pragma once

#include <array>
#include <cstdint>

#include <keel/core/state.h>

namespace keel_demo {

class latency_histogram {
 public:
  void record(std::uint64_t ns) noexcept;
  std::uint64_t count() const noexcept { return count_; }
  std::uint64_t max() const noexcept { return max_; }
  // The value at or below which a fraction `q` (0 < q <= 1) of the recorded values lie, as the
  // upper bound of its bucket (never above max()); 0 when empty.
  std::uint64_t percentile(double q) const noexcept;

  // Its state (the ledger's save_state): the count, the max and the non-empty buckets as
  // (index, count) pairs. load() fails `r` on an index out of range, out of order, or counts
  // that do not add up.
  void save(keel::state_writer& w) const;
  void load(keel::state_reader& r);

  // Bucket layout, exposed for tests: values below 64 get a bucket each; above, each power of
  // two [2^k, 2^(k+1)) splits into 32 equal buckets.
  static std::uint32_t bucket_of(std::uint64_t ns) noexcept;
  static std::uint64_t upper_bound_of(std::uint32_t bucket) noexcept;

 private:
  static constexpr int k_sub_bits = 5;
  static constexpr std::uint32_t k_linear = 2u << k_sub_bits;  // 64
  static constexpr std::uint32_t k_buckets = k_linear + (64 - k_sub_bits - 1) * (1u << k_sub_bits);

  std::array<std::uint64_t, k_buckets> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
};

}  // namespace keel_demo
