// circuit_breaker: every transition and its timing on a virtual clock (plain numbers passed as
// `now`), the window's rules, permits, stale results, operator states, events and BREAKER
// records. Concurrency and allocation are in breaker_concurrency_test.cpp.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <tuple>
#include <vector>

#include "eventlog/log_fixture.h"

#include <keel/eventlog/log.h>
#include <keel/eventlog/reader.h>
#include <keel/resilience/breaker_record.h>
#include <keel/resilience/circuit_breaker.h>

namespace {

using namespace std::chrono_literals;
using keel::resilience::breaker_config;
using keel::resilience::breaker_event;
using keel::resilience::breaker_event_kind;
using keel::resilience::breaker_state;
using keel::resilience::call_outcome;
using keel::resilience::circuit_breaker;
using keel::resilience::permit;
using keel::resilience::window_kind;

constexpr std::uint64_t ms(std::uint64_t n) { return n * 1'000'000; }
constexpr std::uint64_t sec(std::uint64_t n) { return n * 1'000'000'000; }
// Just after deadline t: deadlines are rounded up to units of 2^20 ns (about 1 ms), so the
// breaker is never early and at most one unit late.
constexpr std::uint64_t after(std::uint64_t t) { return t + ms(2); }

std::unique_ptr<circuit_breaker> make(breaker_config cfg) {
  auto b = circuit_breaker::create(std::move(cfg));
  EXPECT_TRUE(b) << b.error().to_string();
  return std::move(b).value();
}

// A breaker with no jitter and round numbers: 20 calls, 50 %, open 5 s doubling to 40 s.
breaker_config plain() {
  breaker_config c;
  c.name = "db";
  c.jitter = 0;
  c.open_base = 5s;
  c.open_max = 40s;
  return c;
}

void call(circuit_breaker& b, std::uint64_t now, call_outcome o,
          std::chrono::nanoseconds took = {}) {
  permit p = b.try_acquire(now);
  ASSERT_TRUE(p) << "refused at " << now;
  p.report(o, now, took);
}

// Trips `b` (closed, plain()) at `now`: 20 failures.
void trip(circuit_breaker& b, std::uint64_t now) {
  for (int i = 0; i < 20; ++i) call(b, now, call_outcome::failure);
  ASSERT_EQ(b.state(), breaker_state::open);
}

std::vector<breaker_event> drain(circuit_breaker& b) {
  std::vector<breaker_event> out;
  breaker_event e;
  while (b.poll_event(e)) out.push_back(e);
  return out;
}

TEST(breaker, rejects_bad_configuration_naming_the_field) {
  auto expect_bad = [](breaker_config c, std::string_view field) {
    auto b = circuit_breaker::create(std::move(c));
    ASSERT_FALSE(b) << field;
    EXPECT_EQ(b.code(), keel::errc::invalid_config);
    EXPECT_NE(b.error().message().find(field), std::string_view::npos) << b.error().message();
  };
  breaker_config c = plain();
  c.failure_ratio = 0;
  expect_bad(c, "failure_ratio");
  c = plain();
  c.failure_ratio = 1.5;
  expect_bad(c, "failure_ratio");
  c = plain();
  c.slow_call_ratio = -1;
  expect_bad(c, "slow_call_ratio");
  c = plain();
  c.window_buckets = 0;
  expect_bad(c, "window_buckets");
  c = plain();
  c.bucket_width = 10us;
  expect_bad(c, "bucket_width");
  c = plain();
  c.window = window_kind::count_based;
  c.window_calls = 0;
  expect_bad(c, "window_calls");
  c = plain();
  c.window = window_kind::count_based;
  c.window_calls = 10;
  c.min_calls = 11;
  expect_bad(c, "min_calls");
  c = plain();
  c.min_calls = 0;
  expect_bad(c, "min_calls");
  c = plain();
  c.open_max = 1s;
  expect_bad(c, "open_max");
  c = plain();
  c.open_multiplier = 0.5;
  expect_bad(c, "open_multiplier");
  c = plain();
  c.jitter = 2;
  expect_bad(c, "jitter");
  c = plain();
  c.half_open_permits = 0;
  expect_bad(c, "half_open_permits");
  c = plain();
  c.event_capacity = 48;
  expect_bad(c, "event_capacity");
  c = plain();
  c.name = std::string(65, 'x');
  expect_bad(c, "name");
  c = plain();
  c.ignored_errors = {keel::errc::ok};
  expect_bad(c, "ignored_errors");
}

TEST(breaker, does_not_trip_below_the_minimum_number_of_calls) {
  auto b = make(plain());
  for (int i = 0; i < 19; ++i) call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::closed);
  EXPECT_EQ(b->window(sec(1)).calls, 19U);
  EXPECT_EQ(b->window(sec(1)).failures, 19U);
}

TEST(breaker, trips_exactly_at_the_failure_ratio) {
  auto b = make(plain());
  for (int i = 0; i < 10; ++i) call(*b, sec(1), call_outcome::success);
  for (int i = 0; i < 9; ++i) call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::closed);  // 19 calls: below the minimum
  call(*b, sec(1), call_outcome::failure);       // 20 calls, 10 failures: 0.5 >= 0.5
  EXPECT_EQ(b->state(), breaker_state::open);
  const auto ev = drain(*b);
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].from, breaker_state::closed);
  EXPECT_EQ(ev[0].to, breaker_state::open);
  EXPECT_EQ(ev[0].at, sec(1));
  EXPECT_EQ(ev[0].open_for_ns, sec(5));
  EXPECT_EQ(ev[0].calls, 20U);
  EXPECT_EQ(ev[0].failures, 10U);
  EXPECT_EQ(b->stats().opened, 1U);
}

