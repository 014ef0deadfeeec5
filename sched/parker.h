// parker: one worker's futex word, with the EMPTY / PARKED / NOTIFIED state machine.
//
// A notification that arrives before park() is not lost: park() then returns at once. We use the
// raw futex syscall rather than std::atomic::wait, which in libstdc++ 12 hashes every address
// into a global 16-entry waiter pool and spins before it sleeps.
//
// Thread safety: park() from the owning worker only; unpark() and state() from any thread.
#pragma once

#include <atomic>
#include <cstdint>

#include <keel/base/cache.h>

namespace keel::sched {

class parker {
 public:
  static constexpr std::uint32_t k_empty = 0;
  static constexpr std::uint32_t k_parked = 1;
  static constexpr std::uint32_t k_notified = 2;

  // Sleeps until unpark() or until `timeout_ns` passes (0: no timeout). Returns true if it was
  // woken by unpark() (or a notification was already pending), false on timeout or when
  // `recheck()` (called after the word says PARKED, before sleeping) returned true. recheck is
  // the parking side's seq_cst load of whatever a producer publishes before it reads state().
  template <class Recheck>
  bool park(std::uint64_t timeout_ns, Recheck&& recheck) noexcept {
    std::atomic<std::uint32_t>& w = *word_;
    std::uint32_t expected = k_notified;
    // A pending notification: consume it. acquire pairs with unpark()'s release.
    if (w.compare_exchange_strong(expected, k_empty, std::memory_order_acquire)) return true;
    expected = k_empty;
    // seq_cst: the store half of the Dekker pair with a producer's RMW + state() load.
    if (!w.compare_exchange_strong(expected, k_parked, std::memory_order_seq_cst)) {
      w.exchange(k_empty, std::memory_order_acquire);  // it was NOTIFIED meanwhile
      return true;
    }
    if (recheck()) return w.exchange(k_empty, std::memory_order_acquire) == k_notified;
    return wait_parked(timeout_ns);
  }
  // Wakes the owner if it is parked, or makes its next park() return at once.
  void unpark() noexcept;
  // seq_cst so a producer's "is it parked?" check after its own seq_cst RMW is a proper
  // store-buffering pair with park()'s seq_cst CAS to PARKED.
  std::uint32_t state() const noexcept { return word_->load(std::memory_order_seq_cst); }

 private:
  bool wait_parked(std::uint64_t timeout_ns) noexcept;
  cache_padded<std::atomic<std::uint32_t>> word_{k_empty};
};

}  // namespace keel::sched
