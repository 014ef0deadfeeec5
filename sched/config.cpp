#include <string>

#include <keel/sched/config.h>

namespace keel::sched {

scheduler_config scheduler_config::preset(worker_preset p) {
  scheduler_config c;
  switch (p) {
    case worker_preset::balanced:
      c.spin = std::chrono::microseconds(50);
      break;
    case worker_preset::latency:
      c.spin = std::chrono::milliseconds(1);
      break;
    case worker_preset::power:
      c.spin = std::chrono::nanoseconds(0);
      break;
  }
  return c;
}

status scheduler_config::validate() const {
  auto bad = [](std::string_view field, std::string_view why) {
    return status(errc::invalid_config,
                  std::string("scheduler_config.") + std::string(field) + ": " + std::string(why));
  };
  if (workers > 1024) return bad("workers", "at most 1024 workers");
  if (spin.count() < 0) return bad("spin", "must not be negative");
  if (spin > std::chrono::seconds(1)) return bad("spin", "more than 1 s of spinning is a bug");
  if (thread_name_prefix.size() > 10) {
    return bad("thread_name_prefix", "at most 10 bytes (Linux thread names hold 15)");
  }
  if (global_queue_interval == 0) return bad("global_queue_interval", "must be at least 1");
  if (lifo_limit == 0) return bad("lifo_limit", "must be at least 1");
  if (steal_min_age.count() < 0) return bad("steal_min_age", "must not be negative");
  if (steal_min_age > std::chrono::milliseconds(1)) {
    return bad("steal_min_age", "more than 1 ms would starve idle workers");
  }
  if (park_watchdog.count() < 0) return bad("park_watchdog", "must not be negative");
  if (timer_tick < std::chrono::microseconds(10) || timer_tick > std::chrono::seconds(1)) {
    return bad("timer_tick", "must be between 10 us and 1 s");
  }
  if (long_activation.count() < 0 ||
      (long_activation.count() != 0 && long_activation < std::chrono::milliseconds(1))) {
    return bad("long_activation", "must be 0 (off) or at least 1 ms");
  }
  if (executor == executor_kind::deterministic) {
#if defined(KEEL_BENCH_WS_ONLY)
    return bad("executor", "this build has no deterministic executor (KEEL_BENCH_WS_ONLY)");
#endif
    if (workers > 1) return bad("workers", "the deterministic executor has one worker (0 or 1)");
    if (virtual_start_ns == 0) return bad("virtual_start_ns", "must not be 0");
  } else if (executor == executor_kind::work_stealing) {
    if (policy != nullptr) {
      return bad("policy", "a delivery policy needs executor_kind::deterministic");
    }
  } else {
    return bad("executor", "unknown executor kind");
  }
  return status::ok();
}

}  // namespace keel::sched
