// emergency_monitor: the health score, the levels with their hysteresis, and the actions the
// hooks take (see emergency.h).
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdio>
#include <deque>
#include <mutex>

#include <keel/core/actor_system.h>
#include <keel/core/json.h>
#include <keel/resilience/emergency.h>

namespace keel::resilience {
namespace {

constexpr std::size_t k_noncritical_slots = 256;

std::uint64_t pack(actor_handle h) noexcept {
  return h.valid() ? (static_cast<std::uint64_t>(h.generation) << 32) | h.slot : 0;
}

status bad(std::string_view field, std::string_view why) {
  return status(errc::invalid_config,
                "emergency_config::" + std::string(field) + " " + std::string(why));
}

bool unit_open(double v) noexcept { return std::isfinite(v) && v > 0.0 && v < 1.0; }

}  // namespace

status emergency_config::validate() const {
  if (!unit_open(degraded_below)) return bad("degraded_below", "must be in (0, 1)");
  if (!unit_open(critical_below) || critical_below >= degraded_below) {
    return bad("critical_below", "must be in (0, degraded_below)");
  }
  if (!unit_open(emergency_below) || emergency_below >= critical_below) {
    return bad("emergency_below", "must be in (0, critical_below)");
  }
  if (!(std::isfinite(recover_margin) && recover_margin >= 0)) {
    return bad("recover_margin", "must be >= 0");
  }
  if (recover_after < 1) return bad("recover_after", "must be >= 1");
  for (auto [w, name] : {std::pair{w_breakers, "w_breakers"}, std::pair{w_failures, "w_failures"},
                         std::pair{w_mailbox, "w_mailbox"}, std::pair{w_anomalies, "w_anomalies"},
                         std::pair{w_quarantine, "w_quarantine"}}) {
    if (!(std::isfinite(w) && w >= 0)) return bad(name, "must be >= 0");
  }
  if (w_breakers + w_failures + w_mailbox + w_anomalies + w_quarantine <= 0) {
    return bad("w_breakers", "and the other weights are all 0");
  }
  if (!(std::isfinite(failure_rate_bad) && failure_rate_bad > 0 && failure_rate_bad <= 1)) {
    return bad("failure_rate_bad", "must be in (0, 1]");
  }
  if (mailbox_age_bad.count() <= 0) return bad("mailbox_age_bad", "must be > 0");
  if (quarantined_bad < 1) return bad("quarantined_bad", "must be >= 1");
  if (findings < 1) return bad("findings", "must be >= 1");
  return status::ok();
}

std::string_view to_string(emergency_level l) noexcept {
  switch (l) {
    case emergency_level::normal:
      return "normal";
    case emergency_level::degraded:
      return "degraded";
    case emergency_level::critical:
      return "critical";
    case emergency_level::emergency:
      return "emergency";
  }
  return "unknown";
}

struct emergency_monitor::state {
  // Read by the hooks without the mutex.
  std::atomic<std::uint64_t> score_bits{std::bit_cast<std::uint64_t>(1.0)};
  std::atomic<std::uint64_t> max_age{0};  // the oldest sampled wait since the last sample
  std::atomic<std::uint32_t> noncritical_count{0};
  std::atomic<std::uint64_t> noncritical[k_noncritical_slots] = {};
  std::atomic<std::uint64_t> shed{0}, suspended{0}, edge_rejected{0};

  bool is_noncritical(std::uint64_t k) const noexcept {
    const std::uint32_t n = noncritical_count.load(std::memory_order_acquire);
    for (std::uint32_t i = 0; i < n; ++i) {
      if (noncritical[i].load(std::memory_order_relaxed) == k) return true;
    }
    return false;
  }

