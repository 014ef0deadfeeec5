#include <gtest/gtest.h>

#include "core/test_actors.h"
#include "stress.h"

namespace {

using namespace std::chrono_literals;
using namespace keel::test;

struct tick {
  static constexpr std::string_view keel_name = "test.tick/1";
  std::uint32_t sender;
  std::uint64_t seq;
};

// Records the sequence numbers it sees per sender, to check per-sender FIFO.
class recorder : public keel::actor<recorder, tick> {
 public:
  static constexpr std::string_view keel_name = "test.recorder";
  recorder(std::vector<std::uint64_t>* last, std::atomic<std::uint64_t>* count,
           std::atomic<int>* errors)
      : last_(last), count_(count), errors_(errors) {}
  void on(tick& t) {
    if ((*last_)[t.sender] + 1 != t.seq) errors_->fetch_add(1);
    (*last_)[t.sender] = t.seq;
    count_->fetch_add(1, std::memory_order_release);
  }

 private:
  std::vector<std::uint64_t>* last_;
  std::atomic<std::uint64_t>* count_;
  std::atomic<int>* errors_;
};

class lifecycle_probe : public keel::actor<lifecycle_probe, ping> {
 public:
  static constexpr std::string_view keel_name = "test.lifecycle_probe";
  lifecycle_probe(event_log* log, std::string name) : log_(log), name_(std::move(name)) {}
  void on_start() override { log_->add("start " + name_); }
  void on_stop() override { log_->add("stop " + name_); }
  void on(ping& p) { log_->add("ping " + name_ + " " + std::to_string(p.n)); }

 private:
  event_log* log_;
  std::string name_;
};

TEST(actor, ask_returns_the_reply) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  auto r = ref.ask<sum>(add{2, 3}, 5s);
  ASSERT_TRUE(r) << r.error().to_string();
  EXPECT_EQ(r->value, 5);
}

TEST(actor, keeps_per_sender_order_under_contention) {
  auto sys = make_system();
  const std::uint32_t senders = 4;
  const std::uint64_t per_sender = keel::test::scaled(200'000, 2000);
  std::vector<std::uint64_t> last(senders, 0);
  std::atomic<std::uint64_t> count{0};
  std::atomic<int> errors{0};
  auto ref = sys->spawn<recorder>(&last, &count, &errors).value();
  std::vector<std::thread> threads;
  for (std::uint32_t s = 0; s < senders; ++s) {
    threads.emplace_back([&, s] {
      for (std::uint64_t i = 1; i <= per_sender; ++i) {
        ASSERT_EQ(ref.send(tick{s, i}), keel::send_status::ok);
      }
    });
  }
  for (auto& t : threads) t.join();
  ASSERT_TRUE(
      eventually([&] { return count.load(std::memory_order_acquire) == senders * per_sender; }));
  sys->shutdown();
  EXPECT_EQ(errors.load(), 0);
  for (auto v : last) EXPECT_EQ(v, per_sender);
}

TEST(actor, on_start_runs_before_the_first_message_and_on_stop_last) {
  event_log log;
  auto sys = make_system();
  auto ref = sys->spawn<lifecycle_probe>(&log, "a").value();
  ref.send(ping{1});
  ref.send(ping{2});
  ASSERT_TRUE(eventually([&] { return log.snapshot().size() == 3; }));
  ref.stop();
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
  EXPECT_EQ(log.snapshot(),
            (std::vector<std::string>{"start a", "ping a 1", "ping a 2", "stop a"}));
}

TEST(actor, stop_overtakes_queued_messages_which_become_dead_letters) {
  event_log log;
  auto sys = make_system();
  auto ref = sys->spawn<lifecycle_probe>(&log, "b").value();
  ref.suspend();  // hold user messages so that they are still queued when stop arrives
  for (int i = 0; i < 5; ++i) ref.send(ping{i});
  ref.stop();
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
  ASSERT_TRUE(eventually([&] { return sys->dead_letter_count() == 5; }));
  EXPECT_EQ(log.snapshot(), (std::vector<std::string>{"start b", "stop b"}));
}

TEST(actor, a_stopped_actor_turns_sends_into_dead_letters) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  ASSERT_EQ(ref.stop(), keel::send_status::ok);
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
  EXPECT_EQ(ref.id(), keel::k_no_actor);
  const auto before = sys->dead_letter_count();
  EXPECT_EQ(ref.send(add{1, 1}), keel::send_status::dead_letter);
  EXPECT_EQ(sys->dead_letter_count(), before + 1);
  const auto recent = sys->recent_dead_letters();
  ASSERT_FALSE(recent.empty());  // in the history before it is in the count
  EXPECT_EQ(recent.back().type_name, "test.add/1");
  EXPECT_EQ(recent.back().target_type, "test.adder");
  EXPECT_EQ(recent.back().reason, keel::dead_letter_reason::actor_stopped);
  auto r = ref.ask<sum>(add{1, 1}, 1s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::actor_stopped) << r.error().to_string();
  keel::actor_ref<adder> empty;
  EXPECT_EQ(empty.send(add{1, 1}), keel::send_status::dead_letter);
  EXPECT_EQ(empty.ask<sum>(add{1, 1}, 1s).code(), keel::errc::actor_stopped);
}

