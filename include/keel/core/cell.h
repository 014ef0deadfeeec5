// detail::actor_cell: the runtime's half of an actor -- its mailbox, identity and scheduling
// state. Cells live in the actor table (chunks that are never freed while the system lives) and
// are recycled with a new generation after an actor stops, so a stale actor_ref or sender
// handle always points at valid memory: a message for a past generation becomes a dead letter.
//
// The user's object (a subclass of keel::actor) is allocated separately; the cell points at it.
//
// Scheduling state. An actor's state is the pair (mailbox head bits, lifecycle):
//   1. IDLE bit set in `head`: nobody holds the actor's scheduling token; it is in no run queue.
//   2. IDLE bit clear: exactly one party holds the token -- it is queued in the scheduler
//      (scheduled) or a worker is running its activation (running).
//   3. A sender whose exchange on `head` returns a value with IDLE set has taken the token and
//      must schedule the actor: a send schedules at most once, exactly on idle -> non-empty.
//   4. Only the token holder pops messages, changes `tail`, `sys_tail`, or sets IDLE (by CAS,
//      which fails if any message arrived). After a successful CAS the holder must not touch
//      the cell again.
//   5. lifecycle: starting -> running <-> suspended -> stopping -> stopped. A suspended actor
//      runs system messages only; user messages wait in its stash. Stopped: every message is a
//      dead letter, the mailbox head carries CLOSED, and `generation` no longer matches any
//      live ref. Only the token holder changes lifecycle.
//   6. The SYS bit in `head` says a system message was pushed: it makes the holder's idle CAS
//      fail so that it re-checks the system lane first. The holder clears it only after it has
//      popped a system message or seen a user message flagged after_system (mark_sys_dirty), so
//      an activation with no system traffic never reads the senders' line to look for it.
//
// Thread safety: the first 64 bytes are shared with senders; the rest is token-holder only.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <keel/base/cache.h>
#include <keel/core/envelope.h>
#include <keel/core/ids.h>
#include <keel/sched/task.h>

namespace keel {
class actor_base;
class actor_system;
namespace detail {

struct system_state;
struct runtime_access;
struct cell_extras;
struct bounded_lane;

inline constexpr std::uintptr_t k_idle = 1;    // nobody holds the token
inline constexpr std::uintptr_t k_sys = 2;     // a system message was pushed
inline constexpr std::uintptr_t k_closed = 4;  // the actor stopped: everything is a dead letter
inline constexpr std::uintptr_t k_bits = 7;

enum class lifecycle : std::uint8_t { free, starting, running, suspended, stopping, stopped };

// Token-holder marks (actor_cell::marks): bits, so that the holder's state fits line 2.
enum cell_mark : std::uint8_t {
  mark_backlog = 1,      // the last activation ended by budget with messages left
  mark_sys_dirty = 2,    // SYS may be set in `head`: clear it at the next chance (invariant 6)
  mark_stashed = 4,      // extras->stash holds messages put aside while suspended
  mark_held = 8,         // failed (or halted) under a supervisor: suspended until its directive
  mark_supervised = 16,  // it has a supervisor (system_state::parents)
};

struct alignas(k_cache_line) actor_cell : sched::task {
  // ---- line 1: what senders write (head, sys_head) or read on every send. The token holder
  // reads nothing here on its fast path: a receiver on another core that touched this line per
  // message would pull it away from its senders, whose next exchange would then wait for it.
  std::atomic<std::uintptr_t> head{0};           // user lane: newest link | IDLE | SYS | CLOSED
  std::atomic<mailbox_link*> sys_head{nullptr};  // system lane: newest link
  std::atomic<std::uint32_t> generation{0};      // 0 while free; senders compare with their ref
  bool released = false;  // stopped, closed, and back on the free list (stopped path only)
  system_state* system = nullptr;
  actor_id id = k_no_actor;
  cell_extras* extras = nullptr;  // allocated on first need: name, stash, pending asks
  // The slot's bounded-lane counts, set by the slot's first bounded incarnation and never
  // changed after (core/bounded_lane.h; its capacity is 0 while the incarnation is unbounded).
  std::atomic<bounded_lane*> bounded{nullptr};
  // ---- line 2: the token holder's (stub.next is written by the first sender after idle; the
  // sender that takes the token reads `pin`; anyone may read `state`) ----
  alignas(k_cache_line) mailbox_link* tail = nullptr;
  mailbox_link* sys_tail = nullptr;
  mailbox_link stub;
  mailbox_link sys_stub;
  actor_base* behavior = nullptr;
  std::uint32_t mailbox_age_us = 0;  // of the oldest message dequeued in the last activation
  // This incarnation's generation (equal to `generation` while it lives), kept for the holder;
  // after the actor stops, the generation the slot's next incarnation continues from.
  std::uint32_t own_generation = 0;
  std::uint32_t slot = 0;
  std::uint32_t type_index = 0;                   // the actor type's counter row
  std::uint32_t pin = sched::k_any_worker;        // worker this actor is pinned to
  std::atomic<lifecycle> state{lifecycle::free};  // written by the holder, read by anyone
  std::uint8_t marks = 0;                         // cell_mark bits
  std::uint16_t budget = 64;                      // messages per activation

