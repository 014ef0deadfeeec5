#include <gtest/gtest.h>

#include <array>

#include "core/test_actors.h"

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

struct beat {
  static constexpr std::string_view keel_name = "test.beat/1";
  int tag;
};
struct arm {
  static constexpr std::string_view keel_name = "test.arm/1";
  int tag;
  std::int64_t delay_ms;
  bool periodic;
  bool cancel_at_once;
};
struct disarm {
  static constexpr std::string_view keel_name = "test.disarm/1";
};

// Starts timers to itself on request and counts the beats per tag.
class clock_actor : public keel::actor<clock_actor, beat, arm, disarm> {
 public:
  static constexpr std::string_view keel_name = "test.clock";
  explicit clock_actor(std::array<std::atomic<int>, 8>* beats) : beats_(beats) {}
  void on(beat& b) { (*beats_)[b.tag].fetch_add(1); }
  void on(arm& a) {
    auto to = self();
    if (a.periodic) {
      handle_ = send_periodic(to, std::chrono::milliseconds(a.delay_ms), beat{a.tag});
    } else {
      handle_ = send_after(to, std::chrono::milliseconds(a.delay_ms), beat{a.tag});
    }
    if (a.cancel_at_once) cancelled_ = handle_.cancel();
    reply(beat{cancelled_ ? 1 : 0});
  }
  void on(disarm&) { reply(beat{handle_.cancel() ? 1 : 0}); }

 private:
  std::array<std::atomic<int>, 8>* beats_;
  keel::timer_handle handle_;
  bool cancelled_ = false;
};

TEST(timer, send_after_delivers_once) {
  std::array<std::atomic<int>, 8> beats{};
  auto sys = make_system();
  auto c = sys->spawn<clock_actor>(&beats).value();
  ASSERT_TRUE(c.ask<beat>(arm{0, 5, false, false}, 5s));
  ASSERT_TRUE(eventually([&] { return beats[0].load() == 1; }));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(beats[0].load(), 1);
  auto r = c.ask<beat>(disarm{}, 5s);  // cancelling a fired one-shot: nothing to cancel
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, 0);
}

TEST(timer, a_cancelled_timer_never_delivers_and_cancel_is_idempotent) {
  std::array<std::atomic<int>, 8> beats{};
  auto sys = make_system();
  auto c = sys->spawn<clock_actor>(&beats).value();
  auto r = c.ask<beat>(arm{1, 10, false, true}, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, 1);  // the first cancel succeeded
  auto again = c.ask<beat>(disarm{}, 5s);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->tag, 0);  // the second did nothing
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(beats[1].load(), 0);
}

TEST(timer, periodic_timers_repeat_until_cancelled) {
  std::array<std::atomic<int>, 8> beats{};
  auto sys = make_system();
  auto c = sys->spawn<clock_actor>(&beats).value();
  ASSERT_TRUE(c.ask<beat>(arm{2, 2, true, false}, 5s));
  ASSERT_TRUE(eventually([&] { return beats[2].load() >= 5; }));
  auto r = c.ask<beat>(disarm{}, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->tag, 1);
  // The cancel is handled inside the actor, so any beat it queued before is dropped there.
  const int after_cancel = beats[2].load();
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(beats[2].load(), after_cancel);
}

TEST(timer, system_send_after_from_outside_and_to_a_stopped_actor) {
  std::array<std::atomic<int>, 8> beats{};
  auto sys = make_system();
  auto c = sys->spawn<clock_actor>(&beats).value();
  auto h = sys->send_after(c, 5ms, beat{3});
  EXPECT_TRUE(h.valid());
  ASSERT_TRUE(eventually([&] { return beats[3].load() == 1; }));
  auto h2 = sys->send_after(c, 20ms, beat{4});
  c.stop();
  ASSERT_TRUE(eventually([&] { return !c.alive(); }));
  ASSERT_TRUE(eventually([&] { return sys->dead_letter_count() >= 1; }));
  EXPECT_EQ(beats[4].load(), 0);
}

}  // namespace
