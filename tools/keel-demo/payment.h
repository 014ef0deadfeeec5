// The service: payment (its api), cache and database, children of the service supervisor
// (one_for_all: they restart together).
//
// payment charges valid orders, declines those whose card is declined (card_declined, about
// 1%), remembers each paid amount in the cache and hands the order to the database, which
// commits it to the ledger. Payment crashes on an order that carries fault::crash_payment and
// the database on one that carries fault::database_outage (faults.h).
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

#include <keel/core/actor.h>
#include <keel/core/state.h>

namespace keel_demo {

class database : public keel::actor<database, store> {
 public:
  static constexpr std::string_view keel_name = "demo.database";
  database(keel::actor_ref<ledger> book, fault_counter faults)
      : ledger_(book), faults_(std::move(faults)) {}
  void on(store& m) {
    if (m.o.chaos == fault::database_outage) {
      faults_->hit();
      throw std::runtime_error("outage: cannot store order " + std::to_string(m.o.id));
    }
    (void)ledger_.send(commit{m.o});
  }

 private:
  keel::actor_ref<ledger> ledger_;
  fault_counter faults_;
};

class cache : public keel::actor<cache, cache_put> {
 public:
  static constexpr std::string_view keel_name = "demo.cache";
  void on(cache_put& m) {
    ++entries_;
    last_customer_ = m.customer;
  }
  void save_state(keel::state_writer& w) const { w.write(entries_).write(last_customer_); }
  void load_state(keel::state_reader& r) {
    r.read(entries_, "entries");
    r.read(last_customer_, "last_customer");
  }

 private:
  std::uint64_t entries_ = 0;
  std::uint64_t last_customer_ = 0;
};

class payment : public keel::actor<payment, charge> {
 public:
  static constexpr std::string_view keel_name = "demo.payment";

  payment(keel::actor_ref<ledger> book, named_ref<database> db, named_ref<cache> memo,
          fault_counter faults)
      : ledger_(book),
        database_(std::move(db)),
        cache_(std::move(memo)),
        faults_(std::move(faults)) {}

  void on(charge& m) {
    if (m.o.chaos == fault::crash_payment) {
      faults_->hit();
      throw std::runtime_error("injected crash on order " + std::to_string(m.o.id));
    }
    if (card_declined(m.o.card)) {
      (void)ledger_.send(payment_declined{m.o});
      return;
    }
    (void)cache_.get().send(cache_put{m.o.customer, m.o.amount_cents});
    const auto& db = database_.get();
    if (db.send(store{m.o}) != keel::send_status::ok && !db.valid()) {
      (void)ledger_.send(order_lost{m.o, lost_reason::no_database});
    }
  }

 private:
  keel::actor_ref<ledger> ledger_;
  named_ref<database> database_;
  named_ref<cache> cache_;
  fault_counter faults_;
};

}  // namespace keel_demo
