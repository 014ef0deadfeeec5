// keel::resilience::circuit_breaker: stops calls to a failing dependency for a while, then lets a
// few probes through to see whether it has recovered (research/resilience.md §2 has the
// semantics and the complaints about other libraries they avoid).
//
// States: closed (calls pass; outcomes go to a sliding window), open (calls are refused until a
// deadline), half_open (a few probes pass; their outcomes close or reopen it), and three operator
// states: forced_open (refuse everything until reset), disabled (admit everything, record
// nothing), metrics_only (admit everything, record, and report "would trip" instead of opening).
//
// Use: `auto p = b.try_acquire(now); if (!p) { fallback } else { call; p.success(now, took); }`.
// A permit that is destroyed without an outcome releases its probe (cancelled), so a caller that
// forgets or throws cannot leave the breaker stuck half-open. A half-open round whose probes are
// all out and none has given a verdict within one more open period is abandoned: a new round
// starts (a new generation), so a hung call cannot hold the breaker either. Outcomes reported
// under an older generation (the breaker changed state since the permit was taken) are counted
// as stale and change nothing.
//
// Time: every call that may need time takes `now`, in nanoseconds on the caller's monotonic
// clock (actor::now() inside an actor: the worker's cached tick, or the virtual clock under the
// deterministic scheduler; keel::sched::clock_now() outside). The closed-state check never looks
// at it. A breaker must be fed one clock.
//
// Thread safety: every member function may be called from any thread concurrently, except
// poll_event (one consumer at a time). try_acquire and the outcome calls take no lock, make no
// syscall and allocate nothing; a transition appends a BREAKER record to the attached event log
// (lock-free as well) and pushes an event into a bounded ring (dropped and counted when full).
// No user callback ever runs inside the breaker.
//
// Memory ordering: the state word is read relaxed by the closed-state check (it guards no other
// data the caller reads) and changed only by acq_rel compare-exchange, which orders transitions
// one after another. The winner then resets the window (on close), records the backoff (on
// open) and emits the event; another thread may act on the new state a moment before those are
// visible. Nothing depends on them being seen together: a few outcomes right at a transition may
// be judged in the old window (the documented approximation of docs/resilience.md).
//
// Lifetime: permits and an attached log must not outlive the breaker.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <keel/base/result.h>
#include <keel/base/status.h>

namespace keel::eventlog {
class event_log;
}

namespace keel::resilience {

enum class breaker_state : std::uint8_t {
  closed = 0,
  open = 1,
  half_open = 2,
  forced_open = 3,
  disabled = 4,
  metrics_only = 5,
};
std::string_view to_string(breaker_state s) noexcept;

// What one call came to. `ignored` counts as neither success nor failure (an error the
// configuration says is the caller's fault); `cancelled` only releases the permit.
enum class call_outcome : std::uint8_t { success, failure, timeout, ignored, cancelled };
std::string_view to_string(call_outcome o) noexcept;

enum class window_kind : std::uint8_t {
  time_based,   // the last window_buckets buckets of bucket_width each (default 10 x 1 s)
  count_based,  // the last window_calls calls
};

struct breaker_config {
  std::string name;  // for events, BREAKER records and errors; at most 64 bytes

  window_kind window = window_kind::time_based;
  std::uint32_t window_buckets = 10;                                // time_based: 1..1024
  std::chrono::nanoseconds bucket_width = std::chrono::seconds(1);  // time_based: 1 ms..60 s
  std::uint32_t window_calls = 100;                                 // count_based: 1..60000

  // Rates are judged once the window holds at least min_calls calls (for count_based at most
  // window_calls); below it nothing trips on a rate.
  std::uint32_t min_calls = 20;
  double failure_ratio = 0.5;  // trips when failures / calls >= this; (0, 1]
  // A call that took at least slow_call_threshold is slow (0: off); trips when slow / calls >=
  // slow_call_ratio, (0, 1].
  std::chrono::nanoseconds slow_call_threshold{0};
  double slow_call_ratio = 1.0;
  bool timeout_counts_as_failure = true;
  // Trips after this many failures in a row, whatever the volume (0: off).
  std::uint32_t consecutive_failures = 0;
  // Errors that count as `ignored` when an outcome is given as a status (permit::record).
  std::vector<errc> ignored_errors;

