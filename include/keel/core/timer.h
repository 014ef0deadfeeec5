// keel::timer_handle: the handle of a timer started with actor::send_after / send_periodic or
// actor_system::send_after.
//
// cancel() is idempotent, and a cancelled timer never delivers: a message it fired that is still
// queued is dropped (not a dead letter) when it reaches the front of the mailbox.
//
// Thread safety: any thread may cancel; a handle is movable, not copyable.
#pragma once

#include <utility>

namespace keel {
namespace detail {
struct core_timer;
void release_timer(core_timer* t) noexcept;
bool cancel_timer(core_timer* t) noexcept;
}  // namespace detail

class timer_handle {
 public:
  timer_handle() noexcept = default;
  explicit timer_handle(detail::core_timer* t) noexcept : t_(t) {}
  timer_handle(timer_handle&& o) noexcept : t_(std::exchange(o.t_, nullptr)) {}
  timer_handle& operator=(timer_handle&& o) noexcept {
    std::swap(t_, o.t_);
    return *this;
  }
  ~timer_handle() { detail::release_timer(t_); }

  // Stops the timer. Returns true if this call cancelled it (it had not fired for the last time
  // and was not cancelled before). Dropping the handle does NOT cancel the timer.
  bool cancel() noexcept { return t_ != nullptr && detail::cancel_timer(t_); }
  bool valid() const noexcept { return t_ != nullptr; }

 private:
  detail::core_timer* t_ = nullptr;
};

}  // namespace keel
