#include "latency.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <string>

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

void latency_histogram::save(keel::state_writer& w) const {
  std::uint32_t used = 0;
  for (auto n : buckets_) used += n != 0 ? 1 : 0;
  w.write(count_).write(max_).write(used);
  for (std::uint32_t b = 0; b < k_buckets; ++b) {
    if (buckets_[b] != 0) w.write(b).write(buckets_[b]);
  }
}

void latency_histogram::load(keel::state_reader& r) {
  *this = latency_histogram();
  std::uint64_t count = 0;
  std::uint64_t max = 0;
  std::uint32_t used = 0;
  if (!r.read(count, "latency.count") || !r.read(max, "latency.max") ||
      !r.read(used, "latency.buckets")) {
    return;
  }
  if (used > k_buckets) return r.fail("latency: more buckets than the histogram has");
  std::uint64_t total = 0;
  std::int64_t last = -1;
  for (std::uint32_t i = 0; i < used; ++i) {
    std::uint32_t b = 0;
    std::uint64_t n = 0;
    if (!r.read(b, "latency.bucket") || !r.read(n, "latency.bucket_count")) return;
    if (b >= k_buckets || static_cast<std::int64_t>(b) <= last || n == 0) {
      return r.fail("latency: bucket " + std::to_string(b) + " is out of range or order");
    }
    last = b;
    buckets_[b] = n;
    total += n;
  }
  if (total != count) return r.fail("latency: the buckets do not add up to the count");
  count_ = count;
  max_ = max;
}

}  // namespace keel_demo
