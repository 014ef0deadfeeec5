// detail::bounded_lane: the admission state of a bounded user lane (keel/core/mailbox.h).
//
// The messages themselves stay in the actor's ordinary intrusive lane (cell.h): a bounded lane
// only counts them. A sender reserves a slot before it builds its envelope (so that a refused
// message is never moved from), marks the envelope `counted`, and pushes it as usual; the slot
// is given back when the actor's handler receives the message, or when the message becomes a
// dead letter. Replies, ask timeouts and capacity wake-ups are not counted.
//
// One 64-bit word holds the two counts, so that each change is one CAS and the depth is exact:
//   low 32 bits  `held`: counted messages alive (reserved, queued, or held while suspended);
//   high 32 bits `surplus`: drop_oldest only -- how many of the oldest of them are to be
//                dropped instead of handled (always <= held).
// depth = held - surplus: what the actor will still receive.
//
// The send-side calls (reserve_slot, unreserve_slot, overflow_message) are declared in
// keel/core/send.h, where the send templates call them.
//
// Lifetime: a lane belongs to its cell's slot and is never freed while the system lives (a
// stale sender may still read it), and `held` is never reset: a slot's next bounded incarnation
// reuses the lane, whose counts return to 0 as the old incarnation's messages die.
//
// Waiting (actor::await_capacity): a waiter registers under `mu`, raises `waiting` and checks
// the depth again; the token holder, after it gives a slot back, reads `waiting` and wakes every
// waiter once the depth is at or below the low-water mark (3/4 of the capacity, so that a woken
// group finds room). seq_cst on both sides (the RMWs and the loads between them): one of the
// two always sees the other, so no waiter sleeps while there is room.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <vector>

#include <keel/base/cache.h>
#include <keel/core/ids.h>
#include <keel/core/mailbox.h>
#include <keel/core/send.h>

namespace keel::detail {

struct capacity_waiter {
  actor_handle who;     // the waiting actor
  std::uint64_t token;  // its continuation (cell_extras::capacity_waits)
};

struct alignas(k_cache_line) bounded_lane {
  static constexpr std::uint64_t k_one_surplus = std::uint64_t{1} << 32;
  static std::uint32_t held_of(std::uint64_t w) noexcept { return static_cast<std::uint32_t>(w); }
  static std::uint32_t surplus_of(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w >> 32);
  }

  // ---- senders and the token holder ----
  std::atomic<std::uint64_t> counts{0};  // surplus << 32 | held
  std::atomic<std::uint32_t> capacity{0};
  std::atomic<overflow_policy> policy{overflow_policy::reject};
  std::atomic<std::uint32_t> waiting{0};  // waiters registered
  // ---- statistics (relaxed; reset when a new incarnation binds the lane) ----
  alignas(k_cache_line) std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> dropped_newest{0};
  std::atomic<std::uint64_t> dropped_oldest{0};
  std::atomic<std::uint64_t> waits{0};
  // ---- waiters ----
  std::mutex mu;
  std::vector<capacity_waiter> waiters;  // guarded by mu
  bounded_lane* next_owned = nullptr;    // system_state::bounded_lanes (guarded by table_mu)
};

// Token holder (or the sender of a message that died before its push). Gives back the slot of
// a counted message that leaves the lane. Returns true if it was one of the oldest to drop
// (drop_oldest): the caller must then drop it rather than hand it to the actor. Wakes waiters
// at the low-water mark.
bool release_slot(actor_cell* c) noexcept;
// Wakes every waiter of `c`'s lane (a slot freed at the low-water mark, or the actor stopped).
void wake_capacity_waiters(actor_cell* c) noexcept;

}  // namespace keel::detail
