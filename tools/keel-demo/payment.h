// The service: payment (its api), cache and database, children of the service supervisor
// (one_for_all: they restart together).
//
// payment charges valid orders, declines those whose card is declined (card_declined, about
// 1%), remembers each paid amount in the cache and hands the order to the database, which
// commits it to the ledger and answers store_result. Payment crashes on an order that carries
// fault::crash_payment and the database on one that carries fault::database_outage; on
// fault::database_brownout the database answers "busy" (faults.h).
//
// Payment calls the database through a circuit breaker (keel::resilience): each store takes a
// permit, kept until the database's store_result reports the outcome. A busy answer is a
// failure; after 20 in a row, or when failures reach half of the last second's calls (at least
// 20), the breaker opens
// and payment serves its fallback at once -- the order is deferred to the ledger -- without
// sending the database anything, until a probe after the open period (100 ms, doubling to 1 s)
// finds it healthy. The breaker is shared with the pipeline (its state for the summary and the
// emergency monitor) and reset when payment starts, so every incarnation begins closed, as a
// replay of it does.
//
// Threading: keel actors; each one's state is touched only by its handlers.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "faults.h"
#include "ledger.h"
#include "messages.h"
#include "named_ref.h"

#include <keel/core/actor.h>
#include <keel/core/state.h>
#include <keel/resilience/circuit_breaker.h>

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
    if (m.o.chaos == fault::database_brownout) {
      // Busy: the order is deferred here (so it is accounted for even if the answer to payment
      // is lost in a restart), and payment hears of it for its breaker.
      faults_->hit();
      (void)ledger_.send(order_deferred{m.o, defer_reason::database_busy});
      (void)reply(store_result{m.o, false});
      return;
    }
    (void)ledger_.send(commit{m.o});
    (void)reply(store_result{m.o, true});
  }

 private:
  keel::actor_ref<ledger> ledger_;
  fault_counter faults_;
};

// The configuration of payment's breaker on the database.
// No jitter: there is one such breaker, and its periods must be the same when keel-demo-log
// replays payment (a replaying system need not have the recorded system seed).
inline keel::resilience::breaker_config database_breaker_config() {
  using namespace std::chrono_literals;
  keel::resilience::breaker_config c;
  c.name = "payment->database";
  c.window_buckets = 10;
  c.bucket_width = 100ms;
  c.min_calls = 20;
  c.failure_ratio = 0.5;
  c.consecutive_failures = 20;  // a burst of busy answers trips it whatever the load
  c.open_base = 100ms;
  c.open_max = 1s;
  c.jitter = 0;
  return c;
}

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

class payment : public keel::actor<payment, charge, store_result> {
 public:
  static constexpr std::string_view keel_name = "demo.payment";

  payment(keel::actor_ref<ledger> book, named_ref<database> db, named_ref<cache> memo,
          fault_counter faults, std::shared_ptr<keel::resilience::circuit_breaker> breaker)
      : ledger_(book),
        database_(std::move(db)),
        cache_(std::move(memo)),
        faults_(std::move(faults)),
        breaker_(std::move(breaker)) {}

  void on_start() override { breaker_->reset(now()); }

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
    keel::resilience::permit p = breaker_->try_acquire(now());
    if (!p) {  // open: the fallback, at once, without asking the database
      (void)ledger_.send(order_deferred{m.o, defer_reason::breaker_open});
      return;
    }
    // Kept whatever the send does: an order lost on the way never gets an answer, and its
    // permit just waits (a closed call unreported counts for nothing). Taking the same steps
    // whether the database is there or not keeps a replay of payment alone (keel-demo-log,
    // where the database is not running) in step with the recorded run.
    in_flight_.emplace(m.o.id, call{std::move(p), now()});
    const auto& db = database_.get();
    if (db.send(store{m.o}) != keel::send_status::ok && !db.valid()) {
      (void)ledger_.send(order_lost{m.o, lost_reason::no_database});
    }
  }

  // What replay compares after each input: the orders waiting for the database and the
  // breaker's view of them.
  void save_state(keel::state_writer& w) const {
    const auto v = breaker_->window(now());
    w.write(static_cast<std::uint64_t>(in_flight_.size()))
        .write(static_cast<std::uint8_t>(breaker_->state()))
        .write(v.calls)
        .write(v.failures);
  }
  void load_state(keel::state_reader& r) {
    std::uint64_t n = 0;
    std::uint8_t st = 0;
    std::uint32_t calls = 0;
    std::uint32_t failures = 0;
    (void)(r.read(n, "in_flight") && r.read(st, "breaker") && r.read(calls, "calls") &&
           r.read(failures, "failures"));
    r.fail("payment's permits cannot be restored from a snapshot");
  }

  // The database's answer. One for an order this incarnation did not send (sent before a
  // restart) is ignored.
  void on(store_result& r) {
    auto it = in_flight_.find(r.o.id);
    if (it == in_flight_.end()) return;
    call c = std::move(it->second);
    in_flight_.erase(it);
    const auto took = std::chrono::nanoseconds(now() - c.sent_at);
    if (r.ok) {
      c.p.success(now(), took);
      return;
    }
    c.p.failure(now(), took);  // the database deferred the order itself
  }

 private:
  struct call {
    keel::resilience::permit p;
    std::uint64_t sent_at = 0;
  };
  keel::actor_ref<ledger> ledger_;
  named_ref<database> database_;
  named_ref<cache> cache_;
  fault_counter faults_;
  std::shared_ptr<keel::resilience::circuit_breaker> breaker_;
  // Orders sent to the database, waiting for its answer. An order the database crashed on
  // never gets one: its permit stays here (a probe's is replaced after one more open period).
  std::unordered_map<std::uint64_t, call> in_flight_;
};

}  // namespace keel_demo
