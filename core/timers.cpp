// Timers of the actor layer: a sched::timer_node that delivers a message when it fires.
// References: the wheel holds one while armed, the handle one, each fired envelope one.
#include "core/system_state.h"

#include <keel/core/actor.h>

namespace keel::detail {

struct core_timer {
  sched::timer_node node;
  std::atomic<int> refs{1};
  std::atomic<bool> cancelled{false};
  system_state* sys = nullptr;
  actor_cell* target = nullptr;
  std::uint32_t generation = 0;
  envelope* prototype = nullptr;  // periodic: copied at each fire; one-shot: sent as is
};

namespace {

void fire(sched::timer_node* n, sched::worker* w) noexcept {
  auto* t = reinterpret_cast<core_timer*>(n);
  if (t->cancelled.load(std::memory_order_acquire) || t->prototype == nullptr) return;
  envelope* e = nullptr;
  if (t->node.period_ns != 0) {
    e = copy_envelope(t->sys, t->prototype);
    if (e == nullptr) return;
    try {
      t->prototype->ops->copy_to(t->prototype->payload(), e->payload());
    } catch (...) {
      free_envelope(e);
      return;
    }
  } else {
    e = std::exchange(t->prototype, nullptr);
  }
  e->flags |= envelope_flags::timer;
  e->aux = t;
  e->timestamp = w->now();  // the firing worker's tick (virtual under the deterministic executor)
  t->refs.fetch_add(1, std::memory_order_relaxed);
  deliver(t->target, t->generation, e);
}

void unlinked(sched::timer_node* n) noexcept { release_timer(reinterpret_cast<core_timer*>(n)); }

}  // namespace

timer_handle start_timer(actor_cell* target, std::uint32_t generation, envelope* prototype,
                         std::chrono::nanoseconds delay, std::chrono::nanoseconds period) noexcept {
  if (prototype == nullptr) return timer_handle();
  if (target == nullptr) {
    prototype->ops->destroy(prototype->payload());
    free_envelope(prototype);
    return timer_handle();
  }
  auto* t = new (std::nothrow) core_timer();
  if (t == nullptr) {
    target->system->dead(prototype, target, dead_letter_reason::out_of_memory, true);
    return timer_handle();
  }
  t->sys = target->system;
  t->target = target;
  t->generation = generation;
  t->prototype = prototype;
  t->node.fire = &fire;
  t->node.unlinked = &unlinked;
  t->node.deadline_ns = target->system->sched->now() +
                        static_cast<std::uint64_t>(std::max<std::int64_t>(0, delay.count()));
  t->node.period_ns = static_cast<std::uint64_t>(std::max<std::int64_t>(0, period.count()));
  t->refs.fetch_add(1, std::memory_order_relaxed);  // the wheel's
  t->sys->sched->add_timer(&t->node);
  return timer_handle(t);
}

timer_handle start_user_timer(actor_cell* owner, actor_cell* target, std::uint32_t generation,
                              envelope* prototype, std::chrono::nanoseconds delay,
                              std::chrono::nanoseconds period) noexcept {
#if !defined(KEEL_NO_HOOKS)
  if (prototype != nullptr && target != nullptr && target->system->any_hooks) [[unlikely]] {
    system_state* s = target->system;
    timer_event ev;
    if (owner != nullptr) {
      ev.owner = actor_handle{owner->slot, owner->own_generation};
      ev.owner_id = owner->id;
    }
    ev.target = actor_handle{target->slot, generation};
    ev.type = prototype->type;
    ev.type_name = prototype->ops->name;
    ev.correlation = prototype->correlation;
    ev.causation = prototype->causation;
    ev.delay = delay;
    ev.period = period;
    bool arm = true;
    for (const auto& h : s->hooks) {
      if (h->enabled() && !h->on_timer(ev)) arm = false;
    }
    if (!arm) {
      prototype->ops->destroy(prototype->payload());
      free_envelope(prototype);
      return timer_handle();
    }
  }
#else
  (void)owner;
#endif
  return start_timer(target, generation, prototype, delay, period);
}

bool cancel_timer(core_timer* t) noexcept {
  if (t->cancelled.exchange(true, std::memory_order_acq_rel)) return false;
  // A one-shot that already fired may still have its message queued: the cancelled flag drops
  // it at dispatch, but the call reports whether the timer was still armed.
  const bool was_armed = t->sys->sched->cancel_timer(&t->node);
  const bool periodic = t->node.period_ns != 0;
  return was_armed || periodic;
}

bool timer_cancelled(core_timer* t) noexcept {
  return t->cancelled.load(std::memory_order_acquire);
}

void release_timer(core_timer* t) noexcept {
  if (t == nullptr) return;
  if (t->refs.fetch_sub(1, std::memory_order_acq_rel) != 1) return;
  if (t->prototype != nullptr) {
    t->prototype->ops->destroy(t->prototype->payload());
    free_envelope(t->prototype);
  }
  delete t;
}

}  // namespace keel::detail
