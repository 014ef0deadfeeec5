// Identities of actors and messages.
#pragma once

#include <cstdint>

namespace keel {

// A 64-bit actor id, never reused within one actor_system incarnation:
//   bits 63..48  node (0 for the local node; reserved for distribution)
//   bits 47..0   serial, counting spawns from 1
using actor_id = std::uint64_t;
inline constexpr actor_id k_no_actor = 0;
inline constexpr unsigned k_node_shift = 48;
inline constexpr actor_id node_of(actor_id id) noexcept { return id >> k_node_shift; }

// A non-owning address of an actor incarnation: the slot of its cell in the system's actor table
// and the generation of that slot when the actor was spawned. Cheap to copy; resolving it to a
// stopped actor yields a dead letter, never a stale actor.
struct actor_handle {
  std::uint32_t slot = 0;
  std::uint32_t generation = 0;  // 0: no actor

  bool valid() const noexcept { return generation != 0; }
  friend bool operator==(actor_handle, actor_handle) = default;
};

// Message ids are unique per system (never 0); correlation ids name a chain of messages.
using message_id = std::uint64_t;

enum class priority : std::uint8_t { system = 0, high = 1, normal = 2, low = 3 };

}  // namespace keel
