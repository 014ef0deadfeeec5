// What the runtime reports to the application: failure reports and warnings, delivered to
// system_config::diagnostics (default: rate-limited stderr).
#pragma once

#include <cstdint>
#include <string>

#include <keel/core/ids.h>

namespace keel {

enum class diagnostic_kind : std::uint8_t {
  failure,       // a handler threw: the actor stopped
  mailbox_age,   // an actor's oldest dequeued message waited longer than the limit
  hook_refused,  // a hook asked for something impossible (e.g. duplicating a move-only type)
  long_handler   // a handler ran longer than scheduler_config::long_activation (value: ns)
};

struct diagnostic {
  diagnostic_kind kind = diagnostic_kind::failure;
  actor_id actor = k_no_actor;
  std::string actor_name;    // the registered name, or empty
  std::string actor_type;    // the actor type's declared name
  std::string message_type;  // the message being handled, if any
  std::string text;          // exception text or a description
  message_id correlation = 0;
  std::uint64_t value = 0;  // mailbox_age: the age in ns; long_handler: how long it ran, in ns

  // One line for logs: "keel: failure: actor 12 (shop.payment \"pay\") on shop.charge/1: ..."
  std::string to_string() const;
};

}  // namespace keel
