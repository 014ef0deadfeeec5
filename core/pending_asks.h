// The asks an actor is waiting for, by request id: an open-addressing table (linear probing,
// backward-shift deletion, at most half full), so an ask costs no allocation once the table has
// grown to the actor's usual number of outstanding asks. A std::unordered_map allocated a node
// per ask and divided by a prime on every insert, lookup and erase.
//
// Thread safety: none; only the actor's token holder touches it (asks, replies, timeouts, stop).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <utility>

#include <keel/core/ask.h>
#include <keel/core/ids.h>
#include <keel/core/timer.h>

namespace keel::detail {

struct pending_ask {
  continuation_ptr k;
  timer_handle timeout;
};

class pending_asks {
 public:
  // nullptr if `id` is not pending.
  pending_ask* find(message_id id) noexcept {
    if (size_ == 0) return nullptr;
    for (std::size_t i = home(id);; i = (i + 1) & mask_) {
      if (slots_[i].id == id) return &slots_[i].value;
      if (slots_[i].id == 0) return nullptr;
    }
  }

  // A new entry for `id` (non-zero, not pending). Throws std::bad_alloc when the table must
  // grow and cannot.
  pending_ask& insert(message_id id) {
    if (2 * (size_ + 1) > capacity()) grow();
    std::size_t i = home(id);
    while (slots_[i].id != 0) i = (i + 1) & mask_;
    slots_[i].id = id;
    ++size_;
    return slots_[i].value;
  }

  // Removes the entry `p` (from find). Its continuation, if still there, is released after the
  // table is consistent again (a release may run the owner's cleanup).
  void erase(pending_ask* p) noexcept {
    std::size_t i = static_cast<std::size_t>(reinterpret_cast<char*>(p) -
                                             reinterpret_cast<char*>(&slots_[0].value)) /
                    sizeof(slot);
    pending_ask dropped = std::move(slots_[i].value);
    // Backward shift: pull later entries of the probe run into the hole while their home is
    // not between the hole and them, so every entry stays reachable from its home.
    for (std::size_t j = (i + 1) & mask_; slots_[j].id != 0; j = (j + 1) & mask_) {
      if (((j - home(slots_[j].id)) & mask_) >= ((j - i) & mask_)) {
        slots_[i].id = slots_[j].id;
        slots_[i].value = std::move(slots_[j].value);
        i = j;
      }
    }
    slots_[i].id = 0;
    --size_;
  }

  // Cancels every timeout and releases every continuation (the actor stops or restarts). The
  // table is empty before the first release runs.
  void drop_all() noexcept {
    if (size_ == 0) return;
    std::unique_ptr<slot[]> old = std::move(slots_);
    const std::size_t n = capacity();
    slots_ = nullptr;
    mask_ = 0;
    size_ = 0;
    for (std::size_t i = 0; i < n; ++i) {
      if (old[i].id != 0) old[i].value.timeout.cancel();
    }
    // `old` and its continuations go here.
  }

  std::size_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }

 private:
  struct slot {
    message_id id = 0;  // 0: empty
    pending_ask value;
  };
  static constexpr std::size_t k_initial = 8;

  std::size_t capacity() const noexcept { return slots_ ? mask_ + 1 : 0; }
  // Fibonacci hashing: ids are sequential, the multiply spreads them over the table.
  std::size_t home(message_id id) const noexcept {
    return static_cast<std::size_t>((id * 0x9E3779B97F4A7C15ULL) >> 32) & mask_;
  }

  void grow() {
    const std::size_t n = capacity() == 0 ? k_initial : 2 * capacity();
    std::unique_ptr<slot[]> old = std::exchange(slots_, std::make_unique<slot[]>(n));
    const std::size_t old_n = old ? mask_ + 1 : 0;
    mask_ = n - 1;
    for (std::size_t i = 0; i < old_n; ++i) {
      if (old[i].id == 0) continue;
      std::size_t j = home(old[i].id);
      while (slots_[j].id != 0) j = (j + 1) & mask_;
      slots_[j].id = old[i].id;
      slots_[j].value = std::move(old[i].value);
    }
  }

  std::unique_ptr<slot[]> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

}  // namespace keel::detail
