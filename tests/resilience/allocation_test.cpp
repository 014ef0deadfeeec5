// The resilience layer's per-call and per-sample paths allocate nothing: this binary replaces
// operator new with one that counts the calls a thread makes while it is being watched.
#include <gtest/gtest.h>

#include <array>
#include <cstdlib>
#include <new>
#include <vector>

#include <keel/resilience/anomaly_detector.h>
#include <keel/resilience/circuit_breaker.h>

namespace {
thread_local bool t_watching = false;
thread_local std::uint64_t t_allocations = 0;
}  // namespace

void* operator new(std::size_t n) {
  if (t_watching) ++t_allocations;
  if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
  throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }

namespace {

// The counter itself works: a watched allocation is seen.
TEST(allocation, the_counting_new_sees_an_allocation) {
  t_allocations = 0;
  t_watching = true;
  // A direct call: a new-expression whose result goes unused may be elided by the compiler.
  void* p = ::operator new(8);
  t_watching = false;
  ::operator delete(p);
  EXPECT_EQ(t_allocations, 1U);
  t_allocations = 0;
}

using namespace std::chrono_literals;
using keel::resilience::breaker_config;
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

TEST(allocation, breaker_hot_paths_allocate_nothing) {
  breaker_config c;
  c.min_calls = 1000;
  c.jitter = 0;
  auto b = make(c);
  breaker_config cc = c;
  cc.window = window_kind::count_based;
  cc.window_calls = 100;
  cc.min_calls = 100;
  auto counted = make(cc);
  // Warm up outside the watch (first-use initialisation of anything lazy).
  {
    permit p = b->try_acquire(sec(1));
    p.success(sec(1));
  }
  t_watching = true;
  for (int i = 0; i < 500; ++i) {
    const std::uint64_t now = sec(1) + static_cast<std::uint64_t>(i) * 10'000'000;
    permit p = b->try_acquire(now);
    if (i % 4 == 0) {
      p.failure(now);
    } else {
      p.success(now, 1ms);
    }
    permit q = counted->try_acquire(now);
    q.report(i % 3 == 0 ? call_outcome::timeout : call_outcome::success, now, {});
  }
  const std::uint64_t closed_path = t_allocations;
  // The open path: refusals, a transition (event ring, no log), a probe.
  for (int i = 0; i < 1000; ++i) {
    permit p = b->try_acquire(sec(100));
    if (p) p.failure(sec(100));
  }
  for (int i = 0; i < 100; ++i) {
    permit p = b->try_acquire(sec(100));
    EXPECT_FALSE(p);
  }
  permit probe = b->try_acquire(sec(200));
  probe.success(sec(200));
  t_watching = false;
  EXPECT_EQ(closed_path, 0U);
  EXPECT_EQ(t_allocations, 0U);
  EXPECT_EQ(b->state(), breaker_state::closed);
  EXPECT_EQ(b->stats().opened, 1U);
}

TEST(allocation, detector_updates_allocate_nothing) {
  keel::resilience::detector_config e;
  e.warmup = 10;
  e.fire_after = 1;
  auto ewma = keel::resilience::anomaly_detector::create(e);
  ASSERT_TRUE(ewma);
  e.kind = keel::resilience::estimator::mad;
  e.mad_window = 64;
  auto mad = keel::resilience::anomaly_detector::create(e);
  ASSERT_TRUE(mad);
  std::vector<keel::resilience::peer_sample> peers(20, {0.99, 1000});
  peers[4].value = 0.1;
  std::array<std::size_t, 4> out{};
  t_watching = true;
  int fired = 0;
  for (int i = 0; i < 1000; ++i) {
    const double x = i % 100 == 99 ? 1000.0 : 10.0 + (i % 7);
    fired += ewma->update(x).level != keel::resilience::severity::none;
    fired += mad->update(x).level != keel::resilience::severity::none;
  }
  const std::size_t n = keel::resilience::peer_outliers(peers, {}, out);
  t_watching = false;
  EXPECT_EQ(t_allocations, 0U);
  EXPECT_GT(fired, 0);
  EXPECT_EQ(n, 1U);
}

}  // namespace
