// validator: checks an order and passes it to payment, or rejects it to the ledger with the
// reason. The gateway runs a few validators and hands them orders round-robin.
//
// Threading: a keel actor; stateless apart from its refs.
#pragma once

#include <string_view>

#include "ledger.h"
#include "messages.h"
#include "payment.h"

#include <keel/core/actor.h>

namespace keel_demo {

class validator : public keel::actor<validator, validate_order> {
 public:
  static constexpr std::string_view keel_name = "demo.validator";

  validator(keel::actor_ref<payment> pay, keel::actor_ref<ledger> book)
      : payment_(pay), ledger_(book) {}

  void on(validate_order& m) {
    const order& o = m.o;
    if (o.customer == 0) return reject(o, reject_reason::no_customer);
    if (o.amount_cents <= 0) return reject(o, reject_reason::bad_amount);
    if (o.amount_cents > k_max_amount_cents) return reject(o, reject_reason::over_limit);
    (void)payment_.send(charge{o});
  }

 private:
  void reject(const order& o, reject_reason why) { (void)ledger_.send(order_rejected{o, why}); }

  keel::actor_ref<payment> payment_;
  keel::actor_ref<ledger> ledger_;
};

}  // namespace keel_demo