  // Open for open_base, then open_base * open_multiplier^k after the k-th reopening in a row,
  // capped at open_max, then times (1 + jitter * (u - 0.5)) with u uniform in [0, 1) from a
  // generator seeded with `seed` and the name (so breakers with the default seed do not reopen
  // in step) and drawn once per open since the last reset(), and at most open_max. Closing
  // resets k.
  std::chrono::nanoseconds open_base = std::chrono::seconds(5);
  double open_multiplier = 2.0;  // >= 1
  std::chrono::nanoseconds open_max = std::chrono::seconds(300);
  double jitter = 0.2;  // [0, 1]
  std::uint64_t seed = 0;

  // Probes admitted in half_open; this many successes close the breaker, any counted failure
  // (or slow call) reopens it. 1..255.
  std::uint32_t half_open_permits = 1;

  std::uint32_t event_capacity = 64;  // breaker events kept until polled: a power of two, >= 2

  // errc::invalid_config naming the field, or OK.
  status validate() const;
};

enum class breaker_event_kind : std::uint8_t {
  transition,  // from -> to
  would_trip,  // metrics_only: the thresholds were exceeded
};

struct breaker_event {
  breaker_event_kind kind = breaker_event_kind::transition;
  breaker_state from = breaker_state::closed;
  breaker_state to = breaker_state::closed;
  // The generation entered (to). Events are pushed just after their transition, so two
  // transitions racing may be polled out of order: sort by generation (wrapping, 21 bits).
  std::uint32_t generation = 0;
  std::uint64_t at = 0;           // `now` of the call that caused it
  std::uint64_t open_for_ns = 0;  // entering open: how long it stays open
  // The window when it happened: calls, failures (timeouts included when they count) and slow.
  std::uint32_t calls = 0;
  std::uint32_t failures = 0;
  std::uint32_t slow = 0;
  std::uint32_t consecutive = 0;  // consecutive failures when it happened
};

// Counts since creation, of calls admitted while the breaker was not disabled. Read one counter
// at a time: exact once calls have stopped; while they run, a snapshot may miss the calls in
// flight (never a negative count). An outcome racing a transition may be counted as stale or
// not.
struct breaker_stats {
  std::uint64_t successes = 0;
  std::uint64_t failures = 0;  // timeouts not included
  std::uint64_t timeouts = 0;
  std::uint64_t slow = 0;
  std::uint64_t ignored = 0;
  // Probes that gave back their permit: dropped without an outcome, or reported as ignored or
  // as a timeout that does not count.
  std::uint64_t cancelled = 0;
  std::uint64_t not_permitted = 0;
  std::uint64_t stale = 0;   // outcomes of an older generation
  std::uint64_t opened = 0;  // transitions into open (forced_open not included)
  std::uint64_t half_opened = 0;
  std::uint64_t closed = 0;           // transitions from half_open into closed
  std::uint64_t probes_replaced = 0;  // half_open rounds abandoned for want of a verdict
  std::uint64_t events_dropped = 0;
  std::uint64_t log_errors = 0;  // BREAKER records the attached log refused
};

class circuit_breaker;

namespace detail {
class breaker_window;
enum class permit_kind : std::uint8_t { none, normal, probe, untracked };
}  // namespace detail

// The right to make one call. Move-only; an admitted permit that is destroyed without an outcome
// releases itself (a probe goes back to the breaker). Owned by one thread at a time.
class [[nodiscard]] permit {
 public:
  permit() noexcept = default;
  permit(permit&& o) noexcept
      : b_(o.b_), generation_(o.generation_), kind_(o.kind_), reported_(o.reported_) {
    o.kind_ = detail::permit_kind::none;
  }
  permit& operator=(permit&& o) noexcept {
    if (this != &o) {
      release();
      b_ = o.b_;
      generation_ = o.generation_;
      kind_ = o.kind_;
      reported_ = o.reported_;
      o.kind_ = detail::permit_kind::none;
    }
    return *this;
  }
  permit(const permit&) = delete;
  permit& operator=(const permit&) = delete;
  ~permit() { release(); }

