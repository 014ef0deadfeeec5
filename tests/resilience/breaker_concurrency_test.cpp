// circuit_breaker under threads (run under TSan in CI). That its hot paths allocate nothing is
// in allocation_test.cpp.
#include <gtest/gtest.h>

#include <atomic>
#include <barrier>
#include <thread>
#include <vector>

#include "stress.h"

#include <keel/resilience/circuit_breaker.h>

namespace {

using namespace std::chrono_literals;
using keel::resilience::breaker_config;
using keel::resilience::breaker_event;
using keel::resilience::breaker_state;
using keel::resilience::call_outcome;
using keel::resilience::circuit_breaker;
using keel::resilience::permit;
using keel::resilience::window_kind;

constexpr std::uint64_t sec(std::uint64_t n) { return n * 1'000'000'000; }

std::unique_ptr<circuit_breaker> make(breaker_config cfg) {
  auto b = circuit_breaker::create(std::move(cfg));
  EXPECT_TRUE(b) << b.error().to_string();
  return std::move(b).value();
}

// Four threads report a known mix (1 in 8 a failure, 1 in 16 slow) through a breaker that never
// trips, on clocks that move through many buckets: every outcome is counted exactly once.
void hammer_counts(window_kind kind) {
  breaker_config c;
  c.window = kind;
  c.window_calls = 64;
  c.min_calls = 10;
  c.failure_ratio = 1.0;  // never reached: one in eight fails
  c.slow_call_threshold = 1ms;
  c.bucket_width = 1ms;
  auto b = make(c);
  const int threads = 4;
  const auto per_thread = static_cast<int>(keel::test::scaled(200'000, 20'000));
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      std::uint64_t now = sec(1) + static_cast<std::uint64_t>(t) * 100'000;
      for (int i = 0; i < per_thread; ++i) {
        now += 20'000;  // 50 calls per bucket per thread
        permit p = b->try_acquire(now);
        ASSERT_TRUE(p);
        const bool fail = i % 8 == 0;
        const auto took = i % 16 == 1 ? 2ms : 0ms;
        p.report(fail ? call_outcome::failure : call_outcome::success, now, took);
      }
    });
  }
  for (auto& t : ts) t.join();
  const auto s = b->stats();
  const std::uint64_t total = static_cast<std::uint64_t>(threads) * per_thread;
  const std::uint64_t failures = static_cast<std::uint64_t>(threads) * ((per_thread + 7) / 8);
  const std::uint64_t slow = static_cast<std::uint64_t>(threads) * ((per_thread + 14) / 16);
  EXPECT_EQ(s.failures, failures);
  EXPECT_EQ(s.successes, total - failures);
  EXPECT_EQ(s.slow, slow);
  EXPECT_EQ(s.stale, 0U);
  EXPECT_EQ(b->state(), breaker_state::closed);
}

TEST(breakerconcurrency, counts_every_outcome_once_in_a_time_window) {
  hammer_counts(window_kind::time_based);
}

TEST(breakerconcurrency, counts_every_outcome_once_in_a_count_window) {
  hammer_counts(window_kind::count_based);
}

// Many threads fail at once: the breaker opens exactly once, and the event says so once.
TEST(breakerconcurrency, many_failing_threads_open_it_once) {
  const int rounds = static_cast<int>(keel::test::scaled(200, 20));
  for (int r = 0; r < rounds; ++r) {
    breaker_config c;
    c.min_calls = 20;
    c.jitter = 0;
    auto b = make(c);
    std::vector<std::thread> ts;
    std::barrier start(4);
    for (int t = 0; t < 4; ++t) {
      ts.emplace_back([&] {
        start.arrive_and_wait();
        for (int i = 0; i < 50; ++i) {
          permit p = b->try_acquire(sec(1));
          if (p) p.failure(sec(1));
        }
      });
    }
    for (auto& t : ts) t.join();
    ASSERT_EQ(b->state(), breaker_state::open);
    ASSERT_EQ(b->stats().opened, 1U);
    breaker_event e;
    int transitions = 0;
    while (b->poll_event(e)) ++transitions;
    ASSERT_EQ(transitions, 1);
    const auto s = b->stats();
    // Every call was refused or counted (a stale failure is counted too, and also as stale).
    ASSERT_EQ(s.failures + s.not_permitted, 200U);
    ASSERT_LE(s.stale, s.failures);
  }
}

