// The send path: envelope allocation (per-worker free lists in front of the allocator), the hook
// branch, the mailbox push and the schedule-on-idle, and the dead-letter slow path.
#include <cstring>
#include <new>

#include "core/system_state.h"

#include <keel/core/failure.h>
#include <keel/sched/worker.h>

namespace keel::detail {
namespace {

std::uint8_t class_for(std::size_t total) noexcept {
  for (std::uint8_t i = 0; i < k_class_count; ++i) {
    if (total <= k_size_classes[i]) return i;
  }
  return envelope::k_no_class;
}

// Slow path: the cache was empty (or there is none on this thread).
[[gnu::noinline]] envelope* allocate_envelope_slow(system_state* s, core_local* l,
                                                   std::size_t bytes) noexcept {
  if (s->cfg.alloc_fault && s->cfg.alloc_fault(alloc_site::envelope)) return nullptr;
  void* p = l != nullptr ? l->w->allocate(bytes) : sched::allocate_block(bytes);
  return static_cast<envelope*>(p);
}

message_id next_id(system_state* s, core_local* l) noexcept {
  if (l == nullptr) return s->next_message_id.fetch_add(1, std::memory_order_relaxed);
  if (l->next_id == l->id_limit) [[unlikely]] {
    constexpr message_id k_block = 1024;
    l->next_id = s->next_message_id.fetch_add(k_block, std::memory_order_relaxed);
    l->id_limit = l->next_id + k_block;
  }
  return l->next_id++;
}

}  // namespace

namespace {

// A freed block onto this worker's stack, or back to the allocator when the stack is full.
inline void cache_push(envelope_cache& c, void* block) noexcept {
  if (c.count < c.capacity) {
    c.slots[c.count++] = block;
  } else {
    sched::free_block(block);
  }
}

// Moves what other workers returned into this worker's caches. Owner only.
[[gnu::noinline]] bool refill_from_returns(core_local* l) noexcept {
  if (l->returned->load(std::memory_order_relaxed) == nullptr) return false;
  // acquire: pairs with the release CAS that pushed each batch (the envelopes' last writes).
  returned_batch* b = l->returned->exchange(nullptr, std::memory_order_acquire);
  while (b != nullptr) {
    returned_batch* below = b->below;
    envelope_cache& c = l->caches[b->size_class];
    // The head (the one line the other worker wrote) goes to the bottom: it is handed out last,
    // when the prefetch ahead of allocation has long brought it back. If the stack is full it
    // is freed, but only after its member list has been read.
    const bool head_kept = c.count < c.capacity;
    if (head_kept) c.slots[c.count++] = b;
    for (std::uint32_t i = 0; i < b->count; ++i) cache_push(c, b->members[i]);
    if (!head_kept) sched::free_block(b);
    b = below;
  }
  // The next allocations come from the top: start fetching their lines now.
  for (envelope_cache& c : l->caches) {
    for (std::uint32_t i = 1; i <= k_alloc_prefetch && i <= c.count; ++i) {
      prefetch_for_write(c.slots[c.count - i]);
    }
  }
  return true;
}

// Hands the full batches of `r` back to their owner: one CAS.
void return_batches(core_local* l, std::uint8_t origin, return_state& r) noexcept {
  auto& stack = *l->sys->locals[origin]->returned;
  returned_batch* top = stack.load(std::memory_order_relaxed);
  do {
    r.full_last->below = top;
    // release: our writes to these envelopes happen before the owner reuses them.
  } while (!stack.compare_exchange_weak(top, r.full, std::memory_order_release,
                                        std::memory_order_relaxed));
  r.full = r.full_last = nullptr;
  r.full_count = 0;
}

}  // namespace

envelope* new_envelope(system_state* s, std::size_t size) noexcept {
  core_local* l = s->local();
  const std::size_t total = sizeof(envelope) + size;
  const std::uint8_t cls = class_for(total);
  envelope* e = nullptr;
  if (l != nullptr && cls != envelope::k_no_class &&
      (l->caches[cls].count != 0 || (refill_from_returns(l) && l->caches[cls].count != 0))) {
    envelope_cache& c = l->caches[cls];
    e = static_cast<envelope*>(c.slots[--c.count]);
    // A few sends from now this block is written: start fetching its line (often in the cache
    // of the worker that returned it) now.
    if (c.count >= k_alloc_prefetch) prefetch_for_write(c.slots[c.count - k_alloc_prefetch]);
  } else {
    const std::size_t bytes = cls == envelope::k_no_class ? total : k_size_classes[cls];
    e = allocate_envelope_slow(s, l, bytes);
    if (e == nullptr) [[unlikely]] {
      count_send_oom(s);
      return nullptr;
    }
  }
  ::new (e) envelope();
  e->size_class = cls;
  e->id = next_id(s, l);
  if (l != nullptr && l->running != nullptr) {
    e->origin = l->index;
    actor_cell* self = l->running;
    e->sender = actor_handle{self->slot, self->own_generation};
    e->correlation = l->current != nullptr ? l->current->correlation : e->id;
    e->causation = l->current != nullptr ? l->current->id : 0;
    e->timestamp = l->w->now();
    owner_add(l->counters[self->type_index].sent);
  } else {
    e->origin = l != nullptr ? l->index : envelope::k_no_origin;
    e->correlation = e->id;
    e->timestamp = l != nullptr ? l->w->now() : s->sched->now();
    e->flags = l == nullptr ? envelope_flags::from_outside : 0;
  }
  return e;
}

void free_envelope(envelope* e) noexcept {
  const std::uint8_t cls = e->size_class;
  sched::worker* w = sched::worker::current();
  auto* l = w != nullptr ? static_cast<core_local*>(w->user_data()) : nullptr;
  if (cls != envelope::k_no_class && l != nullptr) {
    cache_push(l->caches[cls], e);
  } else {
    sched::free_block(e);
  }
}

void free_envelope_in(system_state* s, envelope* e) noexcept {
  core_local* l = s->local();
  if (l == nullptr) {
    free_envelope(e);
    return;
  }
  free_envelope_at(l, e);
}

void free_envelope_at(core_local* l, envelope* e) noexcept {
  const std::uint8_t cls = e->size_class;
  if (cls == envelope::k_no_class) {
    sched::free_block(e);
    return;
  }
  const std::uint8_t origin = e->origin;
  if (origin == l->index || origin == envelope::k_no_origin) {
    cache_push(l->caches[cls], e);
    return;
  }
  // Another worker's envelope: hand it back in a batch, so it is reused where it is allocated
  // (no cross-thread free into the allocator, one CAS per batch).
  return_state& r = l->returns[origin][cls];
  returned_batch* b = r.filling;
  if (b == nullptr) {
    b = r.filling = ::new (static_cast<void*>(e)) returned_batch();
    b->size_class = cls;
    return;
  }
  b->members[b->count++] = e;
  if (b->count < returned_batch::k_members) return;
  r.filling = nullptr;
  b->below = r.full;
  r.full = b;
  if (r.full_last == nullptr) r.full_last = b;
  if (++r.full_count == k_batches_per_return) return_batches(l, origin, r);
}

void free_batch(returned_batch* b) noexcept {
  for (std::uint32_t i = 0; i < b->count; ++i) sched::free_block(b->members[i]);
  sched::free_block(b);
}

void count_send_oom(system_state* s) noexcept {
  // Reported as a dead letter count of its own kind would need an envelope; count it globally.
  s->send_oom.fetch_add(1, std::memory_order_relaxed);
}

namespace {

// The hook slow path: subscribers decide (drop, delay, duplicate, redirect) before the push.
#if !defined(KEEL_NO_HOOKS)
[[gnu::noinline]] send_status deliver_hooked(system_state* s, actor_cell* c, std::uint32_t gen,
                                             envelope* e) noexcept;
#endif

inline send_status push_and_schedule(system_state* s, actor_cell* c, std::uint32_t gen,
                                     envelope* e) noexcept {
  if (c->generation.load(std::memory_order_relaxed) != gen) [[unlikely]] {
    s->dead(e, c, dead_letter_reason::actor_stopped, true);
    return send_status::dead_letter;
  }
  if (push_user(*c, e) & k_idle) s->sched->schedule(c, c->pin);
  return send_status::ok;
}

}  // namespace

namespace {

// A message built before its bounded target was checked (send_to, reply, ask, timer, inject):
// admitted by the lane's policy. A refused one cannot go back to its caller: it becomes a dead
// letter (mailbox_full), and an ask is answered with errc::full.
[[gnu::noinline]] send_status admit_built(actor_cell* c, std::uint32_t gen, envelope* e) noexcept {
  switch (reserve_slot(c, gen, true)) {
    case admission::uncounted:
      return send_status::ok;
    case admission::queued:
    case admission::evict:
      e->flags |= envelope_flags::counted;
      return send_status::ok;
    case admission::refused:
      e->target_generation = gen;
      c->system->dead(e, c, dead_letter_reason::mailbox_full, true);
      return send_status::full;
    case admission::overflow:
      return overflow_message(c, gen, e);
  }
  return send_status::ok;
}

}  // namespace

send_status deliver(actor_cell* c, std::uint32_t gen, envelope* e) noexcept {
  if (c == nullptr || e == nullptr) [[unlikely]] {
    if (e != nullptr) {
      e->ops->destroy(e->payload());
      free_envelope(e);
    }
    return send_status::dead_letter;
  }
  if (c->bounded.load(std::memory_order_relaxed) != nullptr &&
      !(e->flags & (envelope_flags::counted | envelope_flags::is_reply | envelope_flags::internal)))
      [[unlikely]] {
    const send_status st = admit_built(c, gen, e);
    if (st != send_status::ok) return st;
  }
  return deliver_admitted(c, gen, e);
}

send_status deliver_admitted(actor_cell* c, std::uint32_t gen, envelope* e) noexcept {
  system_state* s = c->system;
  e->target_generation = gen;
#if !defined(KEEL_NO_HOOKS)
  if (s->any_hooks) [[unlikely]]
    return deliver_hooked(s, c, gen, e);
#endif
  return push_and_schedule(s, c, gen, e);
}

send_status deliver_to(system_state* s, actor_handle to, envelope* e) noexcept {
  actor_cell* c = to.valid() ? s->cell_at(to.slot) : nullptr;
  if (c == nullptr) {
    s->dead(e, nullptr, dead_letter_reason::actor_stopped, true);
    return send_status::dead_letter;
  }
  return deliver(c, to.generation, e);
}

system_state* current_system() noexcept {
  sched::worker* w = sched::worker::current();
  if (w == nullptr) return nullptr;
  auto* l = static_cast<core_local*>(w->user_data());
  return l != nullptr ? l->sys : nullptr;
}

envelope* copy_envelope(system_state* s, envelope* src) noexcept {
  envelope* e = new_envelope(s, src->ops->size);
  if (e == nullptr) return nullptr;
  const std::uint8_t cls = e->size_class;
  const message_id id = e->id;
  e->ops = src->ops;
  e->type = src->type;
  e->sender = src->sender;
  e->correlation = src->correlation;
  e->causation = src->causation;
  e->timestamp = src->timestamp;
  e->target_generation = src->target_generation;
  e->prio = src->prio;
  e->flags = src->flags & static_cast<std::uint8_t>(~envelope_flags::counted);  // one slot each
  e->aux = src->aux;
  e->size_class = cls;
  e->id = id;
  return e;
}

namespace {

#if !defined(KEEL_NO_HOOKS)
send_status deliver_hooked(system_state* s, actor_cell* c, std::uint32_t gen,
                           envelope* e) noexcept {
  send_event ev;
  ev.sender = e->sender;
  ev.target = actor_handle{c->slot, gen};
  ev.type = e->type;
  ev.type_name = e->ops->name;
  ev.id = e->id;
  ev.correlation = e->correlation;
  ev.prio = e->prio;
  ev.copyable = e->ops->copy_to != nullptr;
  ev.sent_at = e->timestamp;
  ev.runtime = (e->flags & (envelope_flags::internal | envelope_flags::is_reply)) != 0 ||
               e->type == type_id_of<exit_signal>();
  for (const auto& h : s->hooks) {
    if (!h->enabled()) continue;
    const send_decision d = h->on_send(ev);
    if (ev.decision == send_decision::pass && d != send_decision::pass) ev.decision = d;
  }
  switch (ev.decision) {
    case send_decision::pass:
      return push_and_schedule(s, c, gen, e);
    case send_decision::drop:
      s->dead(e, c,
              ev.drop_reason == dead_letter_reason::quarantined
                  ? dead_letter_reason::quarantined
                  : dead_letter_reason::dropped_by_hook,
              true);
      return send_status::dropped;
    case send_decision::duplicate: {
      if (e->ops->copy_to == nullptr) {
        diagnostic d;
        d.kind = diagnostic_kind::hook_refused;
        d.message_type = e->ops->name;
        d.text = "a hook asked to duplicate a message type that cannot be copied";
        s->report(std::move(d));
        return push_and_schedule(s, c, gen, e);
      }
      envelope* dup = copy_envelope(s, e);
      if (dup != nullptr) {
        try {
          e->ops->copy_to(e->payload(), dup->payload());
          push_and_schedule(s, c, gen, dup);
        } catch (...) {
          free_envelope(dup);
        }
      }
      return push_and_schedule(s, c, gen, e);
    }
    case send_decision::redirect: {
      // The slot was reserved in this target's lane; the new target admits it afresh.
      if (e->flags & envelope_flags::counted) {
        e->flags &= static_cast<std::uint8_t>(~envelope_flags::counted);
        (void)release_slot(c);
      }
      actor_cell* to = ev.redirect_to.valid() ? s->cell_at(ev.redirect_to.slot) : nullptr;
      if (to == nullptr) {
        s->dead(e, c, dead_letter_reason::actor_stopped, true);
        return send_status::dead_letter;
      }
      e->target_generation = ev.redirect_to.generation;
      if (to->bounded.load(std::memory_order_relaxed) != nullptr &&
          !(e->flags & (envelope_flags::is_reply | envelope_flags::internal))) {
        const send_status st = admit_built(to, ev.redirect_to.generation, e);
        if (st != send_status::ok) return st;
      }
      return push_and_schedule(s, to, ev.redirect_to.generation, e);
    }
    case send_decision::delay: {
      // A timer's own message is fired under the wheel's lock: it cannot be re-armed there.
      if (e->flags & envelope_flags::timer) return push_and_schedule(s, c, gen, e);
      start_timer(c, gen, e, ev.delay, std::chrono::nanoseconds(0));
      return send_status::ok;
    }
  }
  return push_and_schedule(s, c, gen, e);
}
#endif  // !KEEL_NO_HOOKS

}  // namespace

send_status send_control(actor_cell* c, std::uint32_t gen, control what) noexcept {
  if (c == nullptr) return send_status::dead_letter;
  envelope* e = make_envelope(c->system, control_msg{what});
  if (e == nullptr) return send_status::out_of_memory;
  if (c->generation.load(std::memory_order_relaxed) != gen) {
    // Stopping (or suspending) an actor that has stopped: nothing to do, nothing to count.
    e->ops->destroy(e->payload());
    free_envelope(e);
    return send_status::dead_letter;
  }
  push_system_message(c, gen, e);
  return send_status::ok;
}

void push_system_message(actor_cell* c, std::uint32_t generation, envelope* e) noexcept {
  e->flags |= envelope_flags::internal;
  e->prio = priority::system;
  e->target_generation = generation;
  if (push_system(*c, e) & k_idle) c->system->sched->schedule(c, c->pin);
}

actor_id id_of(const actor_cell* c, std::uint32_t gen) noexcept {
  if (c == nullptr || c->generation.load(std::memory_order_acquire) != gen) return k_no_actor;
  return c->id;
}

std::uint64_t cached_now(actor_cell* c) noexcept {
  if (core_local* l = c->system->local()) return l->w->now();
  return c->system->sched->now();
}

}  // namespace keel::detail
