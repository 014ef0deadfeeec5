// quorum_group on the deterministic executor: a lying replica, a slow one, too few answers,
// no agreement, and bad configurations.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include <keel/core/testing.h>
#include <keel/keel.h>
#include <keel/resilience/quorum.h>

namespace {

using namespace std::chrono_literals;
using keel::resilience::quorum_answer;
using keel::resilience::quorum_config;
using keel::resilience::quorum_group;

struct quote {
  static constexpr std::string_view keel_name = "test.q.quote/1";
};
struct price {
  static constexpr std::string_view keel_name = "test.q.price/1";
  int cents = 0;
};
struct go {
  static constexpr std::string_view keel_name = "test.q.go/1";
};

enum class behaviour { honest, liar, silent, crash };

class replica final : public keel::actor<replica, quote> {
 public:
  static constexpr std::string_view keel_name = "test.q.replica";
  explicit replica(behaviour b) : b_(b) {}
  void on(quote&) {
    switch (b_) {
      case behaviour::honest:
        reply(price{100});
        break;
      case behaviour::liar:
        reply(price{999});
        break;
      case behaviour::silent:
        break;
      case behaviour::crash:
        throw std::runtime_error("replica down");
    }
  }

 private:
  behaviour b_;
};

struct round_result {
  bool ok = false;
  int cents = 0;
  std::vector<std::size_t> dissenters;
  std::uint32_t votes = 0, pending = 0, failed = 0;
  keel::errc code = keel::errc::ok;
  std::string text;
};

class asker final : public keel::actor<asker, go> {
 public:
  static constexpr std::string_view keel_name = "test.q.asker";
  // `token`, when given, is held by each round (its continuation) until the round is freed.
  asker(quorum_group<replica> g, std::vector<round_result>* out,
        std::shared_ptr<int> token = nullptr)
      : g_(std::move(g)), out_(out), token_(std::move(token)) {}
  void on(go&) {
    g_.ask<price>(
        self(), quote{}, [](const price& a, const price& b) { return a.cents == b.cents; },
        [this, token = token_](keel::result<quorum_answer<price>> r) {
          round_result rr;
          rr.ok = static_cast<bool>(r);
          if (r) {
            rr.cents = r->value.cents;
            rr.dissenters = r->dissenters;
            rr.votes = r->votes;
            rr.pending = r->pending;
            rr.failed = r->failed;
          } else {
            rr.code = r.code();
            rr.text = r.error().message();
          }
          out_->push_back(rr);
        });
  }

