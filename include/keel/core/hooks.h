// system_hooks: the only way the upper layers (chaos, quarantine, recording, metrics) attach to
// the core. Subscribers are given to system_config::hooks and stay attached for the life of the
// system; each has its own run-time on/off switch. With no subscriber, a send pays one
// predictable branch.
//
// Call order: by `phase` (chaos, then redirect, then quarantine, then recording, then metrics),
// then in the order given. For on_send, the first subscriber that returns something other than
// `pass` decides; later subscribers still see the event, with the decision so far in
// send_event::decision, so recording and metrics observe drops and redirects.
//
// Thread safety: callbacks run on whatever thread sends, delivers or stops (workers and
// outside threads alike), concurrently; subscribers synchronise their own state. A callback
// must not block and must not throw.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include <keel/core/ids.h>
#include <keel/core/message.h>

namespace keel {

class actor_base;
class actor_rng;

enum class hook_phase : std::uint8_t {
  chaos = 0,
  redirect = 1,
  quarantine = 2,
  recording = 3,
  metrics = 4
};

enum class dead_letter_reason : std::uint8_t {
  actor_stopped,      // the target had stopped (or the ref was empty)
  unhandled_message,  // the target does not handle the type
  dropped_by_hook,    // a hook dropped it
  timer_cancelled,    // (not a dead letter: counted apart) -- reserved
  late_reply,         // a reply arrived after its ask timed out
  shutdown,           // the system shut down with the message queued
  out_of_memory,      // a derived message could not be allocated
  mailbox_full,       // the target's bounded mailbox was full (its overflow policy dropped it)
  quarantined  // a hook dropped it because its target is quarantined (an ask: errc::quarantined)
};
std::string_view to_string(dead_letter_reason r) noexcept;

enum class send_decision : std::uint8_t { pass, drop, delay, duplicate, redirect };

struct send_event {
  actor_handle sender;
  actor_handle target;
  type_id type = 0;
  std::string_view type_name;
  message_id id = 0;
  message_id correlation = 0;
  priority prio = priority::normal;
  bool copyable = false;      // whether `duplicate` is possible for this message
  std::uint64_t sent_at = 0;  // the sender's cached tick (the virtual clock when deterministic)
  // The runtime's own traffic: a reply to an ask, an ask's timeout, a supervision report, a
  // monitor's down, a link's exit_signal. A hook that sheds or quarantines user work must let
  // it pass, or asks never complete and supervisors never hear of failures.
  bool runtime = false;
  // Set by the deciding subscriber:
  send_decision decision = send_decision::pass;
  std::chrono::nanoseconds delay{0};  // for `delay`
  actor_handle redirect_to;           // for `redirect`
  // For `drop`: the dead letter's reason (dropped_by_hook or quarantined).
  dead_letter_reason drop_reason = dead_letter_reason::dropped_by_hook;
};

// What a deliver_event is: a message for a handler, or the completion of one of the actor's own
// asks (its continuation runs): the reply (payload: the reply message) or the ask's timeout (no
// payload; `causation` is the ask's request id in both).
enum class input_kind : std::uint8_t { message, reply, ask_timeout };

struct deliver_event {
  actor_handle target;
  actor_id target_id = k_no_actor;
  type_id type = 0;
  std::string_view type_name;
  message_id id = 0;
  message_id correlation = 0;
  message_id causation = 0;
  std::uint64_t sent_at = 0;  // the sender's cached tick
  // For recording (eventlog/recorder.h): the message (valid during the callback only; nullptr
  // in on_handled, where the handler may have moved from it), the now() the handler sees, this
  // actor's count of messages delivered while hooks were attached (1 for the first), the
  // envelope's flags (a timer's message has envelope_flags::timer; one put back by
  // unstash_all() has envelope_flags::redelivered: on_deliver saw it before), and the actor
  // object (for its state: actor_base::save_state_to).
  const void* payload = nullptr;
  std::string_view actor_type;  // the receiving actor's declared type name (static storage)
  // Its registered name ("" if none), read on demand: the name sits on another cache line than
  // what the message path touches.
  const std::string* actor_name_ptr = nullptr;
  std::string_view actor_name() const noexcept {
    return actor_name_ptr != nullptr ? std::string_view(*actor_name_ptr) : std::string_view();
  }
  std::uint64_t now = 0;
  std::uint64_t input_no = 0;
  std::uint8_t flags = 0;
  const actor_base* actor = nullptr;
  input_kind kind = input_kind::message;
  // The actor's generator if it has drawn (nullptr: untouched, as seeded), and one word the
  // recording phase may keep per actor (the recorder's last checkpoint); both on the actor's
  // thread only, nullptr if the actor's extras could not be allocated.
  const actor_rng* rng = nullptr;
  std::uint64_t* recording_mark = nullptr;
};

// An application timer is being armed (actor::send_after / send_periodic,
// actor_system::send_after): told from the arming thread, before it is armed. Runtime timers
// (ask deadlines, hook delays, supervisors' backoff and shutdown timers) are not told. A
// refused timer's handle is empty: its cancel() returns false.
struct timer_event {
  actor_handle owner;  // the arming actor (empty: armed from outside any actor)
  actor_id owner_id = k_no_actor;
  actor_handle target;
  type_id type = 0;
  std::string_view type_name;
  message_id correlation = 0;  // the message's, as it will be delivered
  message_id causation = 0;    // the message being handled when it was armed (0: none)
  std::chrono::nanoseconds delay{0};
  std::chrono::nanoseconds period{0};  // 0: one-shot
};

// An actor asked (actor::ask): the request's id, which the ask's reply or timeout names as its
// causation. Told from the asking handler, before the request is sent.
struct ask_event {
  actor_handle asker;
  actor_id asker_id = k_no_actor;
  std::string_view asker_type;  // static storage
  std::string_view asker_name;  // its registered name ("" if none; valid during the callback)
  message_id request = 0;
  type_id type = 0;  // the request's type
  message_id correlation = 0;
};

// A result of actor::block_in_place that recording keeps (an EXTERNAL_INPUT record): what the
// outside world gave the handler, which replay must serve instead of running the blocking call
// again. Told from the handler, after the call returned.
struct external_event {
  actor_handle actor;
  actor_id id = k_no_actor;
  std::string_view actor_type;  // static storage
  std::string_view actor_name;  // its registered name ("" if none; valid during the callback)
  std::uint64_t input_no = 0;   // the actor's input being handled (deliver_event::input_no)
  message_id message = 0;       // the message being handled, and its correlation
  message_id correlation = 0;
  std::uint64_t now = 0;
  type_id type = 0;  // the result's type (0: not a message type: it cannot be replayed)
  // The result in its type's codec (valid during the callback); empty with has_codec false
  // when the type has no codec in the system's registry.
  std::span<const std::byte> bytes;
  bool has_codec = false;
};

struct lifecycle_event {
  actor_handle actor;
  actor_id id = k_no_actor;
  std::string_view actor_type;
  std::string_view reason;  // on_stop / on_failure / on_escalate: why; on_restart: the path
  // The actor's registered name ("" if none; valid during the callback): on_spawn, on_stop,
  // on_failure and on_restart.
  std::string_view actor_name;
  // When, on the clock actors read (actor::now()): the failing actor's for on_failure, the
  // restarted actor's for an on_restart in place (what its new object's on_start reads) and the
  // supervisor's for one into a new actor, the thread's cached tick otherwise (0: not known).
  std::uint64_t now = 0;
  // on_failure: the message being handled (0 in on_start or a directive), its correlation and
  // causation, and its sender (empty if none): who made the actor fail.
  message_id message = 0;
  message_id correlation = 0;
  message_id causation = 0;
  actor_handle sender;
  // on_restart: the child was restarted into a new actor (new id, told after its on_spawn)
  // rather than in place (same id and mailbox, told before the new object's on_start).
  bool new_incarnation = false;
};

struct dead_letter_event {
  actor_handle target;
  actor_handle sender;
  type_id type = 0;
  std::string_view type_name;
  message_id id = 0;
  message_id correlation = 0;
  dead_letter_reason reason = dead_letter_reason::actor_stopped;
};

class hook_subscriber {
 public:
  explicit hook_subscriber(hook_phase phase) noexcept : phase_(phase) {}
  virtual ~hook_subscriber() = default;