TEST(actor, a_recycled_slot_never_receives_messages_for_its_previous_incarnation) {
  auto sys = make_system();
  auto old_ref = sys->spawn<adder>().value();
  const auto old_handle = old_ref.handle();
  old_ref.stop();
  ASSERT_TRUE(eventually([&] { return !old_ref.alive(); }));
  // Spawn until the slot is reused (it goes back on the free list once the cell is closed).
  std::vector<keel::actor_ref<adder>> refs;
  bool reused = false;
  for (int i = 0; i < 100 && !reused; ++i) {
    refs.push_back(sys->spawn<adder>().value());
    reused = refs.back().handle().slot == old_handle.slot;
    if (!reused) std::this_thread::sleep_for(1ms);
  }
  ASSERT_TRUE(reused);
  EXPECT_NE(refs.back().handle().generation, old_handle.generation);
  EXPECT_EQ(old_ref.send(add{1, 2}), keel::send_status::dead_letter);
  auto r = refs.back().ask<sum>(add{1, 2}, 5s);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->value, 3);
}

TEST(actor, an_exception_stops_the_actor_with_a_failure_report) {
  std::atomic<int> failures{0};
  std::string text;
  std::mutex mu;
  keel::system_config cfg;
  cfg.diagnostics = [&](const keel::diagnostic& d) {
    if (d.kind != keel::diagnostic_kind::failure) return;
    std::lock_guard<std::mutex> lock(mu);
    text = d.to_string();
    failures.fetch_add(1);
  };
  auto sys = make_system(std::move(cfg));
  keel::spawn_options opts;
  opts.name = "fragile";
  auto ref = sys->spawn_with<adder>(opts).value();
  auto r = ref.ask<sum>(boom{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::failed);
  EXPECT_NE(r.error().message().find("boom"), std::string_view::npos);
  EXPECT_EQ(failures.load(), 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_NE(text.find("boom"), std::string::npos) << text;
    EXPECT_NE(text.find("test.adder"), std::string::npos) << text;
    EXPECT_NE(text.find("\"fragile\""), std::string::npos) << text;
    EXPECT_NE(text.find("test.boom/1"), std::string::npos) << text;
    EXPECT_NE(text.find("correlation"), std::string::npos) << text;
  }
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
  EXPECT_EQ(ref.send(add{1, 1}), keel::send_status::dead_letter);
  EXPECT_EQ(sys->lookup("fragile").code(), keel::errc::actor_not_found);
  bool counted = false;
  for (const auto& c : sys->counters()) {
    if (c.type == "test.adder") counted = c.failures == 1;
  }
  EXPECT_TRUE(counted);
}

TEST(actor, names_are_unique_among_live_actors_and_looked_up) {
  auto sys = make_system();
  keel::spawn_options opts;
  opts.name = "calc";
  auto a = sys->spawn_with<adder>(opts);
  ASSERT_TRUE(a);
  auto b = sys->spawn_with<adder>(opts);
  ASSERT_FALSE(b);
  EXPECT_EQ(b.code(), keel::errc::duplicate_name);
  auto found = sys->lookup("calc");
  ASSERT_TRUE(found);
  EXPECT_EQ(found->handle(), a->handle());
  EXPECT_EQ(sys->lookup("nobody").code(), keel::errc::actor_not_found);
  a->stop();
  ASSERT_TRUE(eventually([&] { return !sys->lookup("calc"); }));
  EXPECT_TRUE(sys->spawn_with<adder>(opts));  // the name is free again
}

TEST(actor, unhandled_messages_through_an_untyped_ref_are_dead_letters) {
  auto sys = make_system();
  keel::actor_ref<> any = sys->spawn<adder>().value();
  EXPECT_EQ(any.send(stranger{}), keel::send_status::ok);
  ASSERT_TRUE(eventually([&] { return sys->dead_letter_count() == 1; }));
  const auto recent = sys->recent_dead_letters();
  ASSERT_EQ(recent.size(), 1U);
  EXPECT_EQ(recent.back().reason, keel::dead_letter_reason::unhandled_message);
  auto r = any.ask<sum>(stranger{}, 5s);
  EXPECT_EQ(r.code(), keel::errc::unhandled_message);
}

TEST(actor, counts_messages_per_actor_type) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  for (int i = 0; i < 10; ++i) ref.send(silent{});
  ASSERT_TRUE(ref.ask<sum>(add{1, 1}, 5s));
  sys->shutdown();
  bool found = false;
  for (const auto& c : sys->counters()) {
    if (c.type != "test.adder") continue;
    found = true;
    EXPECT_EQ(c.received, 11U);
    EXPECT_EQ(c.sent, 1U);  // the reply
    EXPECT_EQ(c.spawned, 1U);
    EXPECT_EQ(c.stopped, 1U);
  }
  EXPECT_TRUE(found);
}

