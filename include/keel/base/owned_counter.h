// owner_add: the increment of a counter that one thread writes and any thread may read.
//
// A relaxed load and a relaxed store: no locked instruction, because no other thread writes
// the counter. Readers load it with memory_order_relaxed and may see a slightly stale value;
// they never see a torn one. Used by the per-worker statistics of sched/ and the per-worker
// counter shards of core/.
#pragma once

#include <atomic>
#include <cstdint>

namespace keel::detail {

// REQUIRES: the calling thread is the only writer of `c`.
inline void owner_add(std::atomic<std::uint64_t>& c, std::uint64_t n = 1) noexcept {
  c.store(c.load(std::memory_order_relaxed) + n, std::memory_order_relaxed);
}

}  // namespace keel::detail
