#include <gtest/gtest.h>

#include "core/test_actors.h"

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

struct movable_only {
  static constexpr std::string_view keel_name = "test.movable_only/1";
  std::unique_ptr<int> p;
};

class counter_sink : public keel::actor<counter_sink, ping, movable_only> {
 public:
  static constexpr std::string_view keel_name = "test.counter_sink";
  explicit counter_sink(std::atomic<int>* n) : n_(n) {}
  void on(ping&) { n_->fetch_add(1); }
  void on(movable_only&) { n_->fetch_add(1); }

 private:
  std::atomic<int>* n_;
};

// Decides one thing for messages of one type and records every event it sees.
class scripted_hook : public keel::hook_subscriber {
 public:
  scripted_hook(keel::hook_phase phase, std::string tag, event_log* log)
      : hook_subscriber(phase), tag_(std::move(tag)), log_(log) {}
  keel::send_decision decision = keel::send_decision::pass;
  keel::actor_handle redirect_to;
  std::chrono::nanoseconds delay{0};

  keel::send_decision on_send(keel::send_event& ev) noexcept override {
    if (ev.type_name == "keel.control/1" || ev.type_name == "keel.ask_error/1") {
      return keel::send_decision::pass;
    }
    log_->add(tag_ + " send " + std::string(ev.type_name) +
              " decided=" + std::to_string(static_cast<int>(ev.decision)));
    if (decision == keel::send_decision::redirect) ev.redirect_to = redirect_to;
    if (decision == keel::send_decision::delay) ev.delay = delay;
    return decision;
  }
  void on_spawn(const keel::lifecycle_event& ev) noexcept override {
    log_->add(tag_ + " spawn " + std::string(ev.actor_type));
  }
  void on_stop(const keel::lifecycle_event& ev) noexcept override {
    log_->add(tag_ + " stop " + std::string(ev.actor_type));
  }
  void on_failure(const keel::lifecycle_event& ev) noexcept override {
    log_->add(tag_ + " failure " + std::string(ev.reason));
  }
  void on_dead_letter(const keel::dead_letter_event& ev) noexcept override {
    log_->add(tag_ + " dead " + std::string(ev.type_name) + " " +
              std::string(keel::to_string(ev.reason)));
  }
  void on_deliver(const keel::deliver_event& ev) noexcept override {
    if (ev.type_name == "test.ping/1") delivered.fetch_add(1);
  }
  std::atomic<int> delivered{0};

 private:
  std::string tag_;
  event_log* log_;
};

