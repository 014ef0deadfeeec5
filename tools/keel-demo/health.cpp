#include "health.h"

#include <algorithm>
#include <chrono>

#include <keel/sched/clock.h>

namespace keel_demo {

keel::result<health_watch> health_watch::create() {
  health_watch w;
  keel::resilience::cascade_config cc;  // quarantine a root once its failures reach 3 others
  auto guard = keel::resilience::cascade_guard::create(cc);
  if (!guard) return guard.error();
  w.guard_ = std::move(guard).value();
  keel::resilience::emergency_config ec;  // defaults: an open breaker alone is "degraded"
  auto monitor = keel::resilience::emergency_monitor::create(ec);
  if (!monitor) return monitor.error();
  w.monitor_ = std::move(monitor).value();
  return w;
}

health_watch::~health_watch() {
  if (sampler_.joinable()) {
    stop_->store(true);
    sampler_.join();
  }
}

void health_watch::start(keel::actor_system& sys, const pipeline& p,
                         keel::eventlog::event_log* log) {
  breaker_ = p.db_breaker;
  monitor_->attach_system(&sys);
  monitor_->add_breaker(breaker_.get());
  monitor_->attach_cascade_guard(guard_.get());
  if (log != nullptr) {
    breaker_->attach_log(log);
    guard_->attach_log(log);
  }
  report_.watched = true;
  start_ns_ = keel::sched::clock_now();
  sampler_ = std::thread([this] {
    while (!stop_->load()) {
      sample_once();
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
}

void health_watch::sample_once() {
  const std::uint64_t now = keel::sched::clock_now();
  auto since = [&](std::uint64_t t) {
    return t > start_ns_ ? static_cast<double>(t - start_ns_) / 1e9 : 0.0;
  };
  const auto before = monitor_->level();
  const auto after = monitor_->sample(now);
  report_.lowest_score = std::min(report_.lowest_score, monitor_->score());
  if (after != before) {
    const auto s = monitor_->system_status();
    const auto& f = s.recent_changes.back();
    report_.level_changes.push_back({since(f.at), f.from, f.to, f.score, f.why});
  }
  keel::resilience::breaker_event e;
  while (breaker_->poll_event(e)) {
    if (e.kind != keel::resilience::breaker_event_kind::transition) continue;
    report_.breaker_changes.push_back({since(e.at), e.from, e.to, e.open_for_ns});
  }
}

resilience_report health_watch::stop() {
  if (sampler_.joinable()) {
    stop_->store(true);
    sampler_.join();
    sample_once();
  }
  if (breaker_) {
    report_.breaker = breaker_->stats();
    report_.breaker_final = breaker_->state();
  }
  report_.final_level = monitor_->level();
  report_.cascades = guard_->stats();
  return report_;
}

}  // namespace keel_demo
