#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <thread>
#include <vector>

#include "stress.h"

#include <keel/keel.h>

namespace {

using namespace std::chrono_literals;

struct add {
  static constexpr std::string_view keel_name = "test.add/1";
  int a, b;
};
struct sum {
  static constexpr std::string_view keel_name = "test.sum/1";
  int value;
};
struct boom {
  static constexpr std::string_view keel_name = "test.boom/1";
};
struct tick {
  static constexpr std::string_view keel_name = "test.tick/1";
  std::uint32_t sender;
  std::uint64_t seq;
};

class adder : public keel::actor<adder, add, boom> {
 public:
  static constexpr std::string_view keel_name = "test.adder";
  void on(add& m) { reply(sum{m.a + m.b}); }
  void on(boom&) { throw std::runtime_error("boom"); }
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

std::unique_ptr<keel::actor_system> make_system(keel::system_config cfg = {}) {
  cfg.scheduler.workers = 2;
  auto s = keel::actor_system::create(std::move(cfg));
  EXPECT_TRUE(s) << s.error().to_string();
  return std::move(s).value();
}

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
  while (count.load(std::memory_order_acquire) < senders * per_sender)
    std::this_thread::sleep_for(1ms);
  sys->shutdown();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(count.load(), senders * per_sender);
  for (auto v : last) EXPECT_EQ(v, per_sender);
}

TEST(actor, a_stopped_actor_turns_sends_into_dead_letters) {
  auto sys = make_system();
  auto ref = sys->spawn<adder>().value();
  ASSERT_EQ(ref.stop(), keel::send_status::ok);
  while (ref.alive()) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ref.send(add{1, 1}), keel::send_status::dead_letter);
  EXPECT_GE(sys->dead_letter_count(), 1U);
  auto r = ref.ask<sum>(add{1, 1}, 1s);
  ASSERT_FALSE(r);
  EXPECT_TRUE(r.code() == keel::errc::actor_stopped) << r.error().to_string();
  keel::actor_ref<adder> empty;
  EXPECT_EQ(empty.send(add{1, 1}), keel::send_status::dead_letter);
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
  auto ref = sys->spawn<adder>().value();
  auto r = ref.ask<sum>(boom{}, 5s);
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::failed);
  EXPECT_EQ(failures.load(), 1);
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_NE(text.find("boom"), std::string::npos);
    EXPECT_NE(text.find("test.adder"), std::string::npos);
    EXPECT_NE(text.find("test.boom/1"), std::string::npos);
  }
  while (ref.alive()) std::this_thread::sleep_for(1ms);
  EXPECT_EQ(ref.send(add{1, 1}), keel::send_status::dead_letter);
}

TEST(actor, names_are_unique_and_looked_up) {
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
}

TEST(actor, spawn_after_shutdown_fails) {
  auto sys = make_system();
  auto report = sys->shutdown();
  EXPECT_EQ(report.still_running.size(), 0U);
  auto r = sys->spawn<adder>();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.code(), keel::errc::shutting_down);
}

TEST(actor, invalid_config_names_the_field) {
  keel::system_config cfg;
  cfg.message_budget = 0;
  auto s = keel::actor_system::create(cfg);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.code(), keel::errc::invalid_config);
  EXPECT_NE(s.error().message().find("message_budget"), std::string_view::npos);
}

}  // namespace
