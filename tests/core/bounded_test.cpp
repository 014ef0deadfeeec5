// Bounded mailboxes beyond the conformance suite: what is counted and what is not, the paths
// that build the message before the bound is checked (send_to, timers, hooks), slot reuse, bad
// spawn options, and a multi-threaded check that the bound holds exactly under contention.
#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "core/test_actors.h"

namespace {

using namespace std::chrono_literals;
using keel::errc;
using keel::overflow_policy;
using keel::send_status;
using namespace keel::test;

struct item {
  static constexpr std::string_view keel_name = "test.bounded.item/1";
  int n;
};
struct ask_adder {
  static constexpr std::string_view keel_name = "test.bounded.ask_adder/1";
  keel::actor_ref<adder> to;
};
struct forward {
  static constexpr std::string_view keel_name = "test.bounded.forward/1";
  keel::actor_handle to;
  int n;
};

std::unique_ptr<keel::actor_system> deterministic(
    std::vector<std::shared_ptr<keel::hook_subscriber>> hooks = {}) {
  keel::system_config cfg;
  cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
  cfg.hooks = std::move(hooks);
  return keel::actor_system::create(std::move(cfg)).value();
}

// Records items and sums; asks an adder when told; forwards items by handle.
class node : public keel::actor<node, item, ask_adder, forward> {
 public:
  static constexpr std::string_view keel_name = "test.bounded.node";
  explicit node(std::vector<int>* log) : log_(log) {}
  void on(item& m) { log_->push_back(m.n); }
  void on(ask_adder& m) {
    ask<sum>(m.to, add{20, 22}, 1s, [this](keel::result<sum> r) {
      log_->push_back(r ? r->value : -static_cast<int>(r.code()));
    });
  }
  void on(forward& f) { last_forward = send_to(f.to, item{f.n}); }
  send_status last_forward = send_status::ok;