TEST(breaker, trips_exactly_at_ratios_that_are_inexact_in_binary) {
  // 0.55 * 100 is 55.000000000000007 in doubles: a floating-point test would not trip at 55.
  for (const auto& [ratio, calls, failures] :
       {std::tuple{0.55, 100, 55}, std::tuple{0.07, 100, 7}, std::tuple{0.14, 50, 7},
        std::tuple{0.28, 25, 7}, std::tuple{0.68, 75, 51}}) {
    breaker_config c = plain();
    c.failure_ratio = ratio;
    c.min_calls = static_cast<std::uint32_t>(calls);
    auto b = make(c);
    for (int i = 0; i < calls - failures; ++i) call(*b, sec(1), call_outcome::success);
    for (int i = 0; i < failures - 1; ++i) call(*b, sec(1), call_outcome::failure);
    EXPECT_EQ(b->state(), breaker_state::closed) << ratio;
    call(*b, sec(1), call_outcome::failure);
    EXPECT_EQ(b->state(), breaker_state::open) << ratio;
  }
}

TEST(breaker, stays_closed_just_below_the_ratio) {
  auto b = make(plain());
  for (int i = 0; i < 11; ++i) call(*b, sec(1), call_outcome::success);
  for (int i = 0; i < 9; ++i) call(*b, sec(1), call_outcome::failure);  // 9 / 20 = 0.45
  EXPECT_EQ(b->state(), breaker_state::closed);
}

TEST(breaker, successes_alone_never_trip_and_never_evaluate) {
  breaker_config c = plain();
  c.min_calls = 1;
  auto b = make(c);
  for (int i = 0; i < 1000; ++i) call(*b, sec(1), call_outcome::success);
  EXPECT_EQ(b->state(), breaker_state::closed);
  EXPECT_EQ(b->stats().successes, 1000U);
}

TEST(breaker, refuses_while_open_then_admits_one_probe_after_the_open_period) {
  auto b = make(plain());
  trip(*b, sec(10));
  EXPECT_FALSE(b->try_acquire(sec(10)));
  EXPECT_FALSE(b->try_acquire(sec(15) - ms(2)));  // 2 ms early (deadlines are ~1 ms units)
  permit probe = b->try_acquire(after(sec(15)));
  ASSERT_TRUE(probe);
  EXPECT_TRUE(probe.is_probe());
  EXPECT_EQ(b->state(), breaker_state::half_open);
  EXPECT_FALSE(b->try_acquire(after(sec(15))));  // one probe only
  probe.success(after(sec(15)));
  EXPECT_EQ(b->state(), breaker_state::closed);
  EXPECT_EQ(b->window(after(sec(15))).calls, 0U) << "closing starts an empty window";
  const auto s = b->stats();
  EXPECT_EQ(s.not_permitted, 3U);
  EXPECT_EQ(s.half_opened, 1U);
  EXPECT_EQ(s.closed, 1U);
  const auto ev = drain(*b);
  ASSERT_EQ(ev.size(), 3U);
  EXPECT_EQ(ev[1].to, breaker_state::half_open);
  EXPECT_EQ(ev[2].to, breaker_state::closed);
}

