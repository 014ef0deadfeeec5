// The service: payment (its api), cache and database, children of the service supervisor
// (one_for_all: they restart together).
//
// payment charges valid orders, declines about 1% of them, remembers each paid amount in the
// cache and hands the order to the database, which commits it to the ledger. Which orders are
// declined is a pure function of (seed, order id), so it does not depend on the order in which
// the validators' messages arrive. With --chaos on, payment crashes on a few orders and the
// database has an outage halfway through the run (faults.h).
//
// Threading: keel actors; each one's state is touched only by its handlers.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

#include "faults.h"
#include "ledger.h"
#include "messages.h"
#include "named_ref.h"
#include "random.h"

#include <keel/core/actor.h>

namespace keel_demo {

// Declined payments, in ten-thousandths of the valid orders.
inline constexpr std::uint32_t k_decline_per_10k = 100;

class database : public keel::actor<database, store> {
 public:
  static constexpr std::string_view keel_name = "demo.database";
  database(keel::actor_ref<ledger> book, std::shared_ptr<fault_plan> faults)
      : ledger_(book), faults_(std::move(faults)) {}
  void on(store& m) {
    if (faults_->database_fails(steady_now_ns())) {
      throw std::runtime_error("outage: cannot store order " + std::to_string(m.o.id));
    }
    (void)ledger_.send(commit{m.o});
  }

 private:
  keel::actor_ref<ledger> ledger_;
  std::shared_ptr<fault_plan> faults_;
};

class cache : public keel::actor<cache, cache_put> {
 public:
  static constexpr std::string_view keel_name = "demo.cache";
  void on(cache_put& m) {
    ++entries_;
    last_customer_ = m.customer;
  }

 private:
  std::uint64_t entries_ = 0;
  std::uint64_t last_customer_ = 0;
};

class payment : public keel::actor<payment, charge> {
 public:
  static constexpr std::string_view keel_name = "demo.payment";

  payment(std::uint64_t seed, keel::actor_ref<ledger> book, named_ref<database> db,
          named_ref<cache> memo, std::shared_ptr<fault_plan> faults)
      : seed_(seed),
        ledger_(book),
        database_(std::move(db)),
        cache_(std::move(memo)),
        faults_(std::move(faults)) {}

  void on(charge& m) {
    if (faults_->payment_crashes(m.o.id)) {
      throw std::runtime_error("injected crash on order " + std::to_string(m.o.id));
    }
    if (chance(mix(seed_, m.o.id), k_decline_per_10k)) {
      (void)ledger_.send(payment_declined{m.o});
      return;
    }
    if (const auto& c = cache_.get(); c.valid())
      (void)c.send(cache_put{m.o.customer, m.o.amount_cents});
    const auto& db = database_.get();
    if (!db.valid()) {
      (void)ledger_.send(order_lost{m.o, lost_reason::no_database});
      return;
    }
    (void)db.send(store{m.o});
  }

 private:
  std::uint64_t seed_;
  keel::actor_ref<ledger> ledger_;
  named_ref<database> database_;
  named_ref<cache> cache_;
  std::shared_ptr<fault_plan> faults_;
};

}  // namespace keel_demo
