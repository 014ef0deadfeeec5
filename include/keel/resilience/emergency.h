// emergency_monitor: one health score for the whole system and the emergency level it implies,
// with the actions each level takes. A hook subscriber (system_config::hooks, phase quarantine).
//
// Score (0 bad .. 1 healthy), computed by sample(now) -- call it once per interval (a timer
// actor, the collector thread, or the test):
//   1 - (w_breakers x the share of registered breakers not closed (half_open counts half)
//        + w_failures x min(1, failure rate since the last sample / failure_rate_bad)
//        + w_mailbox x min(1, the oldest sampled mailbox wait since the last sample /
//        mailbox_age_bad)
//        + w_anomalies x the share of registered detectors firing (warn counts half)
//        + w_quarantine x min(1, quarantined actors / quarantined_bad)),
// with the weights normalised to sum 1. The failure rate is the core's counters: failures /
// messages handled, summed over actor types. Mailbox waits are sampled in on_deliver (one
// delivery in 64 per thread: the send's cached tick against the handler's).
//
// Levels: normal, degraded (score < degraded_below), critical (< critical_below), emergency
// (< emergency_below). A level is entered at once; it is left one step at a time, after
// `recover_after` samples in a row scoring at least the step's threshold + recover_margin.
// Actions:
//   degraded   messages of priority low are shed (dead letters, reason dropped_by_hook)
//   critical   also: user messages to actors marked non-critical are shed (they are
//              suspended: their queued work stays, new work does not arrive)
//   emergency  also: normal-priority messages are shed, and admit() says no to new work at the
//              edge (the caller's gateway asks it before accepting a request)
// High-priority messages and the runtime's own traffic (replies, timeouts, supervision:
// send_event::runtime) always pass; a shed ask is answered with errc::dropped at once. An
// operator can force a level (steering) and hand it back to the score. Every level change is
// counted and kept as a finding.
//
// system_status() gathers the score, the level, the breakers that are not closed, the
// quarantined actors (from an attached cascade_guard) and the recent findings, as a struct and
// as JSON.
//
// Thread safety: hooks on any thread; sample, force, mark and the accessors from any thread
// (sample takes a mutex; the hooks read atomics only). The hooks cost one relaxed load when the
// level is normal (plus a thread-local count per delivery for the wait sampling).
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <keel/base/result.h>
#include <keel/core/hooks.h>
#include <keel/resilience/anomaly_detector.h>
#include <keel/resilience/cascade.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel {
class actor_system;
}

namespace keel::resilience {

enum class emergency_level : std::uint8_t { normal = 0, degraded = 1, critical = 2, emergency = 3 };
std::string_view to_string(emergency_level l) noexcept;

struct emergency_config {
  double degraded_below = 0.8;  // thresholds on the score, decreasing, in (0, 1)
  double critical_below = 0.5;
  double emergency_below = 0.25;
  double recover_margin = 0.05;     // >= 0
  std::uint32_t recover_after = 3;  // samples; >= 1
  double w_breakers = 0.3;          // weights >= 0, not all 0
  double w_failures = 0.3;
  double w_mailbox = 0.2;
  double w_anomalies = 0.1;
  double w_quarantine = 0.1;
  double failure_rate_bad = 0.1;  // this failure rate (or more) counts fully; (0, 1]
  std::chrono::nanoseconds mailbox_age_bad = std::chrono::milliseconds(100);  // > 0
  std::uint32_t quarantined_bad = 3;  // this many quarantined actors count fully; >= 1
  std::size_t findings = 64;          // level changes kept; >= 1

  // errc::invalid_config naming the field, or OK.
  status validate() const;
};

struct emergency_finding {
  std::uint64_t at = 0;
  emergency_level from = emergency_level::normal;
  emergency_level to = emergency_level::normal;
  double score = 1.0;
  bool forced = false;
  std::string why;  // the inputs' badness, e.g. "breakers 0.50 failures 1.00 ..."
};

struct emergency_stats {
  std::uint64_t samples = 0;
  std::uint64_t changes = 0;
  std::uint64_t shed = 0;           // messages shed by priority
  std::uint64_t suspended = 0;      // messages to non-critical actors shed
  std::uint64_t edge_rejected = 0;  // admit() refusals
};

struct health_report {
  double score = 1.0;
  emergency_level level = emergency_level::normal;
  bool forced = false;
  struct breaker_line {
    std::string name;
    breaker_state state = breaker_state::closed;
  };
  std::vector<breaker_line> breakers_not_closed;
  std::vector<quarantine_info> quarantined;
  std::vector<emergency_finding> recent_changes;
  std::vector<cascade_finding> recent_cascades;
  emergency_stats stats;

  std::string to_json() const;
};

class emergency_monitor final : public hook_subscriber {
 public:
  // errc::invalid_config naming the field for a bad configuration. `sys` (for the counters) may
  // be attached later with attach_system: the hooks must be given before the system exists.
  static result<std::shared_ptr<emergency_monitor>> create(emergency_config cfg);
  ~emergency_monitor() override;

  // What the score reads. Each must outlive the monitor (or be attached before and live as long).
  void attach_system(const actor_system* sys);
  void add_breaker(const circuit_breaker* b);
  void add_detector(const anomaly_detector* d);  // its state() is read in sample()
  void attach_cascade_guard(const cascade_guard* g);

  // Computes the score and the level. Returns the level after it.
  emergency_level sample(std::uint64_t now);

  // Steering: hold the level at `l` (its actions apply) until automatic().
  void force(emergency_level l, std::uint64_t now);
  void automatic(std::uint64_t now);

  // Marks an actor non-critical: at critical and above its user messages are shed.
  void mark_noncritical(actor_handle a);

  // For the edge (a gateway): whether to accept new work now. Counts refusals.
  bool admit() noexcept;

  emergency_level level() const noexcept {
    return static_cast<emergency_level>(level_.load(std::memory_order_relaxed));
  }
  double score() const noexcept;
  emergency_stats stats() const;
  // The score, the level, what is not healthy, recent changes and cascades.
  health_report system_status() const;

  send_decision on_send(send_event& ev) noexcept override;
  void on_deliver(const deliver_event& ev) noexcept override;

 private:
  explicit emergency_monitor(emergency_config cfg);
  struct state;
  emergency_config cfg_;
  std::atomic<std::uint8_t> level_{0};
  std::unique_ptr<state> s_;
};

}  // namespace keel::resilience