  // The mutex's.
  mutable std::mutex mu;
  const actor_system* sys = nullptr;
  std::vector<const circuit_breaker*> breakers;
  std::vector<const anomaly_detector*> detectors;
  const cascade_guard* guard = nullptr;
  std::uint64_t last_received = 0;
  std::uint64_t last_failures = 0;
  bool have_counters = false;
  std::uint32_t recover_run = 0;
  bool forced = false;
  std::deque<emergency_finding> findings;
  emergency_stats counts;
};

result<std::shared_ptr<emergency_monitor>> emergency_monitor::create(emergency_config cfg) {
  if (auto st = cfg.validate(); !st) return st;
  return std::shared_ptr<emergency_monitor>(new emergency_monitor(std::move(cfg)));
}

emergency_monitor::emergency_monitor(emergency_config cfg)
    : hook_subscriber(hook_phase::quarantine),
      cfg_(std::move(cfg)),
      s_(std::make_unique<state>()) {}

emergency_monitor::~emergency_monitor() = default;

void emergency_monitor::attach_system(const actor_system* sys) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->sys = sys;
  s_->have_counters = false;
}
void emergency_monitor::add_breaker(const circuit_breaker* b) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->breakers.push_back(b);
}
void emergency_monitor::add_detector(const anomaly_detector* d) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->detectors.push_back(d);
}
void emergency_monitor::attach_cascade_guard(const cascade_guard* g) {
  std::lock_guard<std::mutex> lock(s_->mu);
  s_->guard = g;
}

void emergency_monitor::mark_noncritical(actor_handle a) {
  const std::uint64_t k = pack(a);
  if (k == 0) return;
  std::lock_guard<std::mutex> lock(s_->mu);
  if (s_->is_noncritical(k)) return;
  const std::uint32_t n = s_->noncritical_count.load(std::memory_order_relaxed);
  if (n >= k_noncritical_slots) return;
  s_->noncritical[n].store(k, std::memory_order_relaxed);
  // release: a hook that reads the new count (acquire) sees the slot written above.
  s_->noncritical_count.store(n + 1, std::memory_order_release);
}

double emergency_monitor::score() const noexcept {
  return std::bit_cast<double>(s_->score_bits.load(std::memory_order_relaxed));
}

namespace {

emergency_level level_for(const emergency_config& c, double score) noexcept {
  if (score < c.emergency_below) return emergency_level::emergency;
  if (score < c.critical_below) return emergency_level::critical;
  if (score < c.degraded_below) return emergency_level::degraded;
  return emergency_level::normal;
}

// The score a level must be left above (plus the margin).
double leave_above(const emergency_config& c, emergency_level l) noexcept {
  switch (l) {
    case emergency_level::emergency:
      return c.emergency_below;
    case emergency_level::critical:
      return c.critical_below;
    default:
      return c.degraded_below;
  }
}

}  // namespace

