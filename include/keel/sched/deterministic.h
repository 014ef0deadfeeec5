// The deterministic executor: a scheduler built with executor_kind::deterministic has one worker
// and no thread. The thread that calls run_one(), run_until_idle() or advance() (or that waits in
// scheduler::await, as a blocking ask does) runs the activations, one at a time, in the order a
// delivery_policy picks, on a virtual clock that moves only when the driver moves it. The same
// tasks (actors) run unchanged under both executors: sends, timers and the worker interface are
// the same code; only who runs the worker loop differs. See docs/testing.md.
//
// Thread safety: any thread may drive, one at a time (a mutex serialises drivers); tasks run on
// the driving thread. Outside threads may schedule work at any time (it joins the runnable set
// at the next activation), but only a single driving thread gives a reproducible order.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

#include <keel/sched/task.h>

namespace keel::sched {

class scheduler_impl;

// Chooses which runnable task the deterministic executor runs next.
class delivery_policy {
 public:
  virtual ~delivery_policy() = default;
  // `runnable` holds every runnable task, oldest first (never empty). Returns the index of the
  // task to run next; an index past the end picks the oldest. Called on the driving thread.
  virtual std::size_t pick(std::span<task* const> runnable) noexcept = 0;
};

// The oldest runnable task first: the order in which tasks became runnable.
class fifo_policy final : public delivery_policy {
 public:
  std::size_t pick(std::span<task* const>) noexcept override { return 0; }
};

// A uniformly random runnable task from a seeded generator (SplitMix64): the same seed gives the
// same order, another seed (almost always) another one, once three or more tasks are runnable.
class seeded_random_policy final : public delivery_policy {
 public:
  explicit seeded_random_policy(std::uint64_t seed) noexcept : seed_(seed), state_(seed) {}
  std::size_t pick(std::span<task* const> runnable) noexcept override;
  std::uint64_t seed() const noexcept { return seed_; }

 private:
  std::uint64_t seed_;
  std::uint64_t state_;
};

// The driver's controls, from scheduler::deterministic() (nullptr on a work-stealing scheduler).
class deterministic_executor {
 public:
  deterministic_executor(const deterministic_executor&) = delete;
  deterministic_executor& operator=(const deterministic_executor&) = delete;

  // Runs one activation of the task the policy picks. False when nothing is runnable (a timer
  // that is not due yet does not count: see advance()).
  bool run_one();
  // The task the policy picks to run next, without running it: the next run_one() runs this
  // one. nullptr when nothing is runnable. (Test helpers look at its next message first.)
  task* next();
  // Runs one activation of `t` now, whatever the policy would pick, if `t` is runnable; false
  // if it is not.
  bool run(task* t);
  // Runs activations until nothing is runnable or `limit` have run; returns how many ran.
  std::size_t run_until_idle(std::size_t limit = SIZE_MAX);
  // Moves the virtual clock forward by `d`: runs what is runnable, then, for each timer due
  // within `d` in deadline order, sets the clock to its deadline (rounded up to the timer tick),
  // fires it and runs until idle; finally sets the clock to now + d. Returns the activations run.
  std::size_t advance(std::chrono::nanoseconds d);
  // The virtual clock, in nanoseconds on the scale of worker::now() and scheduler::now().
  std::uint64_t now() const noexcept;
  // Sets the virtual clock to `ns`, forwards or backwards, running nothing. Replay sets it to
  // each input's recorded now() before delivering it (recorded times from different workers
  // need not be in order). Timers due by then fire at the next activation; a move backwards
  // delays the timers due in between.
  void set_clock(std::uint64_t ns) noexcept;
  // How many tasks are runnable now (queued work collected so far included).
  std::size_t runnable();
  // Activations run so far.
  std::uint64_t activations() const noexcept;

 private:
  friend class scheduler_impl;
  explicit deterministic_executor(scheduler_impl* impl) noexcept : impl_(impl) {}
  scheduler_impl* impl_;
};

}  // namespace keel::sched
