// The fixture of the conformance suite (conformance_test.cpp and the files beside it): one
// actor_system per test, on the work-stealing scheduler with two workers or on the
// deterministic executor with a seed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>
#include <vector>

#include "core/test_actors.h"

namespace keel::test {

struct executor_case {
  std::string name;
  bool deterministic = false;
  std::uint64_t seed = 0;
};
inline void PrintTo(const executor_case& c, std::ostream* os) { *os << c.name; }

class conformance : public ::testing::TestWithParam<executor_case> {
 protected:
  void SetUp() override {
    keel::system_config cfg;
    cfg.diagnostics = [this](const keel::diagnostic& d) {
      std::lock_guard<std::mutex> lock(diag_mu_);
      diagnostics_.push_back(d);
    };
    if (GetParam().deterministic) {
      cfg.scheduler.executor = keel::sched::executor_kind::deterministic;
      cfg.scheduler.policy = std::make_shared<keel::sched::seeded_random_policy>(GetParam().seed);
      cfg.message_budget = 1;
      cfg.seed = GetParam().seed;
    } else {
      cfg.scheduler.workers = 2;
    }
    sys_ = keel::actor_system::create(std::move(cfg)).value();
  }
  void TearDown() override {
    if (sys_) (void)sys_->shutdown();
  }

  // Waits until pred() holds (true) or 10 s pass on the executor's clock (false).
  template <class Pred>
  bool await(Pred pred) {
    return sys_->scheduler().await(std::chrono::seconds(10), pred,
                                   [](std::chrono::nanoseconds) { std::this_thread::yield(); });
  }
  // Lets 5 ms pass on the executor's clock (the deterministic one runs the actors meanwhile).
  void settle() {
    const auto until = sys_->scheduler().now() + 5'000'000;
    (void)sys_->scheduler().await(
        std::chrono::milliseconds(50), [&] { return sys_->scheduler().now() >= until; },
        [](std::chrono::nanoseconds) { std::this_thread::yield(); });
  }
  std::size_t diagnostics_of(keel::diagnostic_kind k) {
    std::lock_guard<std::mutex> lock(diag_mu_);
    std::size_t n = 0;
    for (const auto& d : diagnostics_) n += d.kind == k ? 1 : 0;
    return n;
  }

  std::vector<keel::diagnostic> diagnostics() {
    std::lock_guard<std::mutex> lock(diag_mu_);
    return diagnostics_;
  }

  std::unique_ptr<keel::actor_system> sys_;
  std::mutex diag_mu_;
  std::vector<keel::diagnostic> diagnostics_;
};

}  // namespace keel::test
