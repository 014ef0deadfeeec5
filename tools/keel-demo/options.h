// keel-demo's command line: the flags, their defaults, and a parser that reports the first bad
// flag by name.
//
//   keel-demo [--rate N] [--duration D] [--seed S] [--chaos on|off] [--log-dir DIR] [--help]
//
// Each flag takes its value as the next argument or after '=' (`--rate 500`, `--rate=500`).
// A duration is a whole number with an optional unit: `5` and `5s` are seconds, `500ms`
// milliseconds, `2m` minutes.
//
// Thread safety: plain functions over values.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <keel/base/result.h>

namespace keel_demo {

struct options {
  double rate = 1000;                                             // orders per second, > 0
  std::chrono::milliseconds duration = std::chrono::seconds(10);  // how long the load runs, > 0
  std::uint64_t seed = 1;  // decides amounts, invalid orders, declined payments and faults
  bool chaos = true;       // inject faults (faults.h)
  std::string log_dir;     // record the pipeline's traffic into a new event log here (recording.h)
  bool help = false;       // --help: print usage() and exit 0
};

// The highest --rate accepted (the load driver paces in 1 ms ticks).
inline constexpr double k_max_rate = 1'000'000;

// Parses argv[1..argc). errc::invalid_argument with a message that starts with the flag's name
// (or names the unknown argument) for a bad flag or value.
keel::result<options> parse_options(int argc, const char* const* argv);

// Parses a duration flag value: `5`, `5s`, `500ms` or `2m`; positive and at most 24 hours.
keel::result<std::chrono::milliseconds> parse_duration(std::string_view text);

// The --help text: every flag, its default and an example.
std::string usage(std::string_view program);

}  // namespace keel_demo