TEST(actor, stopping_a_stopped_actor_is_not_a_dead_letter) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  ASSERT_TRUE(ref.ask<sum>(add{1, 1}, 5s));  // also leaves a stopping reply waiter behind
  ref.stop();
  ref.stop();
  ASSERT_TRUE(eventually([&] { return !ref.alive(); }));
  EXPECT_EQ(ref.stop(), keel::send_status::dead_letter);
  sys->shutdown();
  EXPECT_EQ(sys->dead_letter_count(), 0U);
}

TEST(actor, spawn_after_shutdown_fails_and_shutdown_reports) {
  auto sys = make_system();
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(sys->spawn<adder>());
  auto report = sys->shutdown();
  EXPECT_EQ(report.alive_at_start, 3U);
  EXPECT_EQ(report.stopped, 3U);
  EXPECT_TRUE(report.still_running.empty());
  auto r = sys->spawn<adder>();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::shutting_down);
  EXPECT_EQ(sys->shutdown().alive_at_start, 0U);  // idempotent
}

TEST(actor, shutdown_stops_actors_newest_first) {
  event_log log;
  auto sys = make_system();
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(sys->spawn<lifecycle_probe>(&log, std::to_string(i)));
  ASSERT_TRUE(eventually([&] { return log.snapshot().size() == 5; }));  // all started
  sys->shutdown();
  auto events = log.snapshot();
  std::vector<std::string> stops(events.begin() + 5, events.end());
  EXPECT_EQ(stops, (std::vector<std::string>{"stop 4", "stop 3", "stop 2", "stop 1", "stop 0"}));
}

class stubborn : public keel::actor<stubborn, ping> {
 public:
  static constexpr std::string_view keel_name = "test.stubborn";
  explicit stubborn(std::atomic<bool>* release) : release_(release) {}
  void on(ping&) {
    while (!release_->load()) std::this_thread::sleep_for(1ms);
  }

 private:
  std::atomic<bool>* release_;
};

TEST(actor, shutdown_reports_actors_that_did_not_stop_in_time) {
  std::atomic<bool> release{false};
  auto sys = make_system();
  keel::spawn_options opts;
  opts.name = "stuck";
  auto ref = sys->spawn_with<stubborn>(opts, &release).value();
  ref.send(ping{0});
  ASSERT_TRUE(eventually([&] { return sys->counters().front().received == 1; }));
  std::thread releaser([&] {
    std::this_thread::sleep_for(200ms);
    release.store(true);
  });
  auto report = sys->shutdown(20ms);
  releaser.join();
  ASSERT_EQ(report.still_running.size(), 1U);
  EXPECT_EQ(report.still_running[0].name, "stuck");
  EXPECT_EQ(report.still_running[0].type, "test.stubborn");
}

TEST(actor, invalid_config_names_the_field) {
  keel::system_config cfg;
  cfg.message_budget = 0;
  auto s = keel::actor_system::create(cfg);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), keel::errc::invalid_config);
  EXPECT_NE(s.error().message().find("message_budget"), std::string_view::npos);
  keel::system_config cfg2;
  cfg2.scheduler.lifo_limit = 0;
  auto s2 = keel::actor_system::create(cfg2);
  ASSERT_FALSE(s2);
  EXPECT_NE(s2.error().message().find("scheduler_config.lifo_limit"), std::string_view::npos);
  keel::system_config cfg3;
  cfg3.scheduler.steal_min_age = std::chrono::milliseconds(2);
  auto s3 = keel::actor_system::create(cfg3);
  ASSERT_FALSE(s3);
  EXPECT_NE(s3.error().message().find("scheduler_config.steal_min_age"), std::string_view::npos);
  cfg3.scheduler.steal_min_age = std::chrono::nanoseconds(-1);
  EXPECT_FALSE(keel::actor_system::create(cfg3));
}

TEST(actor, several_systems_live_in_one_process) {
  auto a = make_system();
  auto b = make_system();
  auto ra = a->spawn<adder>().value();
  auto rb = b->spawn<adder>().value();
  EXPECT_EQ(ra.ask<sum>(add{1, 2}, 5s)->value, 3);
  EXPECT_EQ(rb.ask<sum>(add{3, 4}, 5s)->value, 7);
}

}  // namespace
