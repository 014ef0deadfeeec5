// validator: checks an order and passes it to payment, or rejects it to the ledger with the
// reason. The gateway runs a few validators, children of the department supervisor, and hands
// them orders round-robin. With --chaos on, a validator crashes on a few orders (faults.h).
//
// Threading: a keel actor; stateless apart from its refs.
#pragma once

#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "faults.h"
#include "ledger.h"
#include "messages.h"
#include "named_ref.h"
#include "payment.h"

#include <keel/core/actor.h>

namespace keel_demo {

class validator : public keel::actor<validator, validate_order> {
 public:
  static constexpr std::string_view keel_name = "demo.validator";

  validator(named_ref<payment> pay, keel::actor_ref<ledger> book,
            std::shared_ptr<fault_plan> faults)
      : payment_(std::move(pay)), ledger_(book), faults_(std::move(faults)) {}

  void on(validate_order& m) {
    const order& o = m.o;
    if (faults_->validator_crashes(o.id)) {
      throw std::runtime_error("injected crash on order " + std::to_string(o.id));
    }
    if (o.customer == 0) return reject(o, reject_reason::no_customer);
    if (o.amount_cents <= 0) return reject(o, reject_reason::bad_amount);
    if (o.amount_cents > k_max_amount_cents) return reject(o, reject_reason::over_limit);
    const auto& pay = payment_.get();
    if (!pay.valid()) {
      (void)ledger_.send(order_lost{o, lost_reason::no_payment});
      return;
    }
    (void)pay.send(charge{o});
  }

 private:
  void reject(const order& o, reject_reason why) { (void)ledger_.send(order_rejected{o, why}); }

  named_ref<payment> payment_;
  keel::actor_ref<ledger> ledger_;
  std::shared_ptr<fault_plan> faults_;
};

}  // namespace keel_demo
