// circuit_breaker: the transitions (the closed-state check is inline in the header).
// research/resilience.md §2 has the semantics.
#include <algorithm>
#include <cmath>

#include "resilience/bounded_ring.h"
#include "resilience/breaker_window.h"

#include <keel/base/splitmix.h>
#include <keel/base/xxh3.h>
#include <keel/eventlog/log.h>
#include <keel/resilience/breaker_record.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel::resilience {

using detail::permit_kind;

// Everything but the state word and the window: counters and the half-open bookkeeping.
struct circuit_breaker::shared_state {
  explicit shared_state(std::uint32_t event_capacity) : events(event_capacity) {}

  // relaxed throughout: counters and hints; the state word orders the transitions.
  std::atomic<std::uint32_t> consecutive{0};
  // half_open: (generation << 32) | successful probes of that generation.
  std::atomic<std::uint64_t> probe_tally{0};
  std::atomic<std::uint32_t> backoff_level{0};     // reopenings in a row since the last close
  std::atomic<std::uint64_t> open_ns{0};           // the open period being served (or last)
  std::atomic<std::uint64_t> would_trip_stamp{0};  // metrics_only: one event per stamp
  // Opens since the last reset(): picks each open period's jitter, so a breaker reset at the
  // same point of an actor's inputs draws the same periods (replay).
  std::atomic<std::uint64_t> jitter_index{0};
  std::atomic<std::uint64_t> ignored{0}, cancelled{0}, not_permitted{0}, stale{0};
  std::atomic<std::uint64_t> opened{0}, half_opened{0}, closed{0}, probes_replaced{0};
  std::atomic<std::uint64_t> events_dropped{0}, log_errors{0};
  detail::bounded_ring<breaker_event> events;
};

namespace {

constexpr unsigned k_deadline_shift = 20;  // deadline units of 2^20 ns
constexpr unsigned k_probe_shift = 24;
constexpr std::uint64_t k_probe_unit = std::uint64_t{1} << k_probe_shift;

// The unit `ns` falls in, and the first unit at or after it (a deadline is never early).
std::uint32_t units_floor(std::uint64_t ns) noexcept {
  return static_cast<std::uint32_t>(ns >> k_deadline_shift);
}
std::uint32_t units_ceil(std::uint64_t ns) noexcept {
  return static_cast<std::uint32_t>((ns + ((std::uint64_t{1} << k_deadline_shift) - 1)) >>
                                    k_deadline_shift);
}
std::uint32_t probes_of(std::uint64_t w) noexcept {
  return static_cast<std::uint32_t>(w >> k_probe_shift) & 0xFF;
}
breaker_state state_of(std::uint64_t w) noexcept { return static_cast<breaker_state>(w & 0x7); }

bool counts_as_bad(call_outcome o, const breaker_config& cfg) noexcept {
  return o == call_outcome::failure ||
         (o == call_outcome::timeout && cfg.timeout_counts_as_failure);
}

std::uint64_t ppb(double ratio) noexcept {
  return static_cast<std::uint64_t>(std::llround(ratio * 1e9));
}

}  // namespace

result<std::unique_ptr<circuit_breaker>> circuit_breaker::create(breaker_config cfg) {
  if (auto st = cfg.validate(); !st) return st;
  return std::unique_ptr<circuit_breaker>(new circuit_breaker(std::move(cfg)));
}

circuit_breaker::circuit_breaker(breaker_config cfg)
    : cfg_(std::move(cfg)),
      failure_ppb_(ppb(cfg_.failure_ratio)),
      slow_ppb_(ppb(cfg_.slow_call_ratio)),
      jitter_seed_(cfg_.seed ^ xxh3_64(cfg_.name)),
      max_ahead_units_(units_ceil(static_cast<std::uint64_t>(cfg_.open_max.count())) + 2),
      window_(std::make_unique<detail::breaker_window>(cfg_)),
      s_(std::make_unique<shared_state>(cfg_.event_capacity)) {
  s_->open_ns.store(next_open_ns(0), std::memory_order_relaxed);
}

circuit_breaker::~circuit_breaker() = default;

