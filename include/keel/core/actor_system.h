// keel::actor_system: owns the workers, the actor table, the type registry, the name registry,
// the timers and the hook table of one actor runtime. No global state: several systems may live
// in one process.
//
//   auto sys = keel::actor_system::create(keel::system_config{}).value();
//   auto ref = sys->spawn<adder>().value();
//   auto s = ref.ask<sum>(add{2, 3}, std::chrono::seconds(1));
//
// It starts exactly the worker threads (named keel-w0, keel-w1, ...) and no other thread.
// Destruction shuts down gracefully (see shutdown()).
//
// Thread safety: every method may be called from any thread unless it says otherwise.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <keel/base/result.h>
#include <keel/core/actor.h>
#include <keel/core/actor_ref.h>
#include <keel/core/config.h>
#include <keel/core/counters.h>
#include <keel/core/factory.h>
#include <keel/core/hooks.h>
#include <keel/core/mailbox.h>
#include <keel/core/type_registry.h>
#include <keel/sched/scheduler.h>

namespace keel {

struct spawn_options {
  std::string name;  // registered name; empty for none (names are unique among live actors)
  std::uint32_t pin = sched::k_any_worker;  // run only on this worker, never stolen
  std::uint16_t budget = 0;                 // messages per activation; 0: the system default
  std::uint32_t stash_capacity = 0;         // actor_base::stash() room; 0: the system default
  mailbox_bound mailbox;  // a bounded user lane and its overflow policy (mailbox.h); default none
  // Run on a thread of its own (named "keel-d-<name or type>"), so that its handlers may
  // block without holding up a pool worker. The thread ends when the actor stops. On the
  // deterministic executor the actor runs on the executor's thread like any other. A detached
  // actor is never pinned to a pool worker (`pin` must stay k_any_worker).
  bool detached = false;
  // The supervisor this actor reports to (supervisor.h): when a handler fails, the actor is held
  // -- its mailbox kept -- and the supervisor decides what happens to it; when it stops, the
  // supervisor is told. Empty: a failure stops the actor. A keel::supervisor sets this for its
  // children; errc::actor_stopped if it names no live actor.
  actor_handle supervisor;
  // Set by a supervisor restarting a child: the new actor object replaces the one of this held
  // incarnation, in its cell (same refs, same mailbox), instead of taking a new cell. Only the
  // incarnation's supervisor may do this, from inside its handler; leave it empty otherwise.
  actor_handle replace;
};

// A message given as its codec's bytes: replay's recorded inputs, a message injected by name.
// ops and codec come from type_registry::find (the type's entry).
struct encoded_message {
  const message_ops* ops = nullptr;
  const codec_ops* codec = nullptr;
  std::span<const std::byte> bytes;
  // The envelope's ids. 0: as for any send from outside (a new id; correlation the id). Replay
  // gives the recorded ones, so that what the handler sends names the recorded message as its
  // causation.
  message_id id = 0;
  message_id correlation = 0;
  message_id causation = 0;
  // The sender the handler sees (its replies go there); none by default. Replay gives a stand-in
  // for the recorded sender, which does not exist in the replay system.
  actor_handle sender;
  // message: for a handler. reply: completes the target's ask whose request id is `causation`
  // (its continuation runs with it). ask_timeout: times that ask out (ops, codec and bytes
  // unused).
  input_kind kind = input_kind::message;
};

// Where replay starts an actor from a checkpoint (actor_system::restore_for_replay).
struct actor_restore {
  std::span<const std::byte> state;     // save_state's bytes
  std::optional<actor_rng::state> rng;  // its generator (nullopt: as seeded)
  std::uint64_t input_no = 0;           // its inputs so far: the next is input_no + 1
};

struct dead_letter {
  actor_handle target;
  std::string target_type;  // the addressed actor's type name ("" if there was no target)
  actor_handle sender;
  std::string type_name;  // the message type's name
  message_id id = 0;
  message_id correlation = 0;
  dead_letter_reason reason = dead_letter_reason::actor_stopped;
};

struct actor_info {
  actor_id id = k_no_actor;
  actor_handle handle;
  std::string name;
  std::string type;
};

struct shutdown_report {
  std::size_t alive_at_start = 0;         // actors alive when shutdown began
  std::size_t stopped = 0;                // of those, stopped within the timeout
  std::vector<actor_info> still_running;  // did not stop within the timeout (newest first)
};

namespace detail {
struct actor_type_record;
// Type-erased spawn; `make` constructs the actor into the given memory.
struct spawn_request {
  const void* identity;
  std::string_view type_name;
  std::size_t size;
  std::size_t align;
  actor_base* (*make)(void* mem, void* args);
  void* args;
  void (*register_messages)(type_registry& reg, status& s);
};
}  // namespace detail

class actor_system {
 public:
  // Validates `config` (errc::invalid_config naming the field) and starts the workers.
  static result<std::unique_ptr<actor_system>> create(system_config config);
  ~actor_system();  // shutdown() with the configured timeout
  actor_system(const actor_system&) = delete;
  actor_system& operator=(const actor_system&) = delete;

