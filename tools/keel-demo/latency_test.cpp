#include "latency.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

namespace {

TEST(latencyhistogram, buckets_are_contiguous_and_within_three_percent) {
  using h = keel_demo::latency_histogram;
  for (std::uint32_t b = 0; b < h::bucket_of(~0ULL); ++b) {
    const std::uint64_t hi = h::upper_bound_of(b);
    ASSERT_EQ(h::bucket_of(hi), b);
    ASSERT_EQ(h::bucket_of(hi + 1), b + 1);
  }
  EXPECT_EQ(h::upper_bound_of(h::bucket_of(~0ULL)), ~0ULL);
  for (std::uint64_t v : {100ULL, 12'345ULL, 9'876'543ULL}) {
    EXPECT_LE(static_cast<double>(h::upper_bound_of(h::bucket_of(v)) - v), 0.032 * v) << v;
  }
}

TEST(latencyhistogram, percentiles_follow_the_recorded_values) {
  keel_demo::latency_histogram h;
  EXPECT_EQ(h.percentile(0.5), 0U);
  for (std::uint64_t v = 1; v <= 1000; ++v) h.record(v * 1000);  // 1 us .. 1 ms
  EXPECT_EQ(h.count(), 1000U);
  EXPECT_EQ(h.max(), 1'000'000U);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.50)), 500'000, 0.032 * 500'000);
  EXPECT_NEAR(static_cast<double>(h.percentile(0.99)), 990'000, 0.032 * 990'000);
  EXPECT_EQ(h.percentile(1.0), 1'000'000U);
}

TEST(latencyhistogram, saves_and_loads_its_state) {
  keel_demo::latency_histogram h;
  for (std::uint64_t v : {7ULL, 900ULL, 905ULL, 5'000'000ULL}) h.record(v);
  keel::state_writer w;
  h.save(w);
  keel_demo::latency_histogram back;
  keel::state_reader r(w.bytes());
  back.load(r);
  ASSERT_TRUE(r.finish()) << r.finish();
  EXPECT_EQ(back.count(), 4U);
  EXPECT_EQ(back.max(), 5'000'000U);
  EXPECT_EQ(back.percentile(0.5), h.percentile(0.5));
  keel::state_writer again;
  back.save(again);
  EXPECT_EQ(again.bytes(), w.bytes());
  // A count that the buckets do not add up to is refused, by name.
  keel::state_writer bad;
  bad.write(std::uint64_t{5}).write(std::uint64_t{9}).write(std::uint32_t{1});
  bad.write(std::uint32_t{9}).write(std::uint64_t{4});
  keel::state_reader rb(bad.bytes());
  back.load(rb);
  EXPECT_NE(rb.error().message().find("do not add up"), std::string_view::npos) << rb.error();
  EXPECT_EQ(back.count(), 0U);
}

}  // namespace
