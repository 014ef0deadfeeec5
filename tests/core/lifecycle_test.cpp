#include <gtest/gtest.h>

#include "core/test_actors.h"
#include "stress.h"

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

struct seq_msg {
  static constexpr std::string_view keel_name = "test.seq/1";
  std::uint32_t sender;
  std::uint64_t seq;
};
struct probe {
  static constexpr std::string_view keel_name = "test.probe/1";
  int round;
};

// Checks per-sender order and counts; also notes whether a probe (sent right after suspend() by
// the thread that suspended) was handled while that thread still considered the actor suspended.
// Messages from other threads may legitimately be handled until the suspend takes effect.
class ordered_sink : public keel::actor<ordered_sink, seq_msg, probe> {
 public:
  static constexpr std::string_view keel_name = "test.ordered_sink";
  ordered_sink(std::vector<std::uint64_t>* last, std::atomic<std::uint64_t>* count,
               std::atomic<int>* errors, std::atomic<int>* while_suspended)
      : last_(last), count_(count), errors_(errors), while_suspended_(while_suspended) {}
  void on(seq_msg& m) {
    if ((*last_)[m.sender] + 1 != m.seq) errors_->fetch_add(1);
    (*last_)[m.sender] = m.seq;
    count_->fetch_add(1, std::memory_order_release);
  }
  // Probe k is sent right after the k-th suspend(); resumed_round reaches k just before the
  // k-th resume(). Handling it earlier would mean a suspended actor ran a user message.
  void on(probe& p) {
    if (resumed_round.load() < p.round) while_suspended_->fetch_add(1);
  }
  static std::atomic<int> resumed_round;

 private:
  std::vector<std::uint64_t>* last_;
  std::atomic<std::uint64_t>* count_;
  std::atomic<int>* errors_;
  std::atomic<int>* while_suspended_;
};

std::atomic<int> ordered_sink::resumed_round{0};

// Senders on outside threads and a controller that suspends and resumes the actor while they
// send: nothing is lost, nothing is duplicated, per-sender order holds, and a message sent by
// the controller right after suspend() is never handled before resume().
TEST(lifecycle, suspend_and_resume_race_with_sends_and_steals) {
  ordered_sink::resumed_round.store(0);
  auto sys = make_system();
  const std::uint32_t senders = 3;
  const std::uint64_t per_sender = keel::test::scaled(100'000, 2000);
  std::vector<std::uint64_t> last(senders, 0);
  std::atomic<std::uint64_t> count{0};
  std::atomic<int> errors{0};
  std::atomic<int> while_suspended{0};
  auto ref = sys->spawn<ordered_sink>(&last, &count, &errors, &while_suspended).value();
  std::vector<std::thread> threads;
  for (std::uint32_t s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      for (std::uint64_t i = 1; i <= per_sender; ++i) ref.send(seq_msg{s, i});
    });
  }
  std::thread controller([&] {
    int rounds = 0;
    while (count.load() < senders * per_sender && rounds < 2000) {
      ++rounds;
      ref.suspend();
      ref.send(probe{rounds});  // sent after suspend(): must wait for resume()
      std::this_thread::sleep_for(50us);
      ordered_sink::resumed_round.store(rounds);
      ref.resume();
    }
  });
  for (auto& t : threads) t.join();
  controller.join();
  ref.resume();
  ASSERT_TRUE(eventually([&] { return count.load() == senders * per_sender; }));
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(while_suspended.load(), 0);
  for (auto v : last) EXPECT_EQ(v, per_sender);
}

TEST(lifecycle, a_suspended_actor_still_stops) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  ref.suspend();
  ref.send(add{1, 2});
  ref.stop();
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
  ASSERT_TRUE(eventually([&] { return sys->dead_letter_count() == 1; }));
}

TEST(lifecycle, resumed_messages_keep_their_order) {
  std::vector<std::uint64_t> last(1, 0);
  std::atomic<std::uint64_t> count{0};
  std::atomic<int> errors{0};
  std::atomic<int> while_suspended{0};
  auto sys = make_system();
  auto ref = sys->spawn<ordered_sink>(&last, &count, &errors, &while_suspended).value();
  ref.suspend();
  for (std::uint64_t i = 1; i <= 1000; ++i) ref.send(seq_msg{0, i});
  ordered_sink::resumed_round.store(0);
  ref.send(probe{1});
  std::this_thread::sleep_for(20ms);
  EXPECT_EQ(count.load(), 0U);  // sent after suspend() on this thread: all held
  ordered_sink::resumed_round.store(1);
  ref.resume();
  ASSERT_TRUE(eventually([&] { return count.load() == 1000; }));
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(while_suspended.load(), 0);
}

}  // namespace