bool contains(const std::vector<std::string>& v, const std::string& s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

TEST(hooks, a_drop_decision_makes_a_dead_letter_and_later_phases_see_it) {
  event_log log;
  auto metrics = std::make_shared<scripted_hook>(keel::hook_phase::metrics, "metrics", &log);
  auto chaos = std::make_shared<scripted_hook>(keel::hook_phase::chaos, "chaos", &log);
  chaos->decision = keel::send_decision::drop;
  keel::system_config cfg;
  cfg.hooks = {metrics, chaos};  // given out of order: called by phase
  auto sys = make_system(std::move(cfg));
  std::atomic<int> n{0};
  auto ref = sys->spawn<counter_sink>(&n).value();
  EXPECT_EQ(ref.send(ping{1}), keel::send_status::dropped);
  auto events = log.snapshot();
  auto chaos_at = std::find(events.begin(), events.end(), "chaos send test.ping/1 decided=0");
  auto metrics_at = std::find(events.begin(), events.end(), "metrics send test.ping/1 decided=1");
  ASSERT_NE(chaos_at, events.end());
  ASSERT_NE(metrics_at, events.end());
  EXPECT_LT(chaos_at, metrics_at);
  EXPECT_TRUE(contains(events, "chaos dead test.ping/1 dropped_by_hook"));
  EXPECT_TRUE(contains(events, "chaos spawn test.counter_sink"));
  EXPECT_EQ(sys->dead_letter_count(), 1U);
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(n.load(), 0);
}

TEST(hooks, a_disabled_subscriber_has_no_effect) {
  event_log log;
  auto chaos = std::make_shared<scripted_hook>(keel::hook_phase::chaos, "chaos", &log);
  chaos->decision = keel::send_decision::drop;
  chaos->set_enabled(false);
  keel::system_config cfg;
  cfg.hooks = {chaos};
  auto sys = make_system(std::move(cfg));
  std::atomic<int> n{0};
  auto ref = sys->spawn<counter_sink>(&n).value();
  EXPECT_EQ(ref.send(ping{1}), keel::send_status::ok);
  ASSERT_TRUE(eventually([&] { return n.load() == 1; }));
  EXPECT_TRUE(log.snapshot().empty());
  chaos->set_enabled(true);
  EXPECT_EQ(ref.send(ping{2}), keel::send_status::dropped);
}

TEST(hooks, duplicate_copies_copyable_messages_and_refuses_move_only_ones) {
  event_log log;
  auto chaos = std::make_shared<scripted_hook>(keel::hook_phase::chaos, "chaos", &log);
  chaos->decision = keel::send_decision::duplicate;
  std::atomic<int> refused{0};
  keel::system_config cfg;
  cfg.hooks = {chaos};
  cfg.diagnostics = [&](const keel::diagnostic& d) {
    if (d.kind == keel::diagnostic_kind::hook_refused) refused.fetch_add(1);
  };
  auto sys = make_system(std::move(cfg));
  std::atomic<int> n{0};
  auto ref = sys->spawn<counter_sink>(&n).value();
  EXPECT_EQ(ref.send(ping{1}), keel::send_status::ok);
  ASSERT_TRUE(eventually([&] { return n.load() == 2; }));
  EXPECT_EQ(ref.send(movable_only{std::make_unique<int>(3)}), keel::send_status::ok);
  ASSERT_TRUE(eventually([&] { return n.load() == 3; }));
  EXPECT_EQ(refused.load(), 1);
  std::this_thread::sleep_for(5ms);
  EXPECT_EQ(n.load(), 3);
}

TEST(hooks, redirect_and_delay) {
  event_log log;
  auto router = std::make_shared<scripted_hook>(keel::hook_phase::redirect, "router", &log);
  keel::system_config cfg;
  cfg.hooks = {router};
  auto sys = make_system(std::move(cfg));
  std::atomic<int> a{0}, b{0};
  auto ra = sys->spawn<counter_sink>(&a).value();
  auto rb = sys->spawn<counter_sink>(&b).value();
  router->redirect_to = rb.handle();
  router->decision = keel::send_decision::redirect;
  EXPECT_EQ(ra.send(ping{1}), keel::send_status::ok);
  ASSERT_TRUE(eventually([&] { return b.load() == 1; }));
  EXPECT_EQ(a.load(), 0);
  router->decision = keel::send_decision::delay;
  router->delay = 20ms;
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(ra.send(ping{2}), keel::send_status::ok);
  ASSERT_TRUE(eventually([&] { return a.load() == 1; }));
  // Delayed, not lost; delivery order relative to the clock is not asserted (no timing tests).
  (void)t0;
  EXPECT_GE(router->delivered.load(), 2);
}

TEST(hooks, lifecycle_and_failure_events_reach_subscribers) {
  event_log log;
  auto rec = std::make_shared<scripted_hook>(keel::hook_phase::recording, "rec", &log);
  keel::system_config cfg;
  cfg.hooks = {rec};
  cfg.diagnostics = [](const keel::diagnostic&) {};
  auto sys = make_system(std::move(cfg));
  auto ref = sys->spawn<adder>().value();
  ref.send(boom{});
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
  ASSERT_TRUE(eventually([&] { return contains(log.snapshot(), "rec stop test.adder"); }));
  EXPECT_TRUE(contains(log.snapshot(), "rec failure failed: boom") ||
              contains(log.snapshot(), "rec failure boom"));
}

}  // namespace
