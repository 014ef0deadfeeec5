// Per-actor-type counters. Each worker owns a shard (a row per actor type) that only it writes,
// with relaxed load+store (no locked instruction on the hot path); sends from outside threads go
// to one shared shard with relaxed fetch_add. Readers sum the shards with relaxed loads: totals
// are exact once the system is quiescent and may lag by in-flight updates otherwise.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

#include <keel/base/owned_counter.h>

namespace keel {

// A snapshot of one actor type's counters, summed over shards.
struct type_counters {
  std::string type;                // the actor type's declared name
  std::uint64_t received = 0;      // messages handled by actors of this type
  std::uint64_t sent = 0;          // messages sent by actors of this type
  std::uint64_t failures = 0;      // handler exceptions
  std::uint64_t dead_letters = 0;  // messages addressed to this type that became dead letters
  std::uint64_t spawned = 0;
  std::uint64_t stopped = 0;
};

namespace detail {
// One row of one shard.
struct counter_row {
  std::atomic<std::uint64_t> received{0};
  std::atomic<std::uint64_t> sent{0};
  std::atomic<std::uint64_t> failures{0};
  std::atomic<std::uint64_t> dead_letters{0};
  std::atomic<std::uint64_t> spawned{0};
  std::atomic<std::uint64_t> stopped{0};
  std::uint64_t pad[2];
};
static_assert(sizeof(counter_row) == 64);
}  // namespace detail

}  // namespace keel
