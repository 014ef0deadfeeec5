// keel::status and keel::errc: the outcome of an operation that can fail for a reason the caller
// should see. Success is a code and a null pointer, so returning an OK status costs nothing; an
// error carries a message that names what was wrong (the field, the actor, the type).
//
// Thread safety: a status is a value; distinct objects may be used from distinct threads, and a
// const status may be read from many threads at once.
#pragma once

#include <cstdint>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>

namespace keel {

// Every error keel reports. Values are stable: tools and logs may store them.
enum class errc : std::uint16_t {
  ok = 0,
  invalid_config = 1,       // a configuration field is out of range; the message names it
  invalid_argument = 2,     // a call's argument is not acceptable
  actor_not_found = 3,      // no live actor has that name or handle
  actor_stopped = 4,        // the actor has stopped (or the ref is empty)
  timeout = 5,              // an ask or a wait ran out of time
  shutting_down = 6,        // the system is shutting down or has shut down
  out_of_memory = 7,        // an allocation failed (or the fault seam said it did)
  duplicate_name = 8,       // a registered name or type name is taken
  type_collision = 9,       // two different type names hash to the same type id
  unhandled_message = 10,   // the receiving actor does not handle that message type
  wrong_thread = 11,        // the call is not allowed on this thread (e.g. blocking on a worker)
  dropped = 12,             // a hook dropped the message
  failed = 13,              // the actor failed while handling the request
  type_mismatch = 14,       // the reply had another type than the one asked for
  expectation_failed = 15,  // a test helper's expectation did not hold (keel/core/testing.h)
  full = 16,                // a bounded mailbox or an actor's stash has no room
  io_error = 17,            // an operating-system call failed; the message names it and errno
  log_locked = 18,          // another writer (process or object) holds the event log
  log_failed = 19,          // the event log saw a sync error and takes no more appends
  corrupt = 20,             // bytes on disk are not what was written; the message says where
  no_space = 21,            // not enough free space on the log's file system
  not_found = 22,           // no such snapshot (or other named thing that is not there)
  quarantined = 23,         // the target is quarantined (keel/resilience): not delivered
  no_quorum = 24,           // too few replicas agreed on an answer (keel/resilience/quorum.h)
  circuit_open = 25,        // a circuit breaker refused the call (keel/resilience)
};

// The stable lower-case name of a code, e.g. "actor_stopped".
std::string_view to_string(errc code) noexcept;

class [[nodiscard]] status {
 public:
  // An OK status.
  status() noexcept = default;
  status(errc code, std::string_view message)
      : code_(code),
        message_(code == errc::ok ? nullptr : std::make_shared<const std::string>(message)) {}

  static status ok() noexcept { return status(); }

  bool is_ok() const noexcept { return code_ == errc::ok; }
  explicit operator bool() const noexcept { return is_ok(); }
  errc code() const noexcept { return code_; }
  // The message given at construction; empty for OK.
  std::string_view message() const noexcept {
    return message_ ? std::string_view(*message_) : std::string_view();
  }
  // "code: message", or "ok".
  std::string to_string() const;

  friend bool operator==(const status& a, errc b) noexcept { return a.code_ == b; }
  // Writes to_string() (so test frameworks print a failed status: EXPECT_EQ(s, errc::ok)).
  friend std::ostream& operator<<(std::ostream& os, const status& s);

 private:
  errc code_ = errc::ok;
  std::shared_ptr<const std::string> message_;
};

}  // namespace keel
