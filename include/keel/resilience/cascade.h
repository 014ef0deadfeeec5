// cascade_guard: stops one failing actor from taking others down with it. A hook subscriber
// (system_config::hooks, phase quarantine) that
//   - records a failure edge for every failure: which actor sent the message whose handling
//     failed (`from`), and which actor failed (`to`), with the message, correlation, causation
//     and time;
//   - links failures into cascades: a failure belongs to the cascade of its sender when the
//     sender itself failed within `window`, or else to the cascade of an earlier failure with
//     the same correlation within `window`; otherwise it starts one (it is its root);
//   - quarantines a cascade's root once its failures have spread to `max_spread` other actors
//     (a finding is kept either way): user messages to a quarantined actor go to its fallback
//     actor (redirect) or are dropped as dead letters with reason `quarantined` (an ask gets
//     errc::quarantined at once). The runtime's own traffic (replies to its asks, timeouts,
//     supervision, monitors, links: send_event::runtime) still passes, a message another hook
//     already decided on is left alone, and messages already in its mailbox are still handled.
//   - after the quarantine period one message is let through as the probe: when that message is
//     handled normally, the actor is released; when it fails, the actor is quarantined again for
//     longer (base x multiplier^n, up to max). A probe that is not handled within one more period
//     is replaced. A quarantined actor that stops leaves the table.
// Quarantines by hand (steering) use the same table. A subtree quarantine (quarantine_subtree)
// covers an actor and every actor below it in the supervision tree (found through
// actor_system::supervisor_of, so the guard needs attach_system): a message to any of them is
// dropped or redirected, the first message to any of them after the period is the probe, and
// its outcome releases or extends the whole subtree. With a log attached, every quarantine,
// extension and release is a QUARANTINE record (docs/eventlog-format.md).
//
// Cost: with nothing quarantined, on_send, on_handled and on_stop read one atomic and return;
// while actors are quarantined they scan the quarantine table (max_quarantined entries,
// lock-free), and while a subtree is quarantined they also walk the target's supervisors
// (atomic loads, at most 64 levels) and scan the table for each. Failures, quarantines, releases
// and the probe decision (a try_lock: a sender never waits; one that finds it taken treats the
// actor as still quarantined) take a mutex.
//
// Thread safety: the hooks run on any thread; every public member may be called from any
// thread. Memory ordering: a quarantine's fields are published by the release store of its
// table key (acquire in the lookup); an entry is reused after a release, so a lock-free reader
// reads the key again (acquire) after the fields it used and lets the message pass if it
// changed. The count of active entries is a relaxed hint, raised before the key is published
// and lowered after it is cleared.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <keel/base/result.h>
#include <keel/core/hooks.h>

namespace keel {
class actor_system;
}
namespace keel::eventlog {
class event_log;
}

namespace keel::resilience {

enum class quarantine_event : std::uint8_t;
struct quarantine_entry;

struct cascade_config {
  std::chrono::nanoseconds window = std::chrono::seconds(10);  // failures within it link; > 0
  // The root is quarantined once its failures have spread to this many other actors (k); >= 1.
  std::uint32_t max_spread = 3;
  bool quarantine_roots = true;  // false: detect and report cascades only
  std::chrono::nanoseconds quarantine_base = std::chrono::seconds(5);   // >= 1 ms
  double quarantine_multiplier = 2.0;                                   // >= 1
  std::chrono::nanoseconds quarantine_max = std::chrono::seconds(300);  // >= base
  std::size_t history = 256;         // failure edges kept (the newest); >= 1
  std::size_t findings = 64;         // cascade findings kept (the newest); >= 1
  std::size_t max_quarantined = 64;  // actors quarantined at once; 1..4096

