// Actors and helpers for the supervision tests (conformance_supervisor.cpp, supervisor_test.cpp).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include <keel/core/supervisor.h>

namespace keel::test {

// What the children did, in order: "start:<name>", "stop:<name>", with virtual times.
struct journal {
  std::mutex mu;
  std::vector<std::string> events;
  std::vector<std::uint64_t> start_times;  // now() at each on_start
  std::map<std::string, int> starts;
  void add(const std::string& what, const std::string& name, std::uint64_t now) {
    std::lock_guard<std::mutex> lock(mu);
    events.push_back(what + ":" + name);
    if (what == "start") {
      ++starts[name];
      start_times.push_back(now);
    }
  }
  int starts_of(const std::string& name) {
    std::lock_guard<std::mutex> lock(mu);
    auto it = starts.find(name);
    return it == starts.end() ? 0 : it->second;
  }
  std::vector<std::string> snapshot() {
    std::lock_guard<std::mutex> lock(mu);
    return events;
  }
  std::vector<std::string> only(const std::string& what) {
    std::vector<std::string> out;
    for (const auto& e : snapshot()) {
      if (e.rfind(what + ":", 0) == 0) out.push_back(e.substr(what.size() + 1));
    }
    return out;
  }
  std::vector<std::uint64_t> times() {
    std::lock_guard<std::mutex> lock(mu);
    return start_times;
  }
};

struct work {
  static constexpr std::string_view keel_name = "test.sup.work/1";
  int n = 0;
};
struct crash {
  static constexpr std::string_view keel_name = "test.sup.crash/1";
};
struct crash_logic {  // throws std::logic_error
  static constexpr std::string_view keel_name = "test.sup.crash_logic/1";
};
struct crash_by_fail {  // actor::fail, no exception
  static constexpr std::string_view keel_name = "test.sup.crash_by_fail/1";
};
struct quit {
  static constexpr std::string_view keel_name = "test.sup.quit/1";
};
struct get_count {
  static constexpr std::string_view keel_name = "test.sup.get_count/1";
};
struct count_is {
  static constexpr std::string_view keel_name = "test.sup.count_is/1";
  int count = 0;  // work messages handled by this object
  int sum = 0;    // their n, summed
};

// A child that counts its work, and fails or stops on demand.
class sup_worker
    : public keel::actor<sup_worker, work, crash, crash_logic, crash_by_fail, quit, get_count> {
 public:
  static constexpr std::string_view keel_name = "test.sup.worker";
  sup_worker(journal* j, std::string name) : j_(j), name_(std::move(name)) {}
  void on_start() override { j_->add("start", name_, now()); }
  void on_stop() override { j_->add("stop", name_, now()); }
  void on(work& w) {
    ++count_;
    sum_ += w.n;
  }
  void on(crash&) { throw std::runtime_error("crash on purpose"); }
  void on(crash_logic&) { throw std::logic_error("logic crash"); }
  void on(crash_by_fail&) { fail("failed on purpose"); }
  void on(quit&) { stop_self(); }
  void on(get_count&) { reply(count_is{count_, sum_}); }

 private:
  journal* j_;
  std::string name_;
  int count_ = 0;
  int sum_ = 0;
};

// A child that traps exits and ignores the request to stop.
class exit_ignorer : public keel::actor<exit_ignorer, keel::exit_signal, work> {
 public:
  static constexpr std::string_view keel_name = "test.sup.exit_ignorer";
  exit_ignorer(journal* j, std::string name) : j_(j), name_(std::move(name)) {}
  void on_start() override { j_->add("start", name_, now()); }
  void on_stop() override { j_->add("stop", name_, now()); }
  void on(keel::exit_signal&) { j_->add("exit_signal", name_, now()); }
  void on(work&) {}

 private:
  journal* j_;
  std::string name_;
};

// A journal that outlives the test's actor system (which stops its actors after the test body).
inline journal& new_journal() {
  static std::mutex mu;
  static std::deque<journal> all;
  std::lock_guard<std::mutex> lock(mu);
  return all.emplace_back();
}

inline keel::child_spec worker_spec(journal* j, const std::string& name,
                                    keel::restart_type t = keel::restart_type::permanent) {
  auto s = keel::child_spec::of<sup_worker>(name, j, name);
  s.restart = t;
  return s;
}

inline keel::supervisor_status status_of(const keel::actor_ref<keel::supervisor>& s) {
  auto r =
      s.ask<keel::supervisor_status>(keel::supervisor_status_request{}, std::chrono::seconds(10));
  if (!r) throw std::runtime_error("status: " + r.error().to_string());
  return std::move(r).value();
}

inline keel::actor_ref<sup_worker> child_named(const keel::actor_ref<keel::supervisor>& s,
                                               const std::string& name) {
  for (const auto& c : status_of(s).children) {
    if (c.name == name) {
      return keel::actor_ref<sup_worker>::from_cell(c.ref.cell(), c.ref.generation());
    }
  }
  return {};
}

}  // namespace keel::test