emergency_level emergency_monitor::sample(std::uint64_t now) {
  std::lock_guard<std::mutex> lock(s_->mu);
  state& s = *s_;
  ++s.counts.samples;
  double breakers = 0;
  if (!s.breakers.empty()) {
    for (const circuit_breaker* b : s.breakers) {
      const breaker_state st = b->state();
      breakers += st == breaker_state::open || st == breaker_state::forced_open ? 1.0
                  : st == breaker_state::half_open                              ? 0.5
                                                                                : 0.0;
    }
    breakers /= static_cast<double>(s.breakers.size());
  }
  double failures = 0;
  if (s.sys != nullptr) {
    std::uint64_t received = 0;
    std::uint64_t failed = 0;
    for (const type_counters& t : s.sys->counters()) {
      received += t.received;
      failed += t.failures;
    }
    if (s.have_counters) {
      const std::uint64_t dr = received - std::min(received, s.last_received);
      const std::uint64_t df = failed - std::min(failed, s.last_failures);
      const double rate =
          static_cast<double>(df) / static_cast<double>(std::max<std::uint64_t>(dr, 1));
      failures = std::min(1.0, rate / cfg_.failure_rate_bad);
    }
    s.last_received = received;
    s.last_failures = failed;
    s.have_counters = true;
  }
  const double mailbox =
      std::min(1.0, static_cast<double>(s.max_age.exchange(0, std::memory_order_relaxed)) /
                        static_cast<double>(cfg_.mailbox_age_bad.count()));
  double anomalies = 0;
  if (!s.detectors.empty()) {
    for (const anomaly_detector* d : s.detectors) {
      anomalies += d->state() == severity::critical ? 1.0 : d->state() == severity::warn ? 0.5 : 0;
    }
    anomalies /= static_cast<double>(s.detectors.size());
  }
  const double quarantine =
      s.guard == nullptr
          ? 0.0
          : std::min(1.0, static_cast<double>(s.guard->quarantined_count()) / cfg_.quarantined_bad);
  const double wsum =
      cfg_.w_breakers + cfg_.w_failures + cfg_.w_mailbox + cfg_.w_anomalies + cfg_.w_quarantine;
  const double badness =
      (cfg_.w_breakers * breakers + cfg_.w_failures * failures + cfg_.w_mailbox * mailbox +
       cfg_.w_anomalies * anomalies + cfg_.w_quarantine * quarantine) /
      wsum;
  const double score = std::clamp(1.0 - badness, 0.0, 1.0);
  s.score_bits.store(std::bit_cast<std::uint64_t>(score), std::memory_order_relaxed);

  const auto cur = level();
  if (s.forced) return cur;
  const emergency_level target = level_for(cfg_, score);
  emergency_level next = cur;
  if (target > cur) {
    next = target;  // up at once
    s.recover_run = 0;
  } else if (target < cur) {
    // Down one step at a time, after recover_after samples clear of the step's threshold.
    if (score >= leave_above(cfg_, cur) + cfg_.recover_margin) {
      if (++s.recover_run >= cfg_.recover_after) {
        next = static_cast<emergency_level>(static_cast<std::uint8_t>(cur) - 1);
        s.recover_run = 0;
      }
    } else {
      s.recover_run = 0;
    }
  } else {
    s.recover_run = 0;
  }
  if (next != cur) {
    char why[160];
    std::snprintf(why, sizeof(why),
                  "breakers %.2f failures %.2f mailbox %.2f anomalies %.2f quarantine %.2f",
                  breakers, failures, mailbox, anomalies, quarantine);
    level_.store(static_cast<std::uint8_t>(next), std::memory_order_relaxed);
    ++s.counts.changes;
    s.findings.push_back({now, cur, next, score, false, why});
    while (s.findings.size() > cfg_.findings) s.findings.pop_front();
  }
  return next;
}

void emergency_monitor::force(emergency_level l, std::uint64_t now) {
  std::lock_guard<std::mutex> lock(s_->mu);
  const auto cur = level();
  s_->forced = true;
  s_->recover_run = 0;
  level_.store(static_cast<std::uint8_t>(l), std::memory_order_relaxed);
  ++s_->counts.changes;
  s_->findings.push_back({now, cur, l, score(), true, "forced by an operator"});
  while (s_->findings.size() > cfg_.findings) s_->findings.pop_front();
}

void emergency_monitor::automatic(std::uint64_t now) {
  std::lock_guard<std::mutex> lock(s_->mu);
  if (!s_->forced) return;
  s_->forced = false;
  s_->findings.push_back({now, level(), level(), score(), false, "handed back to the score"});
  while (s_->findings.size() > cfg_.findings) s_->findings.pop_front();
}

bool emergency_monitor::admit() noexcept {
  if (level() != emergency_level::emergency) return true;
  s_->edge_rejected.fetch_add(1, std::memory_order_relaxed);
  return false;
}

send_decision emergency_monitor::on_send(send_event& ev) noexcept {
  const auto l = static_cast<emergency_level>(level_.load(std::memory_order_relaxed));
  if (l == emergency_level::normal) return send_decision::pass;
  // The runtime's own traffic (replies, timeouts, supervision) and high priority always pass;
  // so does a message another hook already decided on.
  if (ev.runtime || ev.decision != send_decision::pass || ev.prio == priority::high) {
    return send_decision::pass;
  }
  if (ev.prio == priority::low || (l == emergency_level::emergency)) {
    s_->shed.fetch_add(1, std::memory_order_relaxed);
    return send_decision::drop;
  }
  if (l >= emergency_level::critical && s_->is_noncritical(pack(ev.target))) {
    s_->suspended.fetch_add(1, std::memory_order_relaxed);
    return send_decision::drop;
  }
  return send_decision::pass;
}

