#include "gateway.h"

#include <cassert>
#include <utility>

namespace keel_demo {

gateway::gateway(std::vector<named_ref<validator>> validators, keel::actor_ref<ledger> book)
    : validators_(std::move(validators)), ledger_(book) {
  assert(!validators_.empty());
}

void gateway::on(place_order& m) {
  const order o{next_id_++, m.customer, m.amount_cents, m.card, m.chaos, now()};
  const auto& v = validators_[next_validator_].get();
  next_validator_ = (next_validator_ + 1) % validators_.size();
  if (v.send(validate_order{o}) != keel::send_status::ok && !v.valid()) {
    (void)ledger_.send(order_lost{o, lost_reason::no_validator});
  }
}

}  // namespace keel_demo