// A deadline is at most open_max (rounded up) ahead of the clock. The 32-bit unit count wraps
// every 2^52 ns (52 days), so a signed difference says "ahead" for a deadline that passed more
// than 26 days ago; a deadline that looks farther ahead than open_max has passed. (A breaker left
// untouched for a multiple of 52 days minus less than open_max may refuse for that remainder.)
bool circuit_breaker::deadline_passed(std::uint64_t w, std::uint64_t now) const noexcept {
  const auto deadline = static_cast<std::uint32_t>(w >> 32);
  const auto diff = static_cast<std::int32_t>(units_floor(now) - deadline);
  if (diff >= 0) return true;
  return -static_cast<std::int64_t>(diff) > static_cast<std::int64_t>(max_ahead_units_);
}

permit circuit_breaker::acquire_slow(std::uint64_t w, std::uint64_t now) noexcept {
  for (;;) {
    switch (state_of(w)) {
      case breaker_state::closed:
      case breaker_state::metrics_only:
        return permit(this, generation_of(w), permit_kind::normal);
      case breaker_state::disabled:
        return permit(this, generation_of(w), permit_kind::untracked);
      case breaker_state::forced_open:
        s_->not_permitted.fetch_add(1, std::memory_order_relaxed);
        return permit();
      case breaker_state::open: {
        if (!deadline_passed(w, now)) {
          s_->not_permitted.fetch_add(1, std::memory_order_relaxed);
          return permit();
        }
        // The open period is over: half_open, this caller holding the first probe. The round's
        // deadline is one more open period.
        const std::uint64_t period = s_->open_ns.load(std::memory_order_relaxed);
        if (transition(w, breaker_state::half_open, now, period, cfg_.half_open_permits - 1)) {
          return permit(this, generation_of(w), permit_kind::probe);
        }
        continue;  // lost the race: w is the new word
      }
      case breaker_state::half_open: {
        if (probes_of(w) > 0) {
          if (word_.compare_exchange_weak(w, w - k_probe_unit, std::memory_order_acq_rel,
                                          std::memory_order_relaxed)) {
            return permit(this, generation_of(w), permit_kind::probe);
          }
          continue;
        }
        if (!deadline_passed(w, now)) {
          s_->not_permitted.fetch_add(1, std::memory_order_relaxed);
          return permit();
        }
        // Every probe is out and none gave a verdict within the round's period: abandon the
        // round. A new generation makes the old probes stale (their late results and releases
        // change nothing) and this caller takes the new round's first probe.
        const std::uint64_t period = s_->open_ns.load(std::memory_order_relaxed);
        if (transition(w, breaker_state::half_open, now, period, cfg_.half_open_permits - 1)) {
          return permit(this, generation_of(w), permit_kind::probe);
        }
        continue;
      }
    }
    return permit();
  }
}

void circuit_breaker::on_outcome(const permit& p, call_outcome o, std::uint64_t now,
                                 std::chrono::nanoseconds took) noexcept {
  if (p.kind_ == permit_kind::untracked || o == call_outcome::cancelled) return;
  const bool slow = cfg_.slow_call_threshold.count() > 0 && took >= cfg_.slow_call_threshold;
  if (o == call_outcome::ignored) {
    s_->ignored.fetch_add(1, std::memory_order_relaxed);
    if (p.kind_ == permit_kind::probe) on_probe_released(p);
    return;
  }
  const detail::outcome_bits bits{counts_as_bad(o, cfg_), slow, o == call_outcome::timeout};
  if (p.kind_ == permit_kind::probe) {
    on_probe_outcome(p, o, slow, now);
    return;
  }
  // relaxed: only the generation is compared; no data is read through it.
  const std::uint64_t w = word_.load(std::memory_order_relaxed);
  if (generation_of(w) != p.generation_) {
    s_->stale.fetch_add(1, std::memory_order_relaxed);
    window_->add_lifetime_only(bits);
    return;
  }
  window_->add(now, bits);
  if (bits.bad) {
    s_->consecutive.fetch_add(1, std::memory_order_relaxed);
  } else {
    // Load first: a success does not write the shared line unless a run of failures ends.
    if (s_->consecutive.load(std::memory_order_relaxed) != 0) {
      s_->consecutive.store(0, std::memory_order_relaxed);
    }
    if (!slow) return;  // successes never pay for an evaluation
  }
  evaluate(w, now);
}