  // errc::invalid_config naming the field, or OK.
  status validate() const;
};

// Actor `from` sent the message whose handling made actor `to` fail.
struct failure_edge {
  actor_handle from;  // empty: from outside the system, or a failure in on_start
  actor_handle to;
  actor_id to_id = k_no_actor;
  std::string_view to_type;  // static storage
  message_id message = 0;
  message_id correlation = 0;
  message_id causation = 0;
  std::uint64_t at = 0;  // the failing actor's now()
  actor_handle root;     // the first failed actor of the cascade it belongs to (`to` if none)
};

struct cascade_finding {
  actor_handle root;
  std::string_view root_type;
  std::uint32_t spread = 0;  // other actors that failed in it within the window
  std::vector<actor_handle> actors;
  message_id correlation = 0;  // of the failure that reached max_spread
  std::uint64_t first_at = 0;
  std::uint64_t at = 0;
  bool quarantined = false;  // the root was quarantined for it
};

struct quarantine_info {
  actor_handle actor;
  actor_handle fallback;    // empty: messages are dropped
  std::uint32_t level = 0;  // quarantines in a row (1 for the first)
  std::uint64_t until = 0;  // the next probe is let through from then
  bool probing = false;
  std::uint64_t dropped = 0;
  std::uint64_t redirected = 0;
  bool subtree = false;  // covers the actors below it in the supervision tree too
  std::string reason;
};

struct cascade_stats {
  std::uint64_t failures = 0;     // failures seen
  std::uint64_t linked = 0;       // failures that joined an earlier failure's cascade
  std::uint64_t cascades = 0;     // findings (a root reaching max_spread)
  std::uint64_t quarantines = 0;  // quarantines started (by cascade or by hand)
  std::uint64_t extensions = 0;   // quarantined actors that failed again (or a failed probe)
  std::uint64_t releases = 0;
  std::uint64_t probes = 0;
  std::uint64_t dropped = 0;
  std::uint64_t redirected = 0;
  std::uint64_t table_full = 0;  // quarantines refused: max_quarantined actors already
  std::uint64_t log_errors = 0;
};

class cascade_guard final : public hook_subscriber {
 public:
  // errc::invalid_config naming the field for a bad configuration.
  static result<std::shared_ptr<cascade_guard>> create(cascade_config cfg);
  ~cascade_guard() override;

  // Quarantines `a` (by hand: steering, an anomaly detector) until `now` + the period of its
  // level; messages go to `fallback` when it is given. errc::full when the table is full,
  // errc::invalid_argument for an empty handle. An actor already quarantined gets the new
  // reason and fallback and keeps its period.
  status quarantine(actor_handle a, std::uint64_t now, std::string_view reason,
                    actor_handle fallback = {});
  // The same for `root` and every actor below it in the supervision tree, now and later (a child
  // restarted or started while it lasts is covered too). errc::invalid_argument if no system is
  // attached (attach_system). An actor quarantined alone becomes a subtree quarantine.
  status quarantine_subtree(actor_handle root, std::uint64_t now, std::string_view reason,
                            actor_handle fallback = {});
  // Ends a quarantine at once (of the subtree, for a subtree's root); false if `a` was not
  // quarantined itself.
  bool release(actor_handle a, std::uint64_t now);
  // Whether messages to `a` are held back: it is quarantined, or is below a quarantined subtree.
  bool is_quarantined(actor_handle a) const noexcept;
  // Actors quarantined now (a relaxed read of the table's count; no copy, no lock).
  std::size_t quarantined_count() const noexcept;

  std::vector<failure_edge> edges() const;
  std::vector<cascade_finding> findings() const;
  std::vector<quarantine_info> quarantined() const;
  cascade_stats stats() const;
  const cascade_config& config() const noexcept { return cfg_; }

  // Every later quarantine, extension and release appends a QUARANTINE record to `log`, which
  // must outlive the guard. Any thread.
  void attach_log(eventlog::event_log* log) noexcept;
  // The system whose supervision tree subtree quarantines follow. Call it once the system
  // exists (its hooks include this guard); `sys` must outlive every later call of the guard, or
  // be detached with nullptr first. Any thread.
  void attach_system(const actor_system* sys) noexcept;

  send_decision on_send(send_event& ev) noexcept override;
  void on_handled(const deliver_event& ev) noexcept override;
  void on_failure(const lifecycle_event& ev) noexcept override;
  void on_stop(const lifecycle_event& ev) noexcept override;

 private:
  explicit cascade_guard(cascade_config cfg);
  send_decision quarantined_send(quarantine_entry& e, std::uint64_t key, send_event& ev) noexcept;
  // The rest run with the state's mutex held.
  void note_spread_locked(std::uint64_t root, std::uint64_t to, const lifecycle_event& ev,
                          std::uint64_t now);
  void prune_locked(std::uint64_t now);
  status quarantine_locked(std::uint64_t key, actor_id id, std::uint64_t now,
                           std::string_view reason, actor_handle fallback, bool subtree);
  void extend_locked(quarantine_entry& e, std::uint64_t now);
  void release_locked(quarantine_entry& e, std::uint64_t now);
  void record_locked(quarantine_event what, const quarantine_entry& e, std::uint64_t key,
                     std::uint64_t now);
  struct state;
  cascade_config cfg_;
  std::unique_ptr<state> s_;
};

}  // namespace keel::resilience