  hook_phase phase() const noexcept { return phase_; }
  // The run-time switch. relaxed: a change is picked up by later events, not ordered with them.
  void set_enabled(bool on) noexcept { enabled_.store(on, std::memory_order_relaxed); }
  bool enabled() const noexcept { return enabled_.load(std::memory_order_relaxed); }

  // Return the decision; for `delay` set ev.delay, for `redirect` set ev.redirect_to.
  virtual send_decision on_send(send_event& ev) noexcept {
    (void)ev;
    return send_decision::pass;
  }
  virtual void on_deliver(const deliver_event& ev) noexcept { (void)ev; }
  // After the handler of a delivered message returned normally (not when it threw or failed).
  virtual void on_handled(const deliver_event& ev) noexcept { (void)ev; }
  virtual void on_ask(const ask_event& ev) noexcept { (void)ev; }
  // False: the timer is not armed (its message is destroyed; the caller gets an empty handle).
  // Replay uses this to capture the timers replayed actors arm, whose recorded firings it
  // delivers from the log instead.
  virtual bool on_timer(const timer_event& ev) noexcept {
    (void)ev;
    return true;
  }
  virtual void on_external_input(const external_event& ev) noexcept { (void)ev; }
  virtual void on_activation_begin(const lifecycle_event& ev) noexcept { (void)ev; }
  virtual void on_activation_end(const lifecycle_event& ev) noexcept { (void)ev; }
  virtual void on_spawn(const lifecycle_event& ev) noexcept { (void)ev; }
  virtual void on_stop(const lifecycle_event& ev) noexcept { (void)ev; }
  virtual void on_failure(const lifecycle_event& ev) noexcept { (void)ev; }
  // A supervisor restarted a child (actor: the child, reason: its supervision path), or
  // escalated a failure to its own supervisor (actor: the supervisor, reason: why).
  // on_restart is told in the child's own order, so that a recorder sees it between the old
  // object's last event and the new one's first: in place, on the worker running the child as
  // it takes the new object, before its on_start; into a new actor, right after that actor's
  // on_spawn, on the supervisor's worker.
  virtual void on_restart(const lifecycle_event& ev) noexcept { (void)ev; }
  virtual void on_escalate(const lifecycle_event& ev) noexcept { (void)ev; }
  virtual void on_dead_letter(const dead_letter_event& ev) noexcept { (void)ev; }

 private:
  hook_phase phase_;
  std::atomic<bool> enabled_{true};
};

}  // namespace keel
