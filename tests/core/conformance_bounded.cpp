// The conformance suite, part two: bounded mailboxes (keel/core/mailbox.h) on both executors.
// The actor under test is suspended while the lane is filled, so that what is queued does not
// depend on how fast a worker drains it; resume() then hands the queued messages over.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "core/conformance.h"

namespace {

using namespace std::chrono_literals;
using keel::errc;
using keel::overflow_policy;
using keel::send_status;
using namespace keel::test;

struct item {
  static constexpr std::string_view keel_name = "test.conf.item/1";
  int n;
};
struct kick {
  static constexpr std::string_view keel_name = "test.conf.kick/1";
};
// A payload that shows whether it was moved from.
struct text {
  static constexpr std::string_view keel_name = "test.conf.text/1";
  std::string s;
};

// Records what it receives, in order.
struct received_log {
  std::mutex mu;
  std::vector<int> items;
  std::atomic<int> count{0};
  void add(int n) {
    {
      std::lock_guard<std::mutex> lock(mu);
      items.push_back(n);
    }
    count.fetch_add(1, std::memory_order_release);
  }
  std::vector<int> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return items;
  }
};

class collector : public keel::actor<collector, item, text, add> {
 public:
  static constexpr std::string_view keel_name = "test.conf.collector";
  explicit collector(received_log* log) : log_(log) {}
  void on(item& m) { log_->add(m.n); }
  void on(text&) { log_->add(-1); }
  void on(add& m) { reply(sum{m.a + m.b}); }

 private:
  received_log* log_;
};

std::size_t full_dead_letters(keel::actor_system& sys) {
  std::size_t n = 0;
  for (const auto& d : sys.recent_dead_letters()) {
    n += d.reason == keel::dead_letter_reason::mailbox_full ? 1 : 0;
  }
  return n;
}