  // Spawns an actor of type A, constructed with `args`. errc::shutting_down after shutdown,
  // out_of_memory, duplicate_name (the name is taken or another class uses A's type name),
  // type_collision (a message type name hashes like another), failed (A's constructor threw).
  template <class A, class... Args>
  result<actor_ref<A>> spawn(Args&&... args) {
    return spawn_with<A>(spawn_options{}, std::forward<Args>(args)...);
  }
  template <class A, class... Args>
  result<actor_ref<A>> spawn_with(const spawn_options& opts, Args&&... args) {
    static_assert(std::is_base_of_v<actor_base, A>, "A must derive from keel::actor<A, ...>");
    constexpr std::string_view type_name = actor_type_name<A>();
    auto tuple = std::forward_as_tuple(std::forward<Args>(args)...);
    using tuple_t = decltype(tuple);
    detail::spawn_request req{
        &identity_of<A>,
        type_name,
        sizeof(A),
        alignof(A),
        [](void* mem, void* a) -> actor_base* {
          return std::apply(
              [mem](auto&&... xs) {
                return static_cast<actor_base*>(::new (mem) A(std::forward<decltype(xs)>(xs)...));
              },
              std::move(*static_cast<tuple_t*>(a)));
        },
        &tuple,
        &register_handled<A>};
    auto r = spawn_erased(req, opts);
    if (!r) return r.error();
    return actor_ref<A>::from_cell(r->cell(), r->generation());
  }

  // The live actor registered under `name`, as an untyped ref; actor_not_found otherwise.
  result<actor_ref<>> lookup(std::string_view name) const;

  // Delivers `m` to `to` after `delay`, from outside any actor.
  template <class T, class M>
  requires detail::accepts<T, M> timer_handle send_after(const actor_ref<T>& to,
                                                         std::chrono::nanoseconds delay, M&& m) {
    if (!to.valid()) return timer_handle();
    envelope* e = detail::make_envelope(to.cell()->system, std::forward<M>(m));
    return detail::start_user_timer(nullptr, to.cell(), to.generation(), e, delay,
                                    std::chrono::nanoseconds(0));
  }

  // The next spawned actor takes id `next`, later ones follow it. Replay spawns actors under
  // their recorded ids this way (in increasing order), so that their rng() and whatever they
  // derive from their id repeat. Ids are never reused: errc::invalid_argument if `next` is not
  // on this system's node (system_config::node) or not above every id given so far. Another
  // thread's spawn in between may take the id: call it where nothing else spawns.
  status skip_ids_to(actor_id next);

  // Starts actor `a` from a checkpoint: its load_state reads `r.state`, its generator and its
  // input count are set. For replay: only on the deterministic executor, from the driving
  // thread between activations (errc::wrong_thread otherwise); errc::actor_stopped;
  // errc::invalid_argument if its class has no load_state or the bytes do not fit it.
  status restore_for_replay(actor_handle a, const actor_restore& r);

  // Makes a failure of actor `a` (spawned by replay, without a supervisor) hold it, as a
  // supervised actor's failure does, instead of stopping it, so that restart_for_replay can
  // restart it where the recorded run's supervisor did. Deterministic executor, driving thread,
  // between activations (errc::wrong_thread otherwise); errc::actor_stopped.
  status hold_failures_for_replay(actor_handle a);
  // Restarts actor `a` in place, as its supervisor did in the recorded run: a new object from
  // the factory registered under its type's name takes its cell (same id, refs and mailbox; its
  // generator and input count run on); the old object's on_stop runs unless it failed; the new
  // one's on_start runs at the next activation. Same threads as above; errc::actor_stopped;
  // errc::invalid_argument if no factory has its type's name; else the factory's error.
  status restart_for_replay(actor_handle a);

