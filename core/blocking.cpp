// Blocking work at the actor layer: the long-handler report (the scheduler's long-activation
// watch, told what it means in actor terms) and the scheduler behind actor::block_in_place.
// Detached actors are spawned in system.cpp and retire their thread in activation.cpp.
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

}  // namespace keel::detail
