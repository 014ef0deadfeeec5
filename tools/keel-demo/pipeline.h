// The order pipeline as a unit: spawn it into an actor_system, then wait until the load has run
// and every order has an outcome. main() is a thin shell over these two functions.
//
// Thread safety: call from a thread that is not one of the system's workers (main): waiting
// uses blocking asks.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

#include "gateway.h"
#include "ledger.h"
#include "load.h"
#include "options.h"
#include "payment.h"
#include "validator.h"

#include <keel/base/result.h>
#include <keel/core/actor_system.h>

namespace keel_demo {

// How many validators the gateway spreads orders over.
inline constexpr std::size_t k_validators = 3;

struct pipeline {
  keel::actor_ref<ledger> book;
  keel::actor_ref<payment> pay;
  std::vector<keel::actor_ref<validator>> validators;
  keel::actor_ref<gateway> entry;
  keel::actor_ref<load_driver> load;
};

// Spawns the pipeline, downstream first (ledger, payment, validators, gateway, load driver), each
// under its own name ("ledger", "payment", "validator-0"...), so that shutdown, which stops the
// newest first, stops the load before the stages it feeds. The load starts at once.
keel::result<pipeline> start_pipeline(keel::actor_system& sys, const options& opts);

struct completion {
  load_status load;      // the load driver's last status
  ledger_report ledger;  // the ledger's last report
  bool load_done = false;
  bool drained = false;  // the ledger had an outcome for every order sent
  std::string error;     // why the wait gave up, if it did
};

// Waits for the load driver to finish (its duration plus `grace`) and then for the ledger to
// hold an outcome for every order sent (at most `grace` more).
completion wait_for_completion(const pipeline& p, const options& opts,
                               std::chrono::milliseconds grace = std::chrono::seconds(30));

}  // namespace keel_demo