 private:
  quorum_group<replica> g_;
  std::vector<round_result>* out_;
  std::shared_ptr<int> token_;
};

class quorum_test : public ::testing::Test {
 protected:
  quorum_group<replica> group(std::vector<behaviour> bs, std::uint32_t agree) {
    std::vector<keel::actor_ref<replica>> refs;
    for (behaviour b : bs) refs.push_back(fx_.sys().spawn<replica>(b).value());
    auto g = quorum_group<replica>::create(refs, quorum_config{agree, 50ms});
    EXPECT_TRUE(g) << g.error().to_string();
    return std::move(g).value();
  }
  keel::actor_ref<asker> ask(const quorum_group<replica>& g, std::shared_ptr<int> token = nullptr) {
    auto a = fx_.sys().spawn<asker>(g, &out_, std::move(token)).value();
    fx_.run();
    EXPECT_EQ(a.send(go{}), keel::send_status::ok);
    fx_.run();
    return a;
  }
  keel::testing::fixture fx_;
  std::vector<round_result> out_;
};

TEST_F(quorum_test, accepts_the_majority_and_names_the_lying_replica) {
  auto g = group({behaviour::honest, behaviour::liar, behaviour::honest}, 2);
  ask(g);
  fx_.advance(50ms);
  fx_.run();
  ASSERT_EQ(out_.size(), 1U);
  ASSERT_TRUE(out_[0].ok) << out_[0].text;
  EXPECT_EQ(out_[0].cents, 100);
  EXPECT_EQ(g.stats().minority_votes(1), 1U) << "the liar's answer was counted as a dissent";
  EXPECT_EQ(g.stats().minority_votes(0), 0U);
  EXPECT_EQ(g.stats().agreed(), 1U);
}

TEST_F(quorum_test, two_liars_that_agree_with_each_other_do_not_outvote_three_honest_replicas) {
  auto g = group(
      {behaviour::liar, behaviour::honest, behaviour::liar, behaviour::honest, behaviour::honest},
      3);
  ask(g);
  ASSERT_EQ(out_.size(), 1U);
  ASSERT_TRUE(out_[0].ok);
  EXPECT_EQ(out_[0].cents, 100);
  EXPECT_EQ(out_[0].votes, 3U);
  EXPECT_EQ(g.stats().dissents(), 2U);
}

TEST_F(quorum_test, a_slow_replica_does_not_hold_the_round) {
  auto g = group({behaviour::silent, behaviour::honest, behaviour::honest}, 2);
  ask(g);
  ASSERT_EQ(out_.size(), 1U) << "decided without waiting for the silent replica's timeout";
  ASSERT_TRUE(out_[0].ok);
  EXPECT_EQ(out_[0].pending, 1U);
  EXPECT_TRUE(out_[0].dissenters.empty());
  fx_.advance(50ms);
  fx_.run();
  EXPECT_EQ(out_.size(), 1U) << "then runs once";
}

TEST_F(quorum_test, too_few_answers_before_the_timeout_is_a_timeout) {
  auto g = group({behaviour::silent, behaviour::honest, behaviour::silent}, 2);
  ask(g);
  EXPECT_TRUE(out_.empty());
  fx_.advance(50ms);
  fx_.run();
  ASSERT_EQ(out_.size(), 1U);
  EXPECT_FALSE(out_[0].ok);
  EXPECT_EQ(out_[0].code, keel::errc::timeout);
  EXPECT_NE(out_[0].text.find("1 of 3 replicas answered"), std::string::npos) << out_[0].text;
  EXPECT_EQ(g.stats().timed_out(), 1U);
}

TEST_F(quorum_test, answers_that_do_not_agree_are_no_quorum_and_never_a_minority_value) {
  auto g = group({behaviour::honest, behaviour::liar, behaviour::crash}, 2);
  ask(g);
  ASSERT_EQ(out_.size(), 1U);
  EXPECT_FALSE(out_[0].ok);
  EXPECT_EQ(out_[0].code, keel::errc::no_quorum);
  EXPECT_NE(out_[0].text.find("2 of 3 replicas answered, 1 agreed, 2 needed"), std::string::npos)
      << out_[0].text;
  EXPECT_EQ(g.stats().no_quorum(), 1U);
}

TEST_F(quorum_test, too_many_failed_replicas_fail_the_round_at_once_as_insufficient) {
  auto g = group({behaviour::crash, behaviour::silent, behaviour::crash}, 2);
  ask(g);
  ASSERT_EQ(out_.size(), 1U) << "two failures leave one replica: 2 can no longer agree";
  EXPECT_EQ(out_[0].code, keel::errc::failed);
  EXPECT_NE(out_[0].text.find("insufficient replicas"), std::string::npos) << out_[0].text;
  fx_.advance(50ms);
  fx_.run();
  EXPECT_EQ(out_.size(), 1U) << "then runs once";
}

TEST_F(quorum_test, a_failed_replica_counts_as_failed_not_as_a_vote) {
  auto g = group({behaviour::crash, behaviour::honest, behaviour::honest}, 2);
  ask(g);
  ASSERT_EQ(out_.size(), 1U);
  ASSERT_TRUE(out_[0].ok);
  EXPECT_EQ(out_[0].votes, 2U);
  EXPECT_EQ(out_[0].failed + out_[0].pending, 1U);
}

// A round is one allocation shared by its continuations (the replicas' asks and the deadline);
// it must be freed once the last of them is done, however the round ends. The token is held by
// the round's `then`, so its use count says whether the round is still alive.
TEST_F(quorum_test, a_round_is_freed_once_its_last_answer_or_its_deadline_is_in) {
  auto token = std::make_shared<int>(0);
  auto g = group({behaviour::silent, behaviour::honest, behaviour::honest}, 2);
  ask(g, token);
  ASSERT_EQ(out_.size(), 1U);
  EXPECT_EQ(token.use_count(), 3) << "decided, but the silent replica and the deadline remain "
                                     "(the asker holds the token too)";
  fx_.advance(50ms);
  fx_.run();
  EXPECT_EQ(token.use_count(), 2) << "the deadline fired: the round is freed";

  auto all = group({behaviour::honest, behaviour::honest, behaviour::liar}, 2);
  auto token2 = std::make_shared<int>(0);
  ask(all, token2);
  ASSERT_EQ(out_.size(), 2U);
  EXPECT_EQ(token2.use_count(), 2) << "every replica answered: the deadline is cancelled and "
                                      "the round freed at once";
}

TEST_F(quorum_test, stopping_the_asker_mid_round_frees_the_round) {
  auto token = std::make_shared<int>(0);
  auto g = group({behaviour::silent, behaviour::silent, behaviour::honest}, 2);
  auto a = ask(g, token);
  EXPECT_TRUE(out_.empty());
  EXPECT_EQ(token.use_count(), 3);
  ASSERT_EQ(a.stop(), keel::send_status::ok);
  fx_.run();
  EXPECT_EQ(token.use_count(), 1) << "the pending asks were dropped with the asker";
  EXPECT_TRUE(out_.empty()) << "a dropped round never runs its continuation";
}

TEST(quorum, rejects_a_quorum_larger_than_the_replicas_naming_the_field) {
  keel::testing::fixture fx;
  std::vector<keel::actor_ref<replica>> refs;
  for (int i = 0; i < 3; ++i) refs.push_back(fx.sys().spawn<replica>(behaviour::honest).value());
  auto g = quorum_group<replica>::create(refs, quorum_config{4, 1s});
  ASSERT_FALSE(g);
  EXPECT_EQ(g.code(), keel::errc::invalid_config);
  EXPECT_NE(g.error().message().find("agree"), std::string::npos);
  EXPECT_FALSE(quorum_group<replica>::create(refs, quorum_config{0, 1s}));
  auto minority = quorum_group<replica>::create(refs, quorum_config{1, 1s});
  ASSERT_FALSE(minority) << "one of three is not a majority: two values could both win";
  EXPECT_NE(minority.error().message().find("a majority"), std::string::npos);
  refs.push_back(fx.sys().spawn<replica>(behaviour::honest).value());
  EXPECT_FALSE(quorum_group<replica>::create(refs, quorum_config{2, 1s})) << "2 of 4";
  EXPECT_TRUE(quorum_group<replica>::create(refs, quorum_config{3, 1s}));
  EXPECT_FALSE(quorum_group<replica>::create({}, quorum_config{1, 1s}));
  auto t = quorum_group<replica>::create(refs, quorum_config{3, 0s});
  ASSERT_FALSE(t);
  EXPECT_NE(t.error().message().find("timeout"), std::string::npos);
}

}  // namespace