TEST_P(conformance, bounded_reject_refuses_and_leaves_the_message_with_the_caller) {
  received_log log;
  auto c = sys_->spawn_with<collector>(bounded_mailbox(4, overflow_policy::reject), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  for (int i = 1; i <= 4; ++i) ASSERT_EQ(c.send(item{i}), send_status::ok);
  EXPECT_EQ(sys_->mailbox(c).value().depth, 4U);
  text t{"kept"};
  EXPECT_EQ(c.send(std::move(t)), send_status::full);
  EXPECT_EQ(t.s, "kept");  // not moved from
  EXPECT_EQ(c.try_send(std::move(t)), send_status::full);
  EXPECT_EQ(t.s, "kept");
  const auto stats = sys_->mailbox(c).value();
  EXPECT_EQ(stats.capacity, 4U);
  EXPECT_EQ(stats.policy, overflow_policy::reject);
  EXPECT_EQ(stats.depth, 4U);
  EXPECT_EQ(stats.rejected, 2U);
  EXPECT_EQ(sys_->dead_letter_count(), 0U);  // the caller was told: not a dead letter
  ASSERT_EQ(c.resume(), send_status::ok);
  ASSERT_TRUE(await([&] { return log.count.load() == 4; }));
  EXPECT_EQ(log.snapshot(), (std::vector<int>{1, 2, 3, 4}));
  ASSERT_TRUE(await([&] { return sys_->mailbox(c).value().depth == 0; }));
  EXPECT_EQ(c.send(item{5}), send_status::ok);  // room again
  ASSERT_TRUE(await([&] { return log.count.load() == 5; }));
}

TEST_P(conformance, bounded_drop_newest_turns_the_new_message_into_a_dead_letter) {
  received_log log;
  auto c =
      sys_->spawn_with<collector>(bounded_mailbox(3, overflow_policy::drop_newest), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  std::vector<send_status> st;
  for (int i = 1; i <= 5; ++i) st.push_back(c.send(item{i}));
  EXPECT_EQ(st, (std::vector<send_status>{send_status::ok, send_status::ok, send_status::ok,
                                          send_status::full, send_status::full}));
  EXPECT_EQ(sys_->dead_letter_count(), 2U);
  EXPECT_EQ(full_dead_letters(*sys_), 2U);
  EXPECT_EQ(sys_->mailbox(c).value().dropped_newest, 2U);
  ASSERT_EQ(c.resume(), send_status::ok);
  ASSERT_TRUE(await([&] { return log.count.load() == 3; }));
  settle();
  EXPECT_EQ(log.snapshot(), (std::vector<int>{1, 2, 3}));
}

TEST_P(conformance, bounded_drop_oldest_keeps_the_newest_messages) {
  received_log log;
  auto c =
      sys_->spawn_with<collector>(bounded_mailbox(3, overflow_policy::drop_oldest), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  for (int i = 1; i <= 5; ++i) EXPECT_EQ(c.send(item{i}), send_status::ok);
  EXPECT_EQ(sys_->mailbox(c).value().depth, 3U);  // exact: what the actor will still receive
  ASSERT_EQ(c.resume(), send_status::ok);
  ASSERT_TRUE(await([&] { return log.count.load() == 3; }));
  ASSERT_TRUE(await([&] { return sys_->dead_letter_count() == 2; }));
  EXPECT_EQ(log.snapshot(), (std::vector<int>{3, 4, 5}));
  EXPECT_EQ(full_dead_letters(*sys_), 2U);
  const auto stats = sys_->mailbox(c).value();
  EXPECT_EQ(stats.dropped_oldest, 2U);
  EXPECT_EQ(stats.depth, 0U);
}

TEST_P(conformance, bounded_fail_policy_fails_the_actor) {
  received_log log;
  auto c = sys_->spawn_with<collector>(bounded_mailbox(2, overflow_policy::fail), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  EXPECT_EQ(c.send(item{1}), send_status::ok);
  EXPECT_EQ(c.send(item{2}), send_status::ok);
  EXPECT_EQ(c.send(item{3}), send_status::full);
  ASSERT_TRUE(await([&] { return !c.alive(); }));
  const auto diags = diagnostics();
  ASSERT_EQ(diags.size(), 1U);
  EXPECT_EQ(diags[0].kind, keel::diagnostic_kind::failure);
  EXPECT_NE(diags[0].text.find("mailbox overflow"), std::string::npos) << diags[0].text;
  EXPECT_EQ(log.count.load(), 0);
  // The overflowing message and the two held ones are dead letters; nothing is lost silently.
  ASSERT_TRUE(await([&] { return sys_->dead_letter_count() == 3; }));
  EXPECT_EQ(full_dead_letters(*sys_), 1U);
}

TEST_P(conformance, try_send_never_applies_the_policy) {
  received_log log;
  auto c =
      sys_->spawn_with<collector>(bounded_mailbox(2, overflow_policy::drop_oldest), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  EXPECT_EQ(c.try_send(item{1}), send_status::ok);
  EXPECT_EQ(c.try_send(item{2}), send_status::ok);
  EXPECT_EQ(c.try_send(item{3}), send_status::full);
  ASSERT_EQ(c.resume(), send_status::ok);
  ASSERT_TRUE(await([&] { return log.count.load() == 2; }));
  settle();
  EXPECT_EQ(log.snapshot(), (std::vector<int>{1, 2}));
  EXPECT_EQ(sys_->dead_letter_count(), 0U);
  EXPECT_EQ(sys_->mailbox(c).value().dropped_oldest, 0U);
}

TEST_P(conformance, the_system_lane_of_a_full_bounded_actor_still_works) {
  received_log log;
  auto c = sys_->spawn_with<collector>(bounded_mailbox(1, overflow_policy::reject), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  ASSERT_EQ(c.send(item{1}), send_status::ok);
  ASSERT_EQ(c.send(item{2}), send_status::full);
  ASSERT_EQ(c.stop(), send_status::ok);  // never bounded
  ASSERT_TRUE(await([&] { return !c.alive(); }));
  EXPECT_EQ(log.count.load(), 0);
}

TEST_P(conformance, an_ask_to_a_full_bounded_actor_fails_with_full) {
  received_log log;
  auto c = sys_->spawn_with<collector>(bounded_mailbox(1, overflow_policy::reject), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  ASSERT_EQ(c.send(item{1}), send_status::ok);
  auto r = c.ask<sum>(add{1, 2}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), errc::full);
  ASSERT_EQ(c.resume(), send_status::ok);
  ASSERT_TRUE(await([&] { return sys_->mailbox(c).value().depth == 0; }));
  auto ok = c.ask<sum>(add{1, 2}, 5s);  // room once it drained
  ASSERT_TRUE(ok) << ok.error();
  EXPECT_EQ(ok->value, 3);
}

// Sends `total` items with try_send; on full, waits for room and goes on from there.
class patient_producer : public keel::actor<patient_producer, kick> {
 public:
  static constexpr std::string_view keel_name = "test.conf.patient_producer";
  patient_producer(keel::actor_ref<collector> to, int total, std::atomic<int>* waits)
      : to_(to), total_(total), waits_(waits) {}
  void on(kick&) { pump(); }

 private:
  void pump() {
    while (next_ <= total_) {
      if (to_.try_send(item{next_}) == send_status::full) {
        waits_->fetch_add(1, std::memory_order_relaxed);
        await_capacity(to_, [this] { pump(); });
        return;
      }
      ++next_;
    }
  }
  keel::actor_ref<collector> to_;
  int total_;
  int next_ = 1;
  std::atomic<int>* waits_;
};

TEST_P(conformance, a_sender_waits_for_capacity_without_losing_a_message) {
  received_log log;
  std::atomic<int> waits{0};
  auto c = sys_->spawn_with<collector>(bounded_mailbox(4, overflow_policy::reject), &log).value();
  constexpr int k_total = 500;
  auto p = sys_->spawn<patient_producer>(c, k_total, &waits).value();
  ASSERT_EQ(p.send(kick{}), send_status::ok);
  ASSERT_TRUE(await([&] { return log.count.load() == k_total; }));
  std::vector<int> want(k_total);
  for (int i = 0; i < k_total; ++i) want[i] = i + 1;
  EXPECT_EQ(log.snapshot(), want);
  EXPECT_EQ(sys_->dead_letter_count(), 0U);
  // One handler sends 500 into a lane of 4: on the deterministic executor the collector cannot
  // run meanwhile, so the producer must have waited (the work-stealing one usually waits too).
  if (GetParam().deterministic) {
    EXPECT_GT(waits.load(), 0);
  }
}

// Waits for room in a full lane; records what the send after the wake-up returned.
class waiting_sender : public keel::actor<waiting_sender, kick> {
 public:
  static constexpr std::string_view keel_name = "test.conf.waiting_sender";
  waiting_sender(keel::actor_ref<collector> to, std::atomic<int>* result)
      : to_(to), result_(result) {}
  void on(kick&) {
    if (to_.try_send(item{7}) != send_status::full) return;
    await_capacity(to_, [this] {
      result_->store(static_cast<int>(to_.try_send(item{8})), std::memory_order_release);
    });
  }

 private:
  keel::actor_ref<collector> to_;
  std::atomic<int>* result_;
};

TEST_P(conformance, a_waiting_sender_learns_that_the_target_stopped) {
  received_log log;
  auto c = sys_->spawn_with<collector>(bounded_mailbox(1, overflow_policy::reject), &log).value();
  ASSERT_EQ(c.suspend(), send_status::ok);
  ASSERT_EQ(c.send(item{1}), send_status::ok);
  std::atomic<int> result{-1};
  auto w = sys_->spawn<waiting_sender>(c, &result).value();
  ASSERT_EQ(w.send(kick{}), send_status::ok);
  ASSERT_TRUE(await([&] { return sys_->mailbox(c).value().rejected == 1; }));
  settle();
  EXPECT_EQ(result.load(), -1);  // still waiting: the lane is full
  ASSERT_EQ(c.stop(), send_status::ok);
  ASSERT_TRUE(await([&] { return result.load() != -1; }));
  EXPECT_EQ(result.load(), static_cast<int>(send_status::dead_letter));
}

}  // namespace