// The thundering herd at the end of an open period: exactly half_open_permits callers get in.
TEST(breakerconcurrency, admits_exactly_the_permitted_probes_to_a_herd) {
  const int rounds = static_cast<int>(keel::test::scaled(200, 20));
  const int threads = 8;
  for (int r = 0; r < rounds; ++r) {
    breaker_config c;
    c.half_open_permits = 3;
    c.jitter = 0;
    auto b = make(c);
    b->force_open(sec(1));
    b->reset(sec(1));
    for (int i = 0; i < 20; ++i) {
      permit p = b->try_acquire(sec(1));
      p.failure(sec(1));
    }
    ASSERT_EQ(b->state(), breaker_state::open);
    std::atomic<int> admitted{0};
    std::barrier start(threads);
    std::barrier done(threads);
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t) {
      ts.emplace_back([&] {
        start.arrive_and_wait();
        permit p = b->try_acquire(sec(6) + 2'000'000);
        if (p) admitted.fetch_add(1);
        done.arrive_and_wait();  // hold the permits until everyone has tried
      });                        // then drop them unreported: they go back
    }
    for (auto& t : ts) t.join();
    ASSERT_EQ(admitted.load(), 3);
    ASSERT_EQ(b->stats().cancelled, 3U);
    ASSERT_EQ(b->state(), breaker_state::half_open);
    // All three went back: three more are admitted.
    permit a = b->try_acquire(sec(6) + 2'000'000);
    permit bb = b->try_acquire(sec(6) + 2'000'000);
    permit cc = b->try_acquire(sec(6) + 2'000'000);
    ASSERT_TRUE(a && bb && cc);
    ASSERT_FALSE(b->try_acquire(sec(6) + 2'000'000));
  }
}

// Probes, failures and dropped permits racing over many transitions: no round ever has more
// than half_open_permits probes out, and once every permit is gone the breaker is not stuck: in
// half_open all its probes are back, in open a caller after the deadline gets one.
TEST(breakerconcurrency, racing_probes_stay_within_each_round_and_never_leave_it_stuck) {
  breaker_config c;
  c.half_open_permits = 2;
  c.min_calls = 5;
  c.failure_ratio = 0.2;  // one call in five fails: it trips and recovers over and over
  c.jitter = 0;
  c.open_base = 1ms;
  c.open_max = 4ms;
  c.bucket_width = 1ms;
  auto b = make(c);
  std::atomic<std::uint64_t> clock{sec(1)};
  // Probes out per generation (generations stay far below the table's size in this test).
  std::vector<std::atomic<int>> out_by_gen(1U << 16);
  std::atomic<int> worst{0};
  std::vector<std::thread> ts;
  const auto iterations = static_cast<int>(keel::test::scaled(100'000, 10'000));
  for (int t = 0; t < 4; ++t) {
    ts.emplace_back([&, t] {
      for (int i = 0; i < iterations; ++i) {
        const std::uint64_t now = clock.fetch_add(10'000) + 10'000;
        permit p = b->try_acquire(now);
        if (!p) continue;
        const bool probe = p.is_probe();
        const std::uint32_t gen = p.generation() & 0xFFFF;
        if (probe) {
          const int out = out_by_gen[gen].fetch_add(1) + 1;
          int seen = worst.load();
          while (out > seen && !worst.compare_exchange_weak(seen, out)) {
          }
        }
        const int pick = (i + t) % 5;
        if (pick == 0) {
          p.failure(now);
        } else if (pick == 1) {
          p = permit();  // dropped unreported
        } else {
          p.success(now);
        }
        if (probe) out_by_gen[gen].fetch_sub(1);
      }
    });
  }
  for (auto& t : ts) t.join();
  EXPECT_LE(worst.load(), 2) << "more probes out in one round than permitted";
  ASSERT_LT(b->generation(), out_by_gen.size()) << "the table above was too small";
  const auto s = b->stats();
  EXPECT_GT(s.opened, 0U);
  EXPECT_GT(s.closed, 0U);
  const std::uint64_t now = clock.load();
  const std::uint64_t replaced = s.probes_replaced;
  if (b->state() == breaker_state::half_open) {
    permit a = b->try_acquire(now);
    permit bb = b->try_acquire(now);
    EXPECT_TRUE(a && bb) << "a probe permit leaked";
    EXPECT_EQ(b->stats().probes_replaced, replaced) << "admitted only by abandoning the round";
  } else if (b->state() == breaker_state::open) {
    EXPECT_TRUE(b->try_acquire(now + sec(1)));
  } else {
    EXPECT_EQ(b->state(), breaker_state::closed);
  }
}

}  // namespace
