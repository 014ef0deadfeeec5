// keel-demo: the order-processing demo service. Parses the flags, starts an actor_system with
// the pipeline (pipeline.h), recording into an event log with --log-dir (recording.h), waits for
// the load to run and drain, shuts down and prints the summary (summary.h).
//
// Exit codes: 0 every order accounted for (and, with --log-dir, every input recorded); 1 an
// order was lost, the recording is incomplete or the runtime failed; 2 a bad command line or
// --log-dir.
#include <cstdio>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "health.h"
#include "options.h"
#include "pipeline.h"
#include "recording.h"
#include "summary.h"

#include <keel/keel.h>

int main(int argc, char** argv) {
  using namespace keel_demo;
  auto parsed = parse_options(argc, argv);
  if (!parsed) {
    std::fprintf(stderr, "keel-demo: %s\n", std::string(parsed.error().message()).c_str());
    return 2;
  }
  const options& opts = *parsed;
  if (opts.help) {
    std::fputs(usage("keel-demo").c_str(), stdout);
    return 0;
  }

  // Failure reports are counted, escalations printed as they happen (the summary lists both).
  struct diag_log {
    std::mutex mu;
    std::uint64_t child_failures = 0;
    std::vector<std::string> escalations;
  };
  auto diags = std::make_shared<diag_log>();
  auto watch = health_watch::create();
  if (!watch) {
    std::fprintf(stderr, "keel-demo: %s\n", watch.error().to_string().c_str());
    return 1;
  }
  keel::system_config cfg;
  for (auto& h : watch->hooks()) cfg.hooks.push_back(h);
  auto dead = std::make_shared<dead_orders>();
  cfg.hooks.push_back(dead);
  cfg.diagnostics = [diags](const keel::diagnostic& d) {
    std::lock_guard<std::mutex> lock(diags->mu);
    if (d.kind == keel::diagnostic_kind::child_failure) {
      ++diags->child_failures;
    } else if (d.kind == keel::diagnostic_kind::escalation) {
      diags->escalations.push_back(d.text);
      std::fprintf(stderr, "keel-demo: escalation: %s\n", d.text.c_str());
    } else {
      std::fprintf(stderr, "%s\n", d.to_string().c_str());
    }
  };
  cfg.seed = opts.seed;  // each actor's rng() (the RNG_SEED records name it)
  std::optional<recording> rec;
  if (!opts.log_dir.empty()) {
    auto started = start_recording(opts.log_dir);
    if (!started) {
      std::fprintf(stderr, "keel-demo: %s\n", started.error().to_string().c_str());
      return started.code() == keel::errc::invalid_argument ? 2 : 1;
    }
    rec = std::move(started).value();
    cfg.hooks.push_back(rec->recorder);
  }
  auto created = keel::actor_system::create(std::move(cfg));
  if (!created) {
    std::fprintf(stderr, "keel-demo: cannot start keel: %s\n", created.error().to_string().c_str());
    return 1;
  }
  std::unique_ptr<keel::actor_system> sys = std::move(created).value();
  if (rec) rec->recorder->use_system(*sys);
  auto p = start_pipeline(*sys, opts, dead);
  if (!p) {
    std::fprintf(stderr, "keel-demo: cannot start the pipeline: %s\n",
                 p.error().to_string().c_str());
    return 1;
  }

  watch->start(*sys, *p, rec ? rec->log.get() : nullptr);
  run_summary s;
  s.opts = opts;
  s.workers = sys->scheduler().worker_count();
  s.run = wait_for_completion(*p, opts);
  s.resilience = watch->stop();
  s.tree = tree_status(*p);
  s.shutdown = sys->shutdown();
  s.faults_injected = p->faults->injected.load();
  {
    std::lock_guard<std::mutex> lock(diags->mu);
    s.child_failures = diags->child_failures;
    s.escalations = diags->escalations;
  }
  // Read after shutdown: every actor has stopped, so the counters are exact.
  s.counters = sys->counters();
  s.dead_letters = sys->dead_letter_count();
  s.recent_dead_letters = sys->recent_dead_letters();
  if (rec) s.recording = finish_recording(*rec);
  print_summary(stdout, s);
  return all_accounted(s) && recording_complete(s) ? 0 : 1;
}
