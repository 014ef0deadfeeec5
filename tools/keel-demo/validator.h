// validator: checks an order and passes it to payment, or rejects it to the ledger with the
// reason. The gateway runs a few validators, children of the department supervisor, and hands
// them orders round-robin. It crashes on an order that carries fault::crash_validator
// (faults.h).
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

  validator(named_ref<payment> pay, keel::actor_ref<ledger> book, fault_counter faults)
      : payment_(std::move(pay)), ledger_(book), faults_(std::move(faults)) {}

  void on(validate_order& m) {
    const order& o = m.o;
    if (o.chaos == fault::crash_validator) {
      faults_->hit();
      throw std::runtime_error("injected crash on order " + std::to_string(o.id));
    }
    if (const auto why = invalid_reason(o.customer, o.amount_cents)) {
      (void)ledger_.send(order_rejected{o, *why});
      return;
    }
    const auto& pay = payment_.get();
    if (pay.send(charge{o}) != keel::send_status::ok && !pay.valid()) {
      (void)ledger_.send(order_lost{o, lost_reason::no_payment});
    }
  }

 private:
  named_ref<payment> payment_;
  keel::actor_ref<ledger> ledger_;
  fault_counter faults_;
};

}  // namespace keel_demo
