// protected_call under the deterministic executor and its virtual clock: the target answers,
// fails, times out; the breaker opens and the fallback answers at once without asking the
// target; it recovers through a probe.
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include <keel/core/testing.h>
#include <keel/keel.h>
#include <keel/resilience/protected_call.h>

namespace {

using namespace std::chrono_literals;
using keel::resilience::breaker_state;
using keel::resilience::circuit_breaker;
using keel::resilience::protected_reply;
using keel::resilience::served_by;

struct query {
  static constexpr std::string_view keel_name = "test.pc.query/1";
  int key = 0;
};
struct row {
  static constexpr std::string_view keel_name = "test.pc.row/1";
  int value = 0;
};
struct set_mode {
  static constexpr std::string_view keel_name = "test.pc.set_mode/1";
  int mode = 0;  // 0 answer, 1 throw, 2 never answer
};
struct go {
  static constexpr std::string_view keel_name = "test.pc.go/1";
  int key = 0;
};

struct db_stats {
  int queries = 0;
  int mode = 0;
};

class db final : public keel::actor<db, query, set_mode> {
 public:
  static constexpr std::string_view keel_name = "test.pc.db";
  explicit db(db_stats* s) : s_(s) {}
  void on(query& q) {
    ++s_->queries;
    if (s_->mode == 1) {  // answers with an error (a throw would stop this unsupervised actor)
      reply(keel::ask_error{keel::errc::failed, "database down"});
      return;
    }
    if (s_->mode == 2) return;  // hangs: the asker times out
    reply(row{q.key * 10});
  }
  void on(set_mode& m) { s_->mode = m.mode; }

 private:
  db_stats* s_;
};

struct outcome {
  int value;
  served_by source;
  keel::errc code;
};

class client final : public keel::actor<client, go> {
 public:
  static constexpr std::string_view keel_name = "test.pc.client";
  client(keel::actor_ref<db> target, circuit_breaker* b, std::vector<outcome>* out)
      : db_(target), b_(b), out_(out) {}
  void on(go& g) {
    keel::resilience::protected_call<row>(
        self(), *b_, db_, query{g.key}, 50ms,
        [this](protected_reply<row> r) {
          out_->push_back({r.value.value, r.source, r.error.code()});
        },
        [] { return row{-1}; });
  }

 private:
  keel::actor_ref<db> db_;
  circuit_breaker* b_;
  std::vector<outcome>* out_;
};

class protected_call_test : public ::testing::Test {
 protected:
  void SetUp() override {
    keel::resilience::breaker_config c;
    c.name = "db";
    c.min_calls = 4;
    c.jitter = 0;
    c.open_base = 1s;
    breaker_ = circuit_breaker::create(c).value();
    target_ = fx_.sys().spawn<db>(&stats_).value();
    client_ = fx_.sys().spawn<client>(target_, breaker_.get(), &out_).value();
    fx_.run();
  }
  void call(int key) {
    ASSERT_EQ(client_.send(go{key}), keel::send_status::ok);
    fx_.run();
  }

  keel::testing::fixture fx_;
  std::unique_ptr<circuit_breaker> breaker_;
  db_stats stats_;
  std::vector<outcome> out_;
  keel::actor_ref<db> target_;
  keel::actor_ref<client> client_;
};

TEST_F(protected_call_test, the_target_answers_through_a_closed_breaker) {
  call(4);
  ASSERT_EQ(out_.size(), 1U);
  EXPECT_EQ(out_[0].value, 40);
  EXPECT_EQ(out_[0].source, served_by::target);
  EXPECT_EQ(out_[0].code, keel::errc::ok);
  EXPECT_EQ(breaker_->stats().successes, 1U);
}

TEST_F(protected_call_test, failures_are_served_by_the_fallback_then_the_breaker_opens) {
  stats_.mode = 1;
  for (int i = 0; i < 4; ++i) call(i);
  ASSERT_EQ(out_.size(), 4U);
  for (const outcome& o : out_) {
    EXPECT_EQ(o.value, -1);
    EXPECT_EQ(o.source, served_by::fallback_error);
    EXPECT_EQ(o.code, keel::errc::failed);
  }
  EXPECT_EQ(breaker_->state(), breaker_state::open);
  EXPECT_EQ(stats_.queries, 4);
  call(5);
  ASSERT_EQ(out_.size(), 5U);
  EXPECT_EQ(out_[4].source, served_by::fallback_open);
  EXPECT_EQ(out_[4].code, keel::errc::circuit_open);
  EXPECT_EQ(stats_.queries, 4) << "an open breaker must not ask the target";
  EXPECT_EQ(breaker_->stats().not_permitted, 1U);
}

TEST_F(protected_call_test, a_timeout_is_a_failure_served_by_the_fallback) {
  stats_.mode = 2;
  call(1);
  EXPECT_TRUE(out_.empty()) << "nothing yet: the ask is waiting";
  fx_.advance(50ms);
  fx_.run();
  ASSERT_EQ(out_.size(), 1U);
  EXPECT_EQ(out_[0].source, served_by::fallback_error);
  EXPECT_EQ(out_[0].code, keel::errc::timeout);
  EXPECT_EQ(breaker_->stats().timeouts, 1U);
}

TEST_F(protected_call_test, the_time_taken_on_the_virtual_clock_decides_slow_calls) {
  keel::resilience::breaker_config c;
  c.name = "slow";
  c.slow_call_threshold = 20ms;
  breaker_ = circuit_breaker::create(c).value();
  client_ = fx_.sys().spawn<client>(target_, breaker_.get(), &out_).value();
  fx_.run();
  call(1);  // answered at once: 0 ns of virtual time
  stats_.mode = 2;
  call(2);
  fx_.advance(50ms);  // times out after 50 ms: a timeout, and slow
  fx_.run();
  ASSERT_EQ(out_.size(), 2U);
  const auto s = breaker_->stats();
  EXPECT_EQ(s.successes, 1U);
  EXPECT_EQ(s.timeouts, 1U);
  EXPECT_EQ(s.slow, 1U);
}

TEST_F(protected_call_test, it_recovers_through_a_probe_after_the_open_period) {
  stats_.mode = 1;
  for (int i = 0; i < 4; ++i) call(i);
  ASSERT_EQ(breaker_->state(), breaker_state::open);
  stats_.mode = 0;
  fx_.advance(1100ms);
  call(7);
  ASSERT_EQ(out_.back().source, served_by::target);
  EXPECT_EQ(out_.back().value, 70);
  EXPECT_EQ(breaker_->state(), breaker_state::closed);
}

}  // namespace
