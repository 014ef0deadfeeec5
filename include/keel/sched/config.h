// scheduler_config: the knobs of the work-stealing scheduler, validated by
// scheduler_config::validate() before a scheduler is built.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

#include <keel/base/status.h>

namespace keel::sched {

struct scheduler_config {
  // Worker threads; 0 means one per core (std::thread::hardware_concurrency()). At most 1024.
  std::uint32_t workers = 0;
  // How long an idle worker spins before it parks. 0 parks at once (the power preset).
  std::chrono::nanoseconds spin = std::chrono::microseconds(50);
  // Pin worker i to CPU (i mod cores).
  bool pin_threads = false;
  // Worker thread names are "<prefix><index>" (at most 15 bytes in all, Linux's limit).
  std::string thread_name_prefix = "keel-w";
  // A worker polls the global injection queue first every this many activations (fairness).
  std::uint32_t global_queue_interval = 61;
  // At most this many activations in a row from the run-next slot.
  std::uint32_t lifo_limit = 3;
  // Test builds: a parked worker wakes after this long even if nobody notified it, and counts a
  // watchdog rescue if it then finds work (a lost wake-up). 0 disables the watchdog.
  std::chrono::nanoseconds park_watchdog{0};
  // Timer wheel resolution.
  std::chrono::nanoseconds timer_tick = std::chrono::milliseconds(1);

  // OK, or errc::invalid_config naming the first bad field.
  status validate() const;
};

}  // namespace keel::sched
