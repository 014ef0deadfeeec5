// timer_wheel: a hierarchical hashed timer wheel (Varghese & Lauck; the layout of Tokio's
// time driver): 6 levels of 64 slots, level L slot s covering 64^L ticks, so one tick of 1 ms
// reaches about 2000 years. Insert and cancel are O(1); finding the next deadline looks at one
// 64-bit occupancy word per level.
//
// Invariants:
//   1. A linked node sits in the slot of level L = (highest differing bit of elapsed ^ when)/6,
//      slot (when >> 6L) & 63; its bit is set in occupied_[L].
//   2. when_tick_ > elapsed_ for every linked node (due nodes fire in the poll that finds them).
//
// Thread safety: none; scheduler_impl guards the wheel with its timer mutex.
#pragma once

#include <array>
#include <cstdint>

#include <keel/sched/timer.h>

namespace keel::sched {

class timer_wheel {
 public:
  static constexpr int k_levels = 6;
  static constexpr int k_slots = 64;
  static constexpr std::uint64_t k_no_deadline = UINT64_MAX;

  // Links `n` to fire at tick `when` (clamped to elapsed + 1).
  void insert(timer_node* n, std::uint64_t when) noexcept;
  // Unlinks `n`. REQUIRES: n->linked_.
  void remove(timer_node* n) noexcept;
  // Advances to tick `now`, calling fn(node) for each node whose tick has come, in deadline
  // order per slot. The node is unlinked before fn sees it (fn may re-insert it).
  template <class Fn>
  void advance(std::uint64_t now, Fn&& fn) noexcept {
    for (;;) {
      const std::uint64_t due = next_expiration_tick();
      if (due == k_no_deadline || due > now) break;
      expire(due, fn);
    }
    if (now > elapsed_) elapsed_ = now;
  }
  // The earliest tick at which something may be due (a lower bound for higher levels), or
  // k_no_deadline.
  std::uint64_t next_expiration_tick() const noexcept;
  std::uint64_t elapsed() const noexcept { return elapsed_; }
  bool empty() const noexcept { return count_ == 0; }
  std::uint64_t size() const noexcept { return count_; }

 private:
  struct slot_ref {
    int level;
    int slot;
    std::uint64_t deadline;
  };
  bool next_expiration(slot_ref* out) const noexcept;
  template <class Fn>
  void expire(std::uint64_t due, Fn& fn) noexcept {
    slot_ref r{};
    next_expiration(&r);
    elapsed_ = r.deadline;
    timer_node* list = take_slot(r.level, r.slot);
    while (list != nullptr) {
      timer_node* n = list;
      list = n->next_;
      n->next_ = n->prev_ = nullptr;
      if (n->when_tick_ <= elapsed_) {
        fn(n);
      } else {
        link(n);  // cascade to a finer level
      }
    }
    (void)due;
  }
  void link(timer_node* n) noexcept;
  timer_node* take_slot(int level, int slot) noexcept;
  static int level_for(std::uint64_t elapsed, std::uint64_t when) noexcept;

  std::uint64_t elapsed_ = 0;
  std::uint64_t count_ = 0;
  std::array<std::uint64_t, k_levels> occupied_{};
  std::array<std::array<timer_node*, k_slots>, k_levels> slots_{};
};

}  // namespace keel::sched
