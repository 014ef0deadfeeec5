// keel::observe::histogram: the bucket layout is contiguous and within 12.5%; percentiles read
// back within a bucket of the exact ones and never low; export counts never over-count; a reader
// snapshotting while the owner records sees counts that only grow and end exact.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <random>
#include <thread>
#include <vector>

#include <keel/observe/histogram.h>

namespace {

using keel::observe::histogram;
using keel::observe::histogram_snapshot;

TEST(histogram, buckets_tile_the_range_and_are_at_most_an_eighth_wide) {
  EXPECT_EQ(histogram::lower_bound(0), 0u);
  for (int b = 0; b < histogram::k_buckets; ++b) {
    const std::uint64_t lo = histogram::lower_bound(b);
    const std::uint64_t hi = histogram::upper_bound(b);
    ASSERT_LT(lo, hi) << b;
    EXPECT_EQ(histogram::bucket_of(lo), b);
    EXPECT_EQ(histogram::bucket_of(hi - 1), b);
    if (b + 1 < histogram::k_buckets) {
      EXPECT_EQ(hi, histogram::lower_bound(b + 1)) << b;
    }
    if (lo >= 8) {
      EXPECT_LE((hi - lo) * 8, lo) << b;  // width <= lo / 8
    }
  }
  // The last octave ends at 2^43; anything larger shares the last bucket.
  EXPECT_EQ(histogram::upper_bound(histogram::k_buckets - 1), std::uint64_t{1} << 43);
  EXPECT_EQ(histogram::bucket_of(std::uint64_t{1} << 50), histogram::k_buckets - 1);
  EXPECT_EQ(histogram::bucket_of(UINT64_MAX), histogram::k_buckets - 1);
}

TEST(histogram, percentiles_are_within_a_bucket_and_never_low) {
  std::mt19937_64 rng(42);
  std::lognormal_distribution<double> dist(9.0, 1.5);  // around 8 us, a long tail
  histogram h;
  std::vector<std::uint64_t> values;
  for (int i = 0; i < 100'000; ++i) {
    const auto v = static_cast<std::uint64_t>(dist(rng));
    values.push_back(v);
    h.record(v);
  }
  std::sort(values.begin(), values.end());
  histogram_snapshot s;
  s.add(h);
  EXPECT_EQ(s.count, values.size());
  EXPECT_EQ(s.max, values.back());
  std::uint64_t sum = 0;
  for (std::uint64_t v : values) sum += v;
  EXPECT_EQ(s.sum, sum);
  for (double q : {0.0, 0.01, 0.5, 0.9, 0.99, 0.999, 1.0}) {
    const auto rank = std::max<std::size_t>(
        1, static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size()))));
    const std::uint64_t exact = values[rank - 1];
    const std::uint64_t got = s.percentile(q);
    EXPECT_GE(got, exact) << q;
    EXPECT_LE(static_cast<double>(got), static_cast<double>(exact) * 1.125 + 1) << q;
  }
  EXPECT_EQ(s.percentile(1.0), values.back());
  // The last bucket is open-ended: a value past 2^43 reads back as itself, not as 2^43 - 1.
  histogram big;
  big.record(std::uint64_t{1} << 50);
  histogram_snapshot b;
  b.add(big);
  EXPECT_EQ(b.percentile(0.5), std::uint64_t{1} << 50);
}

TEST(histogram, export_counts_never_over_count) {
  histogram h;
  for (std::uint64_t v = 0; v < 20'000; v += 3) h.record(v);
  histogram_snapshot s;
  s.add(h);
  for (std::uint64_t le : {0ull, 5ull, 1000ull, 5000ull, 10'000ull, 19'999ull, 1'000'000ull}) {
    std::uint64_t exact = 0;
    for (std::uint64_t v = 0; v < 20'000; v += 3) exact += v <= le ? 1 : 0;
    const std::uint64_t got = s.count_at_most(le);
    EXPECT_LE(got, exact) << le;
    // Short by at most the bucket that straddles le.
    EXPECT_LE(exact - got, s.counts[static_cast<std::size_t>(histogram::bucket_of(le))]) << le;
  }
  EXPECT_EQ(s.count_at_most(UINT64_MAX), s.count);
}

TEST(histogram, shards_add_up_and_an_interval_is_the_difference_of_two_readings) {
  histogram a;
  histogram b;
  for (int i = 0; i < 100; ++i) a.record(1000);
  for (int i = 0; i < 50; ++i) b.record(2000);
  histogram_snapshot before;
  before.add(a);
  before.add(b);
  EXPECT_EQ(before.count, 150u);
  EXPECT_EQ(before.sum, 100u * 1000 + 50u * 2000);
  EXPECT_EQ(before.percentile(0.5), histogram::upper_bound(histogram::bucket_of(1000)) - 1);
  a.record_n(50'000, 10);
  histogram_snapshot after;
  after.add(a);
  after.add(b);
  const histogram_snapshot d = after.minus(before);
  EXPECT_EQ(d.count, 10u);
  EXPECT_EQ(d.sum, 500'000u);
  EXPECT_GE(d.percentile(0.5), 50'000u);
  EXPECT_EQ(d.max, 50'000u);
  histogram_snapshot empty;
  EXPECT_EQ(empty.percentile(0.99), 0u);
}

TEST(histogram, a_reader_beside_the_owner_sees_counts_grow_and_end_exact) {
  histogram h;
  constexpr std::uint64_t k_n = 200'000;
  std::atomic<bool> done{false};
  std::thread owner([&] {
    for (std::uint64_t i = 0; i < k_n; ++i) h.record(i % 5000);
    done.store(true, std::memory_order_release);
  });
  std::uint64_t last = 0;
  int readings = 0;
  while (!done.load(std::memory_order_acquire) || readings < 2) {
    histogram_snapshot s;
    s.add(h);
    EXPECT_GE(s.count, last);
    EXPECT_LE(s.count, k_n);
    last = s.count;
    ++readings;
  }
  owner.join();
  histogram_snapshot s;
  s.add(h);
  EXPECT_EQ(s.count, k_n);
  EXPECT_EQ(s.max, 4999u);
}

}  // namespace
