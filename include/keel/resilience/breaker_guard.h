// breaker_guard: the restart guard of the supervision layer (core/supervisor.h, child_spec::guard)
// backed by a circuit breaker, so a child in a crash loop is cut off fast: each restart request is
// a failure in the breaker's window, and the request that opens it (or any while it is open) is
// refused -- the supervisor stops the child and removes it instead of restarting it, with
// "[cut off by its restart guard]" in the failure report. The breaker is the guard's own, with
// its events, stats and BREAKER records (attach a log to it).
//
//   auto guard = keel::resilience::breaker_guard::create(
//       keel::resilience::crash_loop(5, std::chrono::seconds(10))).value();
//   spec.guard = guard;   // 5 crashes within 10 s: cut off
//
// Thread safety: allow() runs inside the supervisor; breaker() may be read from any thread.
#pragma once

#include <chrono>
#include <memory>

#include <keel/base/result.h>
#include <keel/core/supervisor.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel::resilience {

// A breaker configuration that trips on `crashes` restart requests within `within` (a window of
// ten buckets of within / 10, at least 1 ms each, and at most 60 s).
breaker_config crash_loop(std::uint32_t crashes, std::chrono::nanoseconds within);

class breaker_guard final : public restart_guard {
 public:
  // errc::invalid_config naming the field for a bad configuration.
  static result<std::shared_ptr<breaker_guard>> create(breaker_config cfg);

  bool allow(const failure_report& r, std::uint64_t now) override;
  circuit_breaker& breaker() noexcept { return *breaker_; }

 private:
  explicit breaker_guard(std::unique_ptr<circuit_breaker> b) : breaker_(std::move(b)) {}
  std::unique_ptr<circuit_breaker> breaker_;
};

}  // namespace keel::resilience
