// gateway: the entry of the order pipeline. Admits each order, gives it an id (from 1, in
// arrival order) and a receive timestamp, and hands it to the next validator, round-robin. The
// validators are reached by name ("validator-0", ...), so that a department restarted anew is
// found again; an order for a validator that is down goes to the ledger as lost.
//
// Threading: a keel actor; its state is touched only by its handlers.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "ledger.h"
#include "messages.h"
#include "named_ref.h"
#include "validator.h"

#include <keel/core/actor.h>

namespace keel_demo {

class gateway : public keel::actor<gateway, place_order> {
 public:
  static constexpr std::string_view keel_name = "demo.gateway";

  // REQUIRES: !validators.empty().
  gateway(std::vector<named_ref<validator>> validators, keel::actor_ref<ledger> book);

  void on(place_order& m);

 private:
  std::vector<named_ref<validator>> validators_;
  keel::actor_ref<ledger> ledger_;
  std::size_t next_validator_ = 0;
  std::uint64_t next_id_ = 1;
};

}  // namespace keel_demo