  // Replay: block_in_place in this system serves recorded results instead of running its
  // function. source(actor id, input number, result type) returns the codec bytes of that
  // actor's next recorded result while it handles that input, or an error, which fails the
  // handler (the replay reports it). Deterministic executor, driving thread, before the first
  // input (errc::wrong_thread otherwise); errc::invalid_argument for an empty source.
  using external_source =
      std::function<result<std::vector<std::byte>>(actor_id, std::uint64_t, type_id)>;
  status serve_externals_for_replay(external_source source);

  // Decodes `m` and sends it to `to` from outside any actor (sender: m.sender). Any thread.
  // errc::invalid_argument if ops or codec is missing, or the bytes do not decode (the message
  // names the field); errc::out_of_memory; otherwise the send's status.
  result<send_status> send_encoded(actor_handle to, const encoded_message& m);

  // Stops every actor, newest first (reverse spawn order), waits up to `timeout` for them, then
  // stops the workers. Later spawns fail with shutting_down; later sends are dead letters.
  // Idempotent; not from a worker of this system (returns an empty report there).
  shutdown_report shutdown(std::chrono::nanoseconds timeout);
  shutdown_report shutdown();

  // A request that the host program shut the system down, with the reason: made by
  // request_stop (any thread), or by a root supervisor whose root_policy is stop_system when it
  // escalates. keel does not shut down by itself: the host reads stop_requested() (or waits for
  // it) and calls shutdown(). The first reason is kept.
  void request_stop(std::string reason);
  std::optional<std::string> stop_requested() const;

  // Dead letters so far, and the most recent ones (at most config.dead_letter_history). A dead
  // letter enters the history before the count: after reading a count of N, the history holds
  // the N-th one (if it is among the last dead_letter_history).
  std::uint64_t dead_letter_count() const noexcept;
  std::vector<dead_letter> recent_dead_letters() const;

  // Sends that failed because no envelope could be allocated (send_status::out_of_memory).
  std::uint64_t allocation_failures() const noexcept;
  // Timer messages dropped at delivery because their timer had been cancelled.
  std::uint64_t cancelled_timer_drops() const noexcept;

  // Per-actor-type counters summed over the workers' shards (relaxed reads).
  std::vector<type_counters> counters() const;
  // Number of live actors.
  std::size_t actor_count() const noexcept;
  // The supervisor of a live actor (spawn_options::supervisor), or an empty handle when it has
  // none or is not alive. Any thread; lock-free (atomic loads).
  actor_handle supervisor_of(actor_handle a) const noexcept;
  // A bounded actor's mailbox: capacity, policy, exact depth and overflow counts.
  // errc::invalid_argument if the actor's mailbox is unbounded, actor_stopped if it is gone.
  result<mailbox_stats> mailbox(const actor_ref<>& ref) const;

  type_registry& types() noexcept;
  // Actor types that can be created by name (create-child by message, steering, replay).
  actor_factory_registry& factories() noexcept;
  sched::scheduler& scheduler() noexcept;
  // The system seed (system_config::seed, or the one drawn when that was 0).
  std::uint64_t seed() const noexcept;
  // The deterministic executor's controls (run_one, run_until_idle, advance, the virtual clock)
  // when config().scheduler.executor is executor_kind::deterministic; nullptr otherwise.
  sched::deterministic_executor* deterministic() noexcept;
  const system_config& config() const noexcept;

 private:
  explicit actor_system(std::unique_ptr<detail::system_state> s) noexcept;
  result<actor_ref<>> spawn_erased(const detail::spawn_request& req, const spawn_options& opts);

  template <class A>
  static inline const char identity_of = 0;
  template <class A>
  static void register_handled(type_registry& reg, status& s) {
    register_list(reg, s, typename A::handled_messages{});
  }
  template <class... Ms>
  static void register_list(type_registry& reg, status& s, type_list<Ms...>) {
    ((s.is_ok() ? (void)(s = reg.add<Ms>()) : (void)0), ...);
  }

  std::unique_ptr<detail::system_state> state_;
};

template <class A>
result<actor_ref<A>> actor_factory_registry::spawn_default(actor_system& s,
                                                           const spawn_options& o) {
  return s.spawn_with<A>(o);
}

}  // namespace keel
