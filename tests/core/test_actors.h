// Messages and actors shared by the core tests.
#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <keel/keel.h>

namespace keel::test {

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
struct silent {
  static constexpr std::string_view keel_name = "test.silent/1";
};
struct stranger {
  static constexpr std::string_view keel_name = "test.stranger/1";
};
struct ping {
  static constexpr std::string_view keel_name = "test.ping/1";
  int n;
};

// Replies sum to add, throws on boom, never answers silent.
class adder : public keel::actor<adder, add, boom, silent> {
 public:
  static constexpr std::string_view keel_name = "test.adder";
  void on(add& m) { reply(sum{m.a + m.b}); }
  void on(boom&) { throw std::runtime_error("boom"); }
  void on(silent&) {}
};

// A message numbered per sender, and an actor that checks that each sender's numbers arrive in
// order (counting what it receives and what came out of order; any worker).
struct numbered {
  static constexpr std::string_view keel_name = "test.numbered/1";
  int sender;
  int n;
};
class order_checker : public keel::actor<order_checker, numbered> {
 public:
  static constexpr std::string_view keel_name = "test.order_checker";
  order_checker(std::atomic<int>* received, std::atomic<int>* out_of_order)
      : received_(received), out_of_order_(out_of_order) {}
  void on(numbered& m) {
    int& last = last_[m.sender];
    if (m.n != last + 1) out_of_order_->fetch_add(1, std::memory_order_relaxed);
    last = m.n;
    received_->fetch_add(1, std::memory_order_release);
  }

 private:
  std::map<int, int> last_;
  std::atomic<int>* received_;
  std::atomic<int>* out_of_order_;
};

// spawn_options with a bounded mailbox (keel/core/mailbox.h).
inline keel::spawn_options bounded_mailbox(std::uint32_t capacity, keel::overflow_policy policy) {
  keel::spawn_options o;
  o.mailbox = keel::mailbox_bound{capacity, policy};
  return o;
}

// A log of strings that actors append to from any worker.
struct event_log {
  std::mutex mu;
  std::vector<std::string> events;
  void add(std::string s) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(std::move(s));
  }
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
};

// Polls `pred` until it holds or 10 s pass. Tests assert the result: a hang becomes a failure.
template <class Pred>
bool eventually(Pred pred) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  return true;
}

inline std::unique_ptr<keel::actor_system> make_system(keel::system_config cfg = {}) {
  if (cfg.scheduler.workers == 0) cfg.scheduler.workers = 2;
  auto s = keel::actor_system::create(std::move(cfg));
  if (!s) throw std::runtime_error(s.error().to_string());
  return std::move(s).value();
}

}  // namespace keel::test
