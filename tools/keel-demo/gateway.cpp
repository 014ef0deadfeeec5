#include "gateway.h"

#include <cassert>
#include <utility>

namespace keel_demo {

gateway::gateway(std::vector<keel::actor_ref<validator>> validators)
    : validators_(std::move(validators)) {
  assert(!validators_.empty());
}

void gateway::on(place_order& m) {
  const order o{next_id_++, m.customer, m.amount_cents, steady_now_ns()};
  (void)validators_[next_validator_].send(validate_order{o});
  next_validator_ = (next_validator_ + 1) % validators_.size();
}

}  // namespace keel_demo
