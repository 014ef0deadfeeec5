// Private to eventlog/: a replay's plan (replay_plan.cpp: what the log says about the scenario's
// actors) and the session that runs it (replay_run.cpp).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include <keel/core/message.h>
#include <keel/core/rng.h>
#include <keel/core/type_registry.h>
#include <keel/eventlog/replay.h>

namespace keel::eventlog::detail {

struct planned_actor {
  actor_id id = k_no_actor;
  std::string type;                      // from its SPAWN or its checkpoint
  std::string name;                      // its registered name, from its SPAWN ("" if none)
  std::uint64_t spawn_seq = 0;           // 0: not in the log
  std::uint64_t first_scenario_seq = 0;  // its first input with the scenario's correlation id
  // Where replay starts it: the newest checkpoint before first_scenario_seq (number 0: none; it
  // starts at its SPAWN), its record's seq, the inputs before it, its generator and state.
  std::uint64_t checkpoint = 0;
  std::uint64_t start_seq = 0;
  std::uint64_t start_input = 0;
  std::optional<actor_rng::state> rng;
  std::vector<std::byte> state;
  bool has_seed = false;
  std::uint64_t system_seed = 0;
  std::uint64_t inputs = 0;
  std::uint64_t last_input_no = 0;
  // Where its handlers ran, as the seq of a record: its SPAWN (on_start), an input, or a
  // RESTART (the new object's on_start). Failures and block_in_place results belong to the
  // context they follow.
  std::uint64_t context = 0;
  // The contexts that failed (a FAILURE record follows each).
  std::set<std::uint64_t> failures;
  std::map<std::uint64_t, std::uint64_t> hashes;  // input number -> recorded state hash
  // The recorded results of its block_in_place calls (EXTERNAL_INPUT records), by context, in
  // call order: replay serves them instead of running the calls.
  struct external {
    std::uint64_t seq = 0;
    type_id type = 0;
    std::vector<std::byte> bytes;
  };
  std::map<std::uint64_t, std::deque<external>> externals;
  std::vector<std::string> problems;  // why it cannot be replayed
};

struct replay_plan {
  message_id correlation = 0;
  replay_options options;
  std::map<actor_id, planned_actor> actors;
  // For each input of a scenario actor (by message id): the types of the recorded messages sent
  // while it was handled (records whose causation is that id).
  std::unordered_map<message_id, std::vector<type_id>> expected_outputs;
  // ... and the types of the timers it armed (TIMER records whose causation is that id; a
  // periodic timer's firings count once).
  std::unordered_map<message_id, std::set<type_id>> expected_timers;
  std::uint64_t end_seq = 0;  // one past the last seq replayed
};

// Reads the log and builds the plan. `factory_names`: the actor types replay can build.
result<replay_plan> make_plan(const std::string& dir, const type_registry& types,
                              const std::vector<std::string>& factory_names, message_id correlation,
                              const replay_options& options);

}  // namespace keel::eventlog::detail
