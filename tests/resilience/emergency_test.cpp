// emergency_monitor: the score from its inputs, levels rising at once and falling one step at a
// time with hysteresis, forcing, the actions (shedding by priority, suspending non-critical
// actors, refusing work at the edge), system_status and its JSON, bad configuration.
#include <gtest/gtest.h>

#include <vector>

#include <keel/core/json.h>
#include <keel/core/testing.h>
#include <keel/keel.h>
#include <keel/resilience/emergency.h>

namespace {

using namespace std::chrono_literals;
using keel::resilience::breaker_config;
using keel::resilience::circuit_breaker;
using keel::resilience::emergency_config;
using keel::resilience::emergency_level;
using keel::resilience::emergency_monitor;

// Breakers only: score = 1 - the share of breakers open.
emergency_config breakers_only() {
  emergency_config c;
  c.w_breakers = 1;
  c.w_failures = c.w_mailbox = c.w_anomalies = c.w_quarantine = 0;
  return c;
}

std::vector<std::unique_ptr<circuit_breaker>> breakers(int n) {
  std::vector<std::unique_ptr<circuit_breaker>> v;
  for (int i = 0; i < n; ++i) {
    breaker_config c;
    c.name = "b" + std::to_string(i);
    v.push_back(circuit_breaker::create(c).value());
  }
  return v;
}

TEST(emergency, levels_rise_at_once_with_the_score) {
  auto m = emergency_monitor::create(breakers_only()).value();
  auto bs = breakers(4);
  for (auto& b : bs) m->add_breaker(b.get());
  EXPECT_EQ(m->sample(1), emergency_level::normal);
  EXPECT_DOUBLE_EQ(m->score(), 1.0);
  bs[0]->force_open(1);
  EXPECT_EQ(m->sample(2), emergency_level::degraded);  // 0.75
  EXPECT_DOUBLE_EQ(m->score(), 0.75);
  bs[1]->force_open(2);
  bs[2]->force_open(2);
  EXPECT_EQ(m->sample(3), emergency_level::critical);  // 0.25: not below 0.25
  bs[3]->force_open(3);
  EXPECT_EQ(m->sample(4), emergency_level::emergency);  // 0
  EXPECT_EQ(m->stats().changes, 3U);
}

TEST(emergency, levels_fall_one_step_at_a_time_after_clean_samples) {
  auto m = emergency_monitor::create(breakers_only()).value();  // recover_after 3, margin 0.05
  auto bs = breakers(4);
  for (auto& b : bs) m->add_breaker(b.get());
  for (auto& b : bs) b->force_open(1);
  ASSERT_EQ(m->sample(1), emergency_level::emergency);
  for (auto& b : bs) b->reset(2);  // healthy again: score 1
  std::vector<emergency_level> seen;
  for (int i = 0; i < 9; ++i) seen.push_back(m->sample(10 + i));
  EXPECT_EQ(seen,
            (std::vector<emergency_level>{
                emergency_level::emergency, emergency_level::emergency, emergency_level::critical,
                emergency_level::critical, emergency_level::critical, emergency_level::degraded,
                emergency_level::degraded, emergency_level::degraded, emergency_level::normal}));
}

TEST(emergency, a_score_just_above_the_threshold_does_not_step_down) {
  emergency_config c = breakers_only();
  c.degraded_below = 0.8;
  c.recover_margin = 0.1;
  auto m = emergency_monitor::create(c).value();
  auto bs = breakers(5);
  for (auto& b : bs) m->add_breaker(b.get());
  bs[0]->force_open(1);
  bs[1]->force_open(1);
  ASSERT_EQ(m->sample(1), emergency_level::degraded);  // 0.6
  bs[1]->reset(2);  // 0.8: above the threshold, below threshold + margin
  for (int i = 0; i < 10; ++i) EXPECT_EQ(m->sample(2 + i), emergency_level::degraded) << i;
  bs[0]->reset(3);  // 1.0
  for (int i = 0; i < 2; ++i) EXPECT_EQ(m->sample(20 + i), emergency_level::degraded);
  EXPECT_EQ(m->sample(30), emergency_level::normal);
}

TEST(emergency, an_operator_can_force_a_level_and_hand_it_back) {
  auto m = emergency_monitor::create(breakers_only()).value();
  m->force(emergency_level::critical, 1);
  EXPECT_EQ(m->sample(2), emergency_level::critical) << "forced: the score does not move it";
  m->automatic(3);
  EXPECT_EQ(m->sample(4), emergency_level::critical) << "hysteresis still applies";
  m->sample(5);
  m->sample(6);
  EXPECT_EQ(m->level(), emergency_level::degraded);
}

struct bulk {
  static constexpr std::string_view keel_name = "test.em.bulk/1";
  static constexpr keel::priority keel_priority = keel::priority::low;
};
struct work {
  static constexpr std::string_view keel_name = "test.em.work/1";
};
struct urgent {
  static constexpr std::string_view keel_name = "test.em.urgent/1";
  static constexpr keel::priority keel_priority = keel::priority::high;
};

class sink final : public keel::actor<sink, bulk, work, urgent> {
 public:
  static constexpr std::string_view keel_name = "test.em.sink";
  explicit sink(int* n) : n_(n) {}
  void on(bulk&) { ++*n_; }
  void on(work&) { ++*n_; }
  void on(urgent&) { ++*n_; }

