// actor_base::stash() / unstash_all(): order, capacity, bad calls, stop, on both executors.
#include <gtest/gtest.h>

#include "core/test_actors.h"

#include <keel/core/testing.h>

namespace {

using namespace std::chrono_literals;
using keel::errc;

struct req {
  static constexpr std::string_view keel_name = "test.stash.req/1";
  int n;
};
struct open_gate {
  static constexpr std::string_view keel_name = "test.stash.open/1";
};
struct twice {
  static constexpr std::string_view keel_name = "test.stash.twice/1";
};

// Closed: stashes every req (and records the stash() result). Open: records req numbers.
class gate : public keel::actor<gate, req, open_gate, twice> {
 public:
  static constexpr std::string_view keel_name = "test.stash.gate";
  gate(std::vector<int>* handled, std::vector<keel::errc>* results, std::atomic<int>* done)
      : handled_(handled), results_(results), done_(done) {}
  void on_start() override { start_result_ = stash().code(); }
  void on(req& r) {
    if (!open_) {
      results_->push_back(stash().code());
      stashed_after_.push_back(stashed());
    } else {
      handled_->push_back(r.n);
    }
    done_->fetch_add(1, std::memory_order_release);
  }
  void on(open_gate&) {
    if (start_result_ != errc::invalid_argument) handled_->push_back(-100);
    open_ = true;
    unstash_all();
    done_->fetch_add(1, std::memory_order_release);
  }
  void on(twice&) {
    results_->push_back(stash().code());
    results_->push_back(stash().code());  // the same message: kept once
    results_->push_back(stashed() == 1 ? errc::ok : errc::failed);
    done_->fetch_add(1, std::memory_order_release);
  }

 private:
  std::vector<int>* handled_;
  std::vector<keel::errc>* results_;
  std::atomic<int>* done_;
  std::vector<std::size_t> stashed_after_;
  bool open_ = false;
  errc start_result_ = errc::ok;
};

TEST(stash, unstashed_messages_come_back_first_in_order) {
  keel::testing::fixture fx;
  std::vector<int> handled;
  std::vector<errc> results;
  std::atomic<int> done{0};
  auto g = fx.sys().spawn<gate>(&handled, &results, &done).value();
  g.send(req{1});
  g.send(req{2});
  g.send(open_gate{});
  g.send(req{3});
  fx.run();
  EXPECT_EQ(handled, (std::vector<int>{1, 2, 3}));
  EXPECT_EQ(results, (std::vector<errc>{errc::ok, errc::ok}));
}

TEST(stash, an_unstash_by_the_last_queued_message_still_delivers_the_stash) {
  // Work-stealing executor, default budget: `open` is the last message queued when the
  // activation begins, so the activation would end there and the actor go idle.
  auto sys = keel::test::make_system();
  std::vector<int> handled;
  std::vector<errc> results;
  std::atomic<int> done{0};
  auto g = sys->spawn<gate>(&handled, &results, &done).value();
  for (int i = 1; i <= 5; ++i) g.send(req{i});
  g.send(open_gate{});
  ASSERT_TRUE(keel::test::eventually([&] { return done.load(std::memory_order_acquire) == 11; }))
      << "the stashed messages were not handled again";
  (void)sys->shutdown();
  EXPECT_EQ(handled, (std::vector<int>{1, 2, 3, 4, 5}));
}

TEST(stash, a_full_stash_says_so_and_keeps_nothing_more) {
  keel::testing::fixture fx;
  std::vector<int> handled;
  std::vector<errc> results;
  std::atomic<int> done{0};
  keel::spawn_options opts;
  opts.stash_capacity = 2;
  auto g = fx.sys().spawn_with<gate>(opts, &handled, &results, &done).value();
  for (int i = 1; i <= 3; ++i) g.send(req{i});
  g.send(open_gate{});
  fx.run();
  EXPECT_EQ(results, (std::vector<errc>{errc::ok, errc::ok, errc::full}));
  EXPECT_EQ(handled, (std::vector<int>{1, 2})) << "the third req was kept despite errc::full";
}

TEST(stash, outside_a_handler_and_twice_in_one) {
  keel::testing::fixture fx;
  std::vector<int> handled;  // gets -100 if on_start's stash() was not invalid_argument
  std::vector<errc> results;
  std::atomic<int> done{0};
  auto g = fx.sys().spawn<gate>(&handled, &results, &done).value();
  g.send(twice{});
  g.send(open_gate{});
  fx.run();
  // `twice` is handled, stashed (once), handed back by `open` and stashed again: two rounds of
  // three oks.
  EXPECT_EQ(results, std::vector<errc>(6, errc::ok));
  EXPECT_EQ(handled, std::vector<int>{}) << "on_start's stash() did not fail";
  EXPECT_EQ(done.load(), 3) << "the twice-stashed message was not handled exactly once more";
}

TEST(stash, stashed_messages_become_dead_letters_when_the_actor_stops) {
  keel::testing::fixture fx;
  std::vector<int> handled;
  std::vector<errc> results;
  std::atomic<int> done{0};
  auto g = fx.sys().spawn<gate>(&handled, &results, &done).value();
  g.send(req{1});
  g.send(req{2});
  fx.run();
  const auto before = fx.sys().dead_letter_count();
  (void)g.stop();
  fx.run();
  EXPECT_EQ(fx.sys().dead_letter_count(), before + 2);
  EXPECT_TRUE(handled.empty());
}

TEST(stash, config_rejects_a_zero_capacity) {
  keel::system_config cfg;
  cfg.stash_capacity = 0;
  auto r = keel::actor_system::create(cfg);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message().find("stash_capacity"), std::string_view::npos);
}

}  // namespace

namespace {

struct start_asking {
  static constexpr std::string_view keel_name = "test.stash.start_asking/1";
};
struct after {
  static constexpr std::string_view keel_name = "test.stash.after/1";
};

// Asks the adder; in the continuation, records what it sees and stops itself.
class asker : public keel::actor<asker, start_asking, after> {
 public:
  static constexpr std::string_view keel_name = "test.stash.asker";
  asker(keel::actor_ref<keel::test::adder> adder, std::vector<std::string>* seen)
      : adder_(adder), seen_(seen) {}
  void on(start_asking&) {
    ask<keel::test::sum>(
        adder_, keel::test::add{1, 2}, 5s, [this](keel::result<keel::test::sum> r) {
          seen_->push_back(r ? "sum " + std::to_string(r->value) : "error");
          seen_->push_back(stash() == errc::invalid_argument ? "no stash" : "stashed!");
          seen_->push_back(sender().valid() ? "a sender!" : "no sender");
          stop_self();
        });
  }
  void on(after&) { seen_->push_back("after"); }

 private:
  keel::actor_ref<keel::test::adder> adder_;
  std::vector<std::string>* seen_;
};

TEST(stash, a_continuation_has_no_current_message_and_its_stop_takes_effect) {
  keel::testing::fixture fx;
  std::vector<std::string> seen;
  auto adder = fx.sys().spawn<keel::test::adder>().value();
  auto a = fx.sys().spawn<asker>(adder, &seen).value();
  a.send(start_asking{});
  fx.run();
  a.send(after{});  // a dead letter: the continuation stopped the actor
  fx.run();
  EXPECT_EQ(seen, (std::vector<std::string>{"sum 3", "no stash", "no sender"}));
  EXPECT_FALSE(a.alive());
}

}  // namespace
