// keel::sched::scheduler: the executor of opaque tasks. Built as the work-stealing,
// thread-per-core scheduler described here, or (scheduler_config::executor) as the
// deterministic executor of deterministic.h: one worker, no thread, a virtual clock. Both run
// the same schedule() code, so the send path has no branch or virtual call for the choice.
//
// Each worker owns a 256-slot ring (owner pops FIFO, idle workers steal half), a stealable
// run-next slot for the task just woken by the running task (at most `lifo_limit` in a row), and
// a non-stealable inbox for tasks pinned to it. Work from non-worker threads and ring overflow go
// through a global injection queue. Idle workers spin for `spin`, then park on a per-worker
// futex; at most half of them search at once and the last searcher re-checks every queue, so no
// wake-up is lost and an idle scheduler uses no CPU. See docs/scheduler.md.
//
// Thread safety: schedule(), add_timer() and cancel_timer() may be called from any thread,
// including workers. start() and stop() from one controlling thread (not a worker).
//
// Memory ordering: everything a thread wrote before schedule(t) is visible to the worker that
// runs t (release/acquire through the queue that carries t). A task scheduled once runs once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string_view>
#include <type_traits>
#include <vector>

#include <keel/base/result.h>
#include <keel/sched/config.h>
#include <keel/sched/deterministic.h>
#include <keel/sched/task.h>
#include <keel/sched/timer.h>
#include <keel/sched/worker.h>

namespace keel::sched {

class scheduler_impl;

class scheduler {
 public:
  // Validates `config` and builds the workers (no thread starts until start()). `runner` must
  // outlive the scheduler.
  static result<std::unique_ptr<scheduler>> create(const scheduler_config& config,
                                                   task_runner& runner);
  ~scheduler();  // stops the workers if they run
  scheduler(const scheduler&) = delete;
  scheduler& operator=(const scheduler&) = delete;

  // Starts one thread per worker. Controlling thread only; once.
  void start();
  // Asks every worker to finish its current activation and exit, then joins them. Tasks still
  // queued are not run (the owner drains its tasks first if it cares). Controlling thread only.
  void stop();
  bool running() const noexcept;

  // Makes `t` runnable. From a worker of this scheduler, an unpinned task goes to that worker's
  // run-next slot (the task it just woke runs next); from any other thread, to the injection
  // queue. A task pinned to worker `pin` goes to that worker's inbox and is never stolen.
  // REQUIRES: t is not queued or running already (the caller owns its "scheduled" token).
  // Never blocks; may allocate only when a queue segment is full (the injection queue).
  void schedule(task* t, std::uint32_t pin = k_any_worker) noexcept;

  // Arms `node` (deadline_ns, period_ns and fire set by the caller). Any thread.
  void add_timer(timer_node* node) noexcept;
  // Disarms `node` if it is still armed; returns whether it was. Idempotent. Any thread.
  bool cancel_timer(timer_node* node) noexcept;

  // The executor's clock in nanoseconds: clock_now() for the work-stealing scheduler, the
  // virtual clock for the deterministic one. Any thread. (Code on a worker reads the cached
  // worker::now() instead.)
  std::uint64_t now() const noexcept;

  // Blocks the calling thread, which must not be a worker of this scheduler, until ready()
  // returns true or `timeout` passes on this executor's clock; returns ready()'s last answer.
  // Work-stealing: between checks it calls block(remaining), which waits on whatever ready()
  // depends on (a condition variable, a yield) for at most `remaining`. Deterministic: it never
  // calls block(); it runs activations on this thread and, when nothing is runnable, moves the
  // virtual clock to the next timer, up to the timeout.
  template <class Ready, class Block>
  bool await(std::chrono::nanoseconds timeout, Ready&& ready, Block&& block) {
    using R = std::remove_reference_t<Ready>;
    using B = std::remove_reference_t<Block>;
    return await_erased(
        timeout, [](void* r) { return static_cast<bool>((*static_cast<R*>(r))()); },
        const_cast<void*>(static_cast<const void*>(&ready)),
        [](void* b, std::chrono::nanoseconds left) { (*static_cast<B*>(b))(left); },
        const_cast<void*>(static_cast<const void*>(&block)));
  }

  // ---- blocking work ----
  // Starts a dedicated worker: one thread, named "keel-d-<name>" (cut to 15 bytes), that runs
  // only the tasks scheduled with the pin it returns -- a detached actor, which may block. It
  // never steals and is never stolen from; what its tasks wake goes to the pool. The thread
  // ends once retire_dedicated() is called from it (and is joined by the next
  // start_dedicated() or by stop()). On the deterministic executor no thread starts: the pin
  // names its one worker. errc::full beyond 4096 at once, errc::shutting_down when the
  // scheduler is not running. Any thread.
  result<std::uint32_t> start_dedicated(std::string_view name);
  // From a task running on a dedicated worker: its thread ends after this task. The task's
  // owner must make sure nothing is scheduled with the pin afterwards (a late one goes to the
  // pool). A no-op on any other thread.
  void retire_dedicated() noexcept;
  // From a task on a pool worker: runs fn(), which may block, after handing the worker's
  // queued tasks (run-next slot and ring) to the other workers; tasks pinned to this worker
  // wait. While fn runs the thread is not a worker: what it schedules goes to the pool, it may
  // wait on the runtime like an outside thread, and its activation is not reported as long.
  // On a dedicated worker or any other thread fn just runs. On the deterministic executor fn
  // runs inline and the virtual clock does not move.
  template <class F>
  void block_in_place(F&& fn) {
    using Fn = std::remove_reference_t<F>;
    block_in_place_erased([](void* f) { (*static_cast<Fn*>(f))(); },
                          const_cast<void*>(static_cast<const void*>(&fn)));
  }

  executor_kind kind() const noexcept;
  // The deterministic executor's controls; nullptr for the work-stealing scheduler.
  deterministic_executor* deterministic() noexcept;

  std::uint32_t worker_count() const noexcept;
  worker& worker_at(std::uint32_t i) noexcept;
  const scheduler_config& config() const noexcept;
  // Sum of every worker's statistics (relaxed reads).
  worker_stats total_stats() const noexcept;

 private:
  explicit scheduler(std::unique_ptr<scheduler_impl> impl) noexcept;
  bool await_erased(std::chrono::nanoseconds timeout, bool (*ready)(void*), void* ready_arg,
                    void (*block)(void*, std::chrono::nanoseconds), void* block_arg);
  void block_in_place_erased(void (*fn)(void*), void* arg);
  friend class worker;
  friend struct worker_core;
  std::unique_ptr<scheduler_impl> impl_;
};

}  // namespace keel::sched
