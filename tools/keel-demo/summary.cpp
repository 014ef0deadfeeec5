#include "summary.h"

#include <algorithm>
#include <cinttypes>
#include <cmath>
#include <string>

namespace keel_demo {
namespace {

// "850 ns", "12.3 us", "1.25 ms", "2.000 s".
std::string human_ns(std::uint64_t ns) {
  char buf[32];
  const auto v = static_cast<double>(ns);
  if (ns < 1'000) {
    std::snprintf(buf, sizeof buf, "%" PRIu64 " ns", ns);
  } else if (ns < 1'000'000) {
    std::snprintf(buf, sizeof buf, "%.1f us", v / 1e3);
  } else if (ns < 1'000'000'000) {
    std::snprintf(buf, sizeof buf, "%.2f ms", v / 1e6);
  } else {
    std::snprintf(buf, sizeof buf, "%.3f s", v / 1e9);
  }
  return buf;
}

void print_counters(std::FILE* out, const run_summary& s) {
  std::fprintf(out, "keel counters per actor type\n");
  std::fprintf(out, "  %-18s %8s %10s %10s %9s %13s %8s\n", "type", "spawned", "received", "sent",
               "failures", "dead letters", "stopped");
  for (const auto& c : s.counters) {
    std::fprintf(out,
                 "  %-18s %8" PRIu64 " %10" PRIu64 " %10" PRIu64 " %9" PRIu64 " %13" PRIu64
                 " %8" PRIu64 "\n",
                 c.type.c_str(), c.spawned, c.received, c.sent, c.failures, c.dead_letters,
                 c.stopped);
  }
}

void print_keel(std::FILE* out, const run_summary& s) {
  print_counters(out, s);
  std::fprintf(out, "dead letters           %" PRIu64 "\n", s.dead_letters);
  const std::size_t shown = std::min<std::size_t>(s.recent_dead_letters.size(), 5);
  for (std::size_t i = 0; i < shown; ++i) {
    const auto& d = s.recent_dead_letters[s.recent_dead_letters.size() - shown + i];
    std::fprintf(out, "  %s to slot %u: %s\n", d.type_name.c_str(), d.target.slot,
                 std::string(keel::to_string(d.reason)).c_str());
  }
  const auto& r = s.shutdown;
  std::fprintf(out, "shutdown               %zu actors alive, %zu stopped, %zu still running\n",
               r.alive_at_start, r.stopped, r.still_running.size());
  for (const auto& a : r.still_running) {
    std::fprintf(out, "  still running: %s \"%s\" (id %" PRIu64 ")\n", a.type.c_str(),
                 a.name.c_str(), a.id);
  }
}

void print_supervision(std::FILE* out, const run_summary& s) {
  std::fprintf(out,
               "supervision            faults injected %" PRIu64 ", child failures %" PRIu64
               ", escalations %zu\n",
               s.faults_injected, s.child_failures, s.escalations.size());
  for (const auto& t : s.tree) {
    std::string kids;
    for (const auto& c : t.children) {
      if (!kids.empty()) kids += ", ";
      kids += c.name + " " + std::to_string(c.restarts);
    }
    std::fprintf(out, "  %-20s %-12s restarts %3" PRIu64 "   %s\n", t.path.c_str(),
                 std::string(keel::to_string(t.strategy)).c_str(), t.restarts, kids.c_str());
  }
  for (const auto& e : s.escalations) std::fprintf(out, "  escalation: %s\n", e.c_str());
}

void print_resilience(std::FILE* out, const run_summary& s) {
  const resilience_report& r = s.resilience;
  if (!r.watched) return;
  const auto& b = r.breaker;
  std::fprintf(out,
               "breaker payment->database: opened %" PRIu64 ", closed %" PRIu64
               ", half-open %" PRIu64 "; calls %" PRIu64 " ok, %" PRIu64
               " failed; fallbacks served while open %" PRIu64 "; now %s\n",
               b.opened, b.closed, b.half_opened, b.successes, b.failures, b.not_permitted,
               std::string(keel::resilience::to_string(r.breaker_final)).c_str());
  for (const auto& c : r.breaker_changes) {
    std::fprintf(out, "  %7.3f s  %s -> %s", c.at_s,
                 std::string(keel::resilience::to_string(c.from)).c_str(),
                 std::string(keel::resilience::to_string(c.to)).c_str());
    if (c.open_for_ns != 0) std::fprintf(out, " for %s", human_ns(c.open_for_ns).c_str());
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "emergency level        now %s, lowest health score %.2f, %zu changes\n",
               std::string(keel::resilience::to_string(r.final_level)).c_str(), r.lowest_score,
               r.level_changes.size());
  for (const auto& c : r.level_changes) {
    std::fprintf(out, "  %7.3f s  %s -> %s (score %.2f: %s)\n", c.at_s,
                 std::string(keel::resilience::to_string(c.from)).c_str(),
                 std::string(keel::resilience::to_string(c.to)).c_str(), c.score, c.why.c_str());
  }
  const auto& g = r.cascades;
  std::fprintf(out,
               "cascades               %" PRIu64 " failures seen, %" PRIu64
               " spread from another actor's failure, %" PRIu64 " cascades, %" PRIu64
               " quarantines\n",
               g.failures, g.linked, g.cascades, g.quarantines);
}

void print_recording(std::FILE* out, const run_summary& s) {
  if (!s.recording) return;
  const recording_report& r = *s.recording;
  const auto& n = r.counters;
  std::fprintf(out,
               "event log              %s: %" PRIu64 " records (%" PRIu64 " inputs, %" PRIu64
               " state hashes, %" PRIu64 " lifecycle), %" PRIu64 " appends failed\n",
               r.dir.c_str(), r.records, n.inputs, n.state_hashes, n.lifecycle, n.failed);
  if (!r.failure.empty()) std::fprintf(out, "  the log failed: %s\n", r.failure.c_str());
  if (const std::uint64_t corr = s.run.ledger.failed_corr; corr != 0) {
    std::fprintf(out, "  a failed order:      keel-demo-log trace %s --corr %" PRIu64 "\n",
                 r.dir.c_str(), corr);
    std::fprintf(out, "  replay it:           keel-demo-log replay %s --corr %" PRIu64 " --exec\n",
                 r.dir.c_str(), corr);
  }
}

}  // namespace

bool recording_complete(const run_summary& s) noexcept {
  return !s.recording || (s.recording->failure.empty() && s.recording->counters.failed == 0);
}

bool all_accounted(const run_summary& s) noexcept {
  const completion& c = s.run;
  return c.load_done && c.drained && c.load.send_failures == 0 &&
         c.load.sent == c.ledger.outcomes() + c.lost_to_faults;
}

void print_summary(std::FILE* out, const run_summary& s) {
  const completion& c = s.run;
  const ledger_report& l = c.ledger;
  const double seconds = static_cast<double>(c.load.elapsed_ns) / 1e9;
  const double rate = s.opts.rate;
  std::fprintf(out,
               "keel-demo: %.*f orders/s for %s, seed %" PRIu64 ", %u workers, %zu validators\n",
               rate == std::floor(rate) ? 0 : 3, rate,
               human_ns(static_cast<std::uint64_t>(s.opts.duration.count()) * 1'000'000).c_str(),
               s.opts.seed, s.workers, k_validators);
  std::fprintf(out, "orders\n");
  std::fprintf(out, "  sent                 %10" PRIu64 "   achieved %.1f orders/s over %.3f s\n",
               c.load.sent, seconds > 0 ? static_cast<double>(c.load.sent) / seconds : 0.0,
               seconds);
  if (c.load.send_failures != 0) {
    std::fprintf(out, "  failed to send       %10" PRIu64 "\n", c.load.send_failures);
  }
  std::fprintf(out, "  accepted             %10" PRIu64 "\n", l.committed);
  std::fprintf(out, "  rejected (invalid)   %10" PRIu64 "  ", l.rejected_total());
  for (int i = 0; i < k_reject_reasons; ++i) {
    std::fprintf(out, " %s %" PRIu64 "%s",
                 std::string(to_string(static_cast<reject_reason>(i))).c_str(), l.rejected[i],
                 i + 1 < k_reject_reasons ? "," : "\n");
  }
  std::fprintf(out, "  declined (payment)   %10" PRIu64 "\n", l.declined);
  std::fprintf(out, "  lost (stage down)    %10" PRIu64 "\n", l.lost);
  std::fprintf(out,
               "  deferred (fallback)  %10" PRIu64
               "   (the database busy, or payment's breaker open)\n",
               l.deferred);
  std::fprintf(out,
               "  lost to faults       %10" PRIu64
               "   (dropped by a failing handler, or queued\n"
               "                                  to an actor that a supervisor stopped)\n",
               c.lost_to_faults);
  std::fprintf(out, "ledger total           %10" PRId64 ".%02" PRId64 "\n", l.total_cents / 100,
               l.total_cents % 100);
  std::fprintf(out,
               "latency                p50 %s, p99 %s, max %s (gateway receive -> ledger commit)\n",
               human_ns(l.p50_ns).c_str(), human_ns(l.p99_ns).c_str(), human_ns(l.max_ns).c_str());
  print_supervision(out, s);
  print_resilience(out, s);
  print_keel(out, s);
  print_recording(out, s);
  if (!c.error.empty()) std::fprintf(out, "error                  %s\n", c.error.c_str());
  if (all_accounted(s)) {
    std::fprintf(out,
                 "result                 ok: every order accounted for (%" PRIu64 " = %" PRIu64
                 " + %" PRIu64 " + %" PRIu64 " + %" PRIu64 " + %" PRIu64 " + %" PRIu64 ")\n",
                 c.load.sent, l.committed, l.rejected_total(), l.declined, l.lost, l.deferred,
                 c.lost_to_faults);
    if (!recording_complete(s)) {
      std::fprintf(out, "result                 FAILED: the recording is incomplete\n");
    }
  } else {
    std::fprintf(out,
                 "result                 FAILED: %" PRIu64 " sent (%" PRIu64
                 " failed to send), %" PRIu64 " outcomes, %" PRIu64 " lost to faults\n",
                 c.load.sent, c.load.send_failures, l.outcomes(), c.lost_to_faults);
  }
}

}  // namespace keel_demo
