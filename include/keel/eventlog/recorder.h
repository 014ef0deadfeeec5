// keel::eventlog::recorder: records what actors receive into an event log, through the core's
// hooks, for tracing (keel-log trace) and deterministic replay.
//
// For each recorded actor (chosen by actor type or registered name, '*' patterns):
// - every delivered message becomes a MESSAGE record (TIMER for a timer's message): actor_id the
//   receiver, actor_seq its input number, the message's id, correlation and causation, ts_ns the
//   now() its handler sees, and the payload in the type's codec (a type without keel_fields is
//   recorded with k_flag_no_payload and no payload; replay refuses it). A message put back by
//   unstash_all() is not recorded again;
// - a reply or timeout that completes one of its asks is an input too (k_flag_reply or
//   k_flag_ask_timeout, causation the ask's id), and each ask it makes is an ASK record, so that
//   replay can pair its asks with the replayed ones;
// - every `state_hash_every` inputs, an actor with save_state gets a STATE_HASH record (the
//   XXH3-64 of its saved state after that input);
// - spawns, stops, failures and restarts are recorded (SPAWN's payload is the actor type's name,
//   the others' the reason), and after checkpoint() each stateful actor writes a CHECKPOINT
//   record of its state after its next input;
// - each result of actor::block_in_place is an EXTERNAL_INPUT record (actor_seq the input being
//   handled, payload the result in its type's codec; a type without one is recorded with
//   k_flag_no_payload and replay refuses the actor), which replay serves instead of running
//   the blocking call.
// With sample_one_in > 1 only one input in N is recorded, flagged k_flag_sampled: for tracing;
// such an actor cannot be replayed.
//
// A message type is in the system's registry once an actor that handles it is spawned; a type
// that is only ever a reply (no actor handles it) must be added (sys->types().add<R>()), or its
// records have no payload and replay refuses them (counters().no_payload counts them).
//
// Give the recorder to system_config::hooks and call use_system(*sys) right after the system is
// created (messages delivered before that are recorded without payload).
//
// Cost: per recorded message, one codec encode into a per-thread buffer (no allocation once
// warm) and one append (no lock, no system call); per unrecorded message, one lookup in a
// small lock-free cache. Thread safety: the hook callbacks run on any thread, concurrently.
#pragma once

#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <keel/core/hooks.h>
#include <keel/core/type_registry.h>
#include <keel/eventlog/log.h>

namespace keel {
class actor_system;
}

namespace keel::eventlog {

struct recording_options {
  // Actor type names to record: '*' matches any run of characters ("shop.*", "*").
  std::vector<std::string> actor_types{"*"};
  // Registered actor names to record as well (spawn_options::name; '*' as above): an actor is
  // recorded when its type matches actor_types or its name matches actor_names. Both empty:
  // nothing is recorded.
  std::vector<std::string> actor_names;
  // A STATE_HASH record after every K inputs of a recorded actor with save_state (0: never).
  std::uint32_t state_hash_every = 0;
  // Record one input in N (1: all). N > 1 is for tracing only: the inputs are flagged sampled.
  std::uint32_t sample_one_in = 1;

  status validate() const;
};

struct recording_counters {
  std::uint64_t inputs = 0;        // MESSAGE and TIMER records written
  std::uint64_t no_payload = 0;    // of them, without payload (no codec)
  std::uint64_t state_hashes = 0;  // STATE_HASH records written
  std::uint64_t lifecycle = 0;     // SPAWN, STOP, FAILURE, RESTART, RNG_SEED, ASK written
  std::uint64_t checkpoints = 0;   // actors' CHECKPOINT records written
  std::uint64_t externals = 0;     // EXTERNAL_INPUT records written (block_in_place results)
  std::uint64_t failed = 0;        // appends that failed (the log is full or failed)
};

class recorder final : public hook_subscriber {
 public:
  // errc::invalid_config from options.validate() is reported by create().
  static result<std::shared_ptr<recorder>> create(event_log& log, recording_options o = {});

  // The registry whose codecs encode payloads (the system's): call once, before traffic.
  void use_types(const type_registry& types) noexcept;
  // use_types(sys.types()), and the system's seed: each recorded spawn is then followed by an
  // RNG_SEED record (payload: the system seed and the actor's rng() seed, two little-endian
  // u64), which replay uses to give the actor the same draws. Call once, before traffic.
  void use_system(actor_system& sys) noexcept;
  recording_counters counters() const noexcept;

  // Starts checkpoint `label`: a CHECKPOINT record names it now (its seq is returned with its
  // number), and each recorded actor with save_state writes its state, its generator and its
  // input count as a CHECKPOINT record after the next input it handles (on its own thread,
  // so the state is consistent; an actor that handles nothing more writes none, and replay
  // starts it from an older checkpoint or its SPAWN). errc::invalid_argument for an empty
  // label; the log's error if the record cannot be appended.
  struct checkpoint_started {
    std::uint64_t number = 0;
    std::uint64_t seq = 0;  // the request's record
  };
  result<checkpoint_started> checkpoint(std::string_view label);

  void on_deliver(const deliver_event& ev) noexcept override;
  void on_handled(const deliver_event& ev) noexcept override;
  void on_ask(const ask_event& ev) noexcept override;
  void on_external_input(const external_event& ev) noexcept override;
  void on_spawn(const lifecycle_event& ev) noexcept override;
  void on_stop(const lifecycle_event& ev) noexcept override;
  void on_failure(const lifecycle_event& ev) noexcept override;
  void on_restart(const lifecycle_event& ev) noexcept override;

  recorder(event_log& log, recording_options o);  // use create()

 private:
  // Whether an actor of that type and name is recorded: its type through a lock-free cache,
  // then its name (a pattern match per call, only for actors whose type is not recorded).
  bool selected(std::string_view actor_type, std::string_view actor_name) noexcept;
  bool selected(const deliver_event& ev) noexcept;
  bool selected_type(std::string_view actor_type) noexcept;
  const codec_ops* codec_for(type_id t) noexcept;
  void lifecycle(record_type type, const lifecycle_event& ev) noexcept;
  void count(std::atomic<std::uint64_t>& c) noexcept { c.fetch_add(1, std::memory_order_relaxed); }
  // Appends `r`, counting it in `written`, or in failed_ if the log refused it.
  void append(const record_in& r, std::atomic<std::uint64_t>& written) noexcept;

  void write_checkpoint(const deliver_event& ev, std::uint64_t number) noexcept;

  event_log& log_;
  std::atomic<std::uint64_t> checkpoint_{0};  // the latest checkpoint's number (0: none)
  std::atomic<bool> seed_known_{false};
  std::atomic<std::uint64_t> system_seed_{0};
  recording_options opt_;
  std::atomic<const type_registry*> types_{nullptr};

  // Lock-free caches, filled under mu_ on a miss: actor type name (by its static storage's
  // address) -> selected, and message type id -> codec (null: none).
  static constexpr std::size_t k_slots = 1024;
  struct select_slot {
    std::atomic<const char*> key{nullptr};
    std::atomic<std::uint8_t> value{0};  // 1 selected, 2 not
  };
  struct codec_slot {
    std::atomic<type_id> key{0};
    std::atomic<const codec_ops*> value{nullptr};
    std::atomic<bool> ready{false};
  };
  select_slot selected_[k_slots];
  codec_slot codecs_[k_slots];
  std::mutex mu_;

  std::atomic<std::uint64_t> inputs_{0}, no_payload_{0}, state_hashes_{0}, lifecycle_{0},
      failed_{0}, sample_tick_{0}, checkpoints_{0}, externals_{0};
};

}  // namespace keel::eventlog