  // Whether the call may go ahead.
  explicit operator bool() const noexcept { return kind_ != detail::permit_kind::none; }
  bool is_probe() const noexcept { return kind_ == detail::permit_kind::probe; }
  std::uint32_t generation() const noexcept { return generation_; }

  // Reports the call's outcome; `took` decides whether it was slow. Once per permit: later
  // reports are ignored. REQUIRES: the permit was admitted.
  void success(std::uint64_t now, std::chrono::nanoseconds took = {}) noexcept {
    report(call_outcome::success, now, took);
  }
  void failure(std::uint64_t now, std::chrono::nanoseconds took = {}) noexcept {
    report(call_outcome::failure, now, took);
  }
  void timeout(std::uint64_t now) noexcept { report(call_outcome::timeout, now, {}); }
  void report(call_outcome o, std::uint64_t now, std::chrono::nanoseconds took) noexcept;
  // An error code classified by the configuration: ok -> success, timeout -> timeout, one of
  // ignored_errors -> ignored, anything else -> failure.
  void report(errc code, std::uint64_t now, std::chrono::nanoseconds took) noexcept;

 private:
  friend class circuit_breaker;
  permit(circuit_breaker* b, std::uint32_t generation, detail::permit_kind k) noexcept
      : b_(b), generation_(generation), kind_(k) {}
  void release() noexcept {
    if (kind_ == detail::permit_kind::probe && !reported_) release_probe();
  }
  void release_probe() noexcept;

  circuit_breaker* b_ = nullptr;
  std::uint32_t generation_ = 0;
  detail::permit_kind kind_ = detail::permit_kind::none;
  bool reported_ = false;
};

class circuit_breaker {
 public:
  // errc::invalid_config naming the field for a bad configuration.
  static result<std::unique_ptr<circuit_breaker>> create(breaker_config cfg);
  ~circuit_breaker();
  circuit_breaker(const circuit_breaker&) = delete;
  circuit_breaker& operator=(const circuit_breaker&) = delete;

  // Admits a call or not. Closed (the common case): one relaxed load, `now` unread. Open: admits
  // a first probe once the open period has passed (half_open). Any thread.
  permit try_acquire(std::uint64_t now) noexcept {
    const std::uint64_t w = word_.load(std::memory_order_relaxed);
    if ((w & k_state_mask) == static_cast<std::uint64_t>(breaker_state::closed)) [[likely]] {
      return permit(this, generation_of(w), detail::permit_kind::normal);
    }
    return acquire_slow(w, now);
  }

  breaker_state state() const noexcept {
    return static_cast<breaker_state>(word_.load(std::memory_order_acquire) & k_state_mask);
  }
  std::uint32_t generation() const noexcept {
    return generation_of(word_.load(std::memory_order_acquire));
  }
  const std::string& name() const noexcept { return cfg_.name; }
  const breaker_config& config() const noexcept { return cfg_; }

  // Opens the breaker as a trip would (closed or half_open -> open, then probes as usual): for a
  // signal the breaker cannot see, such as an anomaly detector firing. false (and no change) in
  // any other state. Any thread.
  bool trip(std::uint64_t now) noexcept;

