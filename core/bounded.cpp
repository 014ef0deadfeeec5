// Bounded user lanes (keel/core/mailbox.h, core/bounded_lane.h): admission, the slot given back
// at delivery, overflow, and the waiters of actor::await_capacity.
#include <utility>

#include "core/bounded_lane.h"
#include "core/system_state.h"

#include <keel/core/actor.h>

namespace keel::detail {
namespace {

std::uint32_t depth_of(std::uint64_t w) noexcept {
  return bounded_lane::held_of(w) - bounded_lane::surplus_of(w);
}

// Wake everyone once the depth is at or below this: a woken group then finds room.
std::uint32_t low_water(std::uint32_t capacity) noexcept {
  const std::uint32_t quarter = capacity / 4;
  return capacity - (quarter == 0 ? 1 : quarter);
}

}  // namespace

admission reserve_slot(actor_cell* c, std::uint32_t generation, bool apply_policy) noexcept {
  bounded_lane& b = *c->bounded.load(std::memory_order_relaxed);
  const std::uint32_t cap = b.capacity.load(std::memory_order_relaxed);
  if (cap == 0) return admission::uncounted;
  const overflow_policy policy = b.policy.load(std::memory_order_relaxed);
  std::uint64_t w = b.counts.load(std::memory_order_relaxed);
  for (;;) {
    std::uint64_t next = w + 1;
    admission a = admission::queued;
    if (depth_of(w) >= cap) {
      if (c->generation.load(std::memory_order_acquire) != generation) return admission::uncounted;
      if (!apply_policy || policy == overflow_policy::reject) {
        b.rejected.fetch_add(1, std::memory_order_relaxed);
        return admission::refused;
      }
      if (policy != overflow_policy::drop_oldest) {
        b.dropped_newest.fetch_add(1, std::memory_order_relaxed);
        return admission::overflow;
      }
      next += bounded_lane::k_one_surplus;
      a = admission::evict;
    }
    // seq_cst: a waiter that registers after this and reads the counts sees it (bounded_lane.h).
    if (b.counts.compare_exchange_weak(w, next, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
      return a;
    }
  }
}

void unreserve_slot(actor_cell* c, admission a) noexcept {
  bounded_lane& b = *c->bounded.load(std::memory_order_relaxed);
  const std::uint64_t undo = a == admission::evict ? 1 + bounded_lane::k_one_surplus : 1;
  const std::uint64_t w = b.counts.fetch_sub(undo, std::memory_order_seq_cst) - undo;
  if (b.waiting.load(std::memory_order_seq_cst) != 0 &&
      depth_of(w) <= low_water(b.capacity.load(std::memory_order_relaxed))) {
    wake_capacity_waiters(c);
  }
}

bool release_slot(actor_cell* c) noexcept {
  bounded_lane& b = *c->bounded.load(std::memory_order_relaxed);
  std::uint64_t w = b.counts.load(std::memory_order_relaxed);
  bool drop = false;
  for (;;) {
    drop = bounded_lane::surplus_of(w) != 0;
    const std::uint64_t next = w - 1 - (drop ? bounded_lane::k_one_surplus : 0);
    // seq_cst: ordered before the load of `waiting` below (bounded_lane.h).
    if (b.counts.compare_exchange_weak(w, next, std::memory_order_seq_cst,
                                       std::memory_order_relaxed)) {
      w = next;
      break;
    }
  }
  if (drop) b.dropped_oldest.fetch_add(1, std::memory_order_relaxed);
  if (b.waiting.load(std::memory_order_seq_cst) != 0 &&
      depth_of(w) <= low_water(b.capacity.load(std::memory_order_relaxed))) [[unlikely]] {
    wake_capacity_waiters(c);
  }
  return drop;
}

send_status overflow_message(actor_cell* c, std::uint32_t generation, envelope* e) noexcept {
  system_state* s = c->system;
  const bool fail =
      c->bounded.load(std::memory_order_relaxed)->policy.load(std::memory_order_relaxed) ==
      overflow_policy::fail;
  e->target_generation = generation;
  s->dead(e, c, dead_letter_reason::mailbox_full, true);
  if (fail) (void)send_control(c, generation, control::overflow);
  return send_status::full;
}

void wake_capacity_waiters(actor_cell* c) noexcept {
  bounded_lane& b = *c->bounded.load(std::memory_order_relaxed);
  std::vector<capacity_waiter> woken;
  {
    std::lock_guard<std::mutex> lock(b.mu);
    woken.swap(b.waiters);
    b.waiting.fetch_sub(static_cast<std::uint32_t>(woken.size()), std::memory_order_seq_cst);
  }
  system_state* s = c->system;
  for (const capacity_waiter& w : woken) {
    // A waiter that has stopped since needs no wake-up (and should not leave a dead letter;
    // one that stops between this check and the delivery still does, rarely).
    actor_cell* wc = s->cell_at(w.who.slot);
    if (wc == nullptr || wc->generation.load(std::memory_order_acquire) != w.who.generation) {
      continue;
    }
    envelope* e = make_envelope(s, capacity_msg{w.token});
    // No memory for the wake-up: the waiter's continuation never runs (counted as a failed send).
    if (e == nullptr) continue;
    e->flags |= envelope_flags::internal;
    deliver_to(s, w.who, e);
  }
}

void await_capacity(actor_cell* self, actor_cell* target, std::uint32_t generation,
                    std::function<void()> then) {
  system_state* s = self->system;
  cell_extras& x = extras_of(self);  // may throw std::bad_alloc (fails the handler)
  const std::uint64_t token = ++x.capacity_serial;
  x.capacity_waits.emplace(token, std::move(then));
  const actor_handle me{self->slot, self->own_generation};
  auto wake_now = [&] {
    envelope* e = make_envelope(s, capacity_msg{token});
    if (e == nullptr) {
      x.capacity_waits.erase(token);
      throw std::bad_alloc();
    }
    e->flags |= envelope_flags::internal;
    deliver_to(s, me, e);
  };
  bounded_lane* lane =
      target != nullptr ? target->bounded.load(std::memory_order_relaxed) : nullptr;
  if (lane == nullptr || lane->capacity.load(std::memory_order_relaxed) == 0 ||
      target->generation.load(std::memory_order_acquire) != generation) {
    wake_now();  // unbounded or gone: the next send tells
    return;
  }
  bounded_lane& b = *lane;
  {
    std::lock_guard<std::mutex> lock(b.mu);
    b.waiters.push_back(capacity_waiter{me, token});  // may throw: nothing registered then
    b.waiting.fetch_add(1, std::memory_order_seq_cst);
  }
  // seq_cst (the fetch_add above and these loads): the token holder's release_slot, and a
  // stop (finalize_stop's seq_cst generation store, then the stopped path's read of
  // `waiting`), either see `waiting` raised, or this sees their new count / generation.
  const std::uint64_t w = b.counts.load(std::memory_order_seq_cst);
  const bool room = depth_of(w) < b.capacity.load(std::memory_order_relaxed);
  const bool gone = target->generation.load(std::memory_order_seq_cst) != generation;
  if (room || gone) {
    wake_capacity_waiters(target);  // wakes us (and anyone else who waits: there is room)
    return;
  }
  b.waits.fetch_add(1, std::memory_order_relaxed);
}

bool run_capacity_continuation(actor_cell* c, envelope* e) {
  const std::uint64_t token = e->as<capacity_msg>().token;
  e->ops->destroy(e->payload());
  if (c->extras == nullptr) return true;
  auto it = c->extras->capacity_waits.find(token);
  if (it == c->extras->capacity_waits.end()) return true;
  std::function<void()> fn = std::move(it->second);
  c->extras->capacity_waits.erase(it);
  fn();  // a continuation that throws fails the actor, like a handler (the caller catches)
  return true;
}

void bind_bounded_lane(system_state* s, actor_cell* c, const mailbox_bound& bound,
                       std::unique_ptr<bounded_lane>& spare) noexcept {
  bounded_lane* b = c->bounded.load(std::memory_order_relaxed);
  if (b == nullptr) {
    if (bound.capacity == 0) return;
    b = spare.release();
    std::lock_guard<std::mutex> lock(s->table_mu);
    b->next_owned = s->bounded_lanes;
    s->bounded_lanes = b;
  }
  b->capacity.store(bound.capacity, std::memory_order_relaxed);
  b->policy.store(bound.policy, std::memory_order_relaxed);
  b->rejected.store(0, std::memory_order_relaxed);
  b->dropped_newest.store(0, std::memory_order_relaxed);
  b->dropped_oldest.store(0, std::memory_order_relaxed);
  b->waits.store(0, std::memory_order_relaxed);
  // Published by the generation's release store in spawn. Stale senders to the slot's past
  // incarnations may read it at any time: it never changes again.
  c->bounded.store(b, std::memory_order_relaxed);
}

mailbox_stats stats_of(const bounded_lane& b) noexcept {
  mailbox_stats m;
  m.capacity = b.capacity.load(std::memory_order_relaxed);
  m.policy = b.policy.load(std::memory_order_relaxed);
  m.depth = depth_of(b.counts.load(std::memory_order_acquire));
  m.rejected = b.rejected.load(std::memory_order_relaxed);
  m.dropped_newest = b.dropped_newest.load(std::memory_order_relaxed);
  m.dropped_oldest = b.dropped_oldest.load(std::memory_order_relaxed);
  m.waits = b.waits.load(std::memory_order_relaxed);
  return m;
}

}  // namespace keel::detail

namespace keel {

std::string_view to_string(overflow_policy p) noexcept {
  switch (p) {
    case overflow_policy::reject:
      return "reject";
    case overflow_policy::drop_newest:
      return "drop_newest";
    case overflow_policy::drop_oldest:
      return "drop_oldest";
    case overflow_policy::fail:
      return "fail";
  }
  return "unknown";
}

}  // namespace keel
