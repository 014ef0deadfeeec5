// system_config: everything an actor_system is built with, validated at construction. An invalid
// field makes actor_system::create fail with errc::invalid_config and a message naming the field.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <keel/core/diagnostics.h>
#include <keel/core/hooks.h>
#include <keel/sched/config.h>

namespace keel {

// Where an allocation happens, for the allocation fault seam.
enum class alloc_site : std::uint8_t { envelope, actor, cell_chunk };

struct system_config {
  // The executor (work-stealing or deterministic) and its knobs (workers, spin, pinning, timer
  // resolution, delivery policy...).
  sched::scheduler_config scheduler;
  // At most this many messages per activation (fairness). 1..65535.
  std::uint32_t message_budget = 64;
  // Messages an actor may keep in its stash (actor_base::stash) unless spawn_options says
  // otherwise. 1..16777216.
  std::uint32_t stash_capacity = 1024;
  // An activation also ends after this long (checked against the cached clock every 8 messages).
  std::chrono::nanoseconds time_budget = std::chrono::microseconds(100);
  // A mailbox age (now minus the timestamp of the oldest message dequeued in an activation) above
  // this is reported to `diagnostics`. 0 disables the report.
  std::chrono::nanoseconds mailbox_age_limit = std::chrono::seconds(1);
  // Envelopes cached per worker per size class before they go back to the allocator.
  std::uint32_t envelope_cache = 256;
  // How many recent dead letters dead_letters() keeps for inspection.
  std::uint32_t dead_letter_history = 256;
  // At most this many distinct actor types (counter rows per worker). 1..65536.
  std::uint32_t max_actor_types = 1024;
  // The node id in bits 63..48 of every actor id (0: local).
  std::uint16_t node = 0;
  // Failure reports and warnings. Default: stderr, at most 10 lines a second.
  std::function<void(const diagnostic&)> diagnostics;
  // Test seam: when set, called on allocation slow paths; returning true makes that allocation
  // fail as if the allocator had returned nullptr.
  std::function<bool(alloc_site)> alloc_fault;
  // Subscribers to the hook table, attached for the life of the system (see hooks.h).
  std::vector<std::shared_ptr<hook_subscriber>> hooks;
  // Default timeout of a graceful shutdown.
  std::chrono::nanoseconds shutdown_timeout = std::chrono::seconds(10);
  // The system seed: each actor's rng() is seeded from it and the actor's id. 0 draws one from
  // std::random_device at construction; actor_system::seed() tells which (record it to replay).
  std::uint64_t seed = 0;

  // OK, or errc::invalid_config naming the first bad field.
  status validate() const;
};

}  // namespace keel
