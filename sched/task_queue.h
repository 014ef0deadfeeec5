// task_queue: an intrusive multi-producer single-consumer queue of tasks (Vyukov's node-based
// MPSC with a stub), linked through task::sched_next. Each worker has one for the tasks pinned
// to it: a push is one exchange, a pop needs no atomic RMW in the common case.
//
// moodycamel::ConcurrentQueue served here first, but a cross-thread hand-off through its
// implicit producers costs about 0.9 us each way on this 2-vCPU machine (measured: 1.87 us
// ping-pong p50 between two threads), which made pinned ping-pong 20x the raw reference.
//
// Thread safety: push() from any thread; pop() and empty() from the owning worker only.
// Memory ordering: everything written before push(t) is visible to the pop() that returns t
// (release store of the link, acquire load in pop). The head exchange is seq_cst: it is the
// publication half of the store-buffering pair with the owner's park (see scheduler.cpp).
#pragma once

#include <atomic>

#include <keel/base/cache.h>
#include <keel/sched/task.h>

namespace keel::sched {

class task_queue {
 public:
  task_queue() noexcept { tail_ = &stub_; }
  task_queue(const task_queue&) = delete;
  task_queue& operator=(const task_queue&) = delete;

  // Any thread. Never blocks, never allocates.
  void push(task* t) noexcept {
    t->sched_next.store(nullptr, std::memory_order_relaxed);
    task* prev = head_->exchange(t, std::memory_order_seq_cst);
    prev->sched_next.store(t, std::memory_order_release);  // pairs with pop()'s acquire
  }

  // Owner only. The oldest task, or nullptr if the queue is empty or its next push is still in
  // flight (a producer between its exchange and its link: retry later).
  task* pop() noexcept {
    task* tail = tail_;
    task* next = tail->sched_next.load(std::memory_order_acquire);
    if (tail == &stub_) {
      if (next == nullptr) return nullptr;
      tail_ = next;
      tail = next;
      next = next->sched_next.load(std::memory_order_acquire);
    }
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    if (tail != head_->load(std::memory_order_acquire)) return nullptr;  // push in flight
    push(&stub_);
    next = tail->sched_next.load(std::memory_order_acquire);
    if (next != nullptr) {
      tail_ = next;
      return tail;
    }
    return nullptr;
  }

  // Owner only. False if a task is queued or a push is in flight. seq_cst load of the head: the
  // check half of the store-buffering pair with push().
  bool empty() const noexcept {
    return tail_ == &stub_ && head_->load(std::memory_order_seq_cst) == &stub_;
  }

 private:
  cache_padded<std::atomic<task*>> head_{&stub_};
  task* tail_;  // owner only
  task stub_;
};

}  // namespace keel::sched
