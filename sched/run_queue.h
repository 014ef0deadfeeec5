// run_queue: a worker's fixed 256-slot ring of tasks (Tokio's local queue, Go's runq).
//
// The owner pushes at the tail and pops FIFO at the head; any other worker may steal half of the
// queued tasks at once. `head` packs two u32 indices: `steal` (where an in-progress steal
// started) and `real` (the next task to take). They differ only while a thief copies tasks out;
// a second thief backs off then, and the owner keeps popping past `real`. Indices wrap; a u32
// pair in one u64 makes ABA on `head` impossible in practice (2^32 pushes between two loads).
//
// Invariants:
//   1. tail - steal <= k_capacity (u32 wrapping arithmetic): nothing is overwritten that a
//      thief may still be copying.
//   2. Slots in [real, tail) hold queued tasks; only the owner writes slots, only at tail.
//   3. Only the owner stores `tail`; owner and thieves move `head` by CAS.
//
// Each slot also keeps when its task was queued (the owner's cached tick), so a thief can leave
// tasks younger than a minimum age to their owner: a request's replica queued a few hundred
// nanoseconds ago is run sooner by the owner than by a thief, whose answer would cross cores.
//
// Thread safety: push_back/pop/overflow from the owner only; steal_into from any other worker;
// is_empty/len from anyone (a racy hint, except where a seq_cst caller says otherwise).
#pragma once

#include <atomic>
#include <cstdint>

#include <keel/base/cache.h>
#include <keel/sched/task.h>

namespace keel::sched {

class run_queue {
 public:
  static constexpr std::uint32_t k_capacity = 256;
  static constexpr std::uint32_t k_mask = k_capacity - 1;

  run_queue() {
    for (auto& s : slots_) s.store(nullptr, std::memory_order_relaxed);
    for (auto& s : stamps_) s.store(0, std::memory_order_relaxed);
  }

  // Owner only. Pushes `t`; returns false (and pushes nothing) when the ring is full, in which
  // case the caller moves half to the injection queue with take_half_for_overflow().
  // The tail store is a seq_cst RMW so that a following seq_cst load of the idle state forms the
  // store-buffering pair of the wake-up protocol (a thief that parks after us sees the task).
  // `queued_at`: the owner's cached tick (steal_into's minimum age compares with it).
  bool push_back(task* t, std::uint64_t queued_at = 0) noexcept {
    const std::uint32_t tail = tail_->load(std::memory_order_relaxed);  // we are the only writer
    const std::uint32_t steal = unpack_steal(head_->load(std::memory_order_acquire));
    if (tail - steal >= k_capacity) return false;
    slots_[tail & k_mask].store(t, std::memory_order_relaxed);
    stamps_[tail & k_mask].store(queued_at, std::memory_order_relaxed);
    tail_->exchange(tail + 1, std::memory_order_seq_cst);
    return true;
  }

  // Owner only. Claims the oldest k_capacity/2 tasks for the overflow path and copies them into
  // `out`; returns how many (0 if a thief is active, in which case the caller retries push).
  std::uint32_t take_half_for_overflow(task** out) noexcept;

  // Owner only. The oldest task, or nullptr.
  task* pop() noexcept {
    std::uint64_t head = head_->load(std::memory_order_acquire);
    for (;;) {
      const std::uint32_t steal = unpack_steal(head);
      const std::uint32_t real = unpack_real(head);
      if (real == tail_->load(std::memory_order_relaxed)) return nullptr;
      const std::uint32_t next_real = real + 1;
      const std::uint64_t next =
          steal == real ? pack(next_real, next_real) : pack(steal, next_real);
      // acq_rel: acquire pairs with a thief's release of `head`; release publishes our claim.
      if (head_->compare_exchange_weak(head, next, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
        return slots_[real & k_mask].load(std::memory_order_relaxed);
      }
    }
  }

  // Called by a thief: moves about half of this queue's tasks into `dst` (which the thief owns)
  // and returns one of them to run now, or nullptr if there was nothing to steal. With
  // `min_age` > 0 it steals nothing while the oldest task was queued less than `min_age` before
  // `now` (same clock as push_back's stamps; the stamp is a relaxed read, so a racing push may
  // make one decision early or late, never unsafe). Stolen tasks keep their stamps.
  task* steal_into(run_queue& dst, std::uint32_t* stolen, std::uint64_t now = 0,
                   std::uint64_t min_age = 0) noexcept;

  // Approximate number of queued tasks. seq_cst loads: the last searcher's re-check before it
  // parks relies on them (see scheduler.cpp, "wake-up protocol").
  std::uint32_t len() const noexcept {
    const std::uint32_t real = unpack_real(head_->load(std::memory_order_seq_cst));
    const std::uint32_t tail = tail_->load(std::memory_order_seq_cst);
    return tail - real;
  }
  bool is_empty() const noexcept { return len() == 0; }
  // Any thread, a racy hint: from when steal_into(.., now, min_age) would find a task old
  // enough (the oldest task's stamp + min_age), or UINT64_MAX when the queue is empty.
  std::uint64_t stealable_at(std::uint64_t min_age) const noexcept {
    const std::uint32_t real = unpack_real(head_->load(std::memory_order_acquire));
    if (tail_->load(std::memory_order_acquire) == real) return UINT64_MAX;
    return stamps_[real & k_mask].load(std::memory_order_relaxed) + min_age;
  }

 private:
  static std::uint32_t unpack_steal(std::uint64_t h) noexcept {
    return static_cast<std::uint32_t>(h >> 32);
  }
  static std::uint32_t unpack_real(std::uint64_t h) noexcept {
    return static_cast<std::uint32_t>(h);
  }
  static std::uint64_t pack(std::uint32_t steal, std::uint32_t real) noexcept {
    return (static_cast<std::uint64_t>(steal) << 32) | real;
  }
  std::uint32_t steal_into2(run_queue& dst, std::uint32_t dst_tail, std::uint64_t now,
                            std::uint64_t min_age) noexcept;

  cache_padded<std::atomic<std::uint64_t>> head_{0};
  cache_padded<std::atomic<std::uint32_t>> tail_{0};
  // Slots are atomics only so that a thief's copy is not a formal data race; all accesses are
  // relaxed and ordered by head/tail.
  std::atomic<task*> slots_[k_capacity];
  std::atomic<std::uint64_t> stamps_[k_capacity];  // when each slot's task was queued
};

}  // namespace keel::sched
