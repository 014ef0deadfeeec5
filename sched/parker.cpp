#include "sched/parker.h"

#include <linux/futex.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>

#include <keel/sched/clock.h>

namespace keel::sched {
namespace {

void futex_wait(std::atomic<std::uint32_t>* word, std::uint32_t expected,
                std::uint64_t timeout_ns) noexcept {
  timespec ts{};
  timespec* tsp = nullptr;
  if (timeout_ns != 0) {
    ts.tv_sec = static_cast<time_t>(timeout_ns / 1'000'000'000U);
    ts.tv_nsec = static_cast<long>(timeout_ns % 1'000'000'000U);
    tsp = &ts;
  }
  // EAGAIN (word changed), EINTR and ETIMEDOUT all just return to the caller's loop.
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAIT_PRIVATE, expected, tsp,
          nullptr, 0);
}

void futex_wake_one(std::atomic<std::uint32_t>* word) noexcept {
  syscall(SYS_futex, reinterpret_cast<std::uint32_t*>(word), FUTEX_WAKE_PRIVATE, 1, nullptr,
          nullptr, 0);
}

}  // namespace

bool parker::wait_parked(std::uint64_t timeout_ns) noexcept {
  std::atomic<std::uint32_t>& w = *word_;
  std::uint32_t expected = k_notified;
  const std::uint64_t deadline = timeout_ns ? clock_now() + timeout_ns : 0;
  for (;;) {
    std::uint64_t wait_ns = 0;
    if (deadline != 0) {
      const std::uint64_t now = clock_now();
      if (now >= deadline) {
        // Timed out. exchange (not store) so that a racing NOTIFIED is consumed with acquire.
        return w.exchange(k_empty, std::memory_order_acquire) == k_notified;
      }
      wait_ns = deadline - now;
    }
    futex_wait(&w, k_parked, wait_ns);
    expected = k_notified;
    if (w.compare_exchange_strong(expected, k_empty, std::memory_order_acquire)) return true;
  }
}

void parker::unpark() noexcept {
  // seq_cst exchange: release publishes the work we made visible; seq_cst orders it with the
  // parker's CAS to PARKED.
  if (word_->exchange(k_notified, std::memory_order_seq_cst) == k_parked) futex_wake_one(&*word_);
}

}  // namespace keel::sched
