// Bounded mailboxes: an actor spawned with spawn_options::mailbox = {capacity, policy} has a
// user lane that holds at most `capacity` messages. The system lane (start, stop, suspend,
// resume, later supervision and steering) is never bounded and never dropped.
//
// What counts against the bound: every user message sent to the actor -- send, try_send,
// send_to, reply to a plain message, asks, timers it was sent, injected messages -- from the
// moment the sender reserves its slot until the actor's handler receives it (a message held
// while the actor is suspended still counts). Not counted: replies to the actor's own asks,
// its ask timeouts and its await_capacity wake-ups: they answer what the actor asked for, and
// refusing them would break its asks.
//
// When the lane is full, send() applies the actor's policy:
//   reject       send_status::full; nothing is sent. From send() and try_send() the message
//                argument is left untouched (an rvalue is not moved from); an ask fails with
//                errc::full. Counted in mailbox_stats::rejected, not a dead letter.
//   drop_newest  send_status::full; the new message is a dead letter (reason mailbox_full).
//   drop_oldest  send_status::ok; the new message is queued and the oldest queued message
//                becomes a dead letter (mailbox_full) instead of being handled. The oldest is
//                dropped when the actor next runs, before it handles anything: until then the
//                surplus envelopes stay allocated (memory is bounded by how far the senders
//                run ahead of the actor's next activation, not by `capacity`).
//   fail         send_status::full; the new message is a dead letter (mailbox_full) and the
//                actor fails with "mailbox overflow" (a failure report; its supervisor, when it
//                has one, decides what happens next).
// try_send() never applies the policy: on a full lane it returns send_status::full and leaves
// the message with the caller, whatever the policy. An actor that wants to wait for room calls
// actor::await_capacity(to, fn): `fn` runs inside it once the lane has room (its worker is not
// blocked meanwhile; the actor keeps handling its other messages).
//
// Depth is exact: mailbox_stats::depth is the number of messages the actor will still receive.
// The send path of unbounded actors is unchanged by all this (one predictable branch).
#pragma once

#include <cstdint>
#include <string_view>

namespace keel {

enum class overflow_policy : std::uint8_t { reject, drop_newest, drop_oldest, fail };
std::string_view to_string(overflow_policy p) noexcept;

// spawn_options::mailbox. capacity 0: unbounded (the default). At most k_max_capacity.
struct mailbox_bound {
  static constexpr std::uint32_t k_max_capacity = 1U << 24;
  std::uint32_t capacity = 0;
  overflow_policy policy = overflow_policy::reject;
};

// A bounded actor's lane, as actor_system::mailbox() reports it (relaxed reads: exact once the
// senders and the actor are quiet).
struct mailbox_stats {
  std::uint32_t capacity = 0;
  overflow_policy policy = overflow_policy::reject;
  std::uint32_t depth = 0;           // messages the actor will still receive
  std::uint64_t rejected = 0;        // sends refused (reject policy, try_send, asks)
  std::uint64_t dropped_newest = 0;  // new messages dropped (drop_newest, fail)
  std::uint64_t dropped_oldest = 0;  // queued messages dropped for newer ones (drop_oldest)
  std::uint64_t waits = 0;           // await_capacity calls that had to wait
};

}  // namespace keel
