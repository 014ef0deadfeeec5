#include "sched/timer_wheel.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

namespace {

using keel::sched::timer_node;
using keel::sched::timer_wheel;

TEST(timerwheel, fires_each_node_at_its_tick_in_order) {
  std::mt19937_64 rng(7);
  timer_wheel wheel;
  std::vector<timer_node> nodes(2000);
  std::vector<std::uint64_t> when(nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    when[i] = 1 + rng() % 300'000;  // up to level 3
    wheel.insert(&nodes[i], when[i]);
  }
  EXPECT_EQ(wheel.size(), nodes.size());
  std::size_t fired = 0;
  std::uint64_t previous = 0;  // the tick of the previous advance
  auto step = [&](std::uint64_t now) {
    wheel.advance(now, [&](timer_node* n) {
      ++fired;
      EXPECT_FALSE(n->linked_);
      EXPECT_LE(n->when_tick_, now) << "fired early";
      EXPECT_GT(n->when_tick_, previous) << "fired late: an earlier advance had reached it";
    });
    previous = now;
  };
  for (std::uint64_t now = 1; now <= 300'000; now += 1 + rng() % 97) step(now);
  step(300'000);
  EXPECT_EQ(fired, nodes.size());
  EXPECT_TRUE(wheel.empty());
}

TEST(timerwheel, removed_nodes_never_fire_and_next_deadline_is_exact) {
  timer_wheel wheel;
  timer_node a, b, c;
  wheel.insert(&a, 10);
  wheel.insert(&b, 5000);
  wheel.insert(&c, 70);
  EXPECT_EQ(wheel.next_expiration_tick(), 10U);
  wheel.remove(&a);
  EXPECT_FALSE(a.linked_);
  int fired = 0;
  wheel.advance(69, [&](timer_node*) { ++fired; });
  EXPECT_EQ(fired, 0);
  EXPECT_LE(wheel.next_expiration_tick(), 70U);
  wheel.advance(70, [&](timer_node* n) {
    EXPECT_EQ(n, &c);
    ++fired;
  });
  EXPECT_EQ(fired, 1);
  wheel.remove(&b);
  EXPECT_TRUE(wheel.empty());
  EXPECT_EQ(wheel.next_expiration_tick(), timer_wheel::k_no_deadline);
}

TEST(timerwheel, a_deadline_in_the_past_fires_on_the_next_tick) {
  timer_wheel wheel;
  wheel.advance(1000, [](timer_node*) {});
  timer_node n;
  wheel.insert(&n, 3);
  EXPECT_EQ(n.when_tick_, 1001U);
  int fired = 0;
  wheel.advance(1001, [&](timer_node*) { ++fired; });
  EXPECT_EQ(fired, 1);
}

TEST(timerwheel, reaches_far_deadlines) {
  timer_wheel wheel;
  timer_node n;
  const std::uint64_t far = 64ULL * 64 * 64 * 64 * 3 + 17;  // level 4
  wheel.insert(&n, far);
  int fired = 0;
  wheel.advance(far - 1, [&](timer_node*) { ++fired; });
  EXPECT_EQ(fired, 0);
  wheel.advance(far, [&](timer_node*) { ++fired; });
  EXPECT_EQ(fired, 1);
}

}  // namespace
