// scheduler_impl: the private state of keel::sched::scheduler and its worker loop.
// See include/keel/sched/scheduler.h for the contract and docs/scheduler.md for the design.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "sched/inject_queue.h"
#include "sched/parker.h"
#include "sched/run_queue.h"
#include "sched/task_queue.h"
#include "sched/timer_wheel.h"

#include <keel/base/cache.h>
#include <keel/base/owned_counter.h>
#include <keel/sched/scheduler.h>

namespace keel::sched {

// Everything a worker owns. The public `worker` face is the first member.
struct worker_core {
  worker_core(scheduler* owner, std::uint32_t index) : face(owner, index, this) {}

  worker face;
  run_queue ring;
  // The stealable run-next slot. The owner takes it with exchange; thieves with CAS, and only
  // when the owner has been inside one activation for a while (see steal_work).
  cache_padded<std::atomic<task*>> lifo{nullptr};
  // The owner's current activation: when it began (clock_now scale, | 1 so it is never 0; 0
  // when not running a task or inside block_in_place) and its task. `start` is relaxed: a
  // heuristic for thieves and the long-activation watch (scheduler_blocking.cpp); `running` is
  // stored with release and loaded with acquire, so the watch may read the task's fields.
  // `reported`: the start of the last activation reported as long (a CAS claims it: once).
  struct activation_state {
    std::atomic<std::uint64_t> start{0};
    std::atomic<task*> running{nullptr};
    std::atomic<std::uint64_t> reported{0};
  };
  cache_padded<activation_state> activation;
  task_queue pinned;  // tasks pinned to this worker; never stolen
  parker park;

  // Owner-only state.
  std::uint32_t until_global = 1;  // next_task calls until the injection queue goes first
  std::uint32_t lifo_run = 0;      // activations taken from `lifo` in a row
  bool searching = false;
  bool woke_by_watchdog = false;
  bool watch_timeout = false;  // the last park ended by the long-activation watch's timeout
  // When the owner's last activation would count as long (its start + long_activation),
  // checked at the top of the next loop for one that no other worker reported. UINT64_MAX once
  // reported, while parked and after block_in_place (a loop top that comes after a spin and
  // no park is at most `spin` late, far below the 1 ms minimum).
  std::uint64_t long_deadline = UINT64_MAX;
  // When the task now running began (its `began`); 0 once the next loop top accounted for it.
  std::uint64_t run_began = 0;
  std::uint64_t rng = 0;
  bool dedicated = false;  // a detached actor's own thread: never steals, never stolen from
  bool retired = false;    // dedicated: its thread ends after the current task (owner only)
  std::atomic<bool> retired_flag{false};  // the same, for schedulers on other threads
  std::atomic<bool> finished{false};      // dedicated: its thread has returned (joinable now)
  std::thread thread;

  // Set under the sleepers mutex by whoever unparks this worker: whether it was counted as a
  // searcher when it was woken.
  bool woken_as_searcher = false;
  // A task handed straight to this parked worker by an outside thread (see hand_to_sleeper).
  // Written by the waker and taken by the owner, both under the sleepers mutex; the waker has
  // taken the worker off the sleepers list, so the owner wakes up and finds it.
  task* handed = nullptr;

  // Statistics: owner writes with relaxed load+store; anyone reads relaxed.
  struct counters {
    std::atomic<std::uint64_t> activations{0};
    std::atomic<std::uint64_t> steals{0};
    std::atomic<std::uint64_t> stolen_tasks{0};
    std::atomic<std::uint64_t> parks{0};
    std::atomic<std::uint64_t> wakeups{0};
    std::atomic<std::uint64_t> watchdog_rescues{0};
    std::atomic<std::uint64_t> inject_pops{0};
    std::atomic<std::uint64_t> handoffs{0};
    std::atomic<std::uint64_t> busy_ns{0};
  };
  cache_padded<counters> stats;
};

// Owner-written statistics are bumped with keel::detail::owner_add (no locked instruction).
using keel::detail::owner_add;

class scheduler_impl {
 public:
  scheduler_impl(const scheduler_config& cfg, task_runner& runner, scheduler* face);
  ~scheduler_impl();

  void start();
  void stop();
  std::uint64_t now() const noexcept;
  bool await(std::chrono::nanoseconds timeout, bool (*ready)(void*), void* ready_arg,
             void (*block)(void*, std::chrono::nanoseconds), void* block_arg);
  void schedule(task* t, std::uint32_t pin) noexcept;
  void add_timer(timer_node* n) noexcept;
  bool has_work_for(worker_core& c) noexcept;
  bool cancel_timer(timer_node* n) noexcept;

  // ---- blocking work (scheduler_blocking.cpp) ----
  result<std::uint32_t> start_dedicated(std::string_view name);
  void retire_dedicated() noexcept;
  void block_in_place(void (*fn)(void*), void* arg);
  // Dedicated workers, by pin - k_dedicated_pin. A slot is written under dedicated_mu_ and
  // read by schedule() with acquire; a retired worker stays in its slot until its thread is
  // joined (stop(), or the next start_dedicated()).
  static constexpr std::uint32_t k_max_dedicated = 4096;
  std::unique_ptr<std::atomic<worker_core*>[]> dedicated_;
  std::mutex dedicated_mu_;
  std::vector<std::unique_ptr<worker_core>> dedicated_owned_;  // guarded by dedicated_mu_
  std::atomic<std::uint32_t> dedicated_live_{0};

