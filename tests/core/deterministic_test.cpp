// Actors under the deterministic executor: delivery order by policy and seed, virtual time,
// timers, blocking ask and shutdown driven from the test thread, and the per-actor rng.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <string>
#include <vector>

#include "core/test_actors.h"

#include <keel/core/scripted_policy.h>

namespace {

using namespace std::chrono_literals;
using namespace keel::test;
using keel::sched::executor_kind;

std::unique_ptr<keel::actor_system> make_det(std::shared_ptr<keel::sched::delivery_policy> policy,
                                             std::uint64_t seed = 42) {
  keel::system_config cfg;
  cfg.scheduler.executor = executor_kind::deterministic;
  cfg.scheduler.policy = std::move(policy);
  cfg.message_budget = 1;  // one delivery per activation: the policy orders every message
  cfg.seed = seed;
  auto s = keel::actor_system::create(std::move(cfg));
  if (!s) throw std::runtime_error(s.error().to_string());
  return std::move(s).value();
}

struct tick {
  static constexpr std::string_view keel_name = "test.det.tick/1";
  int round;
};

// Appends "<name><round>" to a log the test reads (single-threaded: the test thread drives).
class recorder : public keel::actor<recorder, tick> {
 public:
  static constexpr std::string_view keel_name = "test.det.recorder";
  recorder(std::vector<std::string>* log, std::string name) : log_(log), name_(std::move(name)) {}
  void on(tick& t) { log_->push_back(name_ + std::to_string(t.round)); }

 private:
  std::vector<std::string>* log_;
  std::string name_;
};

// Five recorders, four rounds of one tick each, sent from the test thread before anything runs:
// five actors are runnable at once in every round. `receivers` gets each delivery's actor id.
std::vector<std::string> delivery_order(std::shared_ptr<keel::sched::delivery_policy> policy,
                                        std::vector<keel::actor_id>* receivers = nullptr) {
  auto sys = make_det(std::move(policy));
  std::vector<std::string> log;
  std::vector<keel::actor_ref<recorder>> refs;
  for (const char* n : {"a", "b", "c", "d", "e"}) {
    refs.push_back(sys->spawn<recorder>(&log, std::string(n)).value());
  }
  auto result = [&] {
    if (receivers != nullptr) {
      for (const auto& ev : log) receivers->push_back(refs[ev[0] - 'a'].id());
    }
    return log;
  };
  keel::sched::deterministic_executor& ex = *sys->deterministic();
  ex.run_until_idle();  // the actors start
  for (int round = 0; round < 4; ++round) {
    for (auto& r : refs) r.send(tick{round});
    EXPECT_EQ(ex.runnable(), refs.size());
    ex.run_until_idle();
  }
  return result();
}

TEST(deterministic, the_same_seed_gives_the_same_order_another_seed_another) {
  using keel::sched::seeded_random_policy;
  const auto a1 = delivery_order(std::make_shared<seeded_random_policy>(1));
  const auto a2 = delivery_order(std::make_shared<seeded_random_policy>(1));
  const auto b = delivery_order(std::make_shared<seeded_random_policy>(2));
  ASSERT_EQ(a1.size(), 20U);
  EXPECT_EQ(a1, a2);
  EXPECT_NE(a1, b);
  // Each is a permutation of the same deliveries, and each actor sees its rounds in order.
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  EXPECT_EQ(sorted(a1), sorted(b));
  for (const std::string name : {"a", "b", "c", "d", "e"}) {
    int last = -1;
    for (const auto& ev : b) {
      if (ev.substr(0, 1) != name) continue;
      EXPECT_EQ(std::stoi(ev.substr(1)), last + 1) << "per-sender order broken for " << name;
      last = std::stoi(ev.substr(1));
    }
  }
}

TEST(deterministic, fifo_runs_actors_in_the_order_they_became_runnable) {
  const auto order = delivery_order(nullptr);  // default policy: fifo
  std::vector<std::string> expected;
  for (int round = 0; round < 4; ++round) {
    for (const char* n : {"a", "b", "c", "d", "e"}) expected.push_back(n + std::to_string(round));
  }
  EXPECT_EQ(order, expected);
}

TEST(deterministic, a_scripted_policy_replays_a_recorded_order) {
  std::vector<keel::actor_id> script;
  const auto recorded =
      delivery_order(std::make_shared<keel::sched::seeded_random_policy>(5), &script);
  ASSERT_EQ(script.size(), 20U);
  auto replay = std::make_shared<keel::scripted_policy>(script);
  EXPECT_EQ(delivery_order(replay), recorded);
  EXPECT_TRUE(replay->finished());
  EXPECT_EQ(replay->divergences(), 0U);
  EXPECT_FALSE(replay->first_divergence().has_value());

  // A script that names the first actor again at position 1, when it has nothing left to
  // receive in round 0: the run leaves the script there, and the policy says so.
  std::vector<keel::actor_id> wrong = script;
  wrong[1] = wrong[0];
  auto off = std::make_shared<keel::scripted_policy>(wrong);
  const auto replayed = delivery_order(off);
  EXPECT_EQ(replayed.size(), 20U) << "the run stopped instead of going on off the script";
  EXPECT_GT(off->divergences(), 0U);
  ASSERT_TRUE(off->first_divergence().has_value());
  EXPECT_EQ(*off->first_divergence(), 1U);
}

struct arm {
  static constexpr std::string_view keel_name = "test.det.arm/1";
  std::int64_t delay_ms;
  bool periodic;
};
struct beat {
  static constexpr std::string_view keel_name = "test.det.beat/1";
};
struct disarm {
  static constexpr std::string_view keel_name = "test.det.disarm/1";
};

// Records the virtual time of each beat and of each handler's start and end.
class metronome : public keel::actor<metronome, arm, beat, disarm> {
 public:
  static constexpr std::string_view keel_name = "test.det.metronome";
  explicit metronome(std::vector<std::uint64_t>* beats) : beats_(beats) {}
  void on(arm& a) {
    const auto d = std::chrono::milliseconds(a.delay_ms);
    handle_ = a.periodic ? send_periodic(self(), d, beat{}) : send_after(self(), d, beat{});
  }
  void on(beat&) {
    const std::uint64_t t = now();
    volatile std::uint64_t sink = 0;
    for (int i = 0; i < 100000; ++i) sink = sink + static_cast<std::uint64_t>(i);
    (void)sink;
    // now() is the same at the end of a handler as at its start, even after real work.
    beats_->push_back(now() == t ? t : 0);
  }
  void on(disarm&) { handle_.cancel(); }