  bool marked(cell_mark m) const noexcept { return (marks & m) != 0; }
  void mark(cell_mark m, bool on) noexcept {
    marks = static_cast<std::uint8_t>(on ? (marks | m) : (marks & ~m));
  }

  actor_handle handle() const noexcept {
    return {slot, generation.load(std::memory_order_relaxed)};
  }
};

// offsetof on a class with a base is "conditionally supported"; GCC and clang support it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winvalid-offsetof"
static_assert(offsetof(actor_cell, tail) == k_cache_line,
              "sender-written fields and holder fields must sit on separate cache lines");
#pragma GCC diagnostic pop
static_assert(sizeof(actor_cell) == 2 * k_cache_line, "an actor cell is two cache lines");

// ---- mailbox operations (inline: they are the send and receive fast paths) ---------------------

// Any thread. Links `e` into the user lane. Returns the previous head's bits: IDLE set means the
// caller now holds the token and must schedule the actor. One exchange, no lock, no allocation.
inline std::uintptr_t push_user(actor_cell& c, envelope* e) noexcept {
  e->next.store(nullptr, std::memory_order_relaxed);
  // acq_rel: release publishes the envelope's fields to the consumer that follows the link;
  // acquire makes the token holder's earlier writes (its idle CAS) visible to a new holder.
  const std::uintptr_t prev = c.head.exchange(
      reinterpret_cast<std::uintptr_t>(static_cast<mailbox_link*>(e)), std::memory_order_acq_rel);
  // A system message is pending: tell the consumer through the envelope (which it reads anyway)
  // rather than making it re-read the contended head line for every message. Written before
  // the link's release store, so the consumer sees it.
  if (prev & k_sys) e->flags |= envelope_flags::after_system;
  reinterpret_cast<mailbox_link*>(prev & ~k_bits)->next.store(e, std::memory_order_release);
  return prev & k_bits;
}

// Any thread. Links `e` into the system lane and raises SYS on the user head, taking the token
// if the actor was idle. Returns the previous user-head bits (IDLE set: schedule it).
inline std::uintptr_t push_system(actor_cell& c, envelope* e) noexcept {
  e->next.store(nullptr, std::memory_order_relaxed);
  mailbox_link* prev = c.sys_head.exchange(e, std::memory_order_acq_rel);
  prev->next.store(e, std::memory_order_release);
  std::uintptr_t h = c.head.load(std::memory_order_relaxed);
  // acq_rel CAS: the holder's idle CAS either precedes it (we see IDLE and take the token) or
  // follows it (and fails because SYS changed the value).
  while (!c.head.compare_exchange_weak(h, (h & ~k_idle) | k_sys, std::memory_order_acq_rel,
                                       std::memory_order_relaxed)) {
  }
  return h & k_bits;
}

// Token holder. The next message of a lane, or nullptr. The returned envelope stays the lane's
// tail until the next pop or idle, which frees it (its payload must be destroyed by then).
template <class FreeFn>
inline envelope* pop_lane(mailbox_link*& tail, mailbox_link* stub, FreeFn&& free_env) noexcept {
  mailbox_link* t = tail;
  // acquire pairs with the sender's release store of the link.
  mailbox_link* next = t->next.load(std::memory_order_acquire);
  if (next == nullptr) return nullptr;
  tail = next;
  if (t != stub) free_env(static_cast<envelope*>(t));
  return static_cast<envelope*>(next);
}

// Token holder. True when the system lane has nothing (not even a push in flight).
inline bool system_lane_empty(const actor_cell& c) noexcept {
  return c.sys_tail->next.load(std::memory_order_acquire) == nullptr &&
         c.sys_head.load(std::memory_order_acquire) == c.sys_tail;
}

}  // namespace detail
}  // namespace keel
