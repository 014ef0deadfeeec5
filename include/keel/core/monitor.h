// Death watch: an actor monitors another (actor::monitor) and receives keel::down, once, when
// that actor stops -- or at once, with reason noproc, if it had already stopped. Like Erlang's
// 'DOWN': an ordinary message in the watcher's mailbox, which it handles with on(keel::down&)
// (list keel::down among its handled messages; otherwise it becomes an unhandled dead letter).
// actor::demonitor(id) cancels a monitor: no down for it is handled after that.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include <keel/core/ids.h>

namespace keel {

enum class down_reason : std::uint8_t {
  stopped,  // it stopped (stop(), stop_self(), shutdown)
  failed,   // a handler failed (text: the failure)
  noproc,   // it had already stopped when the monitor was set
};
std::string_view to_string(down_reason r) noexcept;

struct down {
  static constexpr std::string_view keel_name = "keel.down/1";
  std::uint64_t monitor = 0;  // what actor::monitor returned
  actor_handle who;           // the actor that stopped
  down_reason reason = down_reason::stopped;
  std::string text;  // failed: the failure's text
};

}  // namespace keel
