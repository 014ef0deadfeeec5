// One activation of an actor: system messages first, then up to `budget` user messages, the
// time budget, or the last message queued when it began; then try to go idle. A stopped actor's
// end is in stop.cpp.
#include <algorithm>
#include <cstdint>
#include <exception>
#include <string>

#include "core/system_state.h"

#include <keel/core/actor.h>

namespace keel::detail {
namespace {

// Runs fn(); an exception it lets escape is caught here, in a small frame, into `out` (false).
template <class F>
[[gnu::noinline]] bool guarded(F&& fn, caught_exception& out) noexcept {
  try {
    fn();
    return true;
  } catch (const std::exception& ex) {
    capture_exception(out, &ex);
  } catch (...) {
    capture_exception(out, nullptr);
  }
  return false;
}

// Frees envelopes a lane is done with, returning them to the worker that allocated them.
struct lane_freer {
  core_local* l;  // the running worker's
  void operator()(envelope* e) const noexcept { free_envelope_at(l, e); }
};

// Token holder: gives up the token if both lanes are empty. `closed` marks a stopped actor.
bool try_go_idle(actor_cell* c, std::uintptr_t closed) noexcept {
  if (!system_lane_empty(*c)) return false;
  if (c->sys_tail != &c->sys_stub) {
    // Swap the system stub back in so no consumed envelope stays allocated while idle.
    mailbox_link* old = c->sys_tail;
    c->sys_stub.next.store(nullptr, std::memory_order_relaxed);
    mailbox_link* expected = old;
    if (!c->sys_head.compare_exchange_strong(expected, &c->sys_stub, std::memory_order_acq_rel,
                                             std::memory_order_acquire)) {
      return false;  // a system message raced in
    }
    c->sys_tail = &c->sys_stub;
    free_envelope_in(c->system, static_cast<envelope*>(old));
  }
  std::uintptr_t h = c->head.load(std::memory_order_acquire);
  if (h & k_sys) {
    // A system message was pushed since we looked: clear the flag and let the caller re-check.
    c->head.compare_exchange_strong(h, h & ~k_sys, std::memory_order_acq_rel,
                                    std::memory_order_acquire);
    return false;
  }
  mailbox_link* tail = c->tail;
  if ((h & ~k_bits) != reinterpret_cast<std::uintptr_t>(tail)) return false;  // more, or in flight
  if (tail != &c->stub) {
    // Swap the stub back in. No producer can be linking to the stub now: we moved past it only
    // after reading its link. (When the tail IS the stub, a producer may be linking to it this
    // very moment: its link must not be touched, and the CAS below fails for it.)
    c->stub.next.store(nullptr, std::memory_order_relaxed);
    c->tail = &c->stub;
  }
  // acq_rel: release publishes this activation's writes to the next token holder.
  if (c->head.compare_exchange_strong(h,
                                      reinterpret_cast<std::uintptr_t>(&c->stub) | k_idle | closed,
                                      std::memory_order_acq_rel, std::memory_order_acquire)) {
    if (tail != &c->stub) free_envelope_in(c->system, static_cast<envelope*>(tail));
    return true;  // the cell is no longer ours
  }
  c->tail = tail;
  return false;
}

#if !defined(KEEL_NO_HOOKS)
// The hooks' view of the delivery of `e` to `c` (payload left null: on_deliver sets it).
deliver_event delivered(actor_cell* c, std::uint32_t gen, const envelope* e, const actor_base* b,
                        std::uint64_t input_no) noexcept {
  deliver_event ev{actor_handle{c->slot, gen},
                   c->id,
                   e->type,
                   e->ops->name,
                   e->id,
                   e->correlation,
                   e->causation,
                   e->timestamp};
  ev.actor_type = c->system->type_name_of(c->type_index);
  ev.now = cached_now(c);
  ev.input_no = input_no;
  ev.actor = b;
  if (cell_extras* x = c->extras) {
    ev.rng = x->rng_ready ? &x->rng : nullptr;
    ev.recording_mark = &x->recording_mark;
    ev.actor_name_ptr = &x->name;  // (an address: nothing read here)
  }
  return ev;
}

// A reply or an ask's timeout that runs one of `c`'s ask continuations is an input too (replay
// serves it from the log): the hooks are told, with its kind, before the continuation runs.
[[gnu::noinline]] void tell_ask_input(actor_cell* c, std::uint32_t gen, envelope* e,
                                      const actor_base* b) noexcept {
  message_id ask_id = 0;
  bool timeout = false;
  if (!completes_pending_ask(c, e, ask_id, timeout)) return;
  cell_extras* x = try_extras_of(c);
  deliver_event ev = delivered(c, gen, e, b, x != nullptr ? ++x->hook_inputs : 0);
  ev.kind = timeout ? input_kind::ask_timeout : input_kind::reply;
  ev.causation = ask_id;
  ev.payload = timeout ? nullptr : e->payload();
  ev.flags = e->flags;
  for (const auto& h : c->system->hooks) {
    if (h->enabled()) h->on_deliver(ev);
  }
}
#endif

}  // namespace

cell_extras& extras_of(actor_cell* c) {
  if (c->extras == nullptr) c->extras = new cell_extras();
  return *c->extras;
}

actor_rng& rng_of(actor_cell* c) {
  cell_extras& x = extras_of(c);
  if (!x.rng_ready) {
    x.rng.reseed(actor_rng::seed_for(c->system->seed, c->id));
    x.rng_ready = true;
  }
  return x.rng;
}

cell_extras* try_extras_of(actor_cell* c) noexcept {
  if (c->extras == nullptr) c->extras = new (std::nothrow) cell_extras();
  return c->extras;
}

sched::run_result system_state::run(sched::task* t, sched::worker& w) noexcept {
  auto* c = static_cast<actor_cell*>(t);
  auto* l = static_cast<core_local*>(w.user_data());
  const lifecycle st0 = c->state.load(std::memory_order_relaxed);

  if (st0 == lifecycle::stopped || st0 == lifecycle::free) {
    // A stopped actor's late messages: dead letters, then go idle and closed.
    while (envelope* e = pop_lane(c->sys_tail, &c->sys_stub, lane_freer{l})) {
      drop_system(e, c);
    }
    while (envelope* e = pop_lane(c->tail, &c->stub, lane_freer{l})) {
      dead(e, c, dead_letter_reason::actor_stopped, false);
    }
    // Actors waiting for room in a bounded lane learn that it is gone (their next send does).
    // finalize_stop's seq_cst generation store precedes this seq_cst load (await_capacity,
    // bounded_lane.h).
    if (bounded_lane* b = c->bounded.load(std::memory_order_relaxed)) {
      if (b->waiting.load(std::memory_order_seq_cst) != 0) wake_capacity_waiters(c);
    }
    // A late message must not be scheduled onto a detached actor's thread once it has ended:
    // the next token holder (acquire on its exchange) reads this pin.
    c->pin = sched::k_any_worker;
    // The first time the stopped actor goes idle and closed, its slot goes back on the free list.
    const bool release = !c->released;
    const std::uint32_t last_gen = c->own_generation;
    const std::uint32_t slot = c->slot;
    c->released = true;
    if (!try_go_idle(c, k_closed)) {
      c->released = !release;
      return sched::run_result::yield;
    }
    if (release) {
      std::lock_guard<std::mutex> lock(table_mu);
      free_slots.push_back(free_slot{slot, last_gen});
    }
    // A detached actor's thread ends with it (its pin went back to the pool above).
    if (w.dedicated()) sched->retire_dedicated();
    return sched::run_result::done;
  }

  for (;;) {
    if (activate(c, w, l) == activation_outcome::yield) return sched::run_result::yield;
    // Nothing left. If this worker has nothing else to do either, keep the actor (and its
    // token) for a moment and watch its mailbox: a reply that comes back within the spin
    // budget is handled without going idle, scheduling or waking anyone.
    if (spin_for_mail(c, w)) continue;
    return try_go_idle(c, 0) ? sched::run_result::done : sched::run_result::yield;
  }
}

// Only pinned actors spin: an unpinned actor goes idle at once, so that its next sender
// schedules it onto the sender's own worker (the run-next slot), which keeps a request/response
// pair on one core -- faster than any cross-core hand-off. A pinned actor cannot move, and
// watching its mailbox saves the scheduling and the wake-up of each cross-core message.
bool system_state::spin_for_mail(actor_cell* c, sched::worker& w) noexcept {
  if (c->pin == sched::k_any_worker || c->pin >= sched::k_dedicated_pin) return false;
  const auto budget = static_cast<std::uint64_t>(w.owner().config().spin.count());
  if (budget == 0 || c->state.load(std::memory_order_relaxed) != lifecycle::running) return false;
  if (w.has_pending_work()) return false;
  const std::uint64_t deadline = w.refresh_clock() + budget;
  for (std::uint32_t i = 1;; ++i) {
    // acquire: pairs with the sender's release store of the link.
    if (c->tail->next.load(std::memory_order_acquire) != nullptr) return true;
    if ((i & 63) == 0) {
      // A system message, once linked. (The system lane's head shares the senders' cache
      // line: reading it would take the line from them; a push still in flight is seen on a
      // later turn, or by the idle CAS, which SYS makes fail.)
      if (c->sys_tail->next.load(std::memory_order_acquire) != nullptr) return true;
      if (w.has_pending_work()) return false;
      if (w.refresh_clock() >= deadline) return false;
    }
    sched::cpu_relax();
  }
}

// What a handler or a continuation asked for (stop_self, stash, unstash_all), done once it
// returned: the stash and unstash work here, out of the lane loop. Returns the request bits,
// plus k_kept when `e`'s payload moved into the stash (the caller must then not destroy it).
[[gnu::noinline]] std::uint8_t system_state::take_handler_requests(actor_cell* c, actor_base* b,
                                                                   envelope* e) noexcept {
  const std::uint8_t requests = runtime_access::take_requests(b);
  cell_extras* x = c->extras;  // stash() allocated it; unstash_all() without a stash has none
  if (requests & runtime_access::k_fail) {
    // fail() voids the rest: a stash() it made gives its room back.
    if (requests & runtime_access::k_stash) --x->user_stash_count;
    return runtime_access::k_fail;
  }
  bool kept = false;
  if (requests & runtime_access::k_stash) {
    kept = true;
    envelope* held = copy_envelope(this, e);
    if (held == nullptr) {
      --x->user_stash_count;
      dead(e, c, dead_letter_reason::out_of_memory, false);
    } else {
      e->ops->move_to(e->payload(), held->payload());
      e->ops->destroy(e->payload());
      held->flags |= envelope_flags::redelivered;  // the hooks saw it once already
      held->next.store(nullptr, std::memory_order_relaxed);
      if (x->user_stash_tail != nullptr) {
        x->user_stash_tail->next.store(held, std::memory_order_relaxed);
      } else {
        x->user_stash_head = held;
      }
      x->user_stash_tail = held;
    }
  }
  if (requests & runtime_access::k_unstash) unstash_to_front(c);
  return static_cast<std::uint8_t>(requests | (kept ? k_kept : 0));
}

void unstash_to_front(actor_cell* c) noexcept {
  cell_extras* x = c->extras;
  if (x == nullptr || x->user_stash_head == nullptr) return;
  // The user stash goes in front of the replay list, oldest first.
  x->user_stash_tail->next.store(x->stash_head, std::memory_order_relaxed);
  if (x->stash_head == nullptr) x->stash_tail = x->user_stash_tail;
  x->stash_head = x->user_stash_head;
  x->user_stash_head = nullptr;
  x->user_stash_tail = nullptr;
  x->user_stash_count = 0;
  c->mark(mark_stashed, true);
}

// A message that holds a slot of the actor's bounded lane is delivered: the slot is free again
// -- unless the message is one of the oldest that drop_oldest said to drop, which becomes a
// dead letter instead (false: do not hand it to the actor). Out of line: bounded lanes only.
[[gnu::noinline]] bool system_state::deliver_counted(actor_cell* c, envelope* e) noexcept {
  e->flags &= static_cast<std::uint8_t>(~envelope_flags::counted);
  if (!release_slot(c)) return true;
  dead(e, c, dead_letter_reason::mailbox_full, false);
  return false;
}

system_state::activation_outcome system_state::activate(actor_cell* c, sched::worker& w,
                                                        core_local* l) noexcept {
  l->running = c;
  // The state the helpers below share. They are lambdas; those the compiler keeps out of line
  // (the rare paths) get their closure built by every activation, one store per variable
  // captured: they capture this frame instead, two pointers each.
  struct frame {
    actor_cell* c;
    core_local* l;
    actor_base* b;  // the actor's object (a restart replaces it)
    std::uint32_t gen;
    bool stop = false;
    bool failed = false;
    // Why the actor stops: static text, or l->stop_text (a failure's). Empty: an ordinary
    // stop. (A std::string here would be built and destroyed by every activation.)
    std::string_view why;
  } f{c, l, c->behavior, c->own_generation};
  actor_base*& b = f.b;
  const std::uint32_t gen = f.gen;
  bool& stop = f.stop;
  bool& failed = f.failed;
  std::string_view& why = f.why;
#if !defined(KEEL_NO_HOOKS)
  if (any_hooks) {
    const std::string_view hook_type = type_name_of(c->type_index);
    lifecycle_event ev{actor_handle{c->slot, gen}, c->id, hook_type, {}};
    for (const auto& h : hooks) {
      if (h->enabled()) h->on_activation_begin(ev);
    }
  }
#endif

  // A failure (failure.h) while handling `e` (null: on_start, a directive): described (the
  // exception `caught`, `text`, or actor::fail()'s reason), counted, hooks told, an ask
  // answered; then held for its supervisor, or the actor stops. Exceptions are caught in small
  // frames (dispatch_caught, guarded): the unwinder's search through this large function's
  // tables would cost more than the rest of a restart.
  auto fail = [this, &f](envelope* e, failure_kind kind, caught_exception* caught,
                         const char* text = nullptr) {
    failure_report r = describe_failure(f.c, e, kind, caught, text);
    count(f.l, f.c->type_index, &counter_row::failures);
#if !defined(KEEL_NO_HOOKS)
    if (any_hooks) {
      lifecycle_event ev{actor_handle{f.c->slot, f.gen}, f.c->id, r.actor_type, r.text};
      ev.now = r.at;
      ev.actor_name = r.actor_name;
      ev.message = e != nullptr ? e->id : 0;
      ev.correlation = r.correlation;
      ev.causation = e != nullptr ? e->causation : 0;
      if (e != nullptr) ev.sender = e->sender;
      for (const auto& h : hooks) {
        if (h->enabled()) h->on_failure(ev);
      }
    }
#endif
    if (e != nullptr) answer_ask(e, errc::failed, r.text);
    f.failed = true;
    notify_links(f.c, true, r.text);
    // Whatever the handler asked for before it failed is void; give back the stash room it took.
    if (f.c->behavior != nullptr &&
        (runtime_access::take_requests(f.c->behavior) & runtime_access::k_stash)) {
      --f.c->extras->user_stash_count;
    }
    if (hold_failed(f.c, r)) return;  // held: its supervisor reports and decides
    diagnostic d;
    d.kind = diagnostic_kind::failure;
    d.actor = f.c->id;
    d.actor_type = r.actor_type;
    d.actor_name = std::move(r.actor_name);
    d.message_type = r.message_type;
    d.correlation = r.correlation;
    d.text = r.text;
    try {
      f.l->stop_text.assign("failed: ").append(r.text);
      f.why = f.l->stop_text;
    } catch (...) {
      f.why = "failed";
    }
    report(std::move(d));
    f.stop = true;
  };
  // on_start of a new actor object (a spawn's start, or a supervisor's restart).
  auto run_start = [&f, &fail]() {
    runtime_access::set_current(f.b, nullptr);
    if (!guarded([&] { f.b->on_start(); }, f.l->caught)) {
      fail(nullptr, failure_kind::start, &f.l->caught);
      return;
    }
    const std::uint8_t asked = runtime_access::take_requests(f.b);
    if (asked & runtime_access::k_fail) {
      fail(nullptr, failure_kind::start, nullptr);
    } else if (asked & runtime_access::k_stop) {
      f.stop = true;
    }
  };

  // System messages first. After draining, the SYS bit is cleared (so later user messages are
  // not flagged) and the lane drained once more: a push that raced the clear is not missed.
  auto drain_system = [this, &f, &fail, &run_start]() {
    bool popped = false;
    while (!f.stop) {
      envelope* e = pop_lane(f.c->sys_tail, &f.c->sys_stub, lane_freer{f.l});
      if (e == nullptr) break;
      popped = true;
      if (e->target_generation == f.gen && e->type == type_id_of<monitor_msg>()) {
        take_monitor_msg(f.c, e);
        continue;
      }
      if (e->target_generation == f.gen && e->type == type_id_of<link_msg>()) {
        std::string linked_failure;
        if (take_link_msg(f.c, e, linked_failure) && !f.c->marked(mark_held)) {
          fail(nullptr, failure_kind::linked, nullptr, linked_failure.c_str());
        }
        continue;
      }
      if (e->target_generation == f.gen && e->type == type_id_of<directive_msg>()) {
        switch (take_directive(f.c, e)) {
          case directive_step::nothing:
            break;
          case directive_step::resumed:
            f.failed = false;
            break;
          case directive_step::start:
            f.failed = false;
            f.b = f.c->behavior;
            run_start();
            break;
          case directive_step::stop:
            f.stop = f.failed = true;
            f.why = "stopped by its supervisor after a failure";
            break;
          case directive_step::kill:
            f.stop = f.failed = true;
            f.why = "killed by its supervisor";
            break;
          case directive_step::graceful:
            f.stop = true;
            break;
        }
        f.b = f.c->behavior;
        continue;
      }
      if (e->target_generation != f.gen || e->type != type_id_of<control_msg>()) {
        drop_system(e, f.c);
        continue;
      }
      const control what = e->as<control_msg>().what;
      e->ops->destroy(e->payload());
      switch (what) {
        case control::start:
          // The start message is the first on the system lane: nothing ran before it.
          f.c->state.store(lifecycle::running, std::memory_order_relaxed);
          run_start();
          break;
        case control::stop:
          f.stop = true;
          if (f.c->marked(mark_held)) f.failed = true;  // a failed object gets no on_stop
          break;
        case control::suspend:
          f.c->state.store(lifecycle::suspended, std::memory_order_relaxed);
          break;
        case control::resume:
          // A held actor waits for its supervisor's directive, not for resume().
          if (!f.c->marked(mark_held))
            f.c->state.store(lifecycle::running, std::memory_order_relaxed);
          break;
        case control::overflow:
          fail(nullptr, failure_kind::overflow, nullptr,
               "mailbox overflow: the bounded mailbox was full (policy fail)");
          break;
      }
    }
    return popped;
  };
  // The senders' line (head) is read only when SYS may be set (invariant 6): an activation
  // without system traffic leaves it in the senders' caches.
  auto run_system = [&]() __attribute__((always_inline)) {
    // Most activations have no system traffic: one load decides that here, without a call to
    // drain_system (which the compiler keeps out of line).
    if (!c->marked(mark_sys_dirty) &&
        c->sys_tail->next.load(std::memory_order_acquire) == nullptr) {
      return;
    }
    if (!drain_system() && !c->marked(mark_sys_dirty)) return;
    c->mark(mark_sys_dirty, false);
    std::uintptr_t h = c->head.load(std::memory_order_relaxed);
    bool cleared = false;
    while ((h & k_sys) != 0 && !cleared) {
      cleared = c->head.compare_exchange_weak(h, h & ~k_sys, std::memory_order_acq_rel,
                                              std::memory_order_relaxed);
    }
    if (cleared) drain_system();
  };

  // Set by the lane loop below; an unstash_all() sets them to end the activation after the
  // current message (the messages put back are handled first, at the next activation).
  std::uintptr_t snapshot = 0;  // the last message queued when the activation began
  bool budget_hit = false;
  // After a handler or a continuation that asked for something (actor_base::requests_ set):
  // a stop ends the actor, an unstash ends the activation after this message so that the
  // messages put back come before the rest of the lane (the next activation starts with
  // them). Returns whether `e`'s payload moved into the stash.
  auto after_requests = [&](envelope * e) __attribute__((always_inline)) {
    const std::uint8_t done = take_handler_requests(c, b, e);
    if (done & runtime_access::k_fail) {
      fail(e, failure_kind::fail_call, nullptr);
      return false;
    }
    if (done & runtime_access::k_stop) stop = true;
    if (done & runtime_access::k_unstash) {
      snapshot = reinterpret_cast<std::uintptr_t>(static_cast<mailbox_link*>(e));
      budget_hit = true;
    }
    return (done & k_kept) != 0;
  };
  // One user message: gen check, internal routing, dispatch; exceptions become failures.
  // Inlined into the lane loop: GCC stops doing it on its own when this grows (ring 3-5 % per
  // hop slower through the call).
  auto handle_user = [&](envelope * e) __attribute__((always_inline)) {
    if (e->target_generation != gen) [[unlikely]] {
      dead(e, c, dead_letter_reason::actor_stopped, false);
      return;
    }
    [[maybe_unused]] const std::uint8_t arrival_flags = e->flags;  // (timer bit cleared below)
    if (e->flags & (envelope_flags::timer | envelope_flags::is_reply | envelope_flags::internal |
                    envelope_flags::counted)) [[unlikely]] {
      if ((e->flags & envelope_flags::counted) && !deliver_counted(c, e)) return;
      if (e->flags &
          (envelope_flags::timer | envelope_flags::is_reply | envelope_flags::internal)) {
        if (e->flags & envelope_flags::timer) {
          auto* tm = static_cast<core_timer*>(e->aux);
          const bool cancelled = timer_cancelled(tm);
          release_timer(tm);
          e->flags &= static_cast<std::uint8_t>(~envelope_flags::timer);
          if (cancelled) {
            cancelled_timer_drops.fetch_add(1, std::memory_order_relaxed);
            e->ops->destroy(e->payload());
            return;
          }
        }
        // A continuation (an ask's reply or timeout) has no current message: sender(),
        // correlation() and stash() must not see the previous handler's envelope.
        runtime_access::set_current(b, nullptr);
#if !defined(KEEL_NO_HOOKS)
        if (any_hooks) tell_ask_input(c, gen, e, b);
#endif
        bool routed = false;
        if (!guarded([&] { routed = route_reply_or_timeout(c, e); }, l->caught)) {
          fail(e, failure_kind::exception, &l->caught);
          return;
        }
        if (routed) {
          // What the continuation asked for takes effect now, not at the next message. (It
          // cannot stash: it has no current message.)
          if (runtime_access::requests(b) != 0) [[unlikely]]
            (void)after_requests(e);
          return;
        }
      }
    }
    owner_add(l->counters[c->type_index].received);
#if !defined(KEEL_NO_HOOKS)
    std::uint64_t input_no = 0;
    if (any_hooks) {
      cell_extras* x = try_extras_of(c);
      input_no = x != nullptr ? ++x->hook_inputs : 0;
      deliver_event ev = delivered(c, gen, e, b, input_no);
      ev.payload = e->payload();
      ev.flags = arrival_flags;
      for (const auto& h : hooks) {
        if (h->enabled()) h->on_deliver(ev);
      }
    }
#endif
    l->current = e;
    runtime_access::set_current(b, e);
    const dispatch_result result = b->dispatch_caught(*e, l->caught);
    if (result == dispatch_result::threw) [[unlikely]]
      fail(e, failure_kind::exception, &l->caught);
#if !defined(KEEL_NO_HOOKS)
    if (any_hooks && result == dispatch_result::handled &&
        (runtime_access::requests(b) & runtime_access::k_fail) == 0) {
      deliver_event ev = delivered(c, gen, e, b, input_no);
      ev.flags = arrival_flags;
      for (const auto& h : hooks) {
        if (h->enabled()) h->on_handled(ev);
      }
    }
#endif
    l->current = nullptr;
    if (result == dispatch_result::unhandled) {
      dead(e, c, dead_letter_reason::unhandled_message, false);
      return;
    }
    // What the handler asked for: a load per message, the rest only when it asked.
    if (runtime_access::requests(b) != 0) [[unlikely]] {
      if (after_requests(e)) return;  // the payload moved into the stash
    }
    e->ops->destroy(e->payload());
  };

  // Holds a user message while suspended: moved into an owned envelope at the stash's end.
  auto stash = [this, &f](envelope* e) {
    cell_extras* extras = try_extras_of(f.c);
    envelope* held = extras != nullptr ? copy_envelope(this, e) : nullptr;
    if (held == nullptr) {
      dead(e, f.c, dead_letter_reason::out_of_memory, false);
      return;
    }
    e->ops->move_to(e->payload(), held->payload());
    e->ops->destroy(e->payload());
    // A held message keeps its bounded-lane slot until it is handled.
    held->flags |= static_cast<std::uint8_t>(e->flags & envelope_flags::counted);
    e->flags &= static_cast<std::uint8_t>(~envelope_flags::counted);
    held->next.store(nullptr, std::memory_order_relaxed);
    cell_extras& x = *extras;
    if (x.stash_tail != nullptr) {
      x.stash_tail->next.store(held, std::memory_order_relaxed);
    } else {
      x.stash_head = held;
    }
    x.stash_tail = held;
    f.c->mark(mark_stashed, true);
  };
  // Once running again, messages held while suspended come first (they are older).
  auto replay_stash = [&]() __attribute__((always_inline)) {
    if (!c->marked(mark_stashed)) return;  // (extras is on the senders' line: not read here)
    cell_extras& x = *c->extras;
    while (!stop && x.stash_head != nullptr &&
           c->state.load(std::memory_order_relaxed) == lifecycle::running) {
      auto* e = static_cast<envelope*>(x.stash_head);
      x.stash_head = e->next.load(std::memory_order_relaxed);
      if (x.stash_head == nullptr) {
        x.stash_tail = nullptr;
        c->mark(mark_stashed, false);
      }
      handle_user(e);
      free_envelope_in(this, e);  // stashed envelopes are owned, not in a lane
    }
  };

  run_system();
  std::uint64_t oldest = 0;
  std::uint32_t n = 0;
  if (!stop) {
    replay_stash();
    // The activation ends at the last message queued when it began. When the first message
    // has no successor yet it is that message, and the senders' line (head) is not read: a
    // receiver that keeps up with its senders handles one message per activation and would
    // otherwise pull their line away from them on every one. 0: no message was queued.
    if (mailbox_link* first = c->tail->next.load(std::memory_order_acquire)) {
      snapshot = first->next.load(std::memory_order_acquire) == nullptr
                     ? reinterpret_cast<std::uintptr_t>(first)
                     : c->head.load(std::memory_order_acquire) & ~k_bits;
    }
    const std::uint64_t started = w.now();
    const std::uint64_t time_budget = static_cast<std::uint64_t>(cfg.time_budget.count());
    while (!stop) {
      if (c->state.load(std::memory_order_relaxed) == lifecycle::suspended) {
        // Hold user messages, in order, until resume; the lane empties so the actor can idle.
        while (envelope* e = pop_lane(c->tail, &c->stub, lane_freer{l})) stash(e);
        break;
      }
      envelope* e = pop_lane(c->tail, &c->stub, lane_freer{l});
      if (e == nullptr) break;
      // An envelope from another core spans two lines: fetch the second (the payload) while
      // the first is read.
      __builtin_prefetch(reinterpret_cast<const char*>(e) + k_cache_line);
      // A system message pushed before `e` (e.g. suspend() then send() on one thread) takes
      // effect before `e`: its sender saw the SYS bit and flagged `e` (push_user), and the
      // acquire pop of `e` made the system push visible.
      if (e->flags & envelope_flags::after_system) [[unlikely]] {
        c->mark(mark_sys_dirty, true);  // SYS was set when `e` was pushed: clear it later
        if (!system_lane_empty(*c)) {
          run_system();
          if (stop) {
            dead(e, c, dead_letter_reason::actor_stopped, false);
            break;
          }
          if (c->state.load(std::memory_order_relaxed) == lifecycle::suspended) {
            stash(e);
            continue;
          }
          replay_stash();
          if (stop) {
            dead(e, c, dead_letter_reason::actor_stopped, false);
            break;
          }
        }
      }
      if (n == 0) oldest = e->timestamp;
      handle_user(e);
      ++n;
      if (reinterpret_cast<std::uintptr_t>(static_cast<mailbox_link*>(e)) == snapshot) break;
      if (n >= c->budget) {
        budget_hit = true;
        break;
      }
      if ((n & 7) == 0 && w.refresh_clock() - started >= time_budget) {
        budget_hit = true;
        break;
      }
    }
  }
  if (n > 0) {
    const std::uint64_t now = w.now();
    const std::uint64_t age = now > oldest ? now - oldest : 0;
    c->mailbox_age_us = static_cast<std::uint32_t>(std::min<std::uint64_t>(age / 1000, UINT32_MAX));
    const auto limit = static_cast<std::uint64_t>(cfg.mailbox_age_limit.count());
    if (limit != 0 && age > limit) [[unlikely]] {
      diagnostic d;
      d.kind = diagnostic_kind::mailbox_age;
      d.actor = c->id;
      d.actor_type = type_name_of(c->type_index);
      d.value = age;
      d.text = "mailbox age above the limit";
      report(std::move(d));
    }
  }
  c->mark(mark_backlog, budget_hit);
#if !defined(KEEL_NO_HOOKS)
  if (any_hooks) {
    const std::string_view hook_type = type_name_of(c->type_index);
    lifecycle_event ev{actor_handle{c->slot, gen}, c->id, hook_type, {}};
    for (const auto& h : hooks) {
      if (h->enabled()) h->on_activation_end(ev);
    }
  }
#endif
  l->running = nullptr;
  if (stop) {
    // (The text moves out of l->stop_text first: on_stop may run code that fails in turn.)
    const std::string text = why.data() == l->stop_text.data() ? std::move(l->stop_text) : "";
    finalize_stop(c, l, failed, !text.empty() ? text : why.empty() ? "stopped" : why);
    return activation_outcome::yield;  // the stopped path drains, closes and releases the cell
  }
  if (budget_hit) return activation_outcome::yield;
  return activation_outcome::drained;
}

}  // namespace keel::detail
