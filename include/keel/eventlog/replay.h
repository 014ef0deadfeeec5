// keel::eventlog::replay: re-executes recorded actors from an event log, deterministically, and
// compares what they do with what the log says they did (docs/eventlog.md, "Replay").
//
//   keel::eventlog::replay_controller rc(log_dir, app_types, [](keel::actor_factory_registry& f) {
//     (void)f.add<cart>();  // the actor types to re-create, by name
//   });
//   auto report = rc.replay_scenario(failed_order_corr);
//   if (report && !report->matched()) std::cout << report->summary();
//
// A scenario is a correlation id. Its actors are those that received an input with that
// correlation id; each is re-created under its recorded id from the newest checkpoint of it
// before the scenario (state, generator and input count restored), or else from its SPAWN
// record with its recorded rng seed, in a fresh actor system on the deterministic executor (never
// the live one), and is fed every recorded input (of any correlation id) in log order, with the
// virtual clock set to the now() its handler saw. What it sends, and its timers, are captured,
// never delivered. After each input with a recorded STATE_HASH, the replayed state's hash is
// compared; each message the log shows it sent while handling an input must be among the
// messages it sends in replay. The first difference is the divergence: with hashes after every
// input it is at exactly the input that differs; with hashes every K inputs the report gives the
// interval (last_match_seq, seq] that holds it. An actor without save_state is replayed (from
// its SPAWN) with its outputs, inputs and failures compared; its report says "state not
// comparable".
//
// Failures and restarts are replayed too: an actor must fail at the inputs where the recorded
// one failed (and nowhere else); a failed actor is then held, as under its supervisor, and is
// restarted in place (a new object from its factory, on_start again, its generator and input
// count running on) at each RESTART record of it -- also when it restarted only because its
// group did (one_for_all, rest_for_one).
//
// block_in_place results are served from the log's EXTERNAL_INPUT records, in order, to the
// calls the replayed handlers make (the blocking call never runs); a call the recorded run did
// not make, or one it made that the replay does not, is a divergence.
//
// An actor's asks are replayed too: its recorded ASK records are paired, in order, with the asks
// it makes in replay, and each recorded reply or timeout is delivered to the replayed ask (its
// continuation runs with the recorded reply); an ask made on one side only is a divergence.
//
// Refused, with every reason listed, never replayed in part: an actor whose SPAWN or RNG_SEED
// record is not in the log (retention removed it), whose type has no factory, that was sampled,
// whose block_in_place results have no codec, whose inputs include a type without a codec or
// one not in `types`, or a reply or timeout of an ask the log does not show.
//
// Thread safety: a replay_controller and its sessions are used by one thread at a time; replay
// runs on that thread (the deterministic executor has no threads of its own).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <keel/base/result.h>
#include <keel/core/ids.h>

namespace keel {
class type_registry;
class actor_factory_registry;
}  // namespace keel

namespace keel::eventlog {

class recorder;

// Registers the application's actor factories in a replay system's registry (by the actor type
// names its SPAWN records carry). The same signature as keel::tools::factory_setup.
using replay_factories = std::function<void(actor_factory_registry&)>;

struct replay_options {
  // 0: as fast as possible; N > 0: N times the recorded pace (replay waits between inputs for
  // their recorded gap divided by N).
  double speed = 0;
  // true: each actor in an actor system of its own; false: all in one (one system seed).
  bool isolated = true;
  // Replay the inputs before this seq (0: to the end of the log).
  std::uint64_t until_seq = 0;

  status validate() const;
};

struct replay_divergence {
  actor_id actor = k_no_actor;
  std::uint64_t seq = 0;       // the input at (or, with hashes every K, before) which it differs
  std::uint64_t input_no = 0;  // that input's number among the actor's inputs
  // The last input after which the state hash matched (the SPAWN record's seq when none did):
  // the input that differs lies in (last_match_seq, seq].
  std::uint64_t last_match_seq = 0;
  std::string event;  // what differed: "state hash ...", "output missing ...", "failed: ..."
};

struct replay_actor {
  actor_id id = k_no_actor;
  std::string type;
  std::uint64_t start_seq = 0;        // the SPAWN or CHECKPOINT record it started from
  std::uint64_t checkpoint = 0;       // the checkpoint's number (0: from its SPAWN)
  std::uint64_t inputs = 0;           // inputs replayed
  std::uint64_t hashes_compared = 0;  // STATE_HASH records checked
  std::uint64_t outputs = 0;          // messages it sent in replay (captured)
  std::uint64_t outputs_checked = 0;  // recorded messages it sent, found among them
  std::uint64_t failures = 0;         // failures replayed where the log shows them
  std::uint64_t restarts = 0;         // restarts in place replayed at RESTART records
  // False for an actor whose class has no save_state: its inputs, outputs and failures are
  // compared, its state cannot be (the summary says "state not comparable").
  bool state_comparable = true;
  std::optional<replay_divergence> divergence;
};

struct replay_report {
  message_id correlation = 0;
  std::vector<replay_actor> actors;  // by id
  std::uint64_t inputs = 0;
  std::uint64_t hashes_compared = 0;
  std::uint64_t outputs_checked = 0;
  std::optional<replay_divergence> divergence;  // the first, by seq, over every actor

  bool matched() const noexcept { return !divergence.has_value(); }
  // Lines for people: the actors, the counts, and the divergence if any.
  std::string summary() const;
};

// One scenario being replayed, input by input (the step-by-step mode).
class replay_session {
 public:
  ~replay_session();
  replay_session(const replay_session&) = delete;
  replay_session& operator=(const replay_session&) = delete;

  // Replays the next input; false once every input is replayed or every actor has diverged.
  // errc::corrupt / io_error from the log.
  result<bool> step();
  // Steps to the end.
  result<replay_report> run();
  const replay_report& report() const noexcept;

  struct impl;
  explicit replay_session(std::unique_ptr<impl> p);

 private:
  std::unique_ptr<impl> impl_;
};

struct checkpoint_info {
  std::uint64_t number = 0;
  std::uint64_t seq = 0;  // its request's record
  std::string label;
};

class replay_controller {
 public:
  // `types` must hold the recorded message types (with their codecs) and outlive the controller.
  replay_controller(std::string log_dir, const type_registry& types, replay_factories factories);
  // The same, beside the live system whose recorder writes the log: create_checkpoint() works.
  replay_controller(recorder& live, std::string log_dir, const type_registry& types,
                    replay_factories factories);

  // Snapshots of the recorded actors plus the log position (recorder::checkpoint): each actor
  // with save_state writes its state, generator and input count after its next input, and a
  // later replay starts it from the newest checkpoint before the scenario instead of its SPAWN.
  // errc::invalid_argument without a live recorder or for an empty label; the log's error.
  result<checkpoint_info> create_checkpoint(std::string_view label);

  // Plans a scenario: errc::not_found if no input has that correlation id; invalid_argument
  // listing every actor that cannot be replayed and why; corrupt / io_error from the log.
  result<std::unique_ptr<replay_session>> open_scenario(message_id correlation,
                                                        replay_options options = {});
  // open_scenario, then run.
  result<replay_report> replay_scenario(message_id correlation, double speed = 0,
                                        bool isolated = true);

 private:
  recorder* live_ = nullptr;
  std::string dir_;
  const type_registry& types_;
  replay_factories factories_;
};

}  // namespace keel::eventlog