 private:
  int* n_;
};

TEST(emergency, each_level_sheds_more_and_the_edge_refuses_in_an_emergency) {
  auto m = emergency_monitor::create(breakers_only()).value();
  keel::testing::fixture_options o;
  o.config.hooks = {m};
  keel::testing::fixture fx(o);
  int main_n = 0;
  int side_n = 0;
  auto main = fx.sys().spawn<sink>(&main_n).value();
  auto side = fx.sys().spawn<sink>(&side_n).value();
  m->mark_noncritical(side.handle());
  fx.run();
  auto send_all = [&] {
    for (auto* r : {&main, &side}) {
      (void)r->send(bulk{});
      (void)r->send(work{});
      (void)r->send(urgent{});
    }
    fx.run();
  };
  send_all();
  EXPECT_EQ(main_n, 3);
  EXPECT_EQ(side_n, 3);
  EXPECT_TRUE(m->admit());

  m->force(emergency_level::degraded, 1);
  send_all();  // low shed
  EXPECT_EQ(main_n, 5);
  EXPECT_EQ(side_n, 5);

  m->force(emergency_level::critical, 2);
  send_all();  // low shed; the non-critical actor gets only high
  EXPECT_EQ(main_n, 7);
  EXPECT_EQ(side_n, 6);

  m->force(emergency_level::emergency, 3);
  send_all();  // only high passes
  EXPECT_EQ(main_n, 8);
  EXPECT_EQ(side_n, 7);
  EXPECT_FALSE(m->admit());
  const auto s = m->stats();
  EXPECT_EQ(s.shed, 2U + 2U + 4U);
  EXPECT_EQ(s.suspended, 1U);
  EXPECT_EQ(s.edge_rejected, 1U);
}

struct ping_req {
  static constexpr std::string_view keel_name = "test.em.ping_req/1";
};
struct urgent_req {
  static constexpr std::string_view keel_name = "test.em.urgent_req/1";
  static constexpr keel::priority keel_priority = keel::priority::high;
};
struct pong {
  static constexpr std::string_view keel_name = "test.em.pong/1";
  static constexpr keel::priority keel_priority = keel::priority::low;  // a reply still passes
};

class ponger final : public keel::actor<ponger, ping_req, urgent_req> {
 public:
  static constexpr std::string_view keel_name = "test.em.ponger";
  void on(ping_req&) { reply(pong{}); }
  void on(urgent_req&) { reply(pong{}); }
};

TEST(emergency, a_shed_ask_fails_at_once_and_replies_to_asks_that_got_through_still_pass) {
  auto m = emergency_monitor::create(breakers_only()).value();
  keel::testing::fixture_options o;
  o.config.hooks = {m};
  keel::testing::fixture fx(o);
  auto p = fx.sys().spawn<ponger>().value();
  fx.run();
  m->force(emergency_level::emergency, 1);
  auto shed = p.ask<pong>(ping_req{}, 10s);
  EXPECT_EQ(shed.code(), keel::errc::dropped) << "answered at once, not after the timeout";
  auto urgent = p.ask<pong>(urgent_req{}, 10s);
  EXPECT_TRUE(urgent) << urgent.error().to_string() << ": the low-priority reply was shed";
}

struct boom {
  static constexpr std::string_view keel_name = "test.em.boom/1";
};
class fragile final : public keel::actor<fragile, work, boom> {
 public:
  static constexpr std::string_view keel_name = "test.em.fragile";
  void on(work&) {}
  void on(boom&) { throw std::runtime_error("boom"); }
};

TEST(emergency, failures_in_the_core_counters_lower_the_score) {
  emergency_config c;
  c.w_failures = 1;
  c.w_breakers = c.w_mailbox = c.w_anomalies = c.w_quarantine = 0;
  c.failure_rate_bad = 0.5;
  auto m = emergency_monitor::create(c).value();
  keel::testing::fixture fx;
  m->attach_system(&fx.sys());
  keel::supervisor_config sup;
  sup.intensity = {1000, 1s};
  sup.children = {keel::child_spec::of<fragile>("f")};
  sup.children[0].options.name = "f";
  auto tree = fx.sys().spawn<keel::supervisor>(sup).value();
  fx.run();
  auto found = fx.sys().lookup("f");
  ASSERT_TRUE(found);
  const auto f = keel::actor_ref<fragile>::from_cell(found->cell(), found->generation());
  m->sample(1);  // the counters' baseline
  for (int i = 0; i < 10; ++i) ASSERT_EQ(f.send(work{}), keel::send_status::ok);
  fx.run();
  m->sample(2);
  EXPECT_DOUBLE_EQ(m->score(), 1.0) << "no failures";
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(f.send(work{}), keel::send_status::ok);
    ASSERT_EQ(f.send(boom{}), keel::send_status::ok);
    fx.run();
  }
  m->sample(3);
  // 5 failures in 10 messages handled: a rate of 0.5, the configured "fully bad".
  EXPECT_LT(m->score(), 0.5);
  EXPECT_NE(m->level(), emergency_level::normal);
  (void)tree;
}

