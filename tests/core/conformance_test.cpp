// One suite of actor semantics, run on both executors: the work-stealing scheduler with two
// workers, and the deterministic executor with several seeds (seeded random delivery order).
// Waits go through scheduler::await: on the work-stealing scheduler it yields between checks
// of the awaited event (no fixed sleeps); on the deterministic one it runs the actors.
#include "core/conformance.h"

#include <gtest/gtest.h>

#include <map>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;
using keel::errc;
using namespace keel::test;

// ---- per sender-receiver order ----

struct go {
  static constexpr std::string_view keel_name = "test.conf.go/1";
};

class sequence_sender : public keel::actor<sequence_sender, go> {
 public:
  static constexpr std::string_view keel_name = "test.conf.sender";
  sequence_sender(keel::actor_ref<order_checker> to, int id, int count)
      : to_(to), id_(id), count_(count) {}
  void on(go&) {
    for (int i = 1; i <= count_; ++i) to_.send(numbered{id_, i});
  }

 private:
  keel::actor_ref<order_checker> to_;
  int id_;
  int count_;
};

TEST_P(conformance, messages_from_one_sender_arrive_in_order) {
  std::atomic<int> received{0};
  std::atomic<int> out_of_order{0};
  auto checker = sys_->spawn<order_checker>(&received, &out_of_order).value();
  constexpr int k_senders = 4;
  constexpr int k_each = 300;
  std::vector<keel::actor_ref<sequence_sender>> senders;
  for (int s = 0; s < k_senders; ++s) {
    senders.push_back(sys_->spawn<sequence_sender>(checker, s, k_each).value());
  }
  for (auto& s : senders) s.send(go{});
  ASSERT_TRUE(
      await([&] { return received.load(std::memory_order_acquire) == k_senders * k_each; }));
  EXPECT_EQ(out_of_order.load(), 0);
}

// ---- ask ----

TEST_P(conformance, ask_gets_the_reply_or_times_out) {
  auto a = sys_->spawn<adder>().value();
  auto r = a.ask<sum>(add{40, 2}, 5s);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->value, 42);
  auto t = a.ask<sum>(silent{}, 50ms);
  ASSERT_FALSE(t);
  EXPECT_EQ(t.code(), errc::timeout);
  EXPECT_EQ(a.ask<sum>(add{1, 1}, 5s)->value, 2);  // the actor is fine
}

// ---- timers ----

struct tick {
  static constexpr std::string_view keel_name = "test.conf.tick/1";
  int tag;
};
struct arm {
  static constexpr std::string_view keel_name = "test.conf.arm/1";
};

class timer_user : public keel::actor<timer_user, arm, tick> {
 public:
  static constexpr std::string_view keel_name = "test.conf.timer_user";
  explicit timer_user(std::array<std::atomic<int>, 3>* ticks) : ticks_(ticks) {}
  void on(arm&) {
    once_ = send_after(self(), 2ms, tick{0});
    cancelled_ = send_after(self(), 1ms, tick{1});
    cancelled_.cancel();
    cancelled_.cancel();  // idempotent
    periodic_ = send_periodic(self(), 1ms, tick{2});
  }
  void on(tick& t) {
    (*ticks_)[t.tag].fetch_add(1, std::memory_order_release);
    if (t.tag == 2 && (*ticks_)[2].load() == 5) periodic_.cancel();
  }

 private:
  std::array<std::atomic<int>, 3>* ticks_;
  keel::timer_handle once_, cancelled_, periodic_;
};

TEST_P(conformance, timers_fire_once_repeat_and_stay_cancelled) {
  std::array<std::atomic<int>, 3> ticks{};
  auto t = sys_->spawn<timer_user>(&ticks).value();
  t.send(arm{});
  ASSERT_TRUE(await([&] { return ticks[0].load() == 1 && ticks[2].load() == 5; }));
  // Let more periods pass: nothing more may arrive.
  const auto until = sys_->scheduler().now() + 20'000'000;
  (void)sys_->scheduler().await(
      50ms, [&] { return sys_->scheduler().now() >= until; },
      [](std::chrono::nanoseconds) { std::this_thread::yield(); });
  EXPECT_EQ(ticks[0].load(), 1);
  EXPECT_EQ(ticks[1].load(), 0) << "a cancelled timer delivered";
  EXPECT_EQ(ticks[2].load(), 5) << "a periodic timer fired after cancel";
}

