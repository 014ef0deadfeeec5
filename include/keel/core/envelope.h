// keel::envelope: the header every message travels in, with the payload inline behind it.
//
// An envelope is allocated by the sender (from its worker's free list of fixed sizes, in front of
// the allocator), linked into the receiver's mailbox through `next`, and freed by the receiver.
// Fields are written by the sender before the push; the push's release store publishes them.
//
// Thread safety: written by one sender, then read and freed by the one actor that receives it.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include <keel/core/ids.h>
#include <keel/core/message.h>

namespace keel {

// Envelope flag bits.
namespace envelope_flags {
inline constexpr std::uint8_t expects_reply = 1U << 0;  // an ask request: dead letters answer it
inline constexpr std::uint8_t is_reply = 1U << 1;       // a reply: routed to a pending ask
inline constexpr std::uint8_t timer = 1U << 2;          // sent by a timer: check cancellation
inline constexpr std::uint8_t from_outside = 1U << 3;   // sent by a non-actor thread
inline constexpr std::uint8_t internal = 1U << 4;       // keel's own control message
inline constexpr std::uint8_t after_system = 1U << 5;   // pushed while a system message waited
inline constexpr std::uint8_t counted = 1U << 6;        // holds a slot of a bounded lane
inline constexpr std::uint8_t redelivered = 1U << 7;    // put back by unstash_all(): seen before
}  // namespace envelope_flags

// The intrusive link of a mailbox queue. Each lane also embeds one as its stub node.
struct mailbox_link {
  std::atomic<mailbox_link*> next{nullptr};
};

struct alignas(16) envelope : mailbox_link {
  const message_ops* ops = nullptr;     // payload type: destroy, move, copy, name
  type_id type = 0;                     // ops->id, kept here for dispatch without a load
  actor_handle sender;                  // non-owning; {0,0} from outside the system
  message_id id = 0;                    // unique per system
  message_id correlation = 0;           // inherited from the message being handled
  message_id causation = 0;             // the message being handled when this was sent
  std::uint64_t timestamp = 0;          // the sender worker's cached tick (ns)
  std::uint32_t target_generation = 0;  // the incarnation it was sent to
  priority prio = priority::normal;
  std::uint8_t flags = 0;
  std::uint8_t size_class = 0;        // which free list it returns to (k_no_class: none)
  std::uint8_t origin = k_no_origin;  // the worker whose cache it came from (k_no_origin: none)
  void* aux = nullptr;                // timer envelopes: the timer (for cancellation)

  static constexpr std::uint8_t k_no_class = 0xFF;
  static constexpr std::uint8_t k_no_origin = 0xFF;

  void* payload() noexcept { return reinterpret_cast<unsigned char*>(this) + sizeof(envelope); }
  const void* payload() const noexcept {
    return reinterpret_cast<const unsigned char*>(this) + sizeof(envelope);
  }
  template <class M>
  M& as() noexcept {
    return *std::launder(reinterpret_cast<M*>(payload()));
  }
  template <class M>
  const M& as() const noexcept {
    return *std::launder(reinterpret_cast<const M*>(payload()));
  }
};

static_assert(sizeof(envelope) == 80, "envelope header layout changed: update docs/core.md");

// The payload must fit the envelope's 16-byte alignment.
template <class M>
inline constexpr bool fits_inline_alignment = alignof(M) <= alignof(envelope);

}  // namespace keel