TEST(breaker, open_period_doubles_on_each_failed_probe_up_to_the_cap_and_resets_on_close) {
  auto b = make(plain());
  std::uint64_t now = sec(100);
  trip(*b, now);
  std::vector<std::uint64_t> periods;
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(b->open_duration().count(),
              static_cast<std::int64_t>(std::min(sec(5) << i, sec(40))));
    const std::uint64_t until = now + std::min(sec(5) << i, sec(40));
    EXPECT_FALSE(b->try_acquire(until - ms(2)));
    now = after(until);
    permit p = b->try_acquire(now);
    ASSERT_TRUE(p) << i;
    p.failure(now);
    ASSERT_EQ(b->state(), breaker_state::open);
  }
  const auto ev = drain(*b);
  for (const auto& e : ev) {
    if (e.to == breaker_state::open) periods.push_back(e.open_for_ns);
  }
  EXPECT_EQ(periods,
            (std::vector<std::uint64_t>{sec(5), sec(10), sec(20), sec(40), sec(40), sec(40)}));
  now = after(now + sec(40));
  permit p = b->try_acquire(now);
  ASSERT_TRUE(p);
  p.success(now);
  EXPECT_EQ(b->state(), breaker_state::closed);
  EXPECT_EQ(b->open_duration(), 5s);
  trip(*b, now + sec(1));
  const auto after = drain(*b);
  EXPECT_EQ(after.back().open_for_ns, sec(5));
}

TEST(breaker, jitter_stretches_the_period_within_its_bound_and_repeats_with_the_seed) {
  auto periods = [](std::uint64_t seed) {
    breaker_config c = plain();
    c.jitter = 0.5;
    c.seed = seed;
    c.open_max = 300s;
    auto b = make(c);
    std::vector<std::uint64_t> out;
    std::uint64_t now = sec(1);
    trip(*b, now);
    for (int i = 0; i < 4; ++i) {
      breaker_event e;
      while (b->poll_event(e)) {
        if (e.to == breaker_state::open) out.push_back(e.open_for_ns);
      }
      now = after(now + out.back());
      permit p = b->try_acquire(now);
      EXPECT_TRUE(p);
      p.failure(now);
    }
    return out;
  };
  const auto a = periods(7);
  ASSERT_EQ(a.size(), 4U);
  for (std::size_t i = 0; i < a.size(); ++i) {
    const std::uint64_t base = sec(5) << i;  // times (1 + 0.5 * (u - 0.5))
    EXPECT_GE(a[i], base - base / 4);
    EXPECT_LT(a[i], base + base / 4);
  }
  EXPECT_EQ(periods(7), a);
  EXPECT_NE(periods(8), a);
}

TEST(breaker, jitter_still_spreads_periods_at_the_cap_and_never_exceeds_it) {
  breaker_config c = plain();
  c.jitter = 0.5;
  c.open_max = 10s;
  auto b = make(c);
  std::uint64_t now = sec(1);
  trip(*b, now);
  std::vector<std::uint64_t> capped;
  for (int i = 0; i < 8; ++i) {
    breaker_event e;
    std::uint64_t period = 0;
    while (b->poll_event(e)) {
      if (e.to == breaker_state::open) period = e.open_for_ns;
    }
    ASSERT_LE(period, sec(10));
    if (i >= 2) capped.push_back(period);
    now = after(now + period);
    permit p = b->try_acquire(now);
    ASSERT_TRUE(p);
    p.failure(now);
  }
  std::sort(capped.begin(), capped.end());
  EXPECT_LT(capped.front(), capped.back()) << "every period at the cap was the same";
}