 private:
  std::vector<int>* log_;
};

TEST(bounded_mailbox, a_reply_to_a_full_bounded_asker_is_not_counted) {
  auto sys = deterministic();
  auto* ex = sys->deterministic();
  std::vector<int> log;
  auto a = sys->spawn_with<node>(bounded_mailbox(1, overflow_policy::reject), &log).value();
  auto b = sys->spawn<adder>().value();
  ASSERT_EQ(a.send(ask_adder{b}), send_status::ok);
  // Run `a` alone until it has asked: the request waits in the adder's mailbox.
  while (sys->mailbox(a).value().depth != 0) ASSERT_TRUE(ex->run(a.cell()));
  ASSERT_EQ(a.send(item{1}), send_status::ok);  // the lane is full now
  ASSERT_EQ(a.send(item{2}), send_status::full);
  ex->run_until_idle();
  // The reply came into the full lane and ran the continuation; only item{2} was refused.
  EXPECT_EQ(log, (std::vector<int>{1, 42}));
  EXPECT_EQ(sys->mailbox(a).value().rejected, 1U);
  EXPECT_EQ(sys->dead_letter_count(), 0U);
}

TEST(bounded_mailbox, send_to_a_full_lane_is_a_dead_letter_and_returns_full) {
  auto sys = deterministic();
  auto* ex = sys->deterministic();
  std::vector<int> from_log, to_log;
  auto to = sys->spawn_with<node>(bounded_mailbox(1, overflow_policy::reject), &to_log).value();
  auto from = sys->spawn<node>(&from_log).value();
  ex->run_until_idle();
  ASSERT_EQ(to.suspend(), send_status::ok);
  ASSERT_EQ(to.send(item{1}), send_status::ok);
  ASSERT_EQ(from.send(forward{to.handle(), 2}), send_status::ok);
  ASSERT_TRUE(ex->run(from.cell()));
  // The message was built before the bound was checked: it cannot go back to the caller.
  EXPECT_EQ(sys->dead_letter_count(), 1U);
  ASSERT_EQ(sys->recent_dead_letters().size(), 1U);
  EXPECT_EQ(sys->recent_dead_letters()[0].reason, keel::dead_letter_reason::mailbox_full);
  EXPECT_EQ(sys->mailbox(to).value().rejected, 1U);
  ASSERT_EQ(to.resume(), send_status::ok);
  ex->run_until_idle();
  EXPECT_EQ(to_log, (std::vector<int>{1}));
}

TEST(bounded_mailbox, a_timer_message_counts_when_it_fires) {
  auto sys = deterministic();
  auto* ex = sys->deterministic();
  std::vector<int> log;
  auto n = sys->spawn_with<node>(bounded_mailbox(1, overflow_policy::reject), &log).value();
  ex->run_until_idle();
  auto t = sys->send_after(n, 10ms, item{9});
  ASSERT_EQ(n.suspend(), send_status::ok);
  ASSERT_EQ(n.send(item{1}), send_status::ok);  // full before the timer fires
  ex->advance(20ms);
  EXPECT_EQ(sys->dead_letter_count(), 1U);
  EXPECT_EQ(sys->recent_dead_letters().at(0).reason, keel::dead_letter_reason::mailbox_full);
  ASSERT_EQ(n.resume(), send_status::ok);
  ex->run_until_idle();
  EXPECT_EQ(log, (std::vector<int>{1}));
  EXPECT_EQ(sys->mailbox(n).value().depth, 0U);
}

// Drops every item whose message id is even.
class drop_even_ids : public keel::hook_subscriber {
 public:
  drop_even_ids() : hook_subscriber(keel::hook_phase::chaos) {}
  keel::send_decision on_send(keel::send_event& ev) noexcept override {
    return ev.type == keel::type_id_of<item>() && ev.id % 2 == 0 ? keel::send_decision::drop
                                                                 : keel::send_decision::pass;
  }
};

TEST(bounded_mailbox, a_message_a_hook_drops_gives_its_slot_back) {
  auto hook = std::make_shared<drop_even_ids>();
  auto sys = deterministic({hook});
  auto* ex = sys->deterministic();
  std::vector<int> log;
  auto n = sys->spawn_with<node>(bounded_mailbox(2, overflow_policy::reject), &log).value();
  ex->run_until_idle();
  ASSERT_EQ(n.suspend(), send_status::ok);
  int sent = 0;
  for (int i = 0; i < 10; ++i) {
    const send_status st = n.send(item{i});
    sent += st == send_status::ok ? 1 : 0;
    ASSERT_NE(st, send_status::full) << "a dropped message kept its slot";
    if (sent == 2) break;
  }
  EXPECT_EQ(sys->mailbox(n).value().depth, 2U);
  EXPECT_GT(sys->dead_letter_count(), 0U);  // the hook dropped some on the way
}

TEST(bounded_mailbox, a_slot_reused_by_an_unbounded_actor_is_unbounded) {
  auto sys = deterministic();
  auto* ex = sys->deterministic();
  std::vector<int> log;
  auto first = sys->spawn_with<node>(bounded_mailbox(1, overflow_policy::reject), &log).value();
  ASSERT_EQ(first.stop(), send_status::ok);
  ex->run_until_idle();
  auto second = sys->spawn<node>(&log).value();
  ASSERT_EQ(second.cell(), first.cell()) << "the test needs the slot to be reused";
  ASSERT_EQ(second.suspend(), send_status::ok);
  for (int i = 0; i < 100; ++i) ASSERT_EQ(second.send(item{i}), send_status::ok);
  auto m = sys->mailbox(second);
  ASSERT_FALSE(m);
  EXPECT_EQ(m.code(), errc::invalid_argument);
  EXPECT_EQ(sys->mailbox(first).code(), errc::actor_stopped);
  ASSERT_EQ(second.stop(), send_status::ok);
  ex->run_until_idle();
  // And bounded again, with a fresh capacity: the stopped incarnations' messages gave their
  // slots back, so the depth starts at 0.
  auto third = sys->spawn_with<node>(bounded_mailbox(3, overflow_policy::reject), &log).value();
  ASSERT_EQ(third.cell(), first.cell());
  ASSERT_EQ(third.suspend(), send_status::ok);
  for (int i = 0; i < 3; ++i) ASSERT_EQ(third.send(item{i}), send_status::ok);
  EXPECT_EQ(third.send(item{3}), send_status::full);
  EXPECT_EQ(sys->mailbox(third).value().depth, 3U);
  EXPECT_EQ(sys->mailbox(third).value().capacity, 3U);
}

TEST(bounded_mailbox, bad_spawn_options_are_named) {
  auto sys = deterministic();
  std::vector<int> log;
  auto big = sys->spawn_with<node>(
      bounded_mailbox(keel::mailbox_bound::k_max_capacity + 1, overflow_policy::reject), &log);
  ASSERT_FALSE(big);
  EXPECT_EQ(big.code(), errc::invalid_argument);
  EXPECT_NE(big.error().message().find("spawn_options.mailbox.capacity"), std::string::npos);
  auto bad = sys->spawn_with<node>(bounded_mailbox(4, static_cast<overflow_policy>(9)), &log);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.code(), errc::invalid_argument);
  EXPECT_NE(bad.error().message().find("spawn_options.mailbox.policy"), std::string::npos);
  EXPECT_EQ(keel::to_string(overflow_policy::drop_oldest), "drop_oldest");
  EXPECT_EQ(keel::to_string(keel::dead_letter_reason::mailbox_full), "mailbox_full");
}

