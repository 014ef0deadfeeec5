// keel::throw_hook, linked into this test binary: failure reports for exceptions carry the stack
// of the throw; exceptions caught inside a handler do not confuse it.
#include <gtest/gtest.h>

#include <stdexcept>

#include "core/supervision_actors.h"

#include <keel/core/throw_hook.h>
#include <keel/keel.h>

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

struct nested {
  static constexpr std::string_view keel_name = "test.hook.nested/1";
};
struct replay {
  static constexpr std::string_view keel_name = "test.hook.replay/1";
};

[[gnu::noinline]] void throw_deep(int depth) {
  if (depth == 0) throw std::out_of_range("deep throw");
  throw_deep(depth - 1);
  asm volatile("");  // keeps the recursion from becoming a loop
}

class thrower : public keel::actor<thrower, crash, nested, replay> {
 public:
  static constexpr std::string_view keel_name = "test.hook.thrower";
  // An exception that std::rethrow_exception raises again without __cxa_throw.
  void on(replay&) {
    try {
      throw std::logic_error("recorded, then caught");
    } catch (...) {
    }
    std::rethrow_exception(stored_);
  }
  void on(crash&) { throw_deep(3); }
  void on(nested&) {
    try {
      throw std::logic_error("caught inside");
    } catch (const std::logic_error&) {
    }
    throw std::runtime_error("the one that escapes");
  }

 private:
  std::exception_ptr stored_ = std::make_exception_ptr(std::runtime_error("stored"));
};

keel::supervisor_status run_and_report(auto message) {
  keel::system_config cfg;
  cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
  cfg.diagnostics = [](const keel::diagnostic&) {};
  auto sys = keel::actor_system::create(std::move(cfg)).value();
  keel::supervisor_config sc;
  sc.name = "root";
  sc.children = {keel::child_spec::of<thrower>("t")};
  auto sup = sys->spawn<keel::supervisor>(sc).value();
  sys->deterministic()->run_until_idle();
  auto kid = status_of(sup).children.at(0).ref;
  auto t = keel::actor_ref<thrower>::from_cell(kid.cell(), kid.generation());
  EXPECT_EQ(t.send(std::move(message)), keel::send_status::ok);
  sys->deterministic()->run_until_idle();
  auto st = status_of(sup);
  (void)sys->shutdown();
  return st;
}

TEST(throw_hook, an_exception_report_carries_the_throw_site) {
  auto st = run_and_report(crash{});
  ASSERT_EQ(st.recent.size(), 1U);
  const keel::failure_report& r = st.recent[0];
  EXPECT_EQ(r.origin, keel::trace_origin::throw_site);
  EXPECT_EQ(r.exception_type, "std::out_of_range");
  ASSERT_FALSE(r.trace.empty());
  // The innermost frames are throw_deep's, in this binary.
  const auto frames = r.trace.symbolize();
  EXPECT_EQ(frames[0].module, "test_core_throw_hook");
  EXPECT_NE(r.to_string().find("trace (throw_site)"), std::string::npos) << r.to_string();
}

TEST(throw_hook, an_exception_caught_inside_the_handler_is_not_the_one_reported) {
  auto st = run_and_report(nested{});
  ASSERT_EQ(st.recent.size(), 1U);
  EXPECT_EQ(st.recent[0].text, "the one that escapes");
  EXPECT_EQ(st.recent[0].origin, keel::trace_origin::throw_site);
}

TEST(throw_hook, a_record_of_another_exception_is_never_attached) {
  // The last throw recorded on the thread was another object's: the report says it has no
  // throw-site trace rather than show the wrong one.
  auto st = run_and_report(replay{});
  ASSERT_EQ(st.recent.size(), 1U);
  EXPECT_EQ(st.recent[0].text, "stored");
  EXPECT_EQ(st.recent[0].origin, keel::trace_origin::none);
  EXPECT_NE(keel::detail::last_throw().object, nullptr);  // the hook did record the other one
}

}  // namespace
