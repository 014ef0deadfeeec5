// Blocking work at the actor layer: the long-handler report (the scheduler's long-activation
// watch, told what it means in actor terms) and the scheduler behind actor::block_in_place.
// Detached actors' thread state is here; they are spawned in system.cpp and retire their thread
// in activation.cpp.
#include <algorithm>
#include <memory>
#include <string>

#include "core/system_state.h"

#include <keel/core/actor.h>

namespace keel::detail {

void system_state::on_long_activation(std::uint32_t worker_index, sched::task* t,
                                      std::uint64_t elapsed_ns) noexcept {
  if (t == nullptr) return;
  auto* c = static_cast<actor_cell*>(t);
  try {
    diagnostic d;
    d.kind = diagnostic_kind::long_handler;
    // Read while the actor runs, or just after its activation ended (a report by its own
    // worker): id and type stay as they are until the cell is released and reused, which only
    // an activation that ended the actor lets happen (and then the report may name the next
    // actor of that slot: a diagnostic, not a decision).
    d.actor = c->id;
    d.actor_type = type_name_of(c->type_index);
    d.value = elapsed_ns;
    d.text = "a handler has run for " + std::to_string(elapsed_ns / 1'000'000) + " ms on worker " +
             std::to_string(worker_index) +
             " (scheduler_config::long_activation); the actors queued behind it wait. Use "
             "block_in_place() or a detached actor for blocking work";
    report(std::move(d));
  } catch (...) {
    // No memory for the report: nothing else to do.
  }
}

sched::scheduler& scheduler_of(actor_cell* c) noexcept { return *c->system->sched; }

void system_state::start_detached_local(sched::worker& w) noexcept {
  // State of its own, kept apart from the pool's (its envelopes never return here: index
  // k_no_origin), counted in counters() until it stops.
  core_local* l = nullptr;
  try {
    std::unique_ptr<core_local> owned = make_local(envelope::k_no_origin);
    owned->w = &w;
    std::lock_guard<std::mutex> lock(dedicated_mu);
    dedicated_locals.push_back(owned.get());
    l = owned.release();
  } catch (...) {
    l = nullptr;
  }
  w.set_user_data(l);
  if (l != nullptr) return;
  // Without its state the thread cannot run the actor: it ends at once, and the pool runs the
  // actor instead (scheduler::schedule sends a retired pin's tasks there).
  sched->retire_dedicated();
  diagnostic d;
  d.kind = diagnostic_kind::failure;
  d.text = "no memory for a detached actor's thread state: the actor runs on the pool";
  report(std::move(d));
}

void system_state::stop_detached_local(sched::worker& w) noexcept {
  auto* l = static_cast<core_local*>(w.user_data());
  w.set_user_data(nullptr);
  if (l == nullptr) return;
  {
    std::lock_guard<std::mutex> lock(dedicated_mu);
    dedicated_locals.erase(std::find(dedicated_locals.begin(), dedicated_locals.end(), l));
    // Its counts live on in the shared shard.
    for (std::uint32_t i = 0; i < cfg.max_actor_types; ++i) {
      const counter_row& r = l->counters[i];
      counter_row& x = external_rows[i];
      for (auto f : {&counter_row::received, &counter_row::sent, &counter_row::failures,
                     &counter_row::dead_letters, &counter_row::spawned, &counter_row::stopped}) {
        const std::uint64_t v = (r.*f).load(std::memory_order_relaxed);
        if (v != 0) (x.*f).fetch_add(v, std::memory_order_relaxed);
      }
    }
  }
  free_held_envelopes(l);  // its returns to other workers and its own cache
  delete l;
}

}  // namespace keel::detail
