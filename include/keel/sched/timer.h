// keel::sched::timer_node: an entry of the scheduler's hierarchical timer wheel.
//
// The layer above embeds a timer_node in its own timer object and owns its memory. The wheel
// links the node while it is armed; it calls `fire` when the deadline passes and `unlinked` when
// it lets go of the node for good (after a one-shot fired, after cancel, or at shutdown), so the
// owner knows when it may free it. No thread per timer: workers poll the wheel between
// activations and park with a timeout at the next deadline.
//
// Thread safety: arm and cancel through scheduler::add_timer / cancel_timer from any thread.
// `fire` and `unlinked` run with the wheel's lock held, on a worker thread (or, for `unlinked`,
// the thread that cancelled or shut down); they must not call add_timer or cancel_timer.
#pragma once

#include <cstdint>

namespace keel::sched {

class worker;

struct timer_node {
  using fire_fn = void (*)(timer_node* self, worker* w) noexcept;
  using unlinked_fn = void (*)(timer_node* self) noexcept;

  fire_fn fire = nullptr;
  unlinked_fn unlinked = nullptr;
  std::uint64_t deadline_ns = 0;  // absolute, clock_now() scale
  std::uint64_t period_ns = 0;    // 0: one-shot; otherwise re-armed after each fire

  // Owned by the wheel while linked.
  timer_node* next_ = nullptr;
  timer_node* prev_ = nullptr;
  std::uint64_t when_tick_ = 0;
  std::uint8_t level_ = 0;
  std::uint8_t slot_ = 0;
  bool linked_ = false;
};

}  // namespace keel::sched
