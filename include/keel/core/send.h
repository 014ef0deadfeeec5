// The out-of-line half of sending: envelope allocation and delivery. Called by actor_ref and
// actor; applications use those instead.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <type_traits>
#include <utility>

#include <keel/core/cell.h>
#include <keel/core/envelope.h>
#include <keel/core/message.h>

namespace keel {

// The immediate outcome of a send. A send that returns anything but `ok` has already counted
// and reported its message (a dead letter, or an allocation failure).
enum class send_status : std::uint8_t {
  ok,             // queued (or handed to a hook that delays or redirects it)
  dead_letter,    // the target has stopped or the ref is empty: the message is a dead letter
  out_of_memory,  // the envelope could not be allocated (nothing was sent)
  dropped,        // a hook dropped it (counted as a dead letter with that reason)
};

namespace detail {

// Allocates an envelope for a payload of `size` bytes and fills its header from the calling
// context (sender, ids, correlation, causation, cached tick). nullptr if allocation failed (the
// failure is counted). Any thread. No lock; allocates only when the worker's cache is empty.
envelope* new_envelope(system_state* sys, std::size_t size) noexcept;
// Returns an envelope whose payload is already destroyed. Any thread.
void free_envelope(envelope* e) noexcept;
// Sends `e` (header and payload complete) to the incarnation `generation` of cell `c`: runs the
// send hooks, pushes, schedules on idle -> non-empty, or makes a dead letter. Consumes `e`.
send_status deliver(actor_cell* c, std::uint32_t generation, envelope* e) noexcept;
// The same for a handle in `sys` (replies, timers).
send_status deliver_to(system_state* sys, actor_handle to, envelope* e) noexcept;
// Counts an out-of-memory send.
void count_send_oom(system_state* sys) noexcept;

template <class M>
envelope* make_envelope(system_state* sys, M&& m) noexcept {
  using T = std::remove_cvref_t<M>;
  static_assert(message<T>, "not a message: declare `static constexpr std::string_view keel_name`");
  static_assert(fits_inline_alignment<T>, "message alignment above 16 bytes is not supported");
  envelope* e = new_envelope(sys, sizeof(T));
  if (e == nullptr) [[unlikely]]
    return nullptr;
  e->ops = &ops_of<T>;
  e->type = type_id_of<T>();
  ::new (e->payload()) T(std::forward<M>(m));
  return e;
}

template <class M>
send_status send_message(actor_cell* c, std::uint32_t generation, M&& m) noexcept {
  if (c == nullptr) [[unlikely]]
    return deliver(nullptr, 0, nullptr);
  envelope* e = make_envelope(c->system, std::forward<M>(m));
  if (e == nullptr) [[unlikely]]
    return send_status::out_of_memory;
  return deliver(c, generation, e);
}

}  // namespace detail
}  // namespace keel
