// The end-of-run summary: what the pipeline did (orders, ledger, latency), what the supervision
// tree did (faults, restarts, escalations) and what keel saw (counters per actor type, dead
// letters, the shutdown report).
//
// Thread safety: plain functions over values.
#pragma once

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "health.h"
#include "options.h"
#include "pipeline.h"
#include "recording.h"

#include <keel/core/actor_system.h>
#include <keel/core/supervisor.h>

namespace keel_demo {

struct run_summary {
  options opts;
  std::uint32_t workers = 0;
  completion run;
  std::vector<keel::type_counters> counters;
  std::uint64_t dead_letters = 0;
  std::vector<keel::dead_letter> recent_dead_letters;
  keel::shutdown_report shutdown;
  // The supervision tree before shutdown (root first), and what the diagnostics sink saw.
  std::vector<keel::supervisor_status> tree;
  std::uint64_t faults_injected = 0;
  std::uint64_t child_failures = 0;
  std::vector<std::string> escalations;
  std::optional<recording_report> recording;  // with --log-dir
  resilience_report resilience;
};

// Whether every order generated is accounted for exactly once: none failed to send, and
// sent == accepted + rejected + declined + lost (stage down) + lost to faults.
bool all_accounted(const run_summary& s) noexcept;
// Whether the recording (if any) holds every input: no append failed and the log did not fail.
bool recording_complete(const run_summary& s) noexcept;

// Writes the summary, ending with the verdict of all_accounted().
void print_summary(std::FILE* out, const run_summary& s);

}  // namespace keel_demo