TEST(breaker, breakers_with_the_default_seed_but_different_names_do_not_reopen_in_step) {
  auto first_period = [](std::string name) {
    breaker_config c = plain();
    c.name = std::move(name);
    c.jitter = 0.5;
    auto b = make(c);
    trip(*b, sec(1));
    return drain(*b).back().open_for_ns;
  };
  EXPECT_NE(first_period("db"), first_period("cache"));
}

TEST(breaker, several_probes_must_all_succeed_to_close_and_any_failure_reopens) {
  breaker_config c = plain();
  c.half_open_permits = 3;
  auto b = make(c);
  trip(*b, sec(1));
  const std::uint64_t t = after(sec(6));
  permit p1 = b->try_acquire(t);
  permit p2 = b->try_acquire(t);
  permit p3 = b->try_acquire(t);
  ASSERT_TRUE(p1 && p2 && p3);
  EXPECT_FALSE(b->try_acquire(t));
  p1.success(t);
  p2.success(t);
  EXPECT_EQ(b->state(), breaker_state::half_open);
  p3.failure(t);
  EXPECT_EQ(b->state(), breaker_state::open);

  const std::uint64_t t2 = after(t + sec(10));
  permit q1 = b->try_acquire(t2);
  permit q2 = b->try_acquire(t2);
  permit q3 = b->try_acquire(t2);
  q1.success(t2);
  q2.success(t2);
  EXPECT_EQ(b->state(), breaker_state::half_open);
  q3.success(t2);
  EXPECT_EQ(b->state(), breaker_state::closed);
}

TEST(breaker, a_probe_destroyed_without_an_outcome_goes_back) {
  auto b = make(plain());
  trip(*b, sec(1));
  const std::uint64_t t = after(sec(6));
  {
    permit p = b->try_acquire(t);
    ASSERT_TRUE(p);
    EXPECT_FALSE(b->try_acquire(t));
  }  // dropped: the caller threw, or forgot
  permit again = b->try_acquire(t);
  ASSERT_TRUE(again) << "the probe was not released";
  EXPECT_EQ(b->stats().cancelled, 1U);
  permit moved = std::move(again);
  EXPECT_FALSE(b->try_acquire(t)) << "a moved-from permit released the probe";
  moved.success(t);
  EXPECT_EQ(b->state(), breaker_state::closed);
}

TEST(breaker, a_probe_round_without_a_verdict_is_abandoned_after_one_more_period) {
  auto b = make(plain());
  trip(*b, sec(1));
  const std::uint64_t t = after(sec(6));
  permit stuck = b->try_acquire(t);  // held forever, as by a hung call
  ASSERT_TRUE(stuck);
  const std::uint32_t round = b->generation();
  EXPECT_FALSE(b->try_acquire(t + sec(5) - ms(2)));
  permit fresh = b->try_acquire(after(t + sec(5)));
  ASSERT_TRUE(fresh);
  EXPECT_NE(b->generation(), round) << "a new round";
  EXPECT_EQ(b->stats().probes_replaced, 1U);
  fresh.success(after(t + sec(5)));
  EXPECT_EQ(b->state(), breaker_state::closed);
  stuck.failure(sec(12));  // its late result belongs to an older generation
  EXPECT_EQ(b->state(), breaker_state::closed);
  EXPECT_EQ(b->stats().stale, 1U);
}

TEST(breaker, an_abandoned_probe_cannot_give_its_permit_to_the_new_round) {
  auto b = make(plain());  // one probe per round
  trip(*b, sec(1));
  const std::uint64_t t = after(sec(6));
  auto stuck = std::make_unique<permit>(b->try_acquire(t));
  ASSERT_TRUE(*stuck);
  permit fresh = b->try_acquire(after(t + sec(5)));
  ASSERT_TRUE(fresh);
  stuck.reset();  // the hung call finally gives up, unreported
  EXPECT_FALSE(b->try_acquire(after(t + sec(5)))) << "two probes out in a one-probe round";
}

