// actor_base::stash(): the handler's request to keep its message (activation.cpp moves it into
// the stash once the handler returns, and unstash_all() puts the stash back in front).
#include "core/system_state.h"

namespace keel {

using detail::cell_extras;

status actor_base::stash() {
  if (current_ == nullptr) {
    return status(errc::invalid_argument, "stash() outside a message handler: nothing to stash");
  }
  if ((requests_ & k_request_stash) != 0) return status::ok();  // this message already
  cell_extras* x = detail::try_extras_of(cell_);
  if (x == nullptr) return status(errc::out_of_memory, "stash: no memory");
  const std::uint32_t cap =
      x->stash_capacity != 0 ? x->stash_capacity : cell_->system->cfg.stash_capacity;
  if (x->user_stash_count >= cap) {
    return status(errc::full, "stash full: " + std::to_string(cap) + " messages");
  }
  ++x->user_stash_count;
  requests_ |= k_request_stash;
  return status::ok();
}

std::size_t actor_base::stashed() const noexcept {
  return cell_->extras != nullptr ? cell_->extras->user_stash_count : 0;
}

}  // namespace keel
