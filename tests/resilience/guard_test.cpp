// breaker_guard in a supervisor on the deterministic executor's virtual clock: a crash loop is
// cut off at the crash that opens the breaker; crashes spread wider than the window never are.
#include <gtest/gtest.h>

#include "core/supervision_actors.h"

#include <keel/core/testing.h>
#include <keel/keel.h>
#include <keel/resilience/breaker_guard.h>

namespace {

using namespace std::chrono_literals;
using keel::resilience::breaker_guard;
using keel::resilience::breaker_state;
using keel::resilience::crash_loop;
using namespace keel::test;

class guard_test : public ::testing::Test {
 protected:
  keel::actor_ref<keel::supervisor> start_tree(std::shared_ptr<breaker_guard> g) {
    keel::supervisor_config cfg;
    cfg.intensity = {1000, 1s};  // the supervisor's own limit is out of the way
    cfg.children = {worker_spec(j_, "loop"), worker_spec(j_, "other")};
    cfg.children[0].guard = std::move(g);
    auto sup = fx_.sys().spawn<keel::supervisor>(cfg).value();
    fx_.run();
    return sup;
  }
  keel::testing::fixture fx_;
  journal* j_ = &new_journal();
};

TEST_F(guard_test, cuts_a_crash_loop_off_at_the_crash_that_opens_the_breaker) {
  auto g = breaker_guard::create(crash_loop(3, 1s)).value();
  auto sup = start_tree(g);
  for (int i = 0; i < 3; ++i) {
    auto w = child_named(sup, "loop");
    ASSERT_TRUE(w.alive()) << i;
    ASSERT_EQ(w.send(crash{}), keel::send_status::ok);
    fx_.run();
    fx_.advance(100ms);
  }
  EXPECT_EQ(j_->starts_of("loop"), 3) << "first start and two restarts";
  EXPECT_FALSE(child_named(sup, "loop").alive());
  const auto st = status_of(sup);
  ASSERT_EQ(st.children.size(), 1U);
  EXPECT_EQ(st.children[0].name, "other");
  EXPECT_NE(st.recent.back().text.find("cut off"), std::string::npos);
  EXPECT_EQ(g->breaker().state(), breaker_state::open);
  EXPECT_EQ(g->breaker().stats().failures, 3U);
}

TEST_F(guard_test, crashes_spread_wider_than_the_window_are_restarted_for_ever) {
  auto g = breaker_guard::create(crash_loop(3, 1s)).value();
  auto sup = start_tree(g);
  for (int i = 0; i < 10; ++i) {
    auto w = child_named(sup, "loop");
    ASSERT_TRUE(w.alive()) << i;
    ASSERT_EQ(w.send(crash{}), keel::send_status::ok);
    fx_.run();
    fx_.advance(600ms);  // two crashes per 1.2 s: never three within the window
  }
  EXPECT_EQ(j_->starts_of("loop"), 11);
  EXPECT_EQ(g->breaker().state(), breaker_state::closed);
}

TEST_F(guard_test, crash_loop_builds_a_valid_configuration_and_create_rejects_a_bad_one) {
  const auto c = crash_loop(5, 10s);
  EXPECT_EQ(c.min_calls, 5U);
  EXPECT_EQ(c.window_buckets, 10U);
  EXPECT_EQ(c.bucket_width, 1s);
  EXPECT_TRUE(c.validate());
  EXPECT_EQ(crash_loop(5, 1h).bucket_width, 60s) << "buckets are at most 60 s";
  auto bad = crash_loop(0, 1s);
  auto g = breaker_guard::create(bad);
  ASSERT_FALSE(g);
  EXPECT_NE(g.error().message().find("min_calls"), std::string_view::npos);
}

}  // namespace
