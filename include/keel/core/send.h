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
  full,           // the target's bounded mailbox had no room (see keel/core/mailbox.h)
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
// A bounded target admits `e` by its policy unless `e` is counted already (send_bounded) or is
// a reply, a timeout or a wake-up (never counted).
send_status deliver(actor_cell* c, std::uint32_t generation, envelope* e) noexcept;
// deliver() for a message that needs no admission: `c` and `e` are not null, and `c` has no
// bound or `e` holds its slot already (the send path, which checked the bound itself).
send_status deliver_admitted(actor_cell* c, std::uint32_t generation, envelope* e) noexcept;
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
  // A message type may declare `static constexpr keel::priority keel_priority` (high, normal or
  // low): hooks see it (the resilience layer sheds low, then normal, under pressure). The
  // mailbox itself stays FIFO.
  if constexpr (requires { T::keel_priority; }) {
    static_assert(T::keel_priority != priority::system,
                  "keel_priority: system is the runtime's own; use high, normal or low");
    e->prio = T::keel_priority;
  }
  ::new (e->payload()) T(std::forward<M>(m));
  return e;
}

// ---- bounded lanes (keel/core/mailbox.h; the lane's state is private, core/bounded_lane.h) ----

// What a sender may do with the message it is about to send to a bounded lane.
enum class admission : std::uint8_t {
  uncounted,  // send as usual, holding no slot: the incarnation is unbounded (its slot had a
              // bounded one before), or it has stopped (the message becomes a dead letter)
  queued,     // a slot is reserved: build the envelope, mark it counted, push it
  evict,      // drop_oldest on a full lane: the same, and the oldest will be dropped
  refused,    // full (reject policy, or try_send): send nothing, leave the message alone
  overflow,   // full (drop_newest, fail): the message becomes a dead letter
};
// Any thread. Reserves a slot in `c`'s bounded lane for incarnation `generation`. With
// `apply_policy` false (try_send) a full lane is always `refused` -- unless that incarnation
// has stopped: a full lane of a stopped actor is `uncounted`, so that the send reports a dead
// letter, not a full mailbox. Counts refusals. No lock, no allocation.
admission reserve_slot(actor_cell* c, std::uint32_t generation, bool apply_policy) noexcept;
// Any thread. Gives back the slot that admission `a` (queued or evict) reserved for a message
// that was never built.
void unreserve_slot(actor_cell* c, admission a) noexcept;
// The sender's half of `overflow`: `e` (built, not pushed) becomes a dead letter with reason
// mailbox_full; under the fail policy the actor is told to fail. Consumes `e`; returns full.
send_status overflow_message(actor_cell* c, std::uint32_t generation, envelope* e) noexcept;

// A send to a bounded lane: the slot first, so that a refused message is never moved from.
template <class M>
[[gnu::noinline]] send_status send_bounded(actor_cell* c, std::uint32_t generation, M&& m,
                                           bool apply_policy) noexcept {
  const admission a = reserve_slot(c, generation, apply_policy);
  if (a == admission::refused) return send_status::full;
  envelope* e = make_envelope(c->system, std::forward<M>(m));
  if (e == nullptr) [[unlikely]] {
    if (a == admission::queued || a == admission::evict) unreserve_slot(c, a);
    return send_status::out_of_memory;
  }
  if (a == admission::overflow) return overflow_message(c, generation, e);
  if (a != admission::uncounted) e->flags |= envelope_flags::counted;
  return deliver_admitted(c, generation, e);
}

// The system of the worker running this thread; nullptr on a thread that is no worker.
system_state* current_system() noexcept;

// A send to an empty ref. From a worker it is a dead letter like any other (counted, in the
// history, seen by the hooks with its sender and type: replay captures it as an output); from
// another thread there is no system to tell, and it is only refused.
template <class M>
[[gnu::noinline]] send_status send_to_nobody(M&& m) noexcept {
  system_state* s = current_system();
  if (s == nullptr) return deliver(nullptr, 0, nullptr);
  envelope* e = make_envelope(s, std::forward<M>(m));
  if (e == nullptr) return send_status::out_of_memory;
  return deliver_to(s, actor_handle{}, e);
}

// The send path. An unbounded target costs one predictable branch over the plain push.
template <class M>
send_status send_message(actor_cell* c, std::uint32_t generation, M&& m) noexcept {
  if (c == nullptr) [[unlikely]]
    return send_to_nobody(std::forward<M>(m));
  if (c->bounded.load(std::memory_order_relaxed) != nullptr) [[unlikely]]
    return send_bounded(c, generation, std::forward<M>(m), true);
  envelope* e = make_envelope(c->system, std::forward<M>(m));
  if (e == nullptr) [[unlikely]]
    return send_status::out_of_memory;
  return deliver_admitted(c, generation, e);
}

// try_send: like send_message, but a full bounded lane refuses whatever its policy.
template <class M>
send_status try_send_message(actor_cell* c, std::uint32_t generation, M&& m) noexcept {
  if (c != nullptr && c->bounded.load(std::memory_order_relaxed) != nullptr) [[unlikely]]
    return send_bounded(c, generation, std::forward<M>(m), false);
  return send_message(c, generation, std::forward<M>(m));
}

}  // namespace detail
}  // namespace keel
