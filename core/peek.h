// What an actor will handle next, for the deterministic executor's helpers (testing.cpp,
// scripted_policy.cpp). Only valid while nothing runs the actor: on the deterministic executor,
// on the driving thread between activations.
#pragma once

#include "core/system_state.h"

namespace keel::detail {

// The next user message `c` will handle, or nullptr: messages held while it was suspended come
// first (its next activation replays them), then its user lane. The stub is not a message.
inline envelope* next_user_message(actor_cell* c) noexcept {
  if (c->extras != nullptr && c->extras->stash_head != nullptr) {
    return static_cast<envelope*>(c->extras->stash_head);
  }
  mailbox_link* n = c->tail->next.load(std::memory_order_acquire);
  if (n == &c->stub) n = n->next.load(std::memory_order_acquire);
  return static_cast<envelope*>(n);
}

// Whether the next activation of `c` delivers a user message (not only system work such as its
// start or a stop, and not a suspended actor stashing what arrives).
inline bool delivers_next(actor_cell* c) noexcept {
  return c->state.load(std::memory_order_relaxed) != lifecycle::suspended &&
         next_user_message(c) != nullptr;
}

}  // namespace keel::detail
