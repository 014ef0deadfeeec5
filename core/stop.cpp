// An actor's end, and what becomes of the messages nobody will handle: finalize_stop (on_stop,
// the stash, pending asks, the name, the stop hook), dead letters (counted, kept in the
// history, reported to hooks, asks answered) and control messages for a past incarnation.
#include <exception>
#include <string>

#include "core/system_state.h"

#include <keel/core/actor.h>

namespace keel::detail {

std::string describe_exception() {
  try {
    throw;
  } catch (const std::exception& ex) {
    return ex.what();
  } catch (...) {
    return "unknown exception";
  }
}

// A control message (stop, suspend, resume) or a supervisor's directive for an incarnation that
// has stopped has nothing left to do: it is dropped, not counted as a dead letter. Anything else on
// the system lane is one.
void system_state::drop_system(envelope* e, actor_cell* c) noexcept {
  if (e->type == type_id_of<control_msg>() || e->type == type_id_of<directive_msg>()) {
    e->ops->destroy(e->payload());
    return;
  }
  if (e->type == type_id_of<monitor_msg>()) {
    answer_monitor_noproc(e, c);  // the watcher learns the actor had already stopped
    return;
  }
  if (e->type == type_id_of<link_msg>()) {
    answer_link_noproc(e, c);  // a linker learns the actor had already stopped
    return;
  }
  dead(e, c, dead_letter_reason::actor_stopped, false);
}

void system_state::dead(envelope* e, actor_cell* target, dead_letter_reason reason,
                        bool owned) noexcept {
  core_local* l = local();
  // A message that held a slot of its target's bounded lane gives it back.
  if ((e->flags & envelope_flags::counted) && target != nullptr) {
    e->flags &= static_cast<std::uint8_t>(~envelope_flags::counted);
    (void)release_slot(target);
  }
  // Counted against the type of the actor it was addressed to (a stopped cell keeps its type).
  if (target != nullptr) count(l, target->type_index, &counter_row::dead_letters);
  if (cfg.dead_letter_history > 0) {
    try {
      dead_letter d;
      d.target =
          target != nullptr ? actor_handle{target->slot, e->target_generation} : actor_handle{};
      if (target != nullptr) d.target_type = type_name_of(target->type_index);
      d.sender = e->sender;
      d.type_name = std::string(e->ops->name);
      d.id = e->id;
      d.correlation = e->correlation;
      d.reason = reason;
      std::lock_guard<std::mutex> lock(dl_mu);
      if (recent.size() >= cfg.dead_letter_history) recent.pop_front();
      recent.push_back(std::move(d));
    } catch (...) {
      // No memory for the history entry: the dead letter is still counted and reported below.
    }
  }
#if !defined(KEEL_NO_HOOKS)
  if (any_hooks) {
    dead_letter_event ev;
    ev.target =
        target != nullptr ? actor_handle{target->slot, e->target_generation} : actor_handle{};
    ev.sender = e->sender;
    ev.type = e->type;
    ev.type_name = e->ops->name;
    ev.id = e->id;
    ev.correlation = e->correlation;
    ev.reason = reason;
    for (const auto& h : hooks) {
      if (h->enabled()) h->on_dead_letter(ev);
    }
  }
#endif
  // Counted after the history and the hooks, with release: whoever reads the count (acquire)
  // also finds the history entry. Before the ask is answered, so an asker that got its error
  // sees the count.
  dead_letters.fetch_add(1, std::memory_order_release);
  if (e->flags & envelope_flags::expects_reply) {
    answer_ask(e,
               reason == dead_letter_reason::unhandled_message ? errc::unhandled_message
               : reason == dead_letter_reason::mailbox_full    ? errc::full
               : reason == dead_letter_reason::quarantined     ? errc::quarantined
               : reason == dead_letter_reason::dropped_by_hook ? errc::dropped
                                                               : errc::actor_stopped,
               std::string("request ") + std::string(e->ops->name) + ": " +
                   std::string(to_string(reason)));
  }
  if (e->flags & envelope_flags::timer) release_timer(static_cast<core_timer*>(e->aux));
  // A failure report no supervisor will read: the held child must not wait for ever.
  if (e->type == type_id_of<child_failed>()) release_orphan(e);
  e->ops->destroy(e->payload());
  if (owned) free_envelope(e);
}

void system_state::finalize_stop(actor_cell* c, core_local* l, bool failed,
                                 std::string_view why) noexcept {
  c->state.store(lifecycle::stopping, std::memory_order_relaxed);
  actor_base* b = c->behavior;
  if (!failed && b != nullptr) {
    try {
      runtime_access::set_current(b, nullptr);
      b->on_stop();
    } catch (...) {
      diagnostic d;
      d.kind = diagnostic_kind::failure;
      d.actor = c->id;
      d.actor_type = type_name_of(c->type_index);
      d.text = "on_stop threw: " + describe_exception();
      report(std::move(d));
    }
  }
  // Pending continuations die before the object (they may refer to it or its members; see
  // core/supervision.cpp); their timeouts must not fire into a dead letter.
  if (c->extras != nullptr) {
    c->extras->asks.drop_all();
  }
  if (b != nullptr) {
    b->~actor_base();
    sched::free_block(b);
    c->behavior = nullptr;
  }
  const std::uint32_t gen = c->own_generation;
  std::string name;
  std::vector<monitor_entry> watchers;
  if (c->extras != nullptr) {
    cell_extras& x = *c->extras;
    name = std::move(x.name);
    watchers = std::move(x.monitors);
    x.monitors.clear();
    x.demonitored.clear();
    // Messages held while suspended or put back by unstash_all, then the user's stash, become
    // dead letters, oldest first.
    for (mailbox_link** list : {&x.stash_head, &x.user_stash_head}) {
      while (*list != nullptr) {
        auto* e = static_cast<envelope*>(*list);
        *list = e->next.load(std::memory_order_relaxed);
        dead(e, c, dead_letter_reason::actor_stopped, true);
      }
    }
    x.stash_tail = nullptr;
    x.user_stash_tail = nullptr;
    x.user_stash_count = 0;
    c->mark(mark_stashed, false);
  }
  if (!name.empty()) {
    std::lock_guard<std::mutex> lock(names_mu);
    auto it = names.find(name);
    if (it != names.end() && it->second == actor_handle{c->slot, gen}) names.erase(it);
  }
#if !defined(KEEL_NO_HOOKS)
  if (any_hooks) {
    lifecycle_event ev;
    ev.actor = actor_handle{c->slot, gen};
    ev.id = c->id;
    const std::string_view type = type_name_of(c->type_index);
    ev.actor_type = type;
    ev.reason = why;
    ev.now = cached_now(c);
    ev.actor_name = name;
    for (const auto& h : hooks) {
      if (h->enabled()) h->on_stop(ev);
    }
  }
#else
  (void)why;
#endif
  count(l, c->type_index, &counter_row::stopped);
  // From here on every send to this incarnation is a dead letter. seq_cst (an xchg, once per
  // stop): ordered before the stopped path's read of a bounded lane's waiters (bounded.cpp).
  c->generation.store(0, std::memory_order_seq_cst);
  c->state.store(lifecycle::stopped, std::memory_order_release);
  live.fetch_sub(1, std::memory_order_acq_rel);
  c->released = false;  // (own_generation stays: the slot's next incarnation continues from it)
  // Its watchers learn it is gone, after the generation changed: a send in reply to the down
  // is a dead letter.
  if (!watchers.empty()) notify_monitors(std::move(watchers), {c->slot, gen}, failed, why);
  notify_links(c, failed, why);
  if (c->marked(mark_supervised)) {
    tell_parent_exit(c, {c->slot, gen}, failed, why);
    parent_word(c->slot)->store(0, std::memory_order_relaxed);
    c->mark(mark_supervised, false);
  }
}

}  // namespace keel::detail
