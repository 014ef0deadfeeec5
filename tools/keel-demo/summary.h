// The end-of-run summary: what the pipeline did (orders, ledger, latency) and what keel saw
// (counters per actor type, dead letters, the shutdown report).
//
// Thread safety: plain functions over values.
#pragma once

#include <cstdint>
#include <cstdio>
#include <vector>

#include "options.h"
#include "pipeline.h"

#include <keel/core/actor_system.h>

namespace keel_demo {

struct run_summary {
  options opts;
  std::uint32_t workers = 0;
  completion run;
  std::vector<keel::type_counters> counters;
  std::uint64_t dead_letters = 0;
  std::vector<keel::dead_letter> recent_dead_letters;
  keel::shutdown_report shutdown;
};

// Whether every order generated has exactly one outcome: none failed to send, and
// sent == accepted + rejected + declined.
bool all_accounted(const run_summary& s) noexcept;

// Writes the summary, ending with the verdict of all_accounted().
void print_summary(std::FILE* out, const run_summary& s);

}  // namespace keel_demo