void emergency_monitor::on_deliver(const deliver_event& ev) noexcept {
  thread_local std::uint32_t n = 0;
  if ((++n & 63) != 0 || ev.now <= ev.sent_at) return;
  const std::uint64_t age = ev.now - ev.sent_at;
  std::uint64_t seen = s_->max_age.load(std::memory_order_relaxed);
  while (age > seen && !s_->max_age.compare_exchange_weak(seen, age, std::memory_order_relaxed)) {
  }
}

emergency_stats emergency_monitor::stats() const {
  std::lock_guard<std::mutex> lock(s_->mu);
  emergency_stats c = s_->counts;
  c.shed = s_->shed.load(std::memory_order_relaxed);
  c.suspended = s_->suspended.load(std::memory_order_relaxed);
  c.edge_rejected = s_->edge_rejected.load(std::memory_order_relaxed);
  return c;
}

health_report emergency_monitor::system_status() const {
  health_report r;
  r.stats = stats();
  std::lock_guard<std::mutex> lock(s_->mu);
  r.score = score();
  r.level = level();
  r.forced = s_->forced;
  for (const circuit_breaker* b : s_->breakers) {
    if (b->state() != breaker_state::closed)
      r.breakers_not_closed.push_back({b->name(), b->state()});
  }
  if (s_->guard != nullptr) {
    r.quarantined = s_->guard->quarantined();
    r.recent_cascades = s_->guard->findings();
  }
  r.recent_changes.assign(s_->findings.begin(), s_->findings.end());
  return r;
}

std::string health_report::to_json() const {
  json_value::array breakers;
  for (const auto& b : breakers_not_closed) {
    breakers.emplace_back(json_value::object{
        {"name", json_value(b.name)}, {"state", json_value(std::string(to_string(b.state)))}});
  }
  json_value::array quarantines;
  for (const auto& q : quarantined) {
    quarantines.emplace_back(
        json_value::object{{"slot", json_value(std::uint64_t{q.actor.slot})},
                           {"generation", json_value(std::uint64_t{q.actor.generation})},
                           {"level", json_value(std::uint64_t{q.level})},
                           {"until_ns", json_value(q.until)},
                           {"dropped", json_value(q.dropped)},
                           {"redirected", json_value(q.redirected)},
                           {"reason", json_value(q.reason)}});
  }
  json_value::array changes;
  for (const auto& f : recent_changes) {
    changes.emplace_back(json_value::object{{"at_ns", json_value(f.at)},
                                            {"from", json_value(std::string(to_string(f.from)))},
                                            {"to", json_value(std::string(to_string(f.to)))},
                                            {"score", json_value(f.score)},
                                            {"forced", json_value(f.forced)},
                                            {"why", json_value(f.why)}});
  }
  json_value::array cascades;
  for (const auto& c : recent_cascades) {
    cascades.emplace_back(json_value::object{{"root_slot", json_value(std::uint64_t{c.root.slot})},
                                             {"root_type", json_value(std::string(c.root_type))},
                                             {"spread", json_value(std::uint64_t{c.spread})},
                                             {"at_ns", json_value(c.at)},
                                             {"quarantined", json_value(c.quarantined)}});
  }
  json_value doc(json_value::object{
      {"score", json_value(score)},
      {"level", json_value(std::string(to_string(level)))},
      {"forced", json_value(forced)},
      {"breakers_not_closed", json_value(std::move(breakers))},
      {"quarantined", json_value(std::move(quarantines))},
      {"recent_changes", json_value(std::move(changes))},
      {"recent_cascades", json_value(std::move(cascades))},
      {"stats",
       json_value(json_value::object{{"samples", json_value(stats.samples)},
                                     {"changes", json_value(stats.changes)},
                                     {"shed", json_value(stats.shed)},
                                     {"suspended", json_value(stats.suspended)},
                                     {"edge_rejected", json_value(stats.edge_rejected)}})}});
  return dump_json(doc);
}

}  // namespace keel::resilience
