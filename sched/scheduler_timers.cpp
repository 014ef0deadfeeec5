// The scheduler's timers: one timer wheel for all workers, polled by whichever worker sees a
// deadline pass (the others skip it while one polls). See docs/scheduler.md (Timers).
#include <mutex>

#include "sched/scheduler_impl.h"

namespace keel::sched {

std::uint64_t scheduler_impl::tick_floor(std::uint64_t ns) const noexcept {
  return ns <= start_ns_ ? 0 : (ns - start_ns_) / tick_ns_;
}

std::uint64_t scheduler_impl::tick_ceil(std::uint64_t ns) const noexcept {
  return ns <= start_ns_ ? 0 : (ns - start_ns_ + tick_ns_ - 1) / tick_ns_;
}

// REQUIRES: timer_mu_ held.
void scheduler_impl::refresh_next_timer() noexcept {
  const std::uint64_t tick = wheel_.next_expiration_tick();
  const std::uint64_t ns =
      tick == timer_wheel::k_no_deadline ? UINT64_MAX : start_ns_ + tick * tick_ns_;
  due_.timer.store(ns, std::memory_order_release);
}

void scheduler_impl::poll_timers(worker_core& c) noexcept {
  std::unique_lock<std::mutex> lock(timer_mu_, std::try_to_lock);
  if (!lock.owns_lock()) return;  // another worker is polling
  const std::uint64_t now = c.face.now();
  wheel_.advance(tick_floor(now), [&](timer_node* n) {
    n->fire(n, &c.face);
    if (n->period_ns != 0) {
      n->deadline_ns += n->period_ns;
      if (n->deadline_ns <= now) n->deadline_ns = now + n->period_ns;  // we fell behind: skip
      wheel_.insert(n, tick_ceil(n->deadline_ns));
    } else if (n->unlinked != nullptr) {
      n->unlinked(n);
    }
  });
  refresh_next_timer();
}

void scheduler_impl::add_timer(timer_node* n) noexcept {
  bool earlier = false;
  {
    std::lock_guard<std::mutex> lock(timer_mu_);
    const std::uint64_t before = due_.timer.load(std::memory_order_relaxed);
    wheel_.insert(n, tick_ceil(n->deadline_ns));
    refresh_next_timer();
    earlier = due_.timer.load(std::memory_order_relaxed) < before;
  }
  // A parked worker sleeps until the old deadline: wake one so it re-computes its timeout.
  if (earlier) {
    const std::uint64_t s = idle_->load(std::memory_order_seq_cst);
    if (unparked_of(s) == 0) {
      worker_core* target = nullptr;
      {
        std::lock_guard<std::mutex> lock(sleepers_mu_);
        if (!sleepers_.empty()) {
          target = workers[sleepers_.back()].get();
          sleepers_.pop_back();
          idle_->fetch_add(k_one_unparked, std::memory_order_seq_cst);
          target->woken_as_searcher = false;
        }
      }
      if (target != nullptr) target->park.unpark();
    }
  }
}

bool scheduler_impl::cancel_timer(timer_node* n) noexcept {
  std::lock_guard<std::mutex> lock(timer_mu_);
  if (!n->linked_) return false;
  wheel_.remove(n);
  refresh_next_timer();
  if (n->unlinked != nullptr) n->unlinked(n);
  return true;
}

}  // namespace keel::sched
