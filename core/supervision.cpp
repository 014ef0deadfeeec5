// Supervision, the child's side: a failed actor with a supervisor is held and reports; its
// supervisor's directives (resume, restart in place, halt, stop, kill) arrive on its system lane;
// its end is reported to its supervisor. The supervisor itself is core/supervisor*.cpp.
#include <cxxabi.h>

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>
#include <typeinfo>
#include <unordered_map>

#include "core/system_state.h"

#include <keel/core/actor.h>
#include <keel/core/throw_hook.h>

namespace keel::detail {
namespace {

// The demangled name of an exception type, from a process-wide table that keeps every name for
// the program's lifetime (a program has a fixed set of exception types), so that a report can
// hold a view. Each thread keeps its own index in front of the table: a crash loop throws the
// same types again and again, and takes neither the lock nor the demangler's allocation again.
std::string_view exception_type_name(const std::type_info& t) {
  thread_local std::unordered_map<const std::type_info*, std::string_view> seen;
  if (auto it = seen.find(&t); it != seen.end()) return it->second;
  static std::mutex mu;
  static std::unordered_map<const std::type_info*, std::string> names;  // nodes never move
  std::string_view name;
  {
    std::lock_guard<std::mutex> lock(mu);
    auto it = names.find(&t);
    if (it == names.end()) it = names.emplace(&t, demangle(t.name())).first;
    name = it->second;
  }
  if (seen.size() >= 256) seen.clear();  // (the views stay valid: they point into `names`)
  seen.emplace(&t, name);
  return name;
}

// The address of the object an exception_ptr holds (libstdc++ and libc++ both keep just that).
const void* object_of(const std::exception_ptr& p) noexcept {
  static_assert(sizeof(std::exception_ptr) == sizeof(void*));
  const void* obj = nullptr;
  std::memcpy(&obj, &p, sizeof obj);
  return obj;
}

// The token holder destroys the actor object; graceful: it did not fail, so on_stop runs first.
void drop_behavior(system_state* s, actor_cell* c, bool graceful) noexcept {
  actor_base* b = c->behavior;
  if (b == nullptr) return;
  if (graceful) {
    try {
      runtime_access::set_current(b, nullptr);
      b->on_stop();
      (void)runtime_access::take_requests(b);
    } catch (...) {
      diagnostic d;
      d.kind = diagnostic_kind::failure;
      d.actor = c->id;
      d.actor_type = s->type_name_of(c->type_index);
      d.text = "on_stop threw: " + describe_exception();
      s->report(std::move(d));
    }
  }
  b->~actor_base();
  sched::free_block(b);
  c->behavior = nullptr;
}

// What belonged to the old actor object and cannot outlive it: its asks' continuations and its
// capacity waits (they call into it). Its stash goes back in front of the mailbox.
// Pending continuations die before the object they belong to: one may hold something that
// refers to the object or its members (a circuit breaker's permit, keel/resilience).
void drop_pending_asks(actor_cell* c) noexcept {
  cell_extras* x = c->extras;
  if (x == nullptr) return;
  x->asks.drop_all();
}

void forget_object_state(actor_cell* c) noexcept {
  cell_extras* x = c->extras;
  if (x == nullptr) return;
  drop_pending_asks(c);
  x->capacity_waits.clear();
  x->failing.reset();
  unstash_to_front(c);
}

}  // namespace

void capture_exception(caught_exception& out, const std::exception* ex) noexcept {
  out.ptr = std::current_exception();
  out.type = abi::__cxa_current_exception_type();
  out.what = ex != nullptr ? ex->what() : "unknown exception";
}

owned_behavior::~owned_behavior() {
  if (p != nullptr) {
    p->~actor_base();
    sched::free_block(p);
  }
}

send_status send_directive(system_state* s, actor_handle child, directive_kind what,
                           owned_behavior fresh, std::string* restart_path) noexcept {
  actor_cell* c = child.valid() ? s->cell_at(child.slot) : nullptr;
  if (c == nullptr || c->generation.load(std::memory_order_acquire) != child.generation) {
    return send_status::dead_letter;  // (fresh is freed with it)
  }
  directive_msg m{what, std::move(fresh), {}};
  if (restart_path != nullptr) m.restart_path = std::move(*restart_path);
  envelope* e = make_envelope(s, std::move(m));
  if (e == nullptr) {
    count_send_oom(s);
    return send_status::out_of_memory;
  }
  // A cell that stops meanwhile drops it from its system lane (drop_system), freeing `fresh`.
  push_system_message(c, child.generation, e);
  return send_status::ok;
}

void tell_restart(system_state* s, actor_cell* c, std::uint32_t gen, std::string_view path,
                  bool new_incarnation) noexcept {
#if !defined(KEEL_NO_HOOKS)
  if (!s->any_hooks) return;
  lifecycle_event ev{actor_handle{c->slot, gen}, c->id, s->type_name_of(c->type_index), path};
  ev.now = cached_now(c);  // what the new object's on_start reads
  if (const cell_extras* x = c->extras) ev.actor_name = x->name;
  ev.new_incarnation = new_incarnation;
  for (const auto& h : s->hooks) {
    if (h->enabled()) h->on_restart(ev);
  }
#else
  (void)s;
  (void)c;
  (void)gen;
  (void)path;
  (void)new_incarnation;
#endif
}

failure_report system_state::describe_failure(actor_cell* c, envelope* e, failure_kind kind,
                                              caught_exception* caught, const char* text) noexcept {
  failure_report r;
  try {
    r.actor = actor_handle{c->slot, c->own_generation};
    r.id = c->id;
    r.actor_type = type_name_of(c->type_index);
    if (c->extras != nullptr) r.actor_name = c->extras->name;
    r.kind = kind;
    r.at = cached_now(c);
    if (e != nullptr) {
      r.message_type = e->ops->name;
      r.correlation = e->correlation;
    }
    if (caught != nullptr) {
      r.text = caught->what != nullptr ? caught->what : "unknown exception";
      r.exception = std::move(caught->ptr);
      caught->ptr = nullptr;
      if (caught->type != nullptr) r.exception_type = exception_type_name(*caught->type);
      // The throw hook's record, if it is this very exception's.
      throw_record& last = last_throw();
      if (last.object != nullptr && last.object == object_of(r.exception)) {
        r.trace = last.trace;
        r.origin = trace_origin::throw_site;
        last.object = nullptr;
      }
    } else if (text != nullptr) {
      r.text = text;
    } else if (c->extras != nullptr && c->extras->failing != nullptr) {
      pending_failure& f = *c->extras->failing;
      r.text = std::move(f.text);
      r.trace = f.trace;
      r.origin = trace_origin::fail_call;
      c->extras->failing.reset();
    } else {
      r.text = "fail() (no memory for the reason)";
    }
  } catch (...) {
    // No memory for a field: the report goes out with what it has.
  }
  return r;
}

bool system_state::hold_failed(actor_cell* c, failure_report& r) noexcept {
  const actor_handle parent = parent_of(c);
  if (!parent.valid() && c->extras != nullptr && c->extras->replay_hold &&
      !shutting_down.load(std::memory_order_acquire)) {
    c->state.store(lifecycle::suspended, std::memory_order_relaxed);  // until restart_for_replay
    c->mark(mark_held, true);
    return true;
  }
  if (!parent.valid() || shutting_down.load(std::memory_order_acquire)) return false;
  actor_cell* p = cell_at(parent.slot);
  if (p == nullptr || p->generation.load(std::memory_order_acquire) != parent.generation) {
    return false;  // its supervisor is gone: the actor stops
  }
  // (From here `r` is moved into the report message: the caller must not read it again.)
  envelope* e = make_envelope(this, child_failed{std::move(r)});
  if (e == nullptr) {
    count_send_oom(this);
    return false;
  }
  e->flags |= envelope_flags::internal;  // never refused by a bounded supervisor
  e->sender = actor_handle{c->slot, c->own_generation};
  c->state.store(lifecycle::suspended, std::memory_order_relaxed);
  c->mark(mark_held, true);
  // A supervisor that stops before it handles the report releases the child (release_orphan).
  (void)deliver_to(this, parent, e);
  return true;
}

system_state::directive_step system_state::take_directive(actor_cell* c, envelope* e) noexcept {
  auto& m = e->as<directive_msg>();
  const directive_kind what = m.what;
  owned_behavior fresh(m.fresh.release());
  std::string restart_path = std::move(m.restart_path);  // (noexcept: a move)
  e->ops->destroy(e->payload());
  const bool held = c->marked(mark_held);
  switch (what) {
    case directive_kind::resume:
      if (!held || c->behavior == nullptr) return directive_step::nothing;
      c->mark(mark_held, false);
      c->state.store(lifecycle::running, std::memory_order_relaxed);
      return directive_step::resumed;
    case directive_kind::restart:
      if (fresh.p == nullptr) return directive_step::nothing;
      drop_pending_asks(c);
      drop_behavior(this, c, !held);
      forget_object_state(c);
      c->behavior = fresh.release();
      c->mark(mark_held, false);
      c->state.store(lifecycle::running, std::memory_order_relaxed);
      // Told here, before the new object's on_start and its first input, so that whoever
      // records the actor sees its restart in its order (a replay restarts it at that point).
      if (!restart_path.empty()) tell_restart(this, c, c->own_generation, restart_path, false);
      return directive_step::start;
    case directive_kind::halt: {
      drop_pending_asks(c);
      drop_behavior(this, c, !held);
      forget_object_state(c);
      c->state.store(lifecycle::suspended, std::memory_order_relaxed);
      c->mark(mark_held, true);
      const actor_handle parent = parent_of(c);
      if (envelope* ack = make_envelope(this, child_halted{{c->slot, c->own_generation}})) {
        ack->flags |= envelope_flags::internal;
        ack->sender = actor_handle{c->slot, c->own_generation};
        (void)deliver_to(this, parent, ack);
      } else {
        count_send_oom(this);
      }
      return directive_step::nothing;
    }
    case directive_kind::stop:
      return directive_step::stop;
    case directive_kind::kill:
      return directive_step::kill;
    case directive_kind::shutdown: {
      if (held || c->behavior == nullptr) return directive_step::stop;
      if (!c->behavior->handles(type_id_of<exit_signal>())) return directive_step::graceful;
      // It traps exits: it decides when to stop (its supervisor kills it after the timeout).
      const actor_handle me{c->slot, c->own_generation};
      envelope* sig = nullptr;
      try {
        sig = make_envelope(this, exit_signal{parent_of(c), exit_reason::shutdown, std::string()});
      } catch (...) {
        sig = nullptr;
      }
      if (sig == nullptr) return directive_step::graceful;
      sig->sender = parent_of(c);
      (void)deliver_to(this, me, sig);
      return directive_step::nothing;
    }
  }
  return directive_step::nothing;
}

void system_state::tell_parent_exit(actor_cell* c, actor_handle who, bool failed,
                                    std::string_view why) noexcept {
  const actor_handle parent = parent_of(c);
  if (!parent.valid()) return;
  envelope* e = nullptr;
  try {
    e = make_envelope(this, child_exit{who, failed, std::string(why)});
  } catch (...) {
    e = nullptr;
  }
  if (e == nullptr) {
    count_send_oom(this);
    return;
  }
  e->flags |= envelope_flags::internal;
  e->sender = who;
  (void)deliver_to(this, parent, e);
}

void system_state::release_orphan(envelope* e) noexcept {
  (void)send_directive(this, e->as<child_failed>().report.actor, directive_kind::stop);
}

}  // namespace keel::detail

namespace keel {

// For actor classes that are not actor<Self, ...> (the runtime's own): the same catch, here.
detail::dispatch_result actor_base::dispatch_caught(envelope& e,
                                                    detail::caught_exception& out) noexcept {
  try {
    return dispatch(e) ? detail::dispatch_result::handled : detail::dispatch_result::unhandled;
  } catch (const std::exception& ex) {
    detail::capture_exception(out, &ex);
  } catch (...) {
    detail::capture_exception(out, nullptr);
  }
  return detail::dispatch_result::threw;
}

}  // namespace keel
