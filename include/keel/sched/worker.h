// keel::sched::worker: what a task sees of the worker thread that runs it.
//
// A worker owns a run queue, a cached clock tick and an allocator heap. Everything here is
// owner-only (the worker's own thread) unless a method says otherwise; worker::current() is how
// code finds the worker it runs on.
#pragma once

#include <cstddef>
#include <cstdint>

#include <keel/sched/clock.h>
#include <keel/sched/fast_clock.h>
#include <keel/sched/task.h>

namespace keel::sched {

class scheduler;
class scheduler_impl;
struct worker_core;

// Per-worker statistics. Written by the owner with relaxed stores, readable by any thread with
// relaxed loads (values may be slightly stale).
struct worker_stats {
  std::uint64_t activations = 0;       // tasks run
  std::uint64_t steals = 0;            // steal operations that took at least one task
  std::uint64_t stolen_tasks = 0;      // tasks taken by those steals
  std::uint64_t parks = 0;             // times the worker parked on its futex
  std::uint64_t wakeups = 0;           // times it returned from park (notified or timed out)
  std::uint64_t watchdog_rescues = 0;  // timed-out parks after which work was found (lost wake-ups)
  std::uint64_t inject_pops = 0;       // tasks taken from the global injection queue
  std::uint64_t handoffs = 0;          // tasks an outside thread handed to this parked worker
  // Time inside activations, from the clock reads the worker loop makes anyway (the tick before
  // each task and the one at the top of the next loop): ns. Idle time is wall time minus this.
  std::uint64_t busy_ns = 0;
};

class worker {
 public:
  worker(const worker&) = delete;
  worker& operator=(const worker&) = delete;

  // The worker the calling thread is, or nullptr on any other thread. Any thread.
  static worker* current() noexcept { return tls_current_; }

  scheduler& owner() const noexcept { return *owner_; }
  // Pool workers: 0 .. worker_count()-1. A dedicated worker (a detached actor's thread):
  // k_dedicated_pin + its slot.
  std::uint32_t index() const noexcept { return index_; }
  bool dedicated() const noexcept { return index_ >= k_dedicated_pin; }

  // The cached clock tick in nanoseconds on the clock_now() scale; refresh_clock() re-reads it
  // from the worker's fast_clock (the TSC where there is an invariant one, see fast_clock.h).
  std::uint64_t now() const noexcept { return now_; }
  std::uint64_t refresh_clock() noexcept { return now_ = clock_.now(); }
  // Sets the cached tick directly (the deterministic executor's virtual clock).
  void set_clock(std::uint64_t t) noexcept { now_ = t; }

  // One pointer of per-worker state for the layer above (core/ keeps its envelope caches and
  // counter shards there). Set in task_runner::on_worker_start.
  void* user_data() const noexcept { return user_data_; }
  void set_user_data(void* p) noexcept { user_data_ = p; }

  // Allocates from this worker's heap (mimalloc builds) or malloc. Owner thread only. Returns
  // nullptr on failure. Memory may be freed from any thread with sched::free_block().
  void* allocate(std::size_t n) noexcept;

  // Owner only. Whether anything else waits for this worker: its run-next slot, ring or pinned
  // inbox, the injection queue, a due timer, or shutdown. For code that spins inside a task.
  bool has_pending_work() const noexcept;

  // Statistics, readable from any thread (relaxed, possibly stale).
  worker_stats stats() const noexcept;

  // Owner only. How long the last activation this worker finished took, in ns: from the tick
  // read before it to the one read at the top of the loop after it (no clock read of its own).
  // Valid from the start of the next activation on this worker; 0 before the first, and under
  // the deterministic executor (its clock does not move inside an activation).
  std::uint64_t last_activation_ns() const noexcept { return last_activation_ns_; }

 private:
  friend class scheduler;
  friend class scheduler_impl;
  friend struct worker_core;
  worker(scheduler* owner, std::uint32_t index, worker_core* core) noexcept
      : owner_(owner),
        local_of_(index >= k_dedicated_pin ? nullptr : owner),
        index_(index),
        core_(core) {}

  // constinit: no dynamic initialization, so reading it from another file is a plain TLS load
  // (no call to a TLS wrapper function).
  static constinit thread_local worker* tls_current_;

  scheduler* owner_;
  // The scheduler whose local queues a task this worker wakes goes to: its owner for a pool
  // worker; nullptr for a dedicated one, whose wake-ups go to the pool (the injection queue).
  scheduler* local_of_;
  std::uint32_t index_;
  worker_core* core_;
  std::uint64_t now_ = 0;
  std::uint64_t last_activation_ns_ = 0;
  fast_clock clock_;
  void* user_data_ = nullptr;
  void* heap_ = nullptr;  // mi_heap_t* in mimalloc builds
};

// Allocates n bytes on the calling thread: from the worker's heap when called on a worker,
// otherwise from the process allocator. Any thread. nullptr on failure.
void* allocate_block(std::size_t n) noexcept;
// Frees memory from allocate_block() or worker::allocate(). Any thread.
void free_block(void* p) noexcept;

}  // namespace keel::sched
