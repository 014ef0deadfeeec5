#include "sched/run_queue.h"

namespace keel::sched {

std::uint32_t run_queue::take_half_for_overflow(task** out) noexcept {
  constexpr std::uint32_t n = k_capacity / 2;
  std::uint64_t head = head_->load(std::memory_order_acquire);
  const std::uint32_t steal = unpack_steal(head);
  const std::uint32_t real = unpack_real(head);
  const std::uint32_t tail = tail_->load(std::memory_order_relaxed);
  if (steal != real) return 0;  // a thief is copying: it frees room, the caller retries
  if (tail - real < n) return 0;
  const std::uint64_t next = pack(real + n, real + n);
  if (!head_->compare_exchange_strong(head, next, std::memory_order_acq_rel,
                                      std::memory_order_acquire)) {
    return 0;  // a thief moved head first: there is room now
  }
  for (std::uint32_t i = 0; i < n; ++i) {
    out[i] = slots_[(real + i) & k_mask].load(std::memory_order_relaxed);
  }
  return n;
}

task* run_queue::steal_into(run_queue& dst, std::uint32_t* stolen, std::uint64_t now,
                            std::uint64_t min_age) noexcept {
  const std::uint32_t dst_tail = dst.tail_->load(std::memory_order_relaxed);  // thief owns dst
  const std::uint32_t dst_steal = unpack_steal(dst.head_->load(std::memory_order_acquire));
  if (dst_tail - dst_steal > k_capacity / 2) return nullptr;  // no room for half of a queue
  std::uint32_t n = steal_into2(dst, dst_tail, now, min_age);
  *stolen = n;
  if (n == 0) return nullptr;
  --n;  // the last one copied is returned to run now
  task* ret = dst.slots_[(dst_tail + n) & k_mask].load(std::memory_order_relaxed);
  if (n > 0) dst.tail_->store(dst_tail + n, std::memory_order_release);
  return ret;
}

std::uint32_t run_queue::steal_into2(run_queue& dst, std::uint32_t dst_tail, std::uint64_t now,
                                     std::uint64_t min_age) noexcept {
  std::uint64_t prev = head_->load(std::memory_order_acquire);
  std::uint64_t next = 0;
  std::uint32_t n = 0;
  // Phase 1: claim [real, real + n) by advancing `real` while `steal` stays put.
  for (;;) {
    const std::uint32_t steal = unpack_steal(prev);
    const std::uint32_t real = unpack_real(prev);
    const std::uint32_t tail = tail_->load(std::memory_order_acquire);
    if (steal != real) return 0;  // another thief is active
    n = tail - real;
    n -= n / 2;
    if (n == 0) return 0;
    if (min_age != 0) {
      // The oldest task is the youngest to leave: if it is too young, so are the rest.
      const std::uint64_t queued = stamps_[real & k_mask].load(std::memory_order_relaxed);
      if (now < queued + min_age) return 0;
    }
    next = pack(steal, real + n);
    if (head_->compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      break;
    }
  }
  // Phase 2: copy. The owner cannot overwrite these slots while `steal` still points at them.
  const std::uint32_t first = unpack_steal(next);
  for (std::uint32_t i = 0; i < n; ++i) {
    task* t = slots_[(first + i) & k_mask].load(std::memory_order_relaxed);
    dst.slots_[(dst_tail + i) & k_mask].store(t, std::memory_order_relaxed);
    dst.stamps_[(dst_tail + i) & k_mask].store(
        stamps_[(first + i) & k_mask].load(std::memory_order_relaxed), std::memory_order_relaxed);
  }
  // Phase 3: release the claim (steal = real). The owner may have popped meanwhile.
  prev = next;
  for (;;) {
    const std::uint32_t real = unpack_real(prev);
    next = pack(real, real);
    if (head_->compare_exchange_weak(prev, next, std::memory_order_acq_rel,
                                     std::memory_order_acquire)) {
      return n;
    }
  }
}

}  // namespace keel::sched