TEST(breaker, a_probe_failure_reopens_even_while_other_probes_come_and_go) {
  breaker_config c = plain();
  c.half_open_permits = 3;
  auto b = make(c);
  trip(*b, sec(1));
  const std::uint64_t t = after(sec(6));
  permit p1 = b->try_acquire(t);
  permit p2 = b->try_acquire(t);
  p1.failure(t);
  EXPECT_EQ(b->state(), breaker_state::open);
  p2.success(t);  // stale now
  EXPECT_EQ(b->state(), breaker_state::open);
  EXPECT_EQ(b->stats().stale, 1U);
}

TEST(breaker, neutral_probe_outcomes_give_the_permit_back) {
  breaker_config c = plain();
  c.timeout_counts_as_failure = false;
  c.ignored_errors = {keel::errc::invalid_argument};
  auto b = make(c);
  trip(*b, sec(1));
  const std::uint64_t t = after(sec(6));
  permit p = b->try_acquire(t);
  p.timeout(t);  // does not count: neither way
  EXPECT_EQ(b->state(), breaker_state::half_open);
  permit q = b->try_acquire(t);
  ASSERT_TRUE(q) << "the timed-out probe's permit came back";
  q.report(keel::errc::invalid_argument, t, {});  // ignored
  permit r = b->try_acquire(t);
  ASSERT_TRUE(r) << "the ignored probe's permit came back";
  EXPECT_EQ(b->stats().cancelled, 2U);
  EXPECT_EQ(b->stats().ignored, 1U);
  r.success(t);
  EXPECT_EQ(b->state(), breaker_state::closed);
}

TEST(breaker, a_slow_probe_reopens) {
  breaker_config c = plain();
  c.slow_call_threshold = 100ms;
  auto b = make(c);
  trip(*b, sec(1));
  const std::uint64_t t = after(sec(6));
  permit p = b->try_acquire(t);
  p.success(t, 150ms);
  EXPECT_EQ(b->state(), breaker_state::open);
}

TEST(breaker, operator_states_make_outstanding_permits_stale) {
  auto b = make(plain());
  trip(*b, sec(1));
  permit probe = b->try_acquire(after(sec(6)));
  ASSERT_TRUE(probe);
  b->force_open(after(sec(6)));
  probe.success(after(sec(6)));
  EXPECT_EQ(b->state(), breaker_state::forced_open);
  EXPECT_EQ(b->stats().stale, 1U);
  b->reset(sec(7));
  permit closed = b->try_acquire(sec(7));
  b->disable(sec(7));
  closed.failure(sec(7));
  EXPECT_EQ(b->stats().stale, 2U);
  EXPECT_EQ(b->state(), breaker_state::disabled);
}

TEST(breaker, a_deadline_seen_through_the_clock_unit_wrap_has_passed) {
  auto b = make(plain());
  trip(*b, sec(1));
  // 2^32 units of 2^20 ns is about 52 days: 30 days later the raw signed difference says the
  // deadline is 22 days ahead, further than any open period can be.
  const std::uint64_t later = sec(1) + sec(30ULL * 24 * 3600);
  EXPECT_TRUE(b->try_acquire(later));
}

