// bounded_ring<T>: a fixed-capacity multi-producer queue of small trivially copyable values
// (Vyukov's bounded MPMC queue, used by one consumer at a time here). try_push never blocks and
// never allocates: a full ring refuses, and the caller counts the drop. The resilience layer's
// event queues (breaker events, findings) use it so that no user code runs where they happen.
//
// Thread safety: try_push from any thread; try_pop from one thread at a time.
//
// Invariants, per cell i (capacity C, a power of two):
//   1. seq == pos: free for the producer that claims position pos (pos % C == i).
//   2. seq == pos + 1: holds the value pushed at pos, ready for the consumer.
//   3. The consumer frees it for position pos + C by storing seq = pos + C.
// A producer claims pos by compare-exchange on tail_; the value is published by the release
// store of seq, which the consumer's acquire load pairs with (and the reverse for freeing).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <type_traits>

#include <keel/base/cache.h>

namespace keel::resilience::detail {

template <class T>
class bounded_ring {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  // REQUIRES: capacity is a power of two >= 2 (the configurations validate it).
  explicit bounded_ring(std::uint32_t capacity)
      : mask_(capacity - 1), cells_(std::make_unique<cell[]>(capacity)) {
    for (std::uint32_t i = 0; i < capacity; ++i) cells_[i].seq.store(i, std::memory_order_relaxed);
  }

  bool try_push(const T& v) noexcept {
    std::uint64_t pos = tail_->load(std::memory_order_relaxed);
    for (;;) {
      cell& c = cells_[pos & mask_];
      const std::uint64_t seq = c.seq.load(std::memory_order_acquire);
      const auto diff = static_cast<std::int64_t>(seq - pos);
      if (diff == 0) {
        // relaxed: the claim orders nothing; the value is published by the seq store below.
        if (tail_->compare_exchange_weak(pos, pos + 1, std::memory_order_relaxed)) {
          c.value = v;
          c.seq.store(pos + 1, std::memory_order_release);
          return true;
        }
      } else if (diff < 0) {
        return false;  // full: the consumer has not freed this cell yet
      } else {
        pos = tail_->load(std::memory_order_relaxed);
      }
    }
  }

  bool try_pop(T& out) noexcept {
    const std::uint64_t pos = head_;
    cell& c = cells_[pos & mask_];
    if (c.seq.load(std::memory_order_acquire) != pos + 1) return false;
    out = c.value;
    c.seq.store(pos + mask_ + 1, std::memory_order_release);
    head_ = pos + 1;
    return true;
  }

 private:
  struct cell {
    std::atomic<std::uint64_t> seq{0};
    T value{};
  };
  const std::uint64_t mask_;
  std::unique_ptr<cell[]> cells_;
  cache_padded<std::atomic<std::uint64_t>> tail_{0};
  std::uint64_t head_ = 0;  // the consumer's
};

}  // namespace keel::resilience::detail
