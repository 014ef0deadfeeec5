// The demo's resilience watch: the cascade guard and the emergency monitor (hooks given to the
// actor system), and a thread that samples the health score every 50 ms and collects the
// breaker's transitions and the level's changes for the summary.
//
//   health_watch w = health_watch::create().value();
//   cfg.hooks += w.hooks();  ... create the system, start the pipeline ...
//   w.start(*sys, pipeline, log);  ... the run ...
//   resilience_report r = w.stop();
//
// Threading: create, start and stop from main; the sampling thread is the watch's own.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

#include "pipeline.h"

#include <keel/base/result.h>
#include <keel/resilience/cascade.h>
#include <keel/resilience/emergency.h>

namespace keel::eventlog {
class event_log;
}

namespace keel_demo {

struct breaker_change {
  double at_s = 0;  // since the watch started
  keel::resilience::breaker_state from = keel::resilience::breaker_state::closed;
  keel::resilience::breaker_state to = keel::resilience::breaker_state::closed;
  std::uint64_t open_for_ns = 0;
};

struct level_change {
  double at_s = 0;
  keel::resilience::emergency_level from = keel::resilience::emergency_level::normal;
  keel::resilience::emergency_level to = keel::resilience::emergency_level::normal;
  double score = 1.0;
  std::string why;
};

struct resilience_report {
  bool watched = false;
  keel::resilience::breaker_stats breaker;
  keel::resilience::breaker_state breaker_final = keel::resilience::breaker_state::closed;
  std::vector<breaker_change> breaker_changes;
  std::vector<level_change> level_changes;
  keel::resilience::emergency_level final_level = keel::resilience::emergency_level::normal;
  double lowest_score = 1.0;
  keel::resilience::cascade_stats cascades;
};

class health_watch {
 public:
  static keel::result<health_watch> create();
  health_watch(health_watch&&) noexcept = default;
  health_watch& operator=(health_watch&&) noexcept = default;
  ~health_watch();

  std::vector<std::shared_ptr<keel::hook_subscriber>> hooks() const { return {guard_, monitor_}; }
  // Reads the pipeline's breaker and the system's counters from now on; with `log`, the breaker
  // and the guard write BREAKER and QUARANTINE records to it (it must outlive the run).
  void start(keel::actor_system& sys, const pipeline& p, keel::eventlog::event_log* log);
  // Stops sampling (a last sample first) and reports.
  resilience_report stop();

 private:
  health_watch() = default;
  void sample_once();

  std::shared_ptr<keel::resilience::cascade_guard> guard_;
  std::shared_ptr<keel::resilience::emergency_monitor> monitor_;
  std::shared_ptr<keel::resilience::circuit_breaker> breaker_;
  std::unique_ptr<std::atomic<bool>> stop_ = std::make_unique<std::atomic<bool>>(false);
  std::thread sampler_;
  std::uint64_t start_ns_ = 0;
  resilience_report report_;
};

}  // namespace keel_demo
