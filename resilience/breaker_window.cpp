#include "resilience/breaker_window.h"

#include <bit>

namespace keel::resilience::detail {
namespace {

constexpr std::uint8_t k_call = 1;
constexpr std::uint8_t k_bad = 2;
constexpr std::uint8_t k_slow = 4;
constexpr std::uint8_t k_timeout = 8;

std::uint8_t code_of(outcome_bits b) noexcept {
  return static_cast<std::uint8_t>(k_call | (b.bad ? k_bad : 0) | (b.slow ? k_slow : 0) |
                                   (b.timeout ? k_timeout : 0));
}

// count_based totals: four 16-bit fields (window_calls <= 65535 keeps each in range).
std::uint64_t packed(std::uint8_t code) noexcept {
  return static_cast<std::uint64_t>(code & 1) |
         (static_cast<std::uint64_t>((code >> 1) & 1) << 16) |
         (static_cast<std::uint64_t>((code >> 2) & 1) << 32) |
         (static_cast<std::uint64_t>((code >> 3) & 1) << 48);
}

window_counts unpacked(std::uint64_t t) noexcept {
  return {t & 0xFFFF, (t >> 16) & 0xFFFF, (t >> 32) & 0xFFFF, t >> 48};
}

}  // namespace

breaker_window::breaker_window(const breaker_config& cfg)
    : count_based_(cfg.window == window_kind::count_based),
      width_(static_cast<std::uint64_t>(cfg.bucket_width.count())),
      reciprocal_(
          static_cast<std::uint64_t>((static_cast<u128>(1) << 64) / (width_ == 0 ? 1 : width_))),
      n_(count_based_ ? cfg.window_calls : cfg.window_buckets),
      mask_(std::bit_ceil(static_cast<std::uint64_t>(cfg.window_buckets)) - 1) {
  if (count_based_) {
    outcomes_ = std::make_unique<std::atomic<std::uint8_t>[]>(n_);
  } else {
    buckets_ = std::make_unique<bucket[]>(mask_ + 1);
  }
}

void breaker_window::add(std::uint64_t now, outcome_bits b) noexcept {
  if (count_based_) {
    const std::uint64_t pos = position_.fetch_add(1, std::memory_order_relaxed);
    const std::uint8_t code = code_of(b);
    totals_.fetch_add(packed(code), std::memory_order_relaxed);
    // acq_rel: release publishes the add above with the byte; acquire makes the evicted byte's
    // own add happen before the subtraction below, so no field of the totals goes negative.
    const std::uint8_t old = outcomes_[pos % n_].exchange(code, std::memory_order_acq_rel);
    if (old != 0) totals_.fetch_sub(packed(old), std::memory_order_relaxed);
    if (old != 0) {
      retire({1, (old & k_bad) != 0 ? 1U : 0U, (old & k_slow) != 0 ? 1U : 0U,
              (old & k_timeout) != 0 ? 1U : 0U});
    }
    return;
  }
  const std::uint64_t epoch = epoch_of(now);
  bucket& bk = buckets_[epoch & mask_];
  // acquire: pairs with the claiming compare-exchange in roll, so the counts read after it are
  // the claimed epoch's (reset by its claimer) or later.
  const std::uint64_t seen = bk.epoch.load(std::memory_order_acquire);
  if (seen != epoch) [[unlikely]]
    roll(bk, seen, epoch);
  bk.calls_bad.fetch_add(1 | (static_cast<std::uint64_t>(b.bad) << 32), std::memory_order_relaxed);
  if (b.slow || b.timeout) {
    bk.slow_timeouts.fetch_add(
        static_cast<std::uint64_t>(b.slow) | (static_cast<std::uint64_t>(b.timeout) << 32),
        std::memory_order_relaxed);
  }
}

void breaker_window::roll(bucket& b, std::uint64_t seen, std::uint64_t epoch) noexcept {
  // A caller whose clock lags another's (cached ticks of two workers) may find the slot already
  // stamped with a newer epoch: it counts there (an approximation at the boundary).
  if (seen != ~std::uint64_t{0} && seen > epoch) return;
  if (!b.epoch.compare_exchange_strong(seen, epoch, std::memory_order_acq_rel,
                                       std::memory_order_acquire)) {
    return;  // another writer claimed it for this epoch (or a newer one)
  }
  const std::uint64_t cb = b.calls_bad.exchange(0, std::memory_order_relaxed);
  const std::uint64_t st = b.slow_timeouts.exchange(0, std::memory_order_relaxed);
  retire({cb & 0xFFFFFFFFU, cb >> 32, st & 0xFFFFFFFFU, st >> 32});
  // The rest of the window as it stands now. Outcomes that still reach those buckets (a caller
  // whose clock lags) are missed by this sum: an approximation at the boundary. acquire: a
  // reset counted here has zeroed the buckets before the scan reads them.
  const std::uint64_t resets = resets_.load(std::memory_order_acquire);
  const window_counts prior = scan(epoch, 1, true);
  b.prior_calls.store(prior.calls, std::memory_order_relaxed);
  b.prior_bad.store(prior.bad, std::memory_order_relaxed);
  b.prior_slow.store(prior.slow, std::memory_order_relaxed);
  b.prior_timeouts.store(prior.timeouts, std::memory_order_relaxed);
  b.prior_resets.store(resets, std::memory_order_relaxed);
  b.prior_epoch.store(epoch, std::memory_order_release);
}

void breaker_window::retire(window_counts c) noexcept {
  if (c.calls != 0) retired_calls_.fetch_add(c.calls, std::memory_order_relaxed);
  if (c.bad != 0) retired_bad_.fetch_add(c.bad, std::memory_order_relaxed);
  if (c.slow != 0) retired_slow_.fetch_add(c.slow, std::memory_order_relaxed);
  if (c.timeouts != 0) retired_timeouts_.fetch_add(c.timeouts, std::memory_order_relaxed);
}

void breaker_window::add_lifetime_only(outcome_bits b) noexcept {
  retire({1, b.bad ? 1U : 0U, b.slow ? 1U : 0U, b.timeout ? 1U : 0U});
}

window_counts breaker_window::view(std::uint64_t now, bool with_slow) const noexcept {
  if (count_based_) return unpacked(totals_.load(std::memory_order_relaxed));
  const std::uint64_t cur = epoch_of(now);
  const bucket& b = buckets_[cur & mask_];
  // acquire: pairs with the release store of prior_epoch in roll, so the prior sums are the ones
  // computed for this epoch.
  if (b.prior_epoch.load(std::memory_order_acquire) != cur ||
      b.prior_resets.load(std::memory_order_relaxed) != resets_.load(std::memory_order_relaxed)) {
    return scan(cur, 0, with_slow);
  }
  const std::uint64_t cb = b.calls_bad.load(std::memory_order_relaxed);
  window_counts c{b.prior_calls.load(std::memory_order_relaxed) + (cb & 0xFFFFFFFFU),
                  b.prior_bad.load(std::memory_order_relaxed) + (cb >> 32), 0, 0};
  if (with_slow) {
    const std::uint64_t st = b.slow_timeouts.load(std::memory_order_relaxed);
    c.slow = b.prior_slow.load(std::memory_order_relaxed) + (st & 0xFFFFFFFFU);
    c.timeouts = b.prior_timeouts.load(std::memory_order_relaxed) + (st >> 32);
  }
  return c;
}

// The buckets of epochs cur - from ... cur - window_buckets + 1 that are stamped with them.
window_counts breaker_window::scan(std::uint64_t cur, std::uint32_t from,
                                   bool with_slow) const noexcept {
  window_counts c;
  for (std::uint32_t i = from; i < n_ && i <= cur; ++i) {
    const std::uint64_t e = cur - i;
    const bucket& b = buckets_[e & mask_];
    if (b.epoch.load(std::memory_order_acquire) != e) continue;
    const std::uint64_t cb = b.calls_bad.load(std::memory_order_relaxed);
    c.calls += cb & 0xFFFFFFFFU;
    c.bad += cb >> 32;
    if (!with_slow) continue;
    const std::uint64_t st = b.slow_timeouts.load(std::memory_order_relaxed);
    c.slow += st & 0xFFFFFFFFU;
    c.timeouts += st >> 32;
  }
  return c;
}

void breaker_window::reset() noexcept {
  if (count_based_) {
    for (std::uint32_t i = 0; i < n_; ++i) {
      const std::uint8_t old = outcomes_[i].exchange(0, std::memory_order_acq_rel);
      if (old == 0) continue;
      totals_.fetch_sub(packed(old), std::memory_order_relaxed);
      retire({1, (old & k_bad) != 0 ? 1U : 0U, (old & k_slow) != 0 ? 1U : 0U,
              (old & k_timeout) != 0 ? 1U : 0U});
    }
    return;
  }
  for (std::uint64_t i = 0; i <= mask_; ++i) {
    const std::uint64_t cb = buckets_[i].calls_bad.exchange(0, std::memory_order_relaxed);
    const std::uint64_t st = buckets_[i].slow_timeouts.exchange(0, std::memory_order_relaxed);
    retire({cb & 0xFFFFFFFFU, cb >> 32, st & 0xFFFFFFFFU, st >> 32});
  }
  // release: a claimer that reads the new count (acquire, in roll) sums zeroed buckets; every
  // prior sum stamped with the old count is ignored from now on.
  resets_.fetch_add(1, std::memory_order_release);
}

window_counts breaker_window::lifetime() const noexcept {
  window_counts c{retired_calls_.load(std::memory_order_relaxed),
                  retired_bad_.load(std::memory_order_relaxed),
                  retired_slow_.load(std::memory_order_relaxed),
                  retired_timeouts_.load(std::memory_order_relaxed)};
  if (count_based_) {
    for (std::uint32_t i = 0; i < n_; ++i) {
      const std::uint8_t code = outcomes_[i].load(std::memory_order_relaxed);
      if (code == 0) continue;
      c.calls += 1;
      c.bad += (code & k_bad) != 0;
      c.slow += (code & k_slow) != 0;
      c.timeouts += (code & k_timeout) != 0;
    }
    return c;
  }
  for (std::uint64_t i = 0; i <= mask_; ++i) {
    const std::uint64_t cb = buckets_[i].calls_bad.load(std::memory_order_relaxed);
    const std::uint64_t st = buckets_[i].slow_timeouts.load(std::memory_order_relaxed);
    c.calls += cb & 0xFFFFFFFFU;
    c.bad += cb >> 32;
    c.slow += st & 0xFFFFFFFFU;
    c.timeouts += st >> 32;
  }
  return c;
}

}  // namespace keel::resilience::detail