  // Operator states. Each is a transition (a new generation, an event, a record); reset()
  // returns to closed with an empty window, the backoff and the jitter draws reset (on a closed
  // breaker it only empties the window and resets those, with no transition). Any thread.
  void force_open(std::uint64_t now) noexcept;
  void disable(std::uint64_t now) noexcept;
  void metrics_only(std::uint64_t now) noexcept;
  void reset(std::uint64_t now) noexcept;

  // The window now: calls, failures and slow calls it holds (the current generation's).
  struct window_view {
    std::uint32_t calls = 0;
    std::uint32_t failures = 0;
    std::uint32_t slow = 0;
  };
  window_view window(std::uint64_t now) const noexcept;
  // How long the next (or current) open period lasts, without jitter.
  std::chrono::nanoseconds open_duration() const noexcept;
  breaker_stats stats() const noexcept;

  // The oldest breaker event not yet polled. One consumer thread at a time.
  bool poll_event(breaker_event& out) noexcept;

  // Every later transition appends a BREAKER record (docs/eventlog-format.md) to `log`, which
  // must outlive the breaker (detaching with nullptr does not wait for a transition that is
  // appending). Any thread.
  void attach_log(eventlog::event_log* log) noexcept { log_.store(log, std::memory_order_release); }

 private:
  friend class permit;
  explicit circuit_breaker(breaker_config cfg);

  // The state word (invariants):
  //   1. bits 0-2: the breaker_state; bits 3-23: the generation (21 bits, wrapping), bumped by
  //      every transition; bits 24-31: half_open probes left; bits 32-63: open's or half_open's
  //      deadline in units of 2^20 ns (about 1 ms, rounded up), compared by signed difference
  //      (deadline_passed in circuit_breaker.cpp explains the wrap).
  //   2. Only compare-exchange changes it, so a transition happens once per generation and
  //      exactly one thread performs it (and emits its event).
  static constexpr std::uint64_t k_state_mask = 0x7;
  static constexpr std::uint32_t k_generation_bits = 21;
  static std::uint32_t generation_of(std::uint64_t w) noexcept {
    return static_cast<std::uint32_t>(w >> 3) & ((1U << k_generation_bits) - 1);
  }

  permit acquire_slow(std::uint64_t w, std::uint64_t now) noexcept;
  void on_outcome(const permit& p, call_outcome o, std::uint64_t now,
                  std::chrono::nanoseconds took) noexcept;
  void on_probe_outcome(const permit& p, call_outcome o, bool slow, std::uint64_t now) noexcept;
  bool deadline_passed(std::uint64_t w, std::uint64_t now) const noexcept;
  void on_probe_released(const permit& p) noexcept;
  void evaluate(std::uint64_t w, std::uint64_t now) noexcept;
  bool transition(std::uint64_t& w, breaker_state to, std::uint64_t now, std::uint64_t open_ns,
                  std::uint32_t probes) noexcept;
  // The integer threshold test: part / whole >= ratio, exact for decimal ratios.
  static bool at_least(std::uint64_t part, std::uint64_t whole, std::uint64_t ratio_ppb) noexcept {
    return part * 1'000'000'000ULL >= ratio_ppb * whole;
  }
  void operator_transition(breaker_state to, std::uint64_t now) noexcept;
  std::uint64_t next_open_ns(std::uint32_t level) const noexcept;
  void emit(const breaker_event& e) noexcept;

  std::atomic<std::uint64_t> word_{0};
  breaker_config cfg_;
  std::uint64_t failure_ppb_ = 0;  // failure_ratio in parts per billion
  std::uint64_t slow_ppb_ = 0;     // slow_call_ratio
  std::uint64_t jitter_seed_ = 0;  // seed mixed with the name
  // How far ahead of the clock a deadline can be: open_max in deadline units, plus two.
  std::uint32_t max_ahead_units_ = 0;
  std::unique_ptr<detail::breaker_window> window_;
  struct shared_state;
  std::unique_ptr<shared_state> s_;
  std::atomic<eventlog::event_log*> log_{nullptr};
};

}  // namespace keel::resilience