TEST(breaker, a_one_millisecond_open_period_is_never_zero) {
  breaker_config c = plain();
  c.open_base = std::chrono::milliseconds(1);
  c.open_max = std::chrono::milliseconds(1);
  auto b = make(c);
  for (std::uint64_t start : {sec(1), sec(1) + 1'048'575, sec(1) + 524'288}) {
    b->reset(start);
    trip(*b, start);
    EXPECT_FALSE(b->try_acquire(start)) << start;
    EXPECT_FALSE(b->try_acquire(start + 999'999)) << start;
    EXPECT_TRUE(b->try_acquire(start + ms(3))) << start;
  }
}

TEST(breaker, late_results_from_an_older_generation_change_nothing) {
  auto b = make(plain());
  permit late = b->try_acquire(sec(1));
  trip(*b, sec(1));
  permit probe = b->try_acquire(after(sec(6)));
  ASSERT_TRUE(probe);
  late.failure(after(sec(6)));  // taken while closed, reported in half_open
  EXPECT_EQ(b->state(), breaker_state::half_open);
  EXPECT_EQ(b->stats().stale, 1U);
  EXPECT_EQ(b->stats().failures, 21U) << "a stale result is still counted";
  probe.success(after(sec(6)));
  EXPECT_EQ(b->state(), breaker_state::closed);
}

TEST(breaker, slow_calls_trip_on_their_own_ratio) {
  breaker_config c = plain();
  c.slow_call_threshold = 100ms;
  c.slow_call_ratio = 0.8;
  auto b = make(c);
  for (int i = 0; i < 4; ++i) call(*b, sec(1), call_outcome::success, 10ms);
  for (int i = 0; i < 15; ++i) call(*b, sec(1), call_outcome::success, 100ms);
  EXPECT_EQ(b->state(), breaker_state::closed);  // 19 calls
  call(*b, sec(1), call_outcome::success, 99ms);
  EXPECT_EQ(b->state(), breaker_state::closed);  // 15 / 20 = 0.75 slow
  for (int i = 0; i < 4; ++i) call(*b, sec(1), call_outcome::success, 150ms);
  EXPECT_EQ(b->state(), breaker_state::closed);  // 19 / 24 slow = 0.79
  call(*b, sec(1), call_outcome::success, 150ms);
  EXPECT_EQ(b->state(), breaker_state::open);  // 20 / 25 = 0.8
  EXPECT_EQ(drain(*b).back().slow, 20U);
  EXPECT_EQ(b->stats().failures, 0U);
  EXPECT_EQ(b->stats().slow, 20U);
}

TEST(breaker, trips_on_consecutive_failures_below_the_minimum) {
  breaker_config c = plain();
  c.consecutive_failures = 3;
  auto b = make(c);
  call(*b, sec(1), call_outcome::failure);
  call(*b, sec(1), call_outcome::failure);
  call(*b, sec(1), call_outcome::success);  // ends the run
  call(*b, sec(1), call_outcome::failure);
  call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::closed);
  call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::open);
  EXPECT_EQ(drain(*b).back().consecutive, 3U) << "the event shows the run that tripped it";
}

TEST(breaker, timeouts_count_as_failures_unless_configured_otherwise) {
  auto b = make(plain());
  for (int i = 0; i < 20; ++i) call(*b, sec(1), call_outcome::timeout);
  EXPECT_EQ(b->state(), breaker_state::open);
  EXPECT_EQ(b->stats().timeouts, 20U);
  EXPECT_EQ(b->stats().failures, 0U);

  breaker_config c = plain();
  c.timeout_counts_as_failure = false;
  auto lenient = make(c);
  for (int i = 0; i < 40; ++i) call(*lenient, sec(1), call_outcome::timeout);
  EXPECT_EQ(lenient->state(), breaker_state::closed);
  EXPECT_EQ(lenient->stats().timeouts, 40U);
}

TEST(breaker, classifies_error_codes_and_ignores_the_configured_ones) {
  breaker_config c = plain();
  c.ignored_errors = {keel::errc::invalid_argument};
  auto b = make(c);
  auto report = [&](keel::errc e) {
    permit p = b->try_acquire(sec(1));
    p.report(e, sec(1), {});
  };
  for (int i = 0; i < 30; ++i) report(keel::errc::invalid_argument);
  EXPECT_EQ(b->state(), breaker_state::closed);
  EXPECT_EQ(b->stats().ignored, 30U);
  EXPECT_EQ(b->window(sec(1)).calls, 0U);
  report(keel::errc::ok);
  report(keel::errc::timeout);
  report(keel::errc::failed);
  const auto s = b->stats();
  EXPECT_EQ(s.successes, 1U);
  EXPECT_EQ(s.timeouts, 1U);
  EXPECT_EQ(s.failures, 1U);
}

TEST(breaker, reports_once_per_permit) {
  auto b = make(plain());
  permit p = b->try_acquire(sec(1));
  p.failure(sec(1));
  p.failure(sec(1));
  p.success(sec(1));
  EXPECT_EQ(b->stats().failures, 1U);
  EXPECT_EQ(b->stats().successes, 0U);
}

TEST(breaker, time_window_forgets_buckets_older_than_the_window) {
  auto b = make(plain());  // 10 buckets of 1 s
  for (int i = 0; i < 15; ++i) call(*b, sec(100), call_outcome::failure);
  EXPECT_EQ(b->window(sec(109)).failures, 15U);
  EXPECT_EQ(b->window(sec(110)).failures, 0U) << "the bucket of second 100 has left";
  for (int i = 0; i < 15; ++i) call(*b, sec(110), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::closed) << "old failures must not count";
  for (int i = 0; i < 5; ++i) call(*b, sec(111), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::open);
  EXPECT_EQ(b->stats().failures, 35U);
}

TEST(breaker, count_window_judges_the_last_n_calls) {
  breaker_config c = plain();
  c.window = window_kind::count_based;
  c.window_calls = 10;
  c.min_calls = 10;
  auto b = make(c);
  for (int i = 0; i < 100; ++i) call(*b, sec(1), call_outcome::success);
  for (int i = 0; i < 4; ++i) call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(b->window(sec(1)).calls, 10U);
  EXPECT_EQ(b->window(sec(1)).failures, 4U);
  EXPECT_EQ(b->state(), breaker_state::closed);
  call(*b, sec(1), call_outcome::failure);  // 5 of the last 10
  EXPECT_EQ(b->state(), breaker_state::open);
  EXPECT_EQ(b->stats().successes, 100U);
  EXPECT_EQ(b->stats().failures, 5U);
}

TEST(breaker, trip_opens_it_from_outside_and_it_recovers_by_probes) {
  auto b = make(plain());
  EXPECT_TRUE(b->trip(sec(1)));
  EXPECT_EQ(b->state(), breaker_state::open);
  EXPECT_FALSE(b->trip(sec(2))) << "already open";
  EXPECT_FALSE(b->try_acquire(sec(2)));
  permit p = b->try_acquire(after(sec(6)));
  ASSERT_TRUE(p);
  EXPECT_TRUE(b->trip(after(sec(6)))) << "half_open trips again, with a longer period";
  EXPECT_EQ(drain(*b).back().open_for_ns, sec(10));
  p.success(after(sec(6)));  // stale now
  EXPECT_EQ(b->state(), breaker_state::open);
  b->force_open(sec(20));
  EXPECT_FALSE(b->trip(sec(20)));
  EXPECT_EQ(b->state(), breaker_state::forced_open);
}

TEST(breaker, forced_open_refuses_even_after_any_deadline_until_reset) {
  auto b = make(plain());
  b->force_open(sec(1));
  EXPECT_EQ(b->state(), breaker_state::forced_open);
  EXPECT_FALSE(b->try_acquire(sec(1)));
  EXPECT_FALSE(b->try_acquire(sec(100'000)));
  b->reset(sec(100'000));
  EXPECT_TRUE(b->try_acquire(sec(100'000)));
}

TEST(breaker, disabled_admits_everything_and_records_nothing) {
  auto b = make(plain());
  b->disable(sec(1));
  for (int i = 0; i < 100; ++i) call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::disabled);
  EXPECT_EQ(b->stats().failures, 0U);
  EXPECT_EQ(b->window(sec(1)).calls, 0U);
}

TEST(breaker, metrics_only_records_and_reports_would_trip_without_opening) {
  auto b = make(plain());
  b->metrics_only(sec(1));
  drain(*b);
  for (int i = 0; i < 40; ++i) call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(b->state(), breaker_state::metrics_only);
  EXPECT_EQ(b->stats().failures, 40U);
  auto ev = drain(*b);
  ASSERT_EQ(ev.size(), 1U) << "one would_trip per bucket, not one per failure";
  EXPECT_EQ(ev[0].kind, breaker_event_kind::would_trip);
  EXPECT_EQ(ev[0].calls, 20U);
  call(*b, sec(2), call_outcome::failure);
  ev = drain(*b);
  ASSERT_EQ(ev.size(), 1U);
  EXPECT_EQ(ev[0].at, sec(2));
}

TEST(breaker, metrics_only_with_a_count_window_reports_once_per_window_of_calls) {
  breaker_config c = plain();
  c.window = window_kind::count_based;
  c.window_calls = 20;
  auto b = make(c);
  b->metrics_only(sec(1));
  drain(*b);
  for (int i = 0; i < 100; ++i) call(*b, sec(1), call_outcome::failure);
  const auto ev = drain(*b);
  EXPECT_EQ(ev.size(), 5U) << "one would_trip per 20 calls";
  b->reset(sec(1));
  b->metrics_only(sec(1));
  drain(*b);
  for (int i = 0; i < 20; ++i) call(*b, sec(1), call_outcome::failure);
  EXPECT_EQ(drain(*b).size(), 1U) << "re-entering metrics_only reports again";
}

TEST(breaker, a_full_event_queue_drops_and_counts) {
  breaker_config c = plain();
  c.event_capacity = 2;
  auto b = make(c);
  for (int i = 0; i < 5; ++i) b->force_open(sec(1));
  EXPECT_EQ(b->stats().events_dropped, 3U);
  EXPECT_EQ(drain(*b).size(), 2U);
  b->reset(sec(1));
  EXPECT_EQ(drain(*b).size(), 1U);
}

TEST(breaker, writes_breaker_records_to_an_attached_log) {
  keel::eventlog::testing::temp_dir dir;
  auto log = keel::eventlog::event_log::open(dir.log(), keel::eventlog::testing::small_segments());
  ASSERT_TRUE(log) << log.error().to_string();
  auto b = make(plain());
  b->attach_log(log->get());
  trip(*b, sec(1));
  permit p = b->try_acquire(after(sec(6)));
  p.success(after(sec(6)));
  b->attach_log(nullptr);
  b->force_open(sec(7));  // not recorded
  ASSERT_TRUE((*log)->sync());
  log->reset();

  auto reader = keel::eventlog::log_reader::open(dir.log());
  ASSERT_TRUE(reader) << reader.error().to_string();
  std::vector<keel::resilience::breaker_record> seen;
  std::vector<std::int64_t> ts;
  reader->scan([&](const keel::eventlog::record_view& r) {
    if (r.header.type != static_cast<std::uint16_t>(keel::eventlog::record_type::breaker)) {
      return true;
    }
    auto d = keel::resilience::decode_breaker_record(r.payload);
    EXPECT_TRUE(d) << d.error().to_string();
    if (d) seen.push_back(*d);
    ts.push_back(r.header.ts_ns);
    return true;
  });
  ASSERT_EQ(seen.size(), 3U);
  EXPECT_EQ(seen[0].name, "db");
  EXPECT_EQ(seen[0].event.to, breaker_state::open);
  EXPECT_EQ(seen[0].event.open_for_ns, sec(5));
  EXPECT_EQ(seen[0].event.failures, 20U);
  EXPECT_EQ(seen[1].event.to, breaker_state::half_open);
  EXPECT_EQ(seen[2].event.to, breaker_state::closed);
  EXPECT_EQ(ts, (std::vector<std::int64_t>{static_cast<std::int64_t>(sec(1)),
                                           static_cast<std::int64_t>(after(sec(6))),
                                           static_cast<std::int64_t>(after(sec(6)))}));
}

TEST(breaker, record_decoder_names_what_is_wrong) {
  keel::resilience::breaker_record_buffer buf;
  breaker_event e;
  e.to = breaker_state::open;
  auto bytes = keel::resilience::encode_breaker_record(e, "svc", buf);
  auto ok = keel::resilience::decode_breaker_record(bytes);
  ASSERT_TRUE(ok);
  EXPECT_EQ(ok->name, "svc");
  EXPECT_EQ(ok->event.to, breaker_state::open);

  auto short_one = keel::resilience::decode_breaker_record(bytes.first(10));
  EXPECT_EQ(short_one.code(), keel::errc::corrupt);
  std::vector<std::byte> v(bytes.begin(), bytes.end());
  v[0] = std::byte{9};
  EXPECT_NE(keel::resilience::decode_breaker_record(v).error().message().find("version"),
            std::string_view::npos);
  v[0] = std::byte{1};
  v[3] = std::byte{42};
  EXPECT_EQ(keel::resilience::decode_breaker_record(v).code(), keel::errc::corrupt);
  v[3] = std::byte{1};
  v.push_back(std::byte{0});
  EXPECT_NE(keel::resilience::decode_breaker_record(v).error().message().find("name length"),
            std::string_view::npos);
}

}  // namespace
