// The faults keel-demo injects when --chaos is on (the default), so that its supervision tree has
// something to do. Faults are data: the load driver gives an order its fault when it makes the
// order (fault_plan::choose), and the stage the fault names crashes when the order reaches it.
// So a stage's behaviour depends on its inputs alone, and replaying it from the event log
// crashes it at the same input.
//
// - About 0.2% of the orders crash the validator that checks them and 0.02% the payment api.
// - Halfway through the run the database has an outage: the next k_outage_failures orders that
//   will reach it (valid, not declined, carrying no other fault) fail there, more than its
//   supervisor's intensity allows, so that the service supervisor escalates to the root, which
//   restarts the service.
//
// - A quarter of the way through, the database has a brownout: for the next twentieth of the
//   orders that reach it (valid, not declined, carrying no other fault) it answers "busy"
//   instead of storing them. Payment's circuit breaker opens on them and payment serves its
//   fallback (the order is deferred, an outcome the ledger counts) without asking the database,
//   until a probe finds it healthy again; the emergency level rises and recovers with it.
//
// Every crash drops the order being handled (keel does not hand a failing message to the
// restarted actor again): the summary counts those orders as lost to faults.
//
// Threading: a fault_plan is a value owned by the load driver; fault_count is shared by the
// stages that crash (an atomic counter).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>

#include "messages.h"
#include "random.h"

namespace keel_demo {

inline constexpr std::uint32_t k_validator_crash_per_10k = 20;
inline constexpr std::uint32_t k_payment_crash_per_10k = 2;
inline constexpr std::uint32_t k_outage_failures = 4;      // the service allows 3 within 1 s
inline constexpr std::uint32_t k_brownout_per_total = 20;  // a brownout of total / 20 orders

// The faults that happened (for the summary).
struct fault_count {
  std::atomic<std::uint64_t> injected{0};
  void hit() noexcept { injected.fetch_add(1, std::memory_order_relaxed); }
};
using fault_counter = std::shared_ptr<fault_count>;

class fault_plan {
 public:
  // on: --chaos; total: the orders the run sends (the outage starts at half of them).
  fault_plan(bool on, std::uint64_t total) noexcept
      : on_(on),
        outage_from_(total / 2),
        brownout_from_(total / 4),
        brownout_left_(total / k_brownout_per_total) {}

  // The fault of the order numbered `n` (from 0) with these fields, drawing from `rng`.
  fault choose(std::uint64_t n, const place_order& p, prng& rng) noexcept {
    if (!on_) return fault::none;
    if (chance(rng.next(), k_validator_crash_per_10k)) return fault::crash_validator;
    if (chance(rng.next(), k_payment_crash_per_10k)) return fault::crash_payment;
    const bool reaches_database =
        !invalid_reason(p.customer, p.amount_cents) && !card_declined(p.card);
    if (n >= outage_from_ && outage_left_ > 0 && reaches_database) {
      --outage_left_;
      return fault::database_outage;
    }
    if (n >= brownout_from_ && brownout_left_ > 0 && reaches_database) {
      --brownout_left_;
      return fault::database_brownout;
    }
    return fault::none;
  }

 private:
  bool on_;
  std::uint64_t outage_from_;
  std::uint64_t brownout_from_;
  std::uint64_t brownout_left_;
  std::uint32_t outage_left_ = k_outage_failures;
};

}  // namespace keel_demo
