// sched/ runs tasks it does not look inside. The layer above (core/, whose actors are
// tasks) supplies a task_runner that the workers call for each activation.
//
// Thread safety: a task is run by one worker at a time; sched/ guarantees that a task scheduled
// once is run once (it is in exactly one queue until a worker takes it).
#pragma once

#include <atomic>
#include <cstdint>

namespace keel::sched {

class worker;

// A unit of work. Derive from it and schedule a pointer with scheduler::schedule(). sched/
// never copies, frees or inspects a task; it owns the one link word below, which it uses to
// queue the task without allocating (a task is in at most one queue at a time).
struct task {
  std::atomic<task*> sched_next{nullptr};
};

// What a task's activation tells the worker when it returns.
enum class run_result : std::uint8_t {
  done,   // the task went idle; sched/ forgets it until someone schedules it again
  yield,  // the task has more to do; the worker re-queues it at the back of its queue
};

// No task is pinned: it runs on any worker and may be stolen.
inline constexpr std::uint32_t k_any_worker = UINT32_MAX;
// Pins at or above this name a dedicated worker (scheduler::start_dedicated), not a worker of
// the pool.
inline constexpr std::uint32_t k_dedicated_pin = 1U << 30;

// Implemented by the layer that owns the tasks. All methods are called on worker threads.
class task_runner {
 public:
  virtual ~task_runner() = default;
  // Runs one activation of `t` on worker `w`. Must not throw.
  virtual run_result run(task* t, worker& w) noexcept = 0;
  // Called on each worker thread once before its first task and once after its last.
  virtual void on_worker_start(worker& w) noexcept { (void)w; }
  virtual void on_worker_stop(worker& w) noexcept { (void)w; }
  // A task's activation on worker `worker_index` has run for `elapsed_ns` (at least
  // scheduler_config::long_activation) and is still running, or just ended. Called once per
  // such activation, from another worker (or from that worker once it ended). `t` may have
  // been scheduled again since: read only what stays valid.
  virtual void on_long_activation(std::uint32_t worker_index, task* t,
                                  std::uint64_t elapsed_ns) noexcept {
    (void)worker_index;
    (void)t;
    (void)elapsed_ns;
  }
};

}  // namespace keel::sched
