// What the runtime reports to the application: failure reports and warnings, delivered to
// system_config::diagnostics (default: rate-limited stderr).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include <keel/core/ids.h>

namespace keel {

struct failure_report;  // failure.h

enum class diagnostic_kind : std::uint8_t {
  failure,        // a handler failed and the actor, which has no supervisor, stopped
  mailbox_age,    // an actor's oldest dequeued message waited longer than the limit
  hook_refused,   // a hook asked for something impossible (e.g. duplicating a move-only type)
  long_handler,   // a handler ran longer than scheduler_config::long_activation (value: ns)
  child_failure,  // a supervised actor failed (text: the failure report, with the decision)
  escalation,     // a supervisor gave up on its children (text: why; value: restarts so far)
  shutdown_kill,  // a supervisor killed a child that did not stop within its shutdown timeout
};

struct diagnostic {
  diagnostic_kind kind = diagnostic_kind::failure;
  actor_id actor = k_no_actor;
  std::string actor_name;  // the registered name, or empty
  // The two type names are static (the names the types declare): views that stay valid for the
  // program's lifetime, so a sink may keep them, and building a diagnostic copies neither.
  std::string_view actor_type;    // the actor type's declared name
  std::string_view message_type;  // the message being handled, if any
  std::string text;               // exception text or a description
  message_id correlation = 0;
  std::uint64_t value = 0;  // mailbox_age: the age in ns; long_handler: how long it ran, in ns
  // child_failure: the whole report; `text` is then its text alone, and to_string() adds the
  // report's summary and trace (symbolized only then).
  std::shared_ptr<const failure_report> report;

  // For logs: one line ("keel: failure: actor 12 (shop.payment \"pay\") on shop.charge/1: ..."),
  // then, for a child_failure, the report's trace.
  std::string to_string() const;
};

}  // namespace keel
