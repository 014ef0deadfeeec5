// The conformance suite, part five: supervision (keel/core/supervisor.h) on both executors --
// each strategy with each restart type, the mailbox across a restart, the message that failed.
#include <gtest/gtest.h>

#include "core/conformance.h"
#include "core/supervision_actors.h"

namespace {

using namespace std::chrono_literals;
using keel::restart_strategy;
using keel::restart_type;
using keel::send_status;
using namespace keel::test;

keel::supervisor_config three_workers(journal* j, restart_strategy s,
                                      restart_type t = restart_type::permanent) {
  keel::supervisor_config cfg;
  cfg.name = "svc";
  cfg.strategy = s;
  cfg.intensity = {100, std::chrono::seconds(1)};
  cfg.children = {worker_spec(j, "w1", t), worker_spec(j, "w2", t), worker_spec(j, "w3", t)};
  return cfg;
}

TEST_P(conformance, one_for_one_restarts_only_the_failed_child_in_place) {
  journal& j = new_journal();
  auto sup =
      sys_->spawn<keel::supervisor>(three_workers(&j, restart_strategy::one_for_one)).value();
  auto w2 = child_named(sup, "w2");
  ASSERT_TRUE(w2.valid());
  ASSERT_EQ(w2.send(work{1}), send_status::ok);
  ASSERT_EQ(w2.send(crash{}), send_status::ok);
  ASSERT_TRUE(await([&] { return j.starts_of("w2") == 2; }));
  // The same ref reaches the new object: its count started again from 0.
  auto c = w2.ask<count_is>(get_count{}, 10s);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->count, 0);
  // The siblings start concurrently with w2 (on two workers, w3's on_start may still be running):
  // wait for them, then check that nothing restarted them.
  ASSERT_TRUE(await([&] { return j.starts_of("w1") >= 1 && j.starts_of("w3") >= 1; }));
  settle();
  EXPECT_EQ(j.starts_of("w1"), 1);
  EXPECT_EQ(j.starts_of("w3"), 1);
  EXPECT_TRUE(j.only("stop").empty());  // a failed child gets no on_stop; the others kept running
  auto st = status_of(sup);
  EXPECT_EQ(st.restarts, 1U);
  ASSERT_EQ(st.recent.size(), 1U);
  EXPECT_EQ(st.recent[0].path, "svc/w2");
  EXPECT_EQ(st.recent[0].message_type, "test.sup.crash/1");
  EXPECT_EQ(st.recent[0].decision, keel::directive::restart);
}

TEST_P(conformance, one_for_all_stops_the_others_newest_first_and_restarts_all) {
  journal& j = new_journal();
  auto sup =
      sys_->spawn<keel::supervisor>(three_workers(&j, restart_strategy::one_for_all)).value();
  auto w2 = child_named(sup, "w2");
  ASSERT_EQ(w2.send(crash{}), send_status::ok);
  ASSERT_TRUE(await(
      [&] { return j.starts_of("w1") == 2 && j.starts_of("w2") == 2 && j.starts_of("w3") == 2; }));
  // w3 then w1 ran on_stop (w2 had failed: it gets none), one after the other.
  EXPECT_EQ(j.only("stop"), (std::vector<std::string>{"w3", "w1"}));
  auto st = status_of(sup);
  for (const auto& c : st.children) EXPECT_EQ(c.restarts, 1U) << c.name;
  EXPECT_EQ(st.restarts, 3U);
}

TEST_P(conformance, rest_for_one_restarts_the_failed_child_and_those_started_after_it) {
  journal& j = new_journal();
  auto sup =
      sys_->spawn<keel::supervisor>(three_workers(&j, restart_strategy::rest_for_one)).value();
  auto w2 = child_named(sup, "w2");
  ASSERT_EQ(w2.send(crash{}), send_status::ok);
  ASSERT_TRUE(await([&] { return j.starts_of("w2") == 2 && j.starts_of("w3") == 2; }));
  settle();
  EXPECT_EQ(j.starts_of("w1"), 1);
  EXPECT_EQ(j.only("stop"), (std::vector<std::string>{"w3"}));
}

