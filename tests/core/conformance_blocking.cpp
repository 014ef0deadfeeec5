// The conformance suite, part three: blocking work (detached actors, block_in_place) on both
// executors. What only the work-stealing scheduler can show (a blocked worker's queue moving
// to the others, the long-handler report) is in blocking_test.cpp.
#include <gtest/gtest.h>

#include "core/conformance.h"

namespace {

using namespace std::chrono_literals;
using keel::send_status;
using namespace keel::test;

struct where {
  static constexpr std::string_view keel_name = "test.conf.where/1";
};
struct place {
  static constexpr std::string_view keel_name = "test.conf.place/1";
  bool dedicated_thread;
  bool pool_worker;
};

// Says on what kind of thread its handlers run.
class locator : public keel::actor<locator, where> {
 public:
  static constexpr std::string_view keel_name = "test.conf.locator";
  void on(where&) {
    keel::sched::worker* w = keel::sched::worker::current();
    reply(place{w != nullptr && w->dedicated(), w != nullptr && !w->dedicated()});
  }
};

TEST_P(conformance, a_detached_actor_runs_on_its_own_thread_or_on_the_executor) {
  keel::spawn_options o;
  o.detached = true;
  o.name = "locator";
  auto d = sys_->spawn_with<locator>(o).value();
  auto pooled = sys_->spawn<locator>().value();
  auto r = d.ask<place>(where{}, 10s);
  ASSERT_TRUE(r) << r.error();
  auto p = pooled.ask<place>(where{}, 10s);
  ASSERT_TRUE(p) << p.error();
  EXPECT_FALSE(p->dedicated_thread);
  EXPECT_TRUE(p->pool_worker);
  if (GetParam().deterministic) {
    EXPECT_FALSE(r->dedicated_thread);  // the executor's thread runs it
    EXPECT_TRUE(r->pool_worker);
  } else {
    EXPECT_TRUE(r->dedicated_thread);
  }
  // It stops like any actor, and the name is free again.
  ASSERT_EQ(d.stop(), send_status::ok);
  ASSERT_TRUE(await([&] { return !d.alive(); }));
  auto again = sys_->spawn_with<locator>(o);
  ASSERT_TRUE(again) << again.error();
  auto r2 = again->ask<place>(where{}, 10s);
  ASSERT_TRUE(r2) << r2.error();
}

struct compute {
  static constexpr std::string_view keel_name = "test.conf.compute/1";
  int n;
};
struct computed {
  static constexpr std::string_view keel_name = "test.conf.computed/1";
  int value;
  std::uint64_t clock_before;
  std::uint64_t clock_after;
};

// Does its "blocking" work inside block_in_place and replies with the result.
class blocker : public keel::actor<blocker, compute> {
 public:
  static constexpr std::string_view keel_name = "test.conf.blocker";
  void on(compute& c) {
    const std::uint64_t before = now();
    const int v = block_in_place([&] { return c.n * 2; });
    block_in_place([] {});  // void works too
    reply(computed{v, before, now()});
  }
};

TEST_P(conformance, block_in_place_runs_the_function_and_returns_its_value) {
  auto b = sys_->spawn<blocker>().value();
  auto r = b.ask<computed>(compute{21}, 10s);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->value, 42);
  // The handler's clock is constant within it (and virtual time does not move inline).
  EXPECT_EQ(r->clock_before, r->clock_after);
}

}  // namespace
