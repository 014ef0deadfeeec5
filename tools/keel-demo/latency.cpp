#include "latency.h"

#include <algorithm>
#include <bit>
#include <cmath>

namespace keel_demo {

std::uint32_t latency_histogram::bucket_of(std::uint64_t ns) noexcept {
  if (ns < k_linear) return static_cast<std::uint32_t>(ns);
  const int k = std::bit_width(ns) - 1;  // ns in [2^k, 2^(k+1)), k >= 6
  const int shift = k - k_sub_bits;
  const auto sub = static_cast<std::uint32_t>((ns >> shift) - (1u << k_sub_bits));  // 0..31
  return k_linear + static_cast<std::uint32_t>(k - k_sub_bits - 1) * (1u << k_sub_bits) + sub;
}

std::uint64_t latency_histogram::upper_bound_of(std::uint32_t bucket) noexcept {
  if (bucket < k_linear) return bucket;
  const std::uint32_t above = bucket - k_linear;
  const int k = static_cast<int>(above >> k_sub_bits) + k_sub_bits + 1;
  const std::uint64_t sub = above & ((1u << k_sub_bits) - 1);
  const int shift = k - k_sub_bits;
  const std::uint64_t lower = ((1ULL << k_sub_bits) + sub) << shift;
  return lower + ((1ULL << shift) - 1);  // no overflow: the top bucket ends at 2^64 - 1
}

void latency_histogram::record(std::uint64_t ns) noexcept {
  ++buckets_[bucket_of(ns)];
  ++count_;
  max_ = std::max(max_, ns);
}

std::uint64_t latency_histogram::percentile(double q) const noexcept {
  if (count_ == 0) return 0;
  const double wanted = std::ceil(std::clamp(q, 0.0, 1.0) * static_cast<double>(count_));
  const auto rank = std::max<std::uint64_t>(1, static_cast<std::uint64_t>(wanted));
  std::uint64_t seen = 0;
  for (std::uint32_t b = 0; b < k_buckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(upper_bound_of(b), max_);
  }
  return max_;
}

}  // namespace keel_demo
