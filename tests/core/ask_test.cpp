#include <gtest/gtest.h>

#include "core/test_actors.h"

#include <keel/sched/worker.h>

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

TEST(ask, times_out_when_no_reply_comes) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  auto r = ref.ask<sum>(silent{}, 30ms);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::timeout);
  EXPECT_EQ(ref.ask<sum>(add{2, 2}, 5s)->value, 4);  // the actor is fine
}

TEST(ask, a_reply_of_another_type_is_a_type_mismatch) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  auto r = ref.ask<ping>(add{1, 1}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::type_mismatch);
  EXPECT_NE(r.error().message().find("test.sum/1"), std::string_view::npos);
}

struct blocking_try {
  static constexpr std::string_view keel_name = "test.blocking_try/1";
};
struct blocking_result {
  static constexpr std::string_view keel_name = "test.blocking_result/1";
  keel::errc code;
};

class blocker : public keel::actor<blocker, blocking_try> {
 public:
  static constexpr std::string_view keel_name = "test.blocker";
  explicit blocker(keel::actor_ref<adder> t) : t_(t) {}
  void on(blocking_try&) {
    auto r = t_.ask<sum>(add{1, 1}, 1s);  // a blocking wait on a worker: refused
    reply(blocking_result{r.code()});
  }

 private:
  keel::actor_ref<adder> t_;
};

TEST(ask, a_blocking_ask_from_a_worker_is_refused) {
  auto sys = make_system();
  auto target = sys->spawn<adder>().value();
  auto b = sys->spawn<blocker>(target).value();
  auto r = b.ask<blocking_result>(blocking_try{}, 5s);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->code, keel::errc::wrong_thread);
}

struct chain {
  static constexpr std::string_view keel_name = "test.chain/1";
  bool silent;  // ask the adder something it never answers
};
struct chain_result {
  static constexpr std::string_view keel_name = "test.chain_result/1";
  int value;
  keel::errc code;
  bool on_worker;
  int handlers_running;
};

// Asks from inside a handler; the continuation runs inside this actor (on a worker, never
// concurrently with a handler) and answers the original requester by handle.
class relay : public keel::actor<relay, chain> {
 public:
  static constexpr std::string_view keel_name = "test.relay";
  explicit relay(keel::actor_ref<adder> t) : t_(t) {}
  void on(chain& c) {
    ++handlers_running_;
    const keel::actor_handle requester = sender();
    auto k = [this, requester](keel::result<sum> r) {
      send_to(requester,
              chain_result{r ? r->value : 0, r.code(), keel::sched::worker::current() != nullptr,
                           handlers_running_});
    };
    if (c.silent) {
      ask<sum>(t_, silent{}, 20ms, k);
    } else {
      ask<sum>(t_, add{20, 22}, 5s, k);
    }
    --handlers_running_;
  }

 private:
  keel::actor_ref<adder> t_;
  int handlers_running_ = 0;
};

TEST(ask, continuations_run_inside_the_asking_actor) {
  auto sys = make_system();
  auto target = sys->spawn<adder>().value();
  auto r = sys->spawn<relay>(target).value();
  auto res = r.ask<chain_result>(chain{false}, 5s);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->value, 42);
  EXPECT_EQ(res->code, keel::errc::ok);
  EXPECT_TRUE(res->on_worker);
  EXPECT_EQ(res->handlers_running, 0);
}

TEST(ask, an_ask_inside_an_actor_times_out_into_its_continuation) {
  auto sys = make_system();
  auto target = sys->spawn<adder>().value();
  auto r = sys->spawn<relay>(target).value();
  auto res = r.ask<chain_result>(chain{true}, 5s);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->code, keel::errc::timeout);
  EXPECT_TRUE(res->on_worker);
}

TEST(ask, an_ask_to_a_stopped_actor_from_inside_gets_actor_stopped) {
  auto sys = make_system();
  auto target = sys->spawn<adder>().value();
  target.stop();
  ASSERT_TRUE(eventually([&] { return !target.alive(); }));
  auto r = sys->spawn<relay>(target).value();
  auto res = r.ask<chain_result>(chain{false}, 5s);
  ASSERT_TRUE(res) << res.error().to_string();
  EXPECT_EQ(res->code, keel::errc::actor_stopped);
}

}  // namespace