  scheduler_config cfg;
  task_runner& runner;
  // long_activation in ns (k_long_off: off -- far enough that start + it never comes and never
  // overflows), and how often the watch scans (half of it).
  static constexpr std::uint64_t k_long_off = std::uint64_t{1} << 62;
  std::uint64_t long_ns_ = k_long_off;
  std::uint64_t watch_period_ = 0;
  scheduler* face;
  std::uint32_t n_workers;
  std::vector<std::unique_ptr<worker_core>> workers;
  bool started = false;

  // ---- the deterministic executor (deterministic.cpp); unused by the work-stealing one ----
  bool deterministic_ = false;
  std::atomic<std::uint64_t> virtual_now_{0};  // the virtual clock (ns); moved by the driver
  std::unique_ptr<deterministic_executor> det_face_;
  bool det_run_one(task* want);
  task* det_next();
  std::size_t det_advance(std::chrono::nanoseconds d);
  std::size_t det_runnable();

 private:
  // The idle word packs {unparked workers : 32 | searching workers : 32}. Every change is a
  // seq_cst RMW and every check a seq_cst load: with the seq_cst RMWs that publish work, that
  // makes the store-buffering pattern safe (one side always sees the other).
  static constexpr std::uint64_t k_one_unparked = std::uint64_t{1} << 32;
  static constexpr std::uint64_t k_one_searching = 1;
  static std::uint32_t searching_of(std::uint64_t s) noexcept {
    return static_cast<std::uint32_t>(s);
  }
  static std::uint32_t unparked_of(std::uint64_t s) noexcept {
    return static_cast<std::uint32_t>(s >> 32);
  }

  // A worker thread's first and last steps: the thread-local worker, the heap, the runner's
  // per-worker state.
  void enter_worker(worker_core& c) noexcept;
  void leave_worker(worker_core& c) noexcept;
  void run_worker(worker_core& c) noexcept;
  void run_dedicated(worker_core& c) noexcept;
  void schedule_dedicated(task* t, std::uint32_t pin) noexcept;
  void join_retired_locked();  // under dedicated_mu_
  void stop_dedicated();
  // Long activations: a worker whose clock passes due_.watch scans the others.
  void watch_activations(std::uint64_t now) noexcept;
  void report_if_long(worker_core& w, std::uint64_t start, std::uint64_t now) noexcept;
  task* next_task(worker_core& c) noexcept;
  task* pop_global(worker_core& c) noexcept;
  task* pop_pinned(worker_core& c) noexcept;
  task* steal_work(worker_core& c) noexcept;
  void run_task(worker_core& c, task* t, bool pinned) noexcept;
  void schedule_local(worker_core& c, task* t) noexcept;
  void push_back_or_overflow(worker_core& c, task* t) noexcept;
  bool spin_for_work(worker_core& c) noexcept;
  task* park_worker(worker_core& c) noexcept;
  bool wake_sleeper(task* handed) noexcept;
  bool hand_to_sleeper(task* t) noexcept { return wake_sleeper(t); }
  bool has_local_work(worker_core& c) const noexcept;
  bool work_visible() const noexcept;
  bool try_become_searching(worker_core& c) noexcept;
  void stop_searching(worker_core& c) noexcept;
  void notify_parked() noexcept { (void)wake_sleeper(nullptr); }
  void unpark_specific(worker_core& target) noexcept;
  void poll_timers(worker_core& c) noexcept;
  std::uint64_t park_timeout(std::uint64_t now) const noexcept;
  std::uint64_t tick_floor(std::uint64_t ns) const noexcept;
  std::uint64_t tick_ceil(std::uint64_t ns) const noexcept;
  void refresh_next_timer() noexcept;

  void det_init();
  void det_start();
  void det_stop();
  bool det_driving_here() const noexcept;
  template <class F>
  void as_worker(F&& f);
  void det_collect(worker_core& c);
  void det_fire_due();
  bool det_step_to_timer(std::uint64_t limit);
  bool det_await(std::chrono::nanoseconds timeout, bool (*ready)(void*), void* arg);
  std::mutex drive_mu_;          // one driving thread at a time
  std::vector<task*> runnable_;  // oldest first; guarded by drive_mu_
  task* picked_ = nullptr;       // chosen by next(), run by the next run_one(); drive_mu_
  void det_prepare(worker_core& c);
  std::size_t det_pick();

  inject_queue inject_;
  cache_padded<std::atomic<std::uint64_t>> idle_{0};
  std::mutex sleepers_mu_;
  std::vector<std::uint32_t> sleepers_;  // parked workers; guarded by sleepers_mu_
  std::atomic<bool> shutdown_{false};

  std::mutex timer_mu_;
  timer_wheel wheel_;  // guarded by timer_mu_
  std::uint64_t start_ns_ = 0;
  std::uint64_t tick_ns_ = 1;
  std::uint64_t steal_min_age_ns_ = 0;  // cfg.steal_min_age (a thief leaves younger ring tasks)
  // Workers compare their cached tick with these between activations (relaxed: a stale value only
  // delays a poll by one loop). One line: both are read on every loop.
  //   timer: absolute time of the earliest armed timer (UINT64_MAX: none);
  //   watch: when the next long-activation scan is due (UINT64_MAX: the watch is off).
  struct alignas(k_cache_line) due_times {
    std::atomic<std::uint64_t> timer{UINT64_MAX};
    std::atomic<std::uint64_t> watch{UINT64_MAX};
  };
  due_times due_;
};

}  // namespace keel::sched
