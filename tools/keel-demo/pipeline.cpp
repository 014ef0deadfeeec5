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

template <class A, class... Args>
keel::child_spec named_child(const std::string& name, Args&&... args) {
  keel::child_spec s = keel::child_spec::of<A>(name, std::forward<Args>(args)...);
  s.options.name = name;
  return s;
}

keel::supervisor_config tree_config(keel::actor_system& sys, const pipeline& p) {
  keel::supervisor_config department;
  department.intensity = {50, 1s};
  for (std::size_t i = 0; i < k_validators; ++i) {
    department.children.push_back(named_child<validator>(
        "validator-" + std::to_string(i), named_ref<payment>(&sys, "payment"), p.book, p.faults));
  }
  keel::supervisor_config service;
  service.strategy = keel::restart_strategy::one_for_all;
  service.intensity = {3, 1s};  // the outage's 4 failures in a row exceed it (faults.h)
  service.children = {
      named_child<database>("database", p.book, p.faults), named_child<cache>("cache"),
      named_child<payment>("payment", p.book, named_ref<database>(&sys, "database"),
                           named_ref<cache>(&sys, "cache"), p.faults, p.db_breaker)};
  keel::supervisor_config root;
  root.name = "root";
  root.intensity = {10, 5s};
  root.children = {keel::child_spec::of<keel::supervisor>("department", department),
                   keel::child_spec::of<keel::supervisor>("service", service)};
  return root;
}

}  // namespace

keel::result<pipeline> start_pipeline(keel::actor_system& sys, const options& opts,
                                      std::shared_ptr<dead_orders> dead) {
  pipeline p;
  p.sys = &sys;
  p.dead = std::move(dead);
  p.faults = std::make_shared<fault_count>();
  auto breaker = keel::resilience::circuit_breaker::create(database_breaker_config());
  if (!breaker) return breaker.error();
  p.db_breaker = std::move(breaker).value();
  auto book = spawn_named<ledger>(sys, "ledger");
  if (!book) return book.error();
  p.book = *book;
  auto tree = spawn_named<keel::supervisor>(sys, "root", tree_config(sys, p));
  if (!tree) return tree.error();
  p.tree = *tree;
  // The children start inside their supervisors: wait until every stage has its name.
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  for (const char* name :
       {"validator-0", "validator-1", "validator-2", "database", "cache", "payment"}) {
    while (!sys.lookup(name)) {
      if (std::chrono::steady_clock::now() > deadline) {
        return keel::status(keel::errc::timeout,
                            std::string("the supervision tree did not start ") + name);
      }
      std::this_thread::sleep_for(1ms);
    }
  }
  std::vector<named_ref<validator>> validators;
  for (std::size_t i = 0; i < k_validators; ++i) {
    validators.emplace_back(&sys, "validator-" + std::to_string(i));
  }
  auto entry = spawn_named<gateway>(sys, "gateway", std::move(validators), p.book);
  if (!entry) return entry.error();
  p.entry = *entry;
  auto load = spawn_named<load_driver>(sys, "load", p.entry, opts.rate, opts.duration, opts.seed,
                                       opts.chaos);
  if (!load) return load.error();
  p.load = *load;
  return p;
}

void dead_orders::on_dead_letter(const keel::dead_letter_event& ev) noexcept {
  // Only those addressed to an actor that stopped with them queued: a send to no actor at all
  // (an empty ref between an escalation and the restart) is reported by its sender as an
  // order_lost outcome instead.
  if (!ev.target.valid()) return;
  if (ev.type == keel::type_id_of<validate_order>() || ev.type == keel::type_id_of<charge>() ||
      ev.type == keel::type_id_of<store>()) {
    n_.fetch_add(1, std::memory_order_relaxed);
  }
}

std::uint64_t lost_to_faults(const keel::actor_system& sys, const dead_orders& dead) {
  std::uint64_t n = dead.count();
  for (const auto& c : sys.counters()) {
    if (c.type == validator::keel_name || c.type == payment::keel_name ||
        c.type == database::keel_name) {
      n += c.failures;
    }
  }
  return n;
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
    c.lost_to_faults = lost_to_faults(*p.sys, *p.dead);
    if (r) {
      c.ledger = *r;
      if (c.ledger.outcomes() + c.lost_to_faults >= c.load.sent) break;
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

std::vector<keel::supervisor_status> tree_status(const pipeline& p) {
  std::vector<keel::supervisor_status> out;
  auto root = p.tree.ask<keel::supervisor_status>(keel::supervisor_status_request{}, 5s);
  if (!root) return out;
  out.push_back(*root);
  for (const auto& c : root->children) {
    auto sub = keel::actor_ref<keel::supervisor>::from_cell(c.ref.cell(), c.ref.generation());
    auto st = sub.ask<keel::supervisor_status>(keel::supervisor_status_request{}, 5s);
    if (st) out.push_back(*st);
  }
  return out;
}

}  // namespace keel_demo
