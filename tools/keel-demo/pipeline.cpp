#include "pipeline.h"

#include <thread>
#include <utility>

namespace keel_demo {
namespace {

using namespace std::chrono_literals;

template <class A, class... Args>
keel::result<keel::actor_ref<A>> spawn_named(keel::actor_system& sys, std::string name,
                                             Args&&... args) {
  keel::spawn_options opts;
  opts.name = std::move(name);
  return sys.spawn_with<A>(opts, std::forward<Args>(args)...);
}

}  // namespace

keel::result<pipeline> start_pipeline(keel::actor_system& sys, const options& opts) {
  pipeline p;
  auto book = spawn_named<ledger>(sys, "ledger");
  if (!book) return book.error();
  p.book = *book;
  auto pay = spawn_named<payment>(sys, "payment", opts.seed, p.book);
  if (!pay) return pay.error();
  p.pay = *pay;
  for (std::size_t i = 0; i < k_validators; ++i) {
    auto v = spawn_named<validator>(sys, "validator-" + std::to_string(i), p.pay, p.book);
    if (!v) return v.error();
    p.validators.push_back(*v);
  }
  auto entry = spawn_named<gateway>(sys, "gateway", p.validators);
  if (!entry) return entry.error();
  p.entry = *entry;
  auto load = spawn_named<load_driver>(sys, "load", p.entry, opts.rate, opts.duration, opts.seed);
  if (!load) return load.error();
  p.load = *load;
  return p;
}

completion wait_for_completion(const pipeline& p, const options& opts,
                               std::chrono::milliseconds grace) {
  using clock = std::chrono::steady_clock;
  completion c;
  const auto start = clock::now();
  const auto load_deadline = start + opts.duration + grace;
  // Each blocking ask costs a short-lived helper actor: sleep through the run, then poll.
  std::this_thread::sleep_until(start + opts.duration);
  while (!c.load_done) {
    auto s = p.load.ask<load_status>(load_status_query{}, 1s);
    if (s) {
      c.load = *s;
      c.load_done = s->done;
    } else if (s.code() != keel::errc::timeout) {
      c.error = "load driver: " + s.error().to_string();
      return c;
    }
    if (!c.load_done && clock::now() > load_deadline) {
      c.error = "the load driver did not finish within its duration plus the grace period";
      return c;
    }
    if (!c.load_done) std::this_thread::sleep_for(5ms);
  }
  const auto drain_deadline = clock::now() + grace;
  for (;;) {
    auto r = p.book.ask<ledger_report>(ledger_query{}, 1s);
    if (r) {
      c.ledger = *r;
      if (c.ledger.outcomes() >= c.load.sent) break;
    } else if (r.code() != keel::errc::timeout) {
      c.error = "ledger: " + r.error().to_string();
      return c;
    }
    if (clock::now() > drain_deadline) {
      c.error = "the ledger did not receive an outcome for every order within the grace period";
      return c;
    }
    std::this_thread::sleep_for(5ms);
  }
  c.drained = true;
  return c;
}

}  // namespace keel_demo
