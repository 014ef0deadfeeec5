// keel-demo: the order-processing demo service. Parses the flags, starts an actor_system with
// the pipeline (pipeline.h), waits for the load to run and drain, shuts down and prints the
// summary (summary.h).
//
// Exit codes: 0 every order accounted for; 1 an order was lost or the runtime failed;
// 2 a bad command line.
#include <cstdio>
#include <string>
#include <utility>

#include "options.h"
#include "pipeline.h"
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

  auto created = keel::actor_system::create(keel::system_config{});
  if (!created) {
    std::fprintf(stderr, "keel-demo: cannot start keel: %s\n", created.error().to_string().c_str());
    return 1;
  }
  std::unique_ptr<keel::actor_system> sys = std::move(created).value();
  auto p = start_pipeline(*sys, opts);
  if (!p) {
    std::fprintf(stderr, "keel-demo: cannot start the pipeline: %s\n",
                 p.error().to_string().c_str());
    return 1;
  }

  run_summary s;
  s.opts = opts;
  s.workers = sys->scheduler().worker_count();
  s.run = wait_for_completion(*p, opts);
  s.shutdown = sys->shutdown();
  // Read after shutdown: every actor has stopped, so the counters are exact.
  s.counters = sys->counters();
  s.dead_letters = sys->dead_letter_count();
  s.recent_dead_letters = sys->recent_dead_letters();
  print_summary(stdout, s);
  return all_accounted(s) ? 0 : 1;
}