// ---- stash ----

struct held {
  static constexpr std::string_view keel_name = "test.conf.held/1";
  int n;
};
struct release_all {
  static constexpr std::string_view keel_name = "test.conf.release/1";
};

class stasher : public keel::actor<stasher, held, release_all> {
 public:
  static constexpr std::string_view keel_name = "test.conf.stasher";
  explicit stasher(std::vector<int>* out) : out_(out) {}
  void on(held& h) {
    if (!open_) {
      (void)stash();
      return;
    }
    out_->push_back(h.n);
  }
  void on(release_all&) {
    open_ = true;
    unstash_all();
  }

 private:
  std::vector<int>* out_;
  bool open_ = false;
};

TEST_P(conformance, stashed_messages_come_back_in_order) {
  std::vector<int> out;
  auto s = sys_->spawn<stasher>(&out).value();
  for (int i = 1; i <= 3; ++i) s.send(held{i});
  s.send(release_all{});
  s.send(held{4});
  // A message it does not handle, last: its dead letter is counted once everything before it
  // (from this sender, in order) was handled.
  keel::actor_ref<>(s).send(add{0, 0});
  ASSERT_TRUE(await([&] { return sys_->dead_letter_count() > 0; }));
  EXPECT_EQ(out, (std::vector<int>{1, 2, 3, 4}));
}

// ---- suspend and resume ----

TEST_P(conformance, a_suspended_actor_holds_user_messages_until_resumed) {
  std::atomic<int> received{0};
  std::atomic<int> out_of_order{0};
  auto checker = sys_->spawn<order_checker>(&received, &out_of_order).value();
  ASSERT_EQ(checker.suspend(), keel::send_status::ok);
  for (int i = 1; i <= 10; ++i) checker.send(numbered{0, i});
  // The suspend went first (system lane): nothing is delivered while suspended.
  settle();
  EXPECT_EQ(received.load(), 0);
  ASSERT_EQ(checker.resume(), keel::send_status::ok);
  ASSERT_TRUE(await([&] { return received.load() == 10; }));
  EXPECT_EQ(out_of_order.load(), 0);
}

// ---- dead letters, failures, shutdown ----

TEST_P(conformance, messages_to_a_stopped_actor_are_dead_letters) {
  auto a = sys_->spawn<adder>().value();
  ASSERT_EQ(a.stop(), keel::send_status::ok);
  ASSERT_TRUE(await([&] { return !a.alive(); }));
  const auto before = sys_->dead_letter_count();
  EXPECT_EQ(a.send(add{1, 2}), keel::send_status::dead_letter);
  EXPECT_EQ(sys_->dead_letter_count(), before + 1);
}

TEST_P(conformance, an_exception_stops_the_actor_with_a_report) {
  auto a = sys_->spawn<adder>().value();
  a.send(boom{});
  ASSERT_TRUE(await([&] { return !a.alive(); }));
  EXPECT_EQ(diagnostics_of(keel::diagnostic_kind::failure), 1U);
  auto r = a.ask<sum>(add{1, 1}, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), errc::actor_stopped);
}

class stop_logger : public keel::actor<stop_logger, go> {
 public:
  static constexpr std::string_view keel_name = "test.conf.stop_logger";
  stop_logger(event_log* log, int n) : log_(log), n_(n) {}
  void on(go&) {}
  void on_stop() override { log_->add(std::to_string(n_)); }

 private:
  event_log* log_;
  int n_;
};

TEST_P(conformance, shutdown_stops_the_newest_actor_first) {
  event_log log;
  for (int i = 1; i <= 4; ++i) ASSERT_TRUE(sys_->spawn<stop_logger>(&log, i));
  const auto report = sys_->shutdown();
  EXPECT_EQ(report.alive_at_start, 4U);
  EXPECT_EQ(report.stopped, 4U);
  EXPECT_EQ(log.snapshot(), (std::vector<std::string>{"4", "3", "2", "1"}));
}

INSTANTIATE_TEST_SUITE_P(executors, conformance,
                         ::testing::Values(executor_case{"work_stealing_2", false, 0},
                                           executor_case{"deterministic_seed_1", true, 1},
                                           executor_case{"deterministic_seed_2", true, 2},
                                           executor_case{"deterministic_seed_3", true, 3}),
                         [](const auto& param_info) { return param_info.param.name; });

}  // namespace
