#include <algorithm>

#include <keel/resilience/breaker_guard.h>

namespace keel::resilience {

breaker_config crash_loop(std::uint32_t crashes, std::chrono::nanoseconds within) {
  breaker_config c;
  c.name = "crash-loop";
  c.window = window_kind::time_based;
  c.window_buckets = 10;
  c.bucket_width = std::clamp<std::chrono::nanoseconds>(within / 10, std::chrono::milliseconds(1),
                                                        std::chrono::seconds(60));
  c.min_calls = crashes;
  c.failure_ratio = 1.0;  // every call it sees is a failure: the count is what trips it
  return c;
}

result<std::shared_ptr<breaker_guard>> breaker_guard::create(breaker_config cfg) {
  auto b = circuit_breaker::create(std::move(cfg));
  if (!b) return b.error();
  return std::shared_ptr<breaker_guard>(new breaker_guard(std::move(b).value()));
}

bool breaker_guard::allow(const failure_report&, std::uint64_t now) {
  permit p = breaker_->try_acquire(now);
  if (!p) return false;  // open: the loop was already cut off
  p.failure(now);
  const breaker_state s = breaker_->state();
  return s != breaker_state::open && s != breaker_state::forced_open;
}

}  // namespace keel::resilience
