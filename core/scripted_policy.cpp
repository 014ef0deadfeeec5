#include "core/peek.h"

#include <keel/core/scripted_policy.h>

namespace keel {

using detail::actor_cell;

std::size_t scripted_policy::pick(std::span<sched::task* const> runnable) noexcept {
  // Tasks are actor cells (core/ schedules nothing else on its executor).
  for (std::size_t i = 0; i < runnable.size(); ++i) {
    if (!detail::delivers_next(static_cast<actor_cell*>(runnable[i]))) return i;
  }
  if (position_ < script_.size()) {
    const actor_id want = script_[position_];
    for (std::size_t i = 0; i < runnable.size(); ++i) {
      if (static_cast<actor_cell*>(runnable[i])->id == want) {
        ++position_;
        return i;
      }
    }
  }
  ++divergences_;
  if (!first_divergence_) first_divergence_ = position_;
  return 0;
}

}  // namespace keel
