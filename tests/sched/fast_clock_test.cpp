#include <gtest/gtest.h>

#include <cstdint>

#include <keel/sched/fast_clock.h>

namespace {

using keel::sched::clock_now;
using keel::sched::fast_clock;

// Reads the clock between two clock_now() readings for `span_ns`; every value must lie within
// `tolerance_ns` of its bracket and none may be below the one before it.
struct sweep_result {
  std::uint64_t samples = 0;
  std::uint64_t out_of_bracket = 0;
  std::uint64_t backwards = 0;
};

sweep_result sweep(fast_clock& clk, std::uint64_t span_ns, std::uint64_t tolerance_ns) {
  sweep_result r;
  std::uint64_t previous = 0;
  const std::uint64_t end = clock_now() + span_ns;
  for (;;) {
    const std::uint64_t before = clock_now();
    const std::uint64_t v = clk.now();
    const std::uint64_t after = clock_now();
    ++r.samples;
    if (v + tolerance_ns < before || v > after + tolerance_ns) ++r.out_of_bracket;
    if (v < previous) ++r.backwards;
    previous = v;
    if (after >= end) break;
  }
  return r;
}

TEST(fast_clock, without_tsc_is_clock_now) {
  fast_clock clk(false);
  const sweep_result r = sweep(clk, 5'000'000, 0);
  EXPECT_FALSE(clk.uses_tsc());
  EXPECT_EQ(clk.reanchors(), 0U);
  EXPECT_GT(r.samples, 0U);
  EXPECT_EQ(r.out_of_bracket, 0U);
  EXPECT_EQ(r.backwards, 0U);
}

TEST(fast_clock, follows_clock_now_and_never_goes_back) {
  fast_clock clk;
  // The first millisecond calibrates; after that the TSC path (where there is one) must agree
  // with clock_now() to well within one re-anchor window (1 ms) and re-anchor as it goes.
  const sweep_result warm = sweep(clk, 3'000'000, 0);
  EXPECT_EQ(warm.backwards, 0U);
  const sweep_result r = sweep(clk, 30'000'000, 200'000);
  EXPECT_EQ(r.out_of_bracket, 0U);
  EXPECT_EQ(r.backwards, 0U);
  EXPECT_EQ(clk.uses_tsc(), fast_clock::tsc_available());
  if (clk.uses_tsc()) {
    // Readings spanning 30 ms must have crossed at least one 1 ms window. (How many depends on
    // preemption, which merges windows, so only "at least one" is asserted.)
    EXPECT_GE(clk.reanchors(), 1U);
  }
}

TEST(fast_clock, tight_loop_values_never_decrease) {
  fast_clock clk;
  std::uint64_t previous = clk.now();
  std::uint64_t backwards = 0;
  for (int i = 0; i < 2'000'000; ++i) {
    const std::uint64_t v = clk.now();
    if (v < previous) ++backwards;
    previous = v;
  }
  EXPECT_EQ(backwards, 0U);
  EXPECT_GT(previous, 0U);
}

}  // namespace