TEST(emergency, system_status_reports_what_is_not_healthy_as_a_struct_and_json) {
  auto m = emergency_monitor::create(breakers_only()).value();
  auto bs = breakers(2);
  for (auto& b : bs) m->add_breaker(b.get());
  auto guard = keel::resilience::cascade_guard::create({}).value();
  m->attach_cascade_guard(guard.get());
  ASSERT_TRUE(guard->quarantine({7, 1}, 0, "by hand"));
  bs[1]->force_open(1);
  m->sample(1);
  const auto r = m->system_status();
  EXPECT_DOUBLE_EQ(r.score, 0.5);
  EXPECT_EQ(r.level, emergency_level::degraded);
  ASSERT_EQ(r.breakers_not_closed.size(), 1U);
  EXPECT_EQ(r.breakers_not_closed[0].name, "b1");
  ASSERT_EQ(r.quarantined.size(), 1U);
  ASSERT_EQ(r.recent_changes.size(), 1U);
  auto json = keel::parse_json(r.to_json());
  ASSERT_TRUE(json) << r.to_json();
  EXPECT_EQ(json->find("level")->as_string(), "degraded");
  EXPECT_DOUBLE_EQ(json->find("score")->as_double(), 0.5);
  EXPECT_EQ(json->find("breakers_not_closed")->as_array()[0].find("state")->as_string(),
            "forced_open");
  EXPECT_EQ(json->find("quarantined")->as_array()[0].find("reason")->as_string(), "by hand");
}

TEST(emergency, rejects_bad_configuration_naming_the_field) {
  auto expect_bad = [](emergency_config c, std::string_view field) {
    auto m = emergency_monitor::create(c);
    ASSERT_FALSE(m) << field;
    EXPECT_NE(m.error().message().find(field), std::string_view::npos) << m.error().message();
  };
  emergency_config c;
  c.critical_below = 0.9;
  expect_bad(c, "critical_below");
  c = {};
  c.emergency_below = 0.6;
  expect_bad(c, "emergency_below");
  c = {};
  c.recover_after = 0;
  expect_bad(c, "recover_after");
  c = {};
  c.w_mailbox = -1;
  expect_bad(c, "w_mailbox");
  c = {};
  c.failure_rate_bad = 0;
  expect_bad(c, "failure_rate_bad");
}

}  // namespace
