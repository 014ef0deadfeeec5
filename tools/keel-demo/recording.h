// keel-demo --log-dir: records the pipeline's traffic into a new event log, for keel-demo-log
// (dump, trace, replay --exec). Every message a demo actor (demo.*) receives is recorded with
// its payload, with a STATE_HASH after each input of an actor with save_state, so that a replay
// finds the exact input at which it differs.
//
// Threading: start_recording before the actor_system is created (the recorder is one of its
// hooks), use_system right after; report() once the system has shut down.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <keel/base/result.h>
#include <keel/core/actor_system.h>
#include <keel/eventlog/log.h>
#include <keel/eventlog/recorder.h>

namespace keel_demo {

struct recording {
  std::unique_ptr<keel::eventlog::event_log> log;
  std::shared_ptr<keel::eventlog::recorder> recorder;
};

// Opens a new event log in `dir` (created if missing) and a recorder of the demo's actors.
// errc::invalid_argument if `dir` is not a directory or already holds files (one run per log:
// two runs would reuse actor ids); the log's own errors (log_locked, io_error, ...).
keel::result<recording> start_recording(const std::string& dir);

// What the summary says about the recording.
struct recording_report {
  std::string dir;
  keel::eventlog::recording_counters counters;
  std::uint64_t records = 0;  // records in the log
  std::string failure;        // the log's failure, if it failed (the recording is incomplete)
};

// Syncs the log and reports; the recording is complete when failure is empty and
// counters.failed is 0.
recording_report finish_recording(recording& r);

}  // namespace keel_demo