void circuit_breaker::evaluate(std::uint64_t w, std::uint64_t now) noexcept {
  const bool slow_on = cfg_.slow_call_threshold.count() > 0;
  const std::uint32_t consecutive = s_->consecutive.load(std::memory_order_relaxed);
  const detail::window_counts v = window_->view(now, slow_on);
  const bool by_count = cfg_.consecutive_failures != 0 && consecutive >= cfg_.consecutive_failures;
  const bool by_rate =
      v.calls >= cfg_.min_calls &&
      (at_least(v.bad, v.calls, failure_ppb_) || (slow_on && at_least(v.slow, v.calls, slow_ppb_)));
  if (!by_count && !by_rate) return;
  if (state_of(w) == breaker_state::metrics_only) {
    // One would_trip event per bucket (time_based) or per window_calls calls (count_based).
    const std::uint64_t stamp = window_->stamp(now) + 1;
    std::uint64_t last = s_->would_trip_stamp.load(std::memory_order_relaxed);
    if (last == stamp ||
        !s_->would_trip_stamp.compare_exchange_strong(last, stamp, std::memory_order_relaxed)) {
      return;
    }
    breaker_event e;
    e.kind = breaker_event_kind::would_trip;
    e.from = e.to = breaker_state::metrics_only;
    e.generation = generation_of(w);
    e.at = now;
    e.calls = static_cast<std::uint32_t>(std::min<std::uint64_t>(v.calls, UINT32_MAX));
    e.failures = static_cast<std::uint32_t>(std::min<std::uint64_t>(v.bad, UINT32_MAX));
    e.slow = static_cast<std::uint32_t>(std::min<std::uint64_t>(v.slow, UINT32_MAX));
    e.consecutive = consecutive;
    emit(e);
    return;
  }
  // In closed the word changes only by a transition, so a lost compare-exchange means another
  // thread already moved it on: nothing to retry.
  if (state_of(w) == breaker_state::closed) {
    transition(w, breaker_state::open, now, next_open_ns(0), 0);
  }
}

