// keel::tools::log_main: the keel-log command-line tool as a library function, so that an
// application can build its own keel-log that knows its message types (payloads print as JSON
// instead of hex) and its actor factories (replay --exec). The stock `keel-log` calls it
// with empty registries. Commands, options and output: docs/keel-log.md.
//
// Exit codes: 0 OK; 1 the log is corrupt (the message names the file and the offset); 2 usage
// (a bad command, option or value; a scenario replay refuses, with the reasons); 3 I/O (a file
// that cannot be opened or read, a log in use); 4 replay --exec diverged from the log.
//
// Thread safety: one call at a time per process (it writes to std::cout and std::cerr).
#pragma once

#include <functional>

namespace keel {
class type_registry;
class actor_factory_registry;
}  // namespace keel

namespace keel::tools {

inline constexpr int k_exit_ok = 0;
inline constexpr int k_exit_corrupt = 1;
inline constexpr int k_exit_usage = 2;
inline constexpr int k_exit_io = 3;
inline constexpr int k_exit_diverged = 4;  // replay --exec: the replay differs from the log

// Registers an application's actor factories in a replay system's registry.
using factory_setup = std::function<void(actor_factory_registry&)>;

// Runs keel-log with `argv` (argv[0] is the program's name). `types`: the message types whose
// payloads it decodes; `factories`: empty in the stock tool.
int log_main(int argc, const char* const* argv, const type_registry& types,
             const factory_setup& factories = {});

}  // namespace keel::tools
