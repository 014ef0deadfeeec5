// gateway: the entry of the order pipeline. Admits each order, gives it an id (from 1, in
// arrival order) and a receive timestamp, and hands it to the next validator, round-robin. The
// validators are reached by name ("validator-0", ...), so that a department restarted anew is
// found again; an order for a validator that is down goes to the ledger as lost (the send is
// still made, a dead letter that keel counts, so that a replay of the gateway shows it).
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
#include <keel/core/state.h>

namespace keel_demo {

class gateway : public keel::actor<gateway, place_order> {
 public:
  static constexpr std::string_view keel_name = "demo.gateway";

  // REQUIRES: !validators.empty().
  gateway(std::vector<named_ref<validator>> validators, keel::actor_ref<ledger> book);

  void on(place_order& m);

  void save_state(keel::state_writer& w) const { w.write(next_validator_).write(next_id_); }
  void load_state(keel::state_reader& r) {
    r.read(next_validator_, "next_validator");
    r.read(next_id_, "next_id");
  }

 private:
  std::vector<named_ref<validator>> validators_;
  keel::actor_ref<ledger> ledger_;
  std::uint64_t next_validator_ = 0;
  std::uint64_t next_id_ = 1;
};

}  // namespace keel_demo
