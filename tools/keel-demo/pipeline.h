// The order pipeline as a unit: spawn it into an actor_system, then wait until the load has run
// and every order has an outcome. main() is a thin shell over these functions.
//
//   root (one_for_one)
//   ├── department (one_for_one): validator-0, validator-1, validator-2
//   └── service (one_for_all): database, cache, payment
//   ledger, gateway and the load driver run beside the tree. Payment calls the database through
//   a circuit breaker (payment.h) that the pipeline owns.
//
// Thread safety: call from a thread that is not one of the system's workers (main): waiting
// uses blocking asks.
#pragma once

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "faults.h"
#include "gateway.h"
#include "ledger.h"
#include "load.h"
#include "options.h"
#include "payment.h"
#include "validator.h"

#include <keel/base/result.h>
#include <keel/core/actor_system.h>
#include <keel/core/hooks.h>
#include <keel/core/supervisor.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel_demo {

// How many validators the gateway spreads orders over.
inline constexpr std::size_t k_validators = 3;

// Counts the dead letters that carry an order (validate_order, charge, store) to an actor that
// stopped with them queued: a hook given to the system's configuration before the pipeline
// starts. Other dead letters carry no order of their own (a store_result for a payment that a
// supervisor was restarting), and a send to no actor at all is reported by its sender as an
// order_lost outcome.
class dead_orders final : public keel::hook_subscriber {
 public:
  dead_orders() : keel::hook_subscriber(keel::hook_phase::metrics) {}
  void on_dead_letter(const keel::dead_letter_event& ev) noexcept override;
  std::uint64_t count() const noexcept { return n_.load(std::memory_order_relaxed); }

 private:
  std::atomic<std::uint64_t> n_{0};
};

struct pipeline {
  keel::actor_system* sys = nullptr;
  fault_counter faults;  // the faults that happened
  keel::actor_ref<ledger> book;
  keel::actor_ref<keel::supervisor> tree;
  keel::actor_ref<gateway> entry;
  keel::actor_ref<load_driver> load;
  std::shared_ptr<keel::resilience::circuit_breaker> db_breaker;  // payment -> database
  std::shared_ptr<dead_orders> dead;  // given by main (a hook of the system)
};

// Spawns the ledger, the supervision tree (and waits until its children run), the gateway and
// the load driver, each under its own name, so that shutdown, which stops the newest first,
// stops the load before the stages it feeds. The load starts at once.
keel::result<pipeline> start_pipeline(keel::actor_system& sys, const options& opts,
                                      std::shared_ptr<dead_orders> dead);

// Orders lost inside the tree's actors: each failure of a stage drops the order being handled
// (keel's counters), and an order queued to an actor a supervisor stopped is a dead letter.
std::uint64_t lost_to_faults(const keel::actor_system& sys, const dead_orders& dead);

struct completion {
  load_status load;      // the load driver's last status
  ledger_report ledger;  // the ledger's last report
  std::uint64_t lost_to_faults = 0;
  bool load_done = false;
  bool drained = false;  // the ledger's outcomes and the lost orders cover every order sent
  std::string error;     // why the wait gave up, if it did
};

// Waits for the load driver to finish (its duration plus `grace`) and then for every order sent
// to have an outcome or to be lost to a fault (at most `grace` more).
completion wait_for_completion(const pipeline& p, const options& opts,
                               std::chrono::milliseconds grace = std::chrono::seconds(30));

// The tree as it stands: each supervisor's status, root first.
std::vector<keel::supervisor_status> tree_status(const pipeline& p);

}  // namespace keel_demo
