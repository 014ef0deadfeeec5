#include <gtest/gtest.h>

#include "core/test_actors.h"

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

struct slow {
  static constexpr std::string_view keel_name = "test.slow/1";
};

class sluggish : public keel::actor<sluggish, slow> {
 public:
  static constexpr std::string_view keel_name = "test.sluggish";
  void on(slow&) { std::this_thread::sleep_for(3ms); }
};

// A backlog whose oldest message waited longer than the limit is reported, with the actor.
TEST(mailboxage, an_age_above_the_limit_is_reported) {
  std::atomic<int> reports{0};
  std::atomic<std::uint64_t> age{0};
  keel::system_config cfg;
  cfg.mailbox_age_limit = 1ms;
  cfg.diagnostics = [&](const keel::diagnostic& d) {
    if (d.kind != keel::diagnostic_kind::mailbox_age) return;
    age.store(d.value);
    reports.fetch_add(1);
  };
  auto sys = make_system(std::move(cfg));
  auto ref = sys->spawn<sluggish>().value();
  for (int i = 0; i < 10; ++i) ref.send(slow{});
  ASSERT_TRUE(eventually([&] { return reports.load() > 0; }));
  EXPECT_GT(age.load(), 1'000'000U);
}

TEST(mailboxage, a_prompt_actor_is_not_reported) {
  std::atomic<int> reports{0};
  keel::system_config cfg;
  cfg.mailbox_age_limit = std::chrono::seconds(5);
  cfg.diagnostics = [&](const keel::diagnostic& d) {
    if (d.kind == keel::diagnostic_kind::mailbox_age) reports.fetch_add(1);
  };
  auto sys = make_system(std::move(cfg));
  auto ref = sys->spawn<adder>().value();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(ref.ask<sum>(add{i, 1}, 5s));
  EXPECT_EQ(reports.load(), 0);
}

}  // namespace
