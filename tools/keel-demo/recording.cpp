#include "recording.h"

#include <filesystem>
#include <system_error>
#include <utility>

namespace keel_demo {

keel::result<recording> start_recording(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (fs::exists(dir, ec)) {
    if (!fs::is_directory(dir, ec)) {
      return keel::status(keel::errc::invalid_argument,
                          "--log-dir: " + dir + " exists and is not a directory");
    }
    if (!fs::is_empty(dir, ec)) {
      return keel::status(keel::errc::invalid_argument,
                          "--log-dir: " + dir +
                              " is not empty (keel-demo records one run per log: remove it or "
                              "name another directory)");
    }
  }
  keel::eventlog::log_options lo;
  // 16 MiB segments: a run of a few seconds seals some, which the log's thread compresses.
  lo.segment_size = 16ull << 20;
  auto log = keel::eventlog::event_log::open(dir, lo);
  if (!log) return log.error();
  keel::eventlog::recording_options ro;
  ro.actor_types = {"demo.*"};
  ro.state_hash_every = 1;
  auto rec = keel::eventlog::recorder::create(**log, ro);
  if (!rec) return rec.error();
  recording r;
  r.log = std::move(log).value();
  r.recorder = std::move(rec).value();
  return r;
}

recording_report finish_recording(recording& r) {
  recording_report out;
  out.dir = r.log->dir();
  out.counters = r.recorder->counters();
  if (keel::status st = r.log->sync(); !st) out.failure = st.to_string();
  if (keel::status f = r.log->failure(); !f) out.failure = f.to_string();
  out.records = r.log->next_seq() - 1;
  return out;
}

}  // namespace keel_demo
