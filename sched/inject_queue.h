// inject_queue: a multi-producer multi-consumer queue of tasks with an exact-enough pending
// count. The scheduler has one global instance (work from non-worker threads, ring overflow) and
// one per worker for tasks pinned to it.
//
// Normally a moodycamel::ConcurrentQueue. Under TSan (KEEL_TSAN) it is a mutex + deque with the
// same interface, because moodycamel's TSan annotations are incomplete and TSan would report
// its internals; keel's own lock-free code stays checked.
//
// Memory ordering: push() makes the task visible, then bumps `pending` with a seq_cst RMW; a
// worker that reads pending() (seq_cst) > 0 before parking knows work exists even though
// moodycamel's try_dequeue may fail spuriously under contention. Everything written before
// push(t) is visible to whoever pops t.
//
// Thread safety: all methods, any thread. push may allocate (a new queue block); pop does not.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <keel/base/cache.h>
#include <keel/sched/task.h>

#if defined(KEEL_TSAN)
#include <deque>
#include <mutex>
#else
#include <concurrentqueue.h>
#endif

namespace keel::sched {

class inject_queue {
 public:
  void push(task* t) noexcept {
    enqueue_one(t);
    pending_->fetch_add(1, std::memory_order_seq_cst);
  }
  void push_bulk(task* const* ts, std::size_t n) noexcept {
    enqueue_many(ts, n);
    pending_->fetch_add(static_cast<std::int64_t>(n), std::memory_order_seq_cst);
  }
  // Pops up to `max` tasks into `out`; returns how many.
  std::size_t try_pop_bulk(task** out, std::size_t max) noexcept {
    if (pending_->load(std::memory_order_relaxed) <= 0) return 0;
    const std::size_t n = dequeue_many(out, max);
    if (n > 0) pending_->fetch_sub(static_cast<std::int64_t>(n), std::memory_order_relaxed);
    return n;
  }
  // Tasks pushed and not yet popped (may be transiently off by in-flight operations).
  std::int64_t pending() const noexcept { return pending_->load(std::memory_order_seq_cst); }

 private:
#if defined(KEEL_TSAN)
  void enqueue_one(task* t) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    q_.push_back(t);
  }
  void enqueue_many(task* const* ts, std::size_t n) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    q_.insert(q_.end(), ts, ts + n);
  }
  std::size_t dequeue_many(task** out, std::size_t max) noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    std::size_t n = 0;
    while (n < max && !q_.empty()) {
      out[n++] = q_.front();
      q_.pop_front();
    }
    return n;
  }
  std::mutex mu_;
  std::deque<task*> q_;
#else
  void enqueue_one(task* t) noexcept {
    while (!q_.enqueue(t)) {
      // Only fails when a block cannot be allocated; retrying is all a scheduler can do
      // without losing the task.
    }
  }
  void enqueue_many(task* const* ts, std::size_t n) noexcept {
    while (!q_.enqueue_bulk(ts, n)) {
    }
  }
  std::size_t dequeue_many(task** out, std::size_t max) noexcept {
    return q_.try_dequeue_bulk(out, max);
  }
  moodycamel::ConcurrentQueue<task*> q_;
#endif
  cache_padded<std::atomic<std::int64_t>> pending_{0};
};

}  // namespace keel::sched
