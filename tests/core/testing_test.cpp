// keel::testing::fixture: expect, allow and inject on the deterministic executor.
#include <gtest/gtest.h>

#include "core/test_actors.h"

#include <keel/core/testing.h>

namespace {

using namespace std::chrono_literals;
using keel::errc;
using keel::testing::fixture;
using keel::testing::outside;

struct start {
  static constexpr std::string_view keel_name = "test.fx.start/1";
  int a, b;
};
struct result_msg {
  static constexpr std::string_view keel_name = "test.fx.result/1";
  int value;
  friend bool operator==(const result_msg&, const result_msg&) = default;
};

// On start{a, b}: asks the adder for a + b and reports the sum to the reporter.
class client : public keel::actor<client, start, keel::test::sum> {
 public:
  static constexpr std::string_view keel_name = "test.fx.client";
  client(keel::actor_ref<keel::test::adder> adder, keel::actor_ref<> reporter)
      : adder_(adder), reporter_(reporter) {}
  void on(start& s) { adder_.send(keel::test::add{s.a, s.b}); }
  void on(keel::test::sum& s) { send_to(reporter_.handle(), result_msg{s.value}); }

 private:
  keel::actor_ref<keel::test::adder> adder_;
  keel::actor_ref<> reporter_;
};

class reporter : public keel::actor<reporter, result_msg> {
 public:
  static constexpr std::string_view keel_name = "test.fx.reporter";
  explicit reporter(std::vector<int>* seen) : seen_(seen) {}
  void on(result_msg& r) { seen_->push_back(r.value); }

 private:
  std::vector<int>* seen_;
};

struct trio {
  fixture fx;
  std::vector<int> seen;
  keel::actor_ref<keel::test::adder> adder = fx.sys().spawn<keel::test::adder>().value();
  keel::actor_ref<reporter> rep = fx.sys().spawn<reporter>(&seen).value();
  keel::actor_ref<client> cli = fx.sys().spawn<client>(adder, keel::actor_ref<>(rep)).value();
};

TEST(testing_fixture, follows_a_conversation_message_by_message) {
  trio t;
  ASSERT_EQ(t.fx.inject(outside, t.cli, start{1, 2}), errc::ok);
  ASSERT_EQ(t.fx.expect<keel::test::add>().from(t.cli).to(t.adder).with(
                [](const auto& m) { return m.a == 1 && m.b == 2; }),
            errc::ok);
  ASSERT_EQ(t.fx.expect<keel::test::sum>().from(t.adder).to(t.cli).any(), errc::ok);
  EXPECT_TRUE(t.seen.empty()) << "the reporter ran before its message was expected";
  ASSERT_EQ(t.fx.expect<result_msg>().from(t.cli).to(t.rep).with(result_msg{3}), errc::ok);
  EXPECT_EQ(t.seen, std::vector<int>{3});
  EXPECT_TRUE(t.fx.peek().empty());
}

TEST(testing_fixture, a_failed_expectation_delivers_nothing_and_says_what_came) {
  trio t;
  ASSERT_EQ(t.fx.inject(outside, t.cli, start{2, 2}), errc::ok);
  // Wrong type.
  auto r = t.fx.expect<keel::test::sum>().any();
  EXPECT_EQ(r, errc::expectation_failed);
  EXPECT_FALSE(r);
  EXPECT_NE(r.st.message().find("test.add/1"), std::string_view::npos) << r;
  EXPECT_NE(r.st.message().find("test.adder"), std::string_view::npos) << r;
  // Wrong sender, wrong receiver, wrong content.
  EXPECT_EQ(t.fx.expect<keel::test::add>().from(outside).any(), errc::expectation_failed);
  EXPECT_EQ(t.fx.expect<keel::test::add>().to(t.rep).any(), errc::expectation_failed);
  auto c = t.fx.expect<keel::test::add>().with([](const auto& m) { return m.a == 5; });
  EXPECT_EQ(c, errc::expectation_failed);
  EXPECT_NE(c.st.message().find("does not match"), std::string_view::npos) << c;
  // None of them delivered: the add is still next.
  EXPECT_EQ(t.fx.expect<keel::test::add>().from(t.cli).to(t.adder).any(), errc::ok);
  EXPECT_EQ(t.fx.expect<keel::test::sum>().any(), errc::ok);
  EXPECT_EQ(t.fx.expect<result_msg>().with(result_msg{4}), errc::ok);
  auto none = t.fx.expect<result_msg>().any();
  EXPECT_EQ(none, errc::expectation_failed);
  EXPECT_NE(none.st.message().find("nothing is runnable"), std::string_view::npos) << none;
}

TEST(testing_fixture, allow_delivers_only_a_match) {
  trio t;
  ASSERT_EQ(t.fx.inject(outside, t.cli, start{3, 4}), errc::ok);
  EXPECT_FALSE(t.fx.allow<keel::test::sum>().any());  // the add comes first: nothing runs
  EXPECT_TRUE(t.fx.allow<keel::test::add>().from(t.cli).any());
  EXPECT_TRUE(t.fx.allow<keel::test::sum>().any());
  EXPECT_FALSE(t.fx.allow<result_msg>().with(result_msg{8}));
  EXPECT_TRUE(t.fx.allow<result_msg>().with(result_msg{7}));
  EXPECT_EQ(t.seen, std::vector<int>{7});
}

TEST(testing_fixture, inject_refuses_a_receiver_with_messages_queued_or_gone) {
  trio t;
  t.cli.send(start{1, 1});  // queued, not delivered
  auto r = t.fx.inject(outside, t.cli, start{2, 2});
  EXPECT_EQ(r, errc::expectation_failed);
  ASSERT_EQ(t.fx.expect<start>().to(t.cli).with([](const start& s) { return s.a == 1; }), errc::ok);
  (void)t.rep.stop();
  t.fx.run();
  EXPECT_EQ(t.fx.inject(outside, t.rep, result_msg{1}), errc::actor_stopped);
  keel::actor_ref<reporter> empty;
  EXPECT_EQ(t.fx.inject(outside, empty, result_msg{1}), errc::actor_stopped);
}

TEST(testing_fixture, inject_as_an_actor_routes_the_reply_to_it) {
  trio t;
  // The adder's reply goes to the client, as if the client had sent the add.
  ASSERT_EQ(t.fx.inject(t.cli, t.adder, keel::test::add{5, 6}), errc::ok);
  ASSERT_EQ(t.fx.expect<keel::test::sum>().from(t.adder).to(t.cli).with(
                [](const auto& s) { return s.value == 11; }),
            errc::ok);
  ASSERT_EQ(t.fx.expect<result_msg>().with(result_msg{11}), errc::ok);
}

TEST(testing_fixture, a_random_order_depends_only_on_the_seed) {
  auto order = [](std::uint64_t seed) {
    keel::testing::fixture_options o;
    o.seed = seed;
    o.random_order = true;
    fixture fx(o);
    std::vector<int> seen;
    std::vector<keel::actor_ref<reporter>> reps;
    for (int i = 0; i < 6; ++i) reps.push_back(fx.sys().spawn<reporter>(&seen).value());
    for (int i = 0; i < 6; ++i) reps[i].send(result_msg{i});
    fx.run();
    return seen;
  };
  EXPECT_EQ(order(11), order(11));
  EXPECT_NE(order(11), order(12));
}

}  // namespace