TEST_P(conformance, restart_types_decide_between_restart_and_removal) {
  journal& j = new_journal();
  keel::supervisor_config cfg;
  cfg.intensity = {100, std::chrono::seconds(1)};
  cfg.children = {worker_spec(&j, "perm", restart_type::permanent),
                  worker_spec(&j, "trans", restart_type::transient),
                  worker_spec(&j, "temp", restart_type::temporary),
                  worker_spec(&j, "trans_quits", restart_type::transient),
                  worker_spec(&j, "perm_quits", restart_type::permanent)};
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  auto perm_quits_before = child_named(sup, "perm_quits");
  ASSERT_EQ(child_named(sup, "perm").send(crash{}), send_status::ok);
  ASSERT_EQ(child_named(sup, "trans").send(crash{}), send_status::ok);
  ASSERT_EQ(child_named(sup, "temp").send(crash{}), send_status::ok);
  ASSERT_EQ(child_named(sup, "trans_quits").send(quit{}), send_status::ok);
  ASSERT_EQ(perm_quits_before.send(quit{}), send_status::ok);
  ASSERT_TRUE(await([&] {
    return j.starts_of("perm") == 2 && j.starts_of("trans") == 2 &&
           j.starts_of("perm_quits") == 2 && status_of(sup).children.size() == 3;
  }));
  std::vector<std::string> names;
  for (const auto& c : status_of(sup).children) names.push_back(c.name);
  // The temporary child that failed and the transient one that quit are gone; a permanent child
  // that quit came back as a new actor (the old ref is dead).
  EXPECT_EQ(names, (std::vector<std::string>{"perm", "trans", "perm_quits"}));
  EXPECT_EQ(j.starts_of("temp"), 1);
  EXPECT_FALSE(perm_quits_before.alive());
  EXPECT_TRUE(child_named(sup, "perm_quits").alive());
}

TEST_P(conformance, a_restart_keeps_the_queued_messages_and_drops_the_one_that_failed) {
  journal& j = new_journal();
  auto sup =
      sys_->spawn<keel::supervisor>(three_workers(&j, restart_strategy::one_for_one)).value();
  auto w1 = child_named(sup, "w1");
  // One batch: the crash is handled first; the five behind it wait through the restart.
  ASSERT_EQ(w1.send(crash{}), send_status::ok);
  for (int i = 1; i <= 5; ++i) ASSERT_EQ(w1.send(work{i}), send_status::ok);
  auto c = w1.ask<count_is>(get_count{}, 10s);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->count, 5);
  EXPECT_EQ(c->sum, 15);
  EXPECT_EQ(j.starts_of("w1"), 2);  // the crash was not handed to the new object again
  // An ask that carried the failing message is answered `failed`.
  auto failed = w1.ask<count_is>(crash{}, 10s);
  EXPECT_EQ(failed.code(), keel::errc::failed);
  ASSERT_TRUE(await([&] { return j.starts_of("w1") == 3; }));
}

TEST_P(conformance, a_supervised_actor_is_not_resumed_by_resume_while_it_waits) {
  journal& j = new_journal();
  keel::supervisor_config cfg = three_workers(&j, restart_strategy::one_for_one);
  cfg.backoff.min_delay = std::chrono::milliseconds(200);
  cfg.backoff.random_factor = 0;
  auto sup = sys_->spawn<keel::supervisor>(cfg).value();
  auto w1 = child_named(sup, "w1");
  ASSERT_EQ(w1.send(crash{}), send_status::ok);
  ASSERT_TRUE(await([&] { return status_of(sup).children[0].state == keel::child_state::held; }));
  ASSERT_EQ(w1.resume(), send_status::ok);  // ignored: its supervisor decides
  settle();
  ASSERT_EQ(w1.send(work{7}), send_status::ok);
  auto c = w1.ask<count_is>(get_count{}, 10s);
  ASSERT_TRUE(c.has_value()) << c.error().to_string();
  EXPECT_EQ(c->count, 1);
  EXPECT_EQ(j.starts_of("w1"), 2);  // answered by the restarted object, after its backoff
}

}  // namespace
