// payment: charges valid orders and commits them to the ledger, or declines about 1% of them.
// Which orders are declined is a pure function of (seed, order id), so it does not depend on
// the order in which the validators' messages arrive.
//
// Threading: a keel actor; its state is touched only by its handlers.
#pragma once

#include <cstdint>
#include <string_view>

#include "ledger.h"
#include "messages.h"
#include "random.h"

#include <keel/core/actor.h>

namespace keel_demo {

// Declined payments, in ten-thousandths of the valid orders.
inline constexpr std::uint32_t k_decline_per_10k = 100;

class payment : public keel::actor<payment, charge> {
 public:
  static constexpr std::string_view keel_name = "demo.payment";

  payment(std::uint64_t seed, keel::actor_ref<ledger> book) : seed_(seed), ledger_(book) {}

  void on(charge& m) {
    if (chance(mix(seed_, m.o.id), k_decline_per_10k)) {
      (void)ledger_.send(payment_declined{m.o});
      return;
    }
    (void)ledger_.send(commit{m.o});
  }

 private:
  std::uint64_t seed_;
  keel::actor_ref<ledger> ledger_;
};

}  // namespace keel_demo