void circuit_breaker::on_probe_outcome(const permit& p, call_outcome o, bool slow,
                                       std::uint64_t now) noexcept {
  const bool bad = counts_as_bad(o, cfg_);
  window_->add_lifetime_only({bad, slow, o == call_outcome::timeout});
  // In half_open the word also changes within a generation (probes taken and given back), so
  // each compare-exchange below is retried for as long as the round is still this probe's.
  std::uint64_t w = word_.load(std::memory_order_acquire);
  auto still_mine = [&] {
    return generation_of(w) == p.generation_ && state_of(w) == breaker_state::half_open;
  };
  if (!still_mine()) {
    s_->stale.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (bad || slow) {
    const std::uint32_t level = s_->backoff_level.load(std::memory_order_relaxed) + 1;
    const std::uint64_t period = next_open_ns(level);
    while (still_mine()) {
      if (transition(w, breaker_state::open, now, period, 0)) {
        s_->backoff_level.store(level, std::memory_order_relaxed);
        return;
      }
    }
    s_->stale.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (o != call_outcome::success) {  // a timeout that does not count: neither way
    on_probe_released(p);
    return;
  }
  const std::uint64_t gen = p.generation_;
  std::uint64_t tally = s_->probe_tally.load(std::memory_order_relaxed);
  std::uint64_t next = 0;
  do {
    w = word_.load(std::memory_order_acquire);
    if (!still_mine()) {
      s_->stale.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    next = (tally >> 32) == gen ? tally + 1 : (gen << 32) | 1;
  } while (!s_->probe_tally.compare_exchange_weak(tally, next, std::memory_order_relaxed));
  if ((next & 0xFFFFFFFFU) < cfg_.half_open_permits) return;
  while (still_mine()) {
    if (transition(w, breaker_state::closed, now, 0, 0)) return;
  }
}

void circuit_breaker::on_probe_released(const permit& p) noexcept {
  s_->cancelled.fetch_add(1, std::memory_order_relaxed);
  std::uint64_t w = word_.load(std::memory_order_relaxed);
  while (generation_of(w) == p.generation_ && state_of(w) == breaker_state::half_open &&
         probes_of(w) < cfg_.half_open_permits) {
    if (word_.compare_exchange_weak(w, w + k_probe_unit, std::memory_order_acq_rel,
                                    std::memory_order_relaxed)) {
      return;
    }
  }
}

bool circuit_breaker::transition(std::uint64_t& w, breaker_state to, std::uint64_t now,
                                 std::uint64_t open_ns, std::uint32_t probes) noexcept {
  const std::uint32_t gen = (generation_of(w) + 1) & ((1U << k_generation_bits) - 1);
  const bool timed = to == breaker_state::open || to == breaker_state::half_open;
  const std::uint64_t next =
      static_cast<std::uint64_t>(to) | (static_cast<std::uint64_t>(gen) << 3) |
      (static_cast<std::uint64_t>(probes) << k_probe_shift) |
      (timed ? static_cast<std::uint64_t>(units_ceil(now + open_ns)) << 32 : 0);
  const std::uint64_t before = w;
  // What the event reports, read before this transition's own side effects.
  const std::uint32_t consecutive = s_->consecutive.load(std::memory_order_relaxed);
  // acq_rel: transitions are ordered one after another through this word.
  if (!word_.compare_exchange_strong(w, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
    return false;
  }
  w = next;
  const breaker_state from = state_of(before);
  const detail::window_counts v = window_->view(now, true);
  switch (to) {
    case breaker_state::open:
      s_->open_ns.store(open_ns, std::memory_order_relaxed);
      s_->opened.fetch_add(1, std::memory_order_relaxed);
      s_->jitter_index.fetch_add(1, std::memory_order_relaxed);
      s_->consecutive.store(0, std::memory_order_relaxed);
      break;
    case breaker_state::half_open:
      (from == breaker_state::half_open ? s_->probes_replaced : s_->half_opened)
          .fetch_add(1, std::memory_order_relaxed);
      break;
    case breaker_state::closed:
      if (from == breaker_state::half_open) s_->closed.fetch_add(1, std::memory_order_relaxed);
      s_->backoff_level.store(0, std::memory_order_relaxed);
      window_->reset();
      s_->consecutive.store(0, std::memory_order_relaxed);
      break;
    case breaker_state::metrics_only:
      s_->would_trip_stamp.store(0, std::memory_order_relaxed);
      break;
    default:
      break;
  }
  breaker_event e;
  e.kind = breaker_event_kind::transition;
  e.from = from;
  e.to = to;
  e.generation = gen;
  e.at = now;
  e.open_for_ns = to == breaker_state::open ? open_ns : 0;
  e.calls = static_cast<std::uint32_t>(std::min<std::uint64_t>(v.calls, UINT32_MAX));
  e.failures = static_cast<std::uint32_t>(std::min<std::uint64_t>(v.bad, UINT32_MAX));
  e.slow = static_cast<std::uint32_t>(std::min<std::uint64_t>(v.slow, UINT32_MAX));
  e.consecutive = consecutive;
  emit(e);
  return true;
}

void circuit_breaker::operator_transition(breaker_state to, std::uint64_t now) noexcept {
  std::uint64_t w = word_.load(std::memory_order_acquire);
  while (!transition(w, to, now, 0, 0)) {
  }
}

bool circuit_breaker::trip(std::uint64_t now) noexcept {
  std::uint64_t w = word_.load(std::memory_order_acquire);
  for (;;) {
    const breaker_state st = state_of(w);
    if (st != breaker_state::closed && st != breaker_state::half_open) return false;
    const std::uint32_t level =
        st == breaker_state::half_open ? s_->backoff_level.load(std::memory_order_relaxed) + 1 : 0;
    if (transition(w, breaker_state::open, now, next_open_ns(level), 0)) {
      s_->backoff_level.store(level, std::memory_order_relaxed);
      return true;
    }
  }
}

void circuit_breaker::force_open(std::uint64_t now) noexcept {
  operator_transition(breaker_state::forced_open, now);
}
void circuit_breaker::disable(std::uint64_t now) noexcept {
  operator_transition(breaker_state::disabled, now);
}
void circuit_breaker::metrics_only(std::uint64_t now) noexcept {
  operator_transition(breaker_state::metrics_only, now);
}
void circuit_breaker::reset(std::uint64_t now) noexcept {
  if (state() == breaker_state::closed) {
    // Already closed: start afresh without a transition (no new generation, no event).
    window_->reset();
    s_->consecutive.store(0, std::memory_order_relaxed);
    s_->backoff_level.store(0, std::memory_order_relaxed);
  } else {
    operator_transition(breaker_state::closed, now);
  }
  s_->jitter_index.store(0, std::memory_order_relaxed);
}

std::uint64_t circuit_breaker::next_open_ns(std::uint32_t level) const noexcept {
  const auto base = static_cast<double>(cfg_.open_base.count());
  const auto cap = static_cast<double>(cfg_.open_max.count());
  double d = std::min(
      cap, base * std::pow(cfg_.open_multiplier, static_cast<double>(std::min(level, 64U))));
  if (cfg_.jitter > 0) {
    // The same seed, name and history give the same periods (deterministic tests and replay).
    std::uint64_t st = jitter_seed_ ^ (s_ ? s_->jitter_index.load(std::memory_order_relaxed) : 0);
    const double u = static_cast<double>(splitmix64(st) >> 11) * 0x1.0p-53;
    d = std::min(cap, d * (1.0 + cfg_.jitter * (u - 0.5)));
  }
  return static_cast<std::uint64_t>(d);
}

std::chrono::nanoseconds circuit_breaker::open_duration() const noexcept {
  const auto base = static_cast<double>(cfg_.open_base.count());
  const double d =
      base * std::pow(cfg_.open_multiplier,
                      static_cast<double>(s_->backoff_level.load(std::memory_order_relaxed)));
  return std::chrono::nanoseconds(
      static_cast<std::int64_t>(std::min(d, static_cast<double>(cfg_.open_max.count()))));
}

circuit_breaker::window_view circuit_breaker::window(std::uint64_t now) const noexcept {
  const detail::window_counts v = window_->view(now, true);
  auto u32 = [](std::uint64_t x) {
    return static_cast<std::uint32_t>(std::min<std::uint64_t>(x, UINT32_MAX));
  };
  return {u32(v.calls), u32(v.bad), u32(v.slow)};
}

breaker_stats circuit_breaker::stats() const noexcept {
  const detail::window_counts life = window_->lifetime();
  const std::uint64_t timeouts_as_bad = cfg_.timeout_counts_as_failure ? life.timeouts : 0;
  breaker_stats s;
  // Counters are read one at a time while calls may run: clamp, never wrap below zero.
  s.timeouts = life.timeouts;
  s.failures = life.bad > timeouts_as_bad ? life.bad - timeouts_as_bad : 0;
  s.successes = life.calls > s.failures + s.timeouts ? life.calls - s.failures - s.timeouts : 0;
  s.slow = life.slow;
  s.ignored = s_->ignored.load(std::memory_order_relaxed);
  s.cancelled = s_->cancelled.load(std::memory_order_relaxed);
  s.not_permitted = s_->not_permitted.load(std::memory_order_relaxed);
  s.stale = s_->stale.load(std::memory_order_relaxed);
  s.opened = s_->opened.load(std::memory_order_relaxed);
  s.half_opened = s_->half_opened.load(std::memory_order_relaxed);
  s.closed = s_->closed.load(std::memory_order_relaxed);
  s.probes_replaced = s_->probes_replaced.load(std::memory_order_relaxed);
  s.events_dropped = s_->events_dropped.load(std::memory_order_relaxed);
  s.log_errors = s_->log_errors.load(std::memory_order_relaxed);
  return s;
}

bool circuit_breaker::poll_event(breaker_event& out) noexcept { return s_->events.try_pop(out); }

void circuit_breaker::emit(const breaker_event& e) noexcept {
  if (!s_->events.try_push(e)) s_->events_dropped.fetch_add(1, std::memory_order_relaxed);
  eventlog::event_log* log = log_.load(std::memory_order_acquire);
  if (log == nullptr) return;
  breaker_record_buffer buf;
  const std::span<const std::byte> payload = encode_breaker_record(e, cfg_.name, buf);
  eventlog::record_in r;
  r.type = eventlog::record_type::breaker;
  r.ts_ns = static_cast<std::int64_t>(e.at);
  r.payload = payload;
  if (!log->append(r)) s_->log_errors.fetch_add(1, std::memory_order_relaxed);
}

// ---- permit ---------------------------------------------------------------------------------

void permit::report(call_outcome o, std::uint64_t now, std::chrono::nanoseconds took) noexcept {
  if (kind_ == detail::permit_kind::none || reported_) return;
  reported_ = true;
  b_->on_outcome(*this, o, now, took);
}

void permit::report(errc code, std::uint64_t now, std::chrono::nanoseconds took) noexcept {
  call_outcome o = call_outcome::failure;
  if (code == errc::ok) {
    o = call_outcome::success;
  } else if (code == errc::timeout) {
    o = call_outcome::timeout;
  } else if (b_ != nullptr &&
             std::find(b_->cfg_.ignored_errors.begin(), b_->cfg_.ignored_errors.end(), code) !=
                 b_->cfg_.ignored_errors.end()) {
    o = call_outcome::ignored;
  }
  report(o, now, took);
}

void permit::release_probe() noexcept {
  reported_ = true;
  b_->on_probe_released(*this);
}

}  // namespace keel::resilience
