// The opt-in throw hook: stack traces taken where an exception is thrown.
//
// keel never interposes on the C++ runtime by itself. An application that wants failure reports
// (failure.h) to carry the throw site of an exception links the `keel::throw_hook` CMake target
// into its executable; it defines __cxa_throw, records the stack of each throw in a
// thread-local slot, and forwards to the C++ runtime's own. Without it, a report for an
// exception says that it has no throw-site trace (trace_origin::none).
//
// Cost with the hook linked: one stack walk per throw (a few microseconds), on every throw of the
// process, caught or not.
#pragma once

#include <keel/core/failure.h>

namespace keel::detail {

struct throw_record {
  const void* object = nullptr;  // the thrown object, to match it with the one caught
  stack_trace trace;
};
// This thread's newest throw, as the hook recorded it (object null: none recorded).
throw_record& last_throw() noexcept;

}  // namespace keel::detail
