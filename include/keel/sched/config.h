// scheduler_config: which executor runs the tasks (the work-stealing scheduler or the
// deterministic one) and its knobs, validated by scheduler_config::validate() before a
// scheduler is built.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

#include <keel/base/status.h>

namespace keel::sched {

class delivery_policy;

enum class executor_kind : std::uint8_t {
  // Worker threads, work stealing, parking: what services run.
  work_stealing,
  // No threads: the thread that calls deterministic_executor (or waits, see scheduler::await)
  // runs one activation at a time, in the order a delivery_policy picks, on a virtual clock.
  // For tests and replay. See include/keel/sched/deterministic.h.
  deterministic,
};

// How idle workers wait: spin budgets for the usual trade-offs (scheduler_config::preset).
enum class worker_preset : std::uint8_t {
  // Spin 50 us, then park: a request that follows the last one within 50 us finds its worker
  // awake; an idle runtime uses no CPU.
  balanced,
  // Spin 1 ms: bursty traffic with gaps under a millisecond never waits for a futex wake-up
  // (3-100 us on a VM); costs up to a core per worker during such gaps.
  latency,
  // Never spin: park as soon as there is no work. The least CPU; every wake-up after a gap pays
  // the futex.
  power,
};

struct scheduler_config {
  // The defaults with `p`'s spin budget. Pinning stays a separate choice (pin_threads): on a
  // machine shared with other processes it can hurt more than it helps.
  static scheduler_config preset(worker_preset p);

  executor_kind executor = executor_kind::work_stealing;
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
  // A thief takes from another worker's run queue only tasks queued at least this long ago;
  // younger ones are left to their owner, which is about to run them on a warm cache (a request
  // fanned out to replicas stays on the asker's core instead of answering across cores). 0
  // steals at once, as Tokio and Go do. At most 1 ms.
  std::chrono::nanoseconds steal_min_age = std::chrono::microseconds(2);
  // Test builds: a parked worker wakes after this long even if nobody notified it, and counts a
  // watchdog rescue if it then finds work (a lost wake-up). 0 disables the watchdog.
  std::chrono::nanoseconds park_watchdog{0};
  // Timer wheel resolution.
  std::chrono::nanoseconds timer_tick = std::chrono::milliseconds(1);
  // An activation (a handler) that runs longer than this is reported through
  // task_runner::on_long_activation (the actor layer sends it to the diagnostics sink): while
  // it runs, by another worker that notices (within about 1.5x this), or by its own worker
  // when it ends. Activations inside block_in_place and on dedicated workers (detached
  // actors) are exempt: they block on purpose. In a pool of two or more, parked workers wake
  // every half of this to watch (2 wake-ups a second per worker by default); 0 turns the
  // watch and those wake-ups off. At least 1 ms.
  std::chrono::nanoseconds long_activation = std::chrono::seconds(1);

  // Deterministic executor only (the work-stealing scheduler rejects them when set):
  // which runnable task runs next; nullptr picks the oldest first (fifo_policy).
  std::shared_ptr<delivery_policy> policy;
  // Where its virtual clock starts, in nanoseconds (not 0: 0 means "no time" in places).
  std::uint64_t virtual_start_ns = 1'000'000'000;
  // The deterministic executor has one worker and no thread: `workers` must be 0 or 1, and
  // `spin`, `pin_threads`, `thread_name_prefix`, `park_watchdog` and `long_activation` do not
  // apply to it.

  // OK, or errc::invalid_config naming the first bad field.
  status validate() const;
};

}  // namespace keel::sched