TEST(bounded_mailbox, a_send_that_cannot_allocate_gives_its_slot_back) {
  std::atomic<bool> fail_envelopes{false};
  keel::system_config cfg;
  cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
  cfg.alloc_fault = [&](keel::alloc_site site) {
    return site == keel::alloc_site::envelope && fail_envelopes.load();
  };
  auto sys = keel::actor_system::create(std::move(cfg)).value();
  std::vector<int> log;
  auto n = sys->spawn_with<node>(bounded_mailbox(1, overflow_policy::drop_oldest), &log).value();
  sys->deterministic()->run_until_idle();
  fail_envelopes = true;
  EXPECT_EQ(n.send(item{1}), send_status::out_of_memory);
  fail_envelopes = false;
  EXPECT_EQ(sys->mailbox(n).value().depth, 0U);
  ASSERT_EQ(n.suspend(), send_status::ok);
  ASSERT_EQ(n.send(item{2}), send_status::ok);
  fail_envelopes = true;
  EXPECT_EQ(n.send(item{3}), send_status::out_of_memory);  // an evicting send that failed
  fail_envelopes = false;
  ASSERT_EQ(n.resume(), send_status::ok);
  sys->deterministic()->run_until_idle();
  EXPECT_EQ(log, (std::vector<int>{2}));  // nothing was evicted for the failed send
  EXPECT_EQ(sys->mailbox(n).value().dropped_oldest, 0U);
}

// Counts what it receives (any worker).
class counter : public keel::actor<counter, item> {
 public:
  static constexpr std::string_view keel_name = "test.bounded.counter";
  explicit counter(std::atomic<int>* n) : n_(n) {}
  void on(item&) { n_->fetch_add(1, std::memory_order_relaxed); }

 private:
  std::atomic<int>* n_;
};

struct kick {
  static constexpr std::string_view keel_name = "test.bounded.kick/1";
};
// Sends `total` numbered messages with try_send, waiting for room whenever the lane is full.
class patient : public keel::actor<patient, kick> {
 public:
  static constexpr std::string_view keel_name = "test.bounded.patient";
  patient(keel::actor_ref<order_checker> to, int id, int total) : to_(to), id_(id), total_(total) {}
  void on(kick&) { pump(); }

 private:
  void pump() {
    while (next_ <= total_) {
      if (to_.try_send(numbered{id_, next_}) == send_status::full) {
        await_capacity(to_, [this] { pump(); });
        return;
      }
      ++next_;
    }
  }
  keel::actor_ref<order_checker> to_;
  int id_;
  int total_;
  int next_ = 1;
};

TEST(bounded_mailbox, many_waiting_senders_lose_nothing) {
  auto sys = make_system();
  std::atomic<int> received{0};
  std::atomic<int> out_of_order{0};
  auto c = sys->spawn_with<order_checker>(bounded_mailbox(4, overflow_policy::reject), &received,
                                          &out_of_order)
               .value();
  constexpr int k_senders = 8;
  constexpr int k_each = 2000;
  std::vector<keel::actor_ref<patient>> senders;
  for (int i = 0; i < k_senders; ++i) {
    senders.push_back(sys->spawn<patient>(c, i, k_each).value());
  }
  for (auto& s : senders) ASSERT_EQ(s.send(kick{}), send_status::ok);
  ASSERT_TRUE(eventually([&] { return received.load() == k_senders * k_each; }))
      << received.load() << " of " << k_senders * k_each;
  EXPECT_EQ(out_of_order.load(), 0);
  EXPECT_EQ(sys->dead_letter_count(), 0U);
}

TEST(bounded_mailbox, the_bound_holds_exactly_under_contention) {
  auto sys = make_system();
  std::atomic<int> received{0};
  constexpr std::uint32_t k_capacity = 8;
  auto c = sys->spawn_with<counter>(bounded_mailbox(k_capacity, overflow_policy::reject), &received)
               .value();
  constexpr int k_threads = 3;
  constexpr int k_each = 20000;
  std::atomic<int> accepted{0};
  std::atomic<bool> stop_watch{false};
  std::atomic<std::uint32_t> max_depth{0};
  std::thread watcher([&] {
    while (!stop_watch.load(std::memory_order_acquire)) {
      const std::uint32_t d = sys->mailbox(c).value().depth;
      if (d > max_depth.load(std::memory_order_relaxed)) max_depth.store(d);
    }
  });
  std::vector<std::thread> senders;
  for (int t = 0; t < k_threads; ++t) {
    senders.emplace_back([&, t] {
      for (int i = 0; i < k_each; ++i) {
        if (c.try_send(item{t * k_each + i}) == send_status::ok) accepted.fetch_add(1);
      }
    });
  }
  for (auto& s : senders) s.join();
  ASSERT_TRUE(eventually([&] { return received.load() == accepted.load(); }));
  stop_watch.store(true, std::memory_order_release);
  watcher.join();
  const auto stats = sys->mailbox(c).value();
  EXPECT_EQ(stats.depth, 0U);
  EXPECT_EQ(stats.rejected + static_cast<std::uint64_t>(accepted.load()),
            static_cast<std::uint64_t>(k_threads * k_each));
  EXPECT_LE(max_depth.load(), k_capacity);
  EXPECT_GT(accepted.load(), 0);
  EXPECT_EQ(sys->dead_letter_count(), 0U);
}

}  // namespace
