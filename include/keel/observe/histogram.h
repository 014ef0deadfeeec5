// keel::observe::histogram: a log-linear histogram of 64-bit values (nanoseconds by convention),
// the layout of HdrHistogram with one significant binary digit group: values 0..7 have a
// bucket each, then every power of two from 8 up is cut into 8 equal buckets, up to 2^43 (about
// 2.4 hours in ns); larger values land in the last bucket. A bucket spans at most 1/8 of its
// lower bound, so a percentile read back is within 12.5% of the value recorded (the upper bound
// is reported, so it never reads low). 328 counters: 2.6 KiB.
//
// Threads: record() from one thread at a time, the histogram's owner (a worker, for the per-
// worker shards of observe::metrics): each count is a relaxed load and store, no read-modify-
// write, no lock, no allocation. Any thread may read it at the same time (histogram_snapshot::
// add): relaxed loads, so a reading may miss records still in flight but never sees a torn
// count; counts only grow.
#pragma once

#include <array>
#include <atomic>
#include <cstddef>
#include <cstdint>

namespace keel::observe {

class histogram {
 public:
  static constexpr int k_sub_bits = 3;
  static constexpr std::uint64_t k_sub = std::uint64_t{1} << k_sub_bits;  // buckets per octave
  static constexpr int k_top_exponent = 42;  // the last octave: [2^42, 2^43)
  static constexpr int k_buckets =
      static_cast<int>(k_sub) + (k_top_exponent - 2) * static_cast<int>(k_sub);

  // The bucket a value falls in (values past the last octave: the last bucket).
  static constexpr int bucket_of(std::uint64_t v) noexcept {
    if (v < k_sub) return static_cast<int>(v);
    const int e = 63 - __builtin_clzll(v);  // floor(log2 v), >= k_sub_bits
    if (e > k_top_exponent) return k_buckets - 1;
    const auto mantissa = static_cast<int>((v >> (e - k_sub_bits)) - k_sub);
    return static_cast<int>(k_sub) + (e - k_sub_bits) * static_cast<int>(k_sub) + mantissa;
  }
  // The smallest value of bucket `b`, and one past its largest.
  static constexpr std::uint64_t lower_bound(int b) noexcept {
    if (b < static_cast<int>(k_sub)) return static_cast<std::uint64_t>(b);
    const int octave = (b - static_cast<int>(k_sub)) / static_cast<int>(k_sub);
    const auto m =
        static_cast<std::uint64_t>((b - static_cast<int>(k_sub)) % static_cast<int>(k_sub));
    return (k_sub + m) << octave;
  }
  static constexpr std::uint64_t upper_bound(int b) noexcept {
    if (b < static_cast<int>(k_sub)) return static_cast<std::uint64_t>(b) + 1;
    const int octave = (b - static_cast<int>(k_sub)) / static_cast<int>(k_sub);
    const auto m =
        static_cast<std::uint64_t>((b - static_cast<int>(k_sub)) % static_cast<int>(k_sub));
    return (k_sub + m + 1) << octave;
  }

  // Owner only.
  void record(std::uint64_t v) noexcept { record_n(v, 1); }
  void record_n(std::uint64_t v, std::uint64_t n) noexcept {
    bump(counts_[static_cast<std::size_t>(bucket_of(v))], n);
    bump(sum_, v * n);
    if (v > max_.load(std::memory_order_relaxed)) max_.store(v, std::memory_order_relaxed);
  }

  // Any thread. (The count is the buckets' sum: histogram_snapshot::add.)
  std::uint64_t sum() const noexcept { return sum_.load(std::memory_order_relaxed); }
  std::uint64_t max() const noexcept { return max_.load(std::memory_order_relaxed); }
  std::uint64_t bucket(int b) const noexcept {
    return counts_[static_cast<std::size_t>(b)].load(std::memory_order_relaxed);
  }

 private:
  static void bump(std::atomic<std::uint64_t>& a, std::uint64_t n) noexcept {
    a.store(a.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
  }
  std::array<std::atomic<std::uint64_t>, k_buckets> counts_{};
  std::atomic<std::uint64_t> sum_{0};
  std::atomic<std::uint64_t> max_{0};
};

// Counts read out of one or more histograms (the shards of one metric), for percentiles and
// export. A plain value: any thread, no sharing.
struct histogram_snapshot {
  std::array<std::uint64_t, histogram::k_buckets> counts{};
  std::uint64_t count = 0;
  std::uint64_t sum = 0;
  std::uint64_t max = 0;

  void add(const histogram& h) noexcept;
  void add(const histogram_snapshot& s) noexcept;
  // What was recorded since `earlier` (a snapshot of the same histograms taken before).
  histogram_snapshot minus(const histogram_snapshot& earlier) const noexcept;
  // The value at quantile q in [0, 1]: the upper bound of the bucket where the cumulative count
  // reaches q * count, at most the largest value recorded. 0 when empty.
  std::uint64_t percentile(double q) const noexcept;
  // How many recorded values are at most `v`, from the buckets whose every value is at most v:
  // a bucket that straddles v is left out (an under-count of at most that bucket, whose values
  // lie within 12.5% above v). Prometheus's fixed `le` buckets are exported this way.
  std::uint64_t count_at_most(std::uint64_t v) const noexcept;
};

}  // namespace keel::observe