 private:
  std::vector<std::uint64_t>* beats_;
  keel::timer_handle handle_;
};

TEST(deterministic, timers_fire_in_virtual_time_when_the_test_advances_it) {
  auto sys = make_det(nullptr);
  keel::sched::deterministic_executor& ex = *sys->deterministic();
  std::vector<std::uint64_t> beats;
  auto m = sys->spawn<metronome>(&beats).value();
  const std::uint64_t t0 = ex.now();
  m.send(arm{5000, false});
  ex.run_until_idle();
  EXPECT_TRUE(beats.empty());
  ex.advance(4s);
  EXPECT_TRUE(beats.empty()) << "a 5 s timer fired after 4 virtual seconds";
  EXPECT_EQ(ex.now(), t0 + 4'000'000'000ULL);
  ex.advance(1s);
  ASSERT_EQ(beats.size(), 1U);
  EXPECT_EQ(beats[0], t0 + 5'000'000'000ULL) << "the handler saw the timer's deadline as now()";
  ex.advance(1h);
  EXPECT_EQ(beats.size(), 1U) << "a one-shot timer fired twice";

  // Periodic: one beat per period, each at its own deadline; none after cancel.
  beats.clear();
  const std::uint64_t t1 = ex.now();
  m.send(arm{1000, true});
  ex.advance(10s);
  ASSERT_EQ(beats.size(), 10U);
  for (std::size_t i = 0; i < beats.size(); ++i) {
    EXPECT_EQ(beats[i], t1 + (i + 1) * 1'000'000'000ULL);
  }
  m.send(disarm{});
  ex.advance(10s);
  EXPECT_EQ(beats.size(), 10U);
}

TEST(deterministic, a_blocking_ask_runs_the_actors_on_the_asking_thread) {
  auto sys = make_det(nullptr);
  auto a = sys->spawn<adder>().value();
  // Nobody called run_one: the ask itself drives the executor until the reply.
  auto r = a.ask<sum>(add{20, 22}, 5s);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->value, 42);
}

TEST(deterministic, a_blocking_ask_times_out_in_virtual_time) {
  auto sys = make_det(nullptr);
  keel::sched::deterministic_executor& ex = *sys->deterministic();
  auto a = sys->spawn<adder>().value();
  ex.run_until_idle();
  const std::uint64_t before = ex.now();
  const auto wall = std::chrono::steady_clock::now();
  auto r = a.ask<sum>(silent{}, 1h);  // an hour of virtual time
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::timeout);
  EXPECT_EQ(ex.now(), before + 3'600'000'000'000ULL);
  // It did not wait an hour of real time (a generous bound: the point is "not an hour").
  EXPECT_LT(std::chrono::steady_clock::now() - wall, 10min);
}

struct draw {
  static constexpr std::string_view keel_name = "test.det.draw/1";
};
struct drawn {
  static constexpr std::string_view keel_name = "test.det.drawn/1";
  std::array<std::uint64_t, 3> v;
};

// Replies with three draws; saves its rng state before them and can replay them.
class dice : public keel::actor<dice, draw> {
 public:
  static constexpr std::string_view keel_name = "test.det.dice";
  void on(draw&) {
    if (!saved_) {
      state_ = rng().save();
      saved_ = true;
    } else {
      rng().restore(state_);  // the second draw repeats the first
    }
    reply(drawn{{rng()(), rng().below(1000), rng()()}});
  }

 private:
  keel::actor_rng::state state_;
  bool saved_ = false;
};

TEST(deterministic, rng_depends_on_the_system_seed_and_actor_id_and_restores) {
  auto draws = [](std::uint64_t seed) {
    auto sys = make_det(nullptr, seed);
    auto d1 = sys->spawn<dice>().value();
    auto d2 = sys->spawn<dice>().value();
    std::vector<std::array<std::uint64_t, 3>> out;
    out.push_back(d1.ask<drawn>(draw{}, 1s).value().v);
    out.push_back(d2.ask<drawn>(draw{}, 1s).value().v);
    out.push_back(d1.ask<drawn>(draw{}, 1s).value().v);  // restored: repeats d1's first
    EXPECT_EQ(sys->seed(), seed);
    return out;
  };
  const auto a = draws(7);
  EXPECT_EQ(a, draws(7));
  EXPECT_NE(a, draws(8));
  EXPECT_NE(a[0], a[1]) << "two actors of one system drew the same numbers";
  EXPECT_EQ(a[0], a[2]) << "restore() did not bring the generator back";
  EXPECT_LT(a[0][1], 1000U);
}

TEST(deterministic, a_system_without_a_seed_draws_one) {
  auto s1 = keel::actor_system::create(keel::system_config{}).value();
  auto s2 = keel::actor_system::create(keel::system_config{}).value();
  EXPECT_NE(s1->seed(), 0U);
  EXPECT_NE(s1->seed(), s2->seed());
}

struct try_drive {
  static constexpr std::string_view keel_name = "test.det.try_drive/1";
};
struct drove {
  static constexpr std::string_view keel_name = "test.det.drove/1";
  bool ran;
  std::size_t advanced;
};

class driver_inside : public keel::actor<driver_inside, try_drive> {
 public:
  static constexpr std::string_view keel_name = "test.det.driver_inside";
  void on(try_drive&) {
    keel::sched::deterministic_executor* ex = system().deterministic();
    reply(drove{ex->run_one(), ex->advance(1s)});
  }
};

TEST(deterministic, a_handler_cannot_drive_the_executor_it_runs_on) {
  auto sys = make_det(nullptr);
  auto d = sys->spawn<driver_inside>().value();
  auto other = sys->spawn<adder>().value();
  other.send(add{1, 1});  // runnable while the handler tries to drive
  const std::uint64_t before = sys->deterministic()->now();
  auto r = d.ask<drove>(try_drive{}, 1s);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_FALSE(r->ran);
  EXPECT_EQ(r->advanced, 0U);
  EXPECT_EQ(sys->deterministic()->now(), before);
}

class stopper : public keel::actor<stopper, tick> {
 public:
  static constexpr std::string_view keel_name = "test.det.stopper";
  stopper(event_log* log, std::string name) : log_(log), name_(std::move(name)) {}
  void on(tick&) {}
  void on_stop() override { log_->add(name_); }

 private:
  event_log* log_;
  std::string name_;
};

TEST(deterministic, shutdown_runs_the_actors_on_the_calling_thread_newest_first) {
  auto sys = make_det(nullptr);
  event_log log;
  for (const char* n : {"first", "second", "third"}) {
    ASSERT_TRUE(sys->spawn<stopper>(&log, std::string(n)));
  }
  const auto report = sys->shutdown();
  EXPECT_EQ(report.alive_at_start, 3U);
  EXPECT_EQ(report.stopped, 3U);
  EXPECT_TRUE(report.still_running.empty());
  EXPECT_EQ(log.snapshot(), (std::vector<std::string>{"third", "second", "first"}));
}

TEST(deterministic, the_work_stealing_scheduler_has_no_deterministic_controls) {
  auto sys = make_system();
  EXPECT_EQ(sys->deterministic(), nullptr);
  EXPECT_EQ(sys->scheduler().kind(), executor_kind::work_stealing);
}

TEST(deterministic, config_errors_name_the_field) {
  keel::system_config cfg;
  cfg.scheduler.executor = executor_kind::deterministic;
  cfg.scheduler.workers = 2;
  auto r = keel::actor_system::create(cfg);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::invalid_config);
  EXPECT_NE(r.error().message().find("scheduler_config.workers"), std::string_view::npos);

  keel::system_config ws;
  ws.scheduler.policy = std::make_shared<keel::sched::fifo_policy>();
  auto r2 = keel::actor_system::create(ws);
  ASSERT_FALSE(r2);
  EXPECT_NE(r2.error().message().find("scheduler_config.policy"), std::string_view::npos);
}

}  // namespace
