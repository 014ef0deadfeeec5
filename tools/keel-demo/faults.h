// The faults keel-demo injects when --chaos is on (the default), so that its supervision tree has
// something to do: validators and the payment api crash on a few orders (chosen by a pure
// function of the seed and the order id), and halfway through the run the database has an
// outage -- it fails on the next k_outage_failures orders, more than its supervisor's intensity
// allows, so that the service supervisor escalates to the root, which restarts the service.
//
// Every fault drops the order being handled (keel does not hand a failing message to the
// restarted actor again): the summary counts those orders as lost to faults.
//
// Threading: the plan is shared by the actors that consult it; its counters are atomics.
#pragma once

#include <atomic>
#include <cstdint>

#include "random.h"

namespace keel_demo {

inline constexpr std::uint32_t k_validator_crash_per_10k = 20;
inline constexpr std::uint32_t k_payment_crash_per_10k = 2;
inline constexpr std::uint32_t k_outage_failures = 4;  // the service allows 3 within 1 s

struct fault_plan {
  bool on = true;
  std::uint64_t seed = 1;
  std::uint64_t outage_at_ns = 0;  // steady_now_ns() from which the database fails
  std::atomic<std::uint32_t> outage_left{k_outage_failures};
  std::atomic<std::uint64_t> injected{0};

  bool validator_crashes(std::uint64_t order_id) noexcept {
    return hit(order_id, 0x5a11d, k_validator_crash_per_10k);
  }
  bool payment_crashes(std::uint64_t order_id) noexcept {
    return hit(order_id, 0xba7, k_payment_crash_per_10k);
  }
  // The database's outage: true for the first k_outage_failures orders after outage_at_ns.
  bool database_fails(std::uint64_t now_ns) noexcept {
    if (!on || now_ns < outage_at_ns) return false;
    std::uint32_t left = outage_left.load(std::memory_order_relaxed);
    while (left != 0) {
      if (outage_left.compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
        injected.fetch_add(1, std::memory_order_relaxed);
        return true;
      }
    }
    return false;
  }

 private:
  bool hit(std::uint64_t order_id, std::uint64_t salt, std::uint32_t per_10k) noexcept {
    if (!on || !chance(mix(seed ^ salt, order_id), per_10k)) return false;
    injected.fetch_add(1, std::memory_order_relaxed);
    return true;
  }
};

}  // namespace keel_demo
