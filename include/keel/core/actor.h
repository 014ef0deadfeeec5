// keel::actor: the base class of user actors.
//
//   struct add { static constexpr std::string_view keel_name = "calc.add/1"; int a, b; };
//   struct sum { static constexpr std::string_view keel_name = "calc.sum/1"; int value; };
//
//   class adder : public keel::actor<adder, add> {
//    public:
//     static constexpr std::string_view keel_name = "calc.adder";
//     void on(add& m) { reply(sum{m.a + m.b}); }
//   };
//
// The template arguments after the class itself list the messages it handles: actor_ref<adder>
// accepts exactly those, and each needs a handler `on(M&)` (or `on(const M&)`). The class names
// its actor type with `keel_name` (counters and name patterns use it).
//
// Threading: an actor's handlers, on_start and on_stop run one at a time, on some worker (the
// same worker only if the actor is pinned); they never run concurrently with each other, so an
// actor's fields need no synchronisation. The protected methods below may only be called from
// inside them.
//
// Failures: an exception that escapes a handler, or a call to fail(reason), is a failure
// (failure.h): it never reaches the worker. An actor with a supervisor is then held until its
// supervisor decides (supervisor.h); one without stops, with a failure report (diagnostics sink,
// on_failure hooks, failure counters).
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <new>
#include <optional>
#include <string_view>
#include <type_traits>
#include <typeinfo>
#include <utility>

#include <keel/core/actor_ref.h>
#include <keel/core/ask.h>
#include <keel/core/cell.h>
#include <keel/core/envelope.h>
#include <keel/core/message.h>
#include <keel/core/monitor.h>
#include <keel/core/rng.h>
#include <keel/core/send.h>
#include <keel/core/timer.h>
#include <keel/core/type_list.h>
#include <keel/sched/scheduler.h>

namespace keel {

class actor_system;
class state_writer;
class state_reader;

namespace detail {
actor_system& system_of(actor_cell* c) noexcept;
std::uint64_t cached_now(actor_cell* c) noexcept;
// block_in_place's results under recording and replay (core/replay_support.cpp). Whether a
// recorder may be attached (hooks) or a replay serves results: one load of the system's state.
bool externals_watched(actor_cell* c) noexcept;
// Whether this system serves recorded results (a replay system).
bool replaying_externals(actor_cell* c) noexcept;
// Tells the hooks the result `value` of type `t` (0: not a message type) of a block_in_place in
// the handling of `current`, encoded in the codec the system's registry has for `t`.
void note_external(actor_cell* c, const envelope* current, type_id t, const void* value) noexcept;
// Replay: constructs at `dst` (`size` bytes) the recorded result of this actor's next
// block_in_place and returns true; false when the system serves no recorded results. Throws
// std::runtime_error when it does but has none for this call, or one of another type.
bool take_external(actor_cell* c, type_id t, std::size_t size, void* dst);
actor_rng& rng_of(actor_cell* c);  // throws std::bad_alloc (first use allocates)
timer_handle start_timer(actor_cell* target, std::uint32_t generation, envelope* prototype,
                         std::chrono::nanoseconds delay, std::chrono::nanoseconds period) noexcept;
// A timer the application arms (send_after, send_periodic): start_timer, after the hooks'
// on_timer (any of which may refuse it). `owner`: the arming actor (nullptr from outside).
timer_handle start_user_timer(actor_cell* owner, actor_cell* target, std::uint32_t generation,
                              envelope* prototype, std::chrono::nanoseconds delay,
                              std::chrono::nanoseconds period) noexcept;
// Runs `then` inside `self` once (target, generation)'s bounded lane has room. May throw
// std::bad_alloc.
void await_capacity(actor_cell* self, actor_cell* target, std::uint32_t generation,
                    std::function<void()> then);
sched::scheduler& scheduler_of(actor_cell* c) noexcept;
// Death watch (monitor.h). May throw std::bad_alloc.
std::uint64_t monitor_actor(actor_cell* self, actor_cell* target, std::uint32_t generation);
void demonitor_actor(actor_cell* self, std::uint64_t id, actor_cell* target,
                     std::uint32_t generation);
// Links (actor::link). May throw std::bad_alloc.
void link_actor(actor_cell* self, actor_cell* target, std::uint32_t generation);
void unlink_actor(actor_cell* self, actor_cell* target, std::uint32_t generation);
// An exception a handler let escape, caught right where it left the handler (a small frame, so
// that the unwinder's search stays short): the exception, its type and its what().
struct caught_exception {
  std::exception_ptr ptr;
  const std::type_info* type = nullptr;
  const char* what = nullptr;  // inside *ptr (or a literal): valid while ptr is held
};
// Inside a catch block: fills `out` from the exception being handled (`ex` if it is a
// std::exception).
void capture_exception(caught_exception& out, const std::exception* ex) noexcept;
enum class dispatch_result : std::uint8_t { handled, unhandled, threw };
// dispatch_caught's body: runs `dispatch()` (true: handled) and catches what it throws into
// `out`, in the caller's small frame (it inlines), so that a throw's unwinder search stays short.
template <class Dispatch>
dispatch_result dispatch_catching(Dispatch&& dispatch, caught_exception& out) noexcept {
  try {
    return dispatch() ? dispatch_result::handled : dispatch_result::unhandled;
  } catch (const std::exception& ex) {
    capture_exception(out, &ex);
  } catch (...) {
    capture_exception(out, nullptr);
  }
  return dispatch_result::threw;
}
// actor::fail: keeps the reason and a stack trace for the runtime. Never throws (out of memory:
// the reason is lost, the failure is not).
void note_failure(actor_cell* self, std::string_view reason) noexcept;
}  // namespace detail

// Where a reply goes (actor_base::return_address), kept to answer a request later.
struct reply_address {
  actor_handle to;
  message_id request = 0;
  message_id correlation = 0;
  bool asked = false;  // the request was an ask: the reply completes it
};

class actor_base {
 public:
  actor_base() = default;
  virtual ~actor_base() = default;
  actor_base(const actor_base&) = delete;
  actor_base& operator=(const actor_base&) = delete;

  // Runs once, inside the actor, before its first message.
  virtual void on_start() {}
  // Runs once, inside the actor, when it stops (not after a failure).
  virtual void on_stop() {}

  // Runtime entry: handles one user message. Returns false if the type is not handled.
  virtual bool dispatch(envelope& e) = 0;
  // The same, catching what the handler throws into `out` (threw). actor<Self, ...> catches in
  // its own small frame; the runtime calls this one.
  virtual detail::dispatch_result dispatch_caught(envelope& e,
                                                  detail::caught_exception& out) noexcept;
  // Whether the actor handles messages of type `t`.
  virtual bool handles(type_id t) const noexcept = 0;
  // Writes the actor's state (save_state, state.h) and returns true, or false if its class has
  // none. Used by recording (STATE_HASH), replay and steering; not by the message path.
  virtual bool save_state_to(state_writer& w) const {
    (void)w;
    return false;
  }
  // Reads the actor's state (load_state) and returns true, or false if its class has none. Used
  // by replay to start an actor from a checkpoint; not by the message path.
  virtual bool load_state_from(state_reader& r) {
    (void)r;
    return false;
  }

 protected:
  // This actor's untyped ref and handle.
  actor_ref<> self() const noexcept { return actor_ref<>::from_cell(cell_, generation_); }
  actor_id id() const noexcept { return cell_->id; }
  actor_system& system() const noexcept { return detail::system_of(cell_); }
  // The sender of the message being handled ({0,0} if it came from outside the system).
  actor_handle sender() const noexcept { return current_ ? current_->sender : actor_handle{}; }
  // The correlation id of the message being handled.
  message_id correlation() const noexcept { return current_ ? current_->correlation : 0; }
  // The id of the message being handled (0 outside a handler): what a record or a message
  // caused by it names as its causation.
  message_id current_message() const noexcept { return current_ ? current_->id : 0; }
  // The time, in ns: the worker's cached clock tick, refreshed between handlers (per activation
  // and every 8 messages), so constant within one handler. Under the deterministic executor it
  // is the virtual clock. Actor code that reads time only through now() can be replayed.
  std::uint64_t now() const noexcept { return detail::cached_now(cell_); }
  // This actor's random generator, seeded from the system seed and the actor id (see rng.h):
  // the same seed gives the same draws. Its state can be saved and restored. The first call
  // allocates (std::bad_alloc inside the handler when memory runs out).
  actor_rng& rng() { return detail::rng_of(cell_); }

  // Replies to the sender of the message being handled (routed to its ask if it asked).
  template <class M>
  send_status reply(M&& m) noexcept {
    if (current_ == nullptr || !current_->sender.valid()) {
      return detail::send_message(nullptr, 0, std::forward<M>(m));  // no sender: dead letter
    }
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    if (e == nullptr) return send_status::out_of_memory;
    if (current_->flags & envelope_flags::expects_reply) e->flags |= envelope_flags::is_reply;
    return detail::deliver_to(cell_->system, current_->sender, e);
  }

  // Where a reply to the message being handled goes, kept to answer it later, from another
  // handler (reply_later). Replying later to an ask keeps it an ask's reply.
  reply_address return_address() const noexcept {
    if (current_ == nullptr) return {};
    return {current_->sender, current_->id, current_->correlation,
            (current_->flags & envelope_flags::expects_reply) != 0};
  }
  template <class M>
  send_status reply_later(const reply_address& a, M&& m) noexcept {
    if (!a.to.valid()) return send_status::dead_letter;
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    if (e == nullptr) return send_status::out_of_memory;
    e->causation = a.request;
    e->correlation = a.correlation;
    if (a.asked) e->flags |= envelope_flags::is_reply;
    return detail::deliver_to(cell_->system, a.to, e);
  }

  // Sends `m` to an actor by handle (e.g. a sender() remembered from an earlier message).
  template <class M>
  send_status send_to(actor_handle to, M&& m) noexcept {
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    if (e == nullptr) return send_status::out_of_memory;
    return detail::deliver_to(cell_->system, to, e);
  }

  // Sends `m` to `to` as the first message of a new correlation: its correlation id is its own
  // id instead of the handled message's (its causation still names the handled message). For an
  // actor that stands for outside clients (a load generator, an accept loop), so that each
  // request it starts is traced and replayed on its own (keel-log trace --corr, replay).
  // Otherwise like ref.send (an empty ref: a dead letter the hooks see).
  template <class T, class M>
  requires detail::accepts<T, M> send_status send_new_correlation(const actor_ref<T>& to, M&& m)
  noexcept {
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    if (e == nullptr) return send_status::out_of_memory;
    e->correlation = e->id;
    return detail::deliver_to(cell_->system, to.handle(), e);
  }

  // Asks `to` with `m`; `then(result<R>)` runs inside this actor with the reply, or with
  // errc::timeout after `timeout`, or with the error that stopped the request.
  template <message R, class T, class M, class F>
  requires detail::accepts<T, M> && std::is_invocable_v<F&, result<R>>
  void ask(const actor_ref<T>& to, M&& m, std::chrono::nanoseconds timeout, F&& then) {
    auto k =
        std::make_unique<detail::typed_continuation<R, std::decay_t<F>>>(std::forward<F>(then));
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    if (e == nullptr) {
      k->complete(status(errc::out_of_memory, "ask: no memory for the request"));
      return;
    }
    detail::actor_ask(cell_, to.cell(), to.generation(), e, timeout, std::move(k));
  }

  // Delivers `m` to `to` after `delay`, as a message (recordable). Cancel through the handle.
  template <class T, class M>
  requires detail::accepts<T, M> timer_handle send_after(const actor_ref<T>& to,
                                                         std::chrono::nanoseconds delay, M&& m) {
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    return detail::start_user_timer(cell_, to.cell(), to.generation(), e, delay,
                                    std::chrono::nanoseconds(0));
  }
  // Delivers a copy of `m` to `to` every `period`, first after one period.
  template <class T, class M>
  requires detail::accepts<T, M> && std::is_copy_constructible_v<std::remove_cvref_t<M>>
      timer_handle send_periodic(const actor_ref<T>& to, std::chrono::nanoseconds period, M&& m) {
    envelope* e = detail::make_envelope(cell_->system, std::forward<M>(m));
    return detail::start_user_timer(cell_, to.cell(), to.generation(), e, period, period);
  }

  // Runs `then()` inside this actor once `to`'s bounded mailbox has room for a message -- at
  // once (as the next message) if it has room now, is unbounded, or has stopped: the next
  // send or try_send tells which. Nothing blocks meanwhile: the worker runs other actors and
  // this actor keeps handling its mail. Room is not reserved: another sender may take it, and
  // then try_send returns full again and the actor waits again. Waiters are woken together
  // once the lane drains to 3/4 of its capacity. A continuation has no current message, like
  // an ask's. Allocates (the continuation); std::bad_alloc fails the handler.
  template <class T, class F>
  requires std::is_invocable_v<F&>
  void await_capacity(const actor_ref<T>& to, F&& then) {
    detail::await_capacity(cell_, to.cell(), to.generation(),
                           std::function<void()>(std::forward<F>(then)));
  }

  // Runs `fn()`, which may block (a file, a socket, a lock held elsewhere, a blocking ask), on
  // this actor's worker after handing the worker's queued actors to the other workers, so that
  // they do not wait for it; actors pinned to this worker do wait. Returns fn's result (a
  // copy or move of it, never a reference).
  // While fn runs this thread counts as outside the runtime: messages fn sends carry no
  // sender, and fn may ask with a blocking wait (actor_ref::ask). The long-handler report
  // does not count the time fn blocks. On the deterministic executor fn runs inline and the
  // virtual clock does not move. For work that blocks often, spawn a detached actor instead.
  //
  // Recording and replay: fn's result is what the outside world gave the handler. With a
  // recorder attached it is written as an EXTERNAL_INPUT record (in its type's codec: R must be
  // a message type registered with a codec, sys->types().add<R>(), or the actor cannot be
  // replayed), and in replay it is served from the log without running fn. A void fn is not
  // run in replay either.
  template <class F>
  requires std::is_invocable_v<F&>
  auto block_in_place(F&& fn) -> std::remove_cvref_t<std::invoke_result_t<F&>> {
    using R = std::remove_cvref_t<std::invoke_result_t<F&>>;
    if constexpr (std::is_void_v<R>) {
      // Nothing comes back to record; in replay the call is not made (its effects outside
      // happened in the recorded run).
      if (detail::externals_watched(cell_) && detail::replaying_externals(cell_)) [[unlikely]]
        return;
      detail::scheduler_of(cell_).block_in_place(fn);
    } else {
      std::optional<R> out;
      const bool watched = detail::externals_watched(cell_);
      if (watched) [[unlikely]] {
        if (std::optional<R> served = replayed_external<R>()) return std::move(*served);
      }
      detail::scheduler_of(cell_).block_in_place([&] { out.emplace(fn()); });
      if (watched) [[unlikely]] {
        if constexpr (message<R>) {
          detail::note_external(cell_, current_, type_id_of<R>(), &*out);
        } else {
          detail::note_external(cell_, current_, 0, nullptr);
        }
      }
      return std::move(*out);
    }
  }

  // Watches `target`: this actor receives keel::down (monitor.h) once when it stops, with the
  // returned id, or at once (noproc) if it has stopped already. Monitoring twice gives two
  // downs. Allocates; std::bad_alloc fails the handler.
  template <class T>
  std::uint64_t monitor(const actor_ref<T>& target) {
    return detail::monitor_actor(cell_, target.cell(), target.generation());
  }
  // Cancels monitor `id` of `target`: no down for it reaches a handler after this.
  template <class T>
  void demonitor(const actor_ref<T>& target, std::uint64_t id) {
    detail::demonitor_actor(cell_, id, target.cell(), target.generation());
  }

  // Links this actor with `target` both ways: when either fails, the other fails too, unless it
  // traps exits (lists keel::exit_signal among its messages: then it receives one, reason
  // failed or stopped); when either stops, a trapping peer receives an exit_signal (reason
  // stopped) and another is not affected. A link ends with the first exit it carries, and a
  // restart in place does not end it. Linking to an actor that has stopped acts at once (a
  // trapping actor gets exit_signal, stopped). Allocates; std::bad_alloc fails the handler.
  template <class T>
  void link(const actor_ref<T>& target) {
    detail::link_actor(cell_, target.cell(), target.generation());
  }
  template <class T>
  void unlink(const actor_ref<T>& target) {
    detail::unlink_actor(cell_, target.cell(), target.generation());
  }

  // Stops this actor once the current handler returns.
  void stop_self() noexcept { requests_ |= k_request_stop; }

  // Fails this actor once the current handler (or on_start) returns, as if it had thrown, for
  // code built without exceptions: the report carries `reason` and a stack trace taken here.
  // Whatever else the handler asked for (stop_self, stash) is void.
  void fail(std::string_view reason) noexcept {
    detail::note_failure(cell_, reason);
    requests_ |= k_request_fail;
  }

  // Puts the message being handled aside: unstash_all() hands it back, in stash order, before
  // the rest of the mailbox. The stash holds at most spawn_options::stash_capacity messages
  // (default system_config::stash_capacity): errc::full beyond that, and the message is not
  // kept. errc::invalid_argument outside a message handler (on_start, on_stop). Stashing the
  // same message twice keeps it once. Allocates (an owned copy of the message).
  status stash();
  // Puts every stashed message back in front of the mailbox, oldest first. They are handled
  // once the current handler returns (its activation ends there; the next starts with them).
  void unstash_all() noexcept { requests_ |= k_request_unstash; }
  // Messages in the stash (a stash() in the running handler counts).
  std::size_t stashed() const noexcept;

  // For actor<Self, ...>: the cell and generation this object runs in.
  detail::actor_cell* cell() const noexcept { return cell_; }
  std::uint32_t incarnation() const noexcept { return generation_; }

 private:
  // Replay: the recorded result of this block_in_place, or nullopt when not replaying. Throws
  // (failing the handler) when replaying and the log holds no such result.
  template <class R>
  std::optional<R> replayed_external() {
    if constexpr (message<R>) {
      alignas(R) unsigned char buf[sizeof(R)];
      if (!detail::take_external(cell_, type_id_of<R>(), sizeof(R), buf)) return {};
      R* v = std::launder(reinterpret_cast<R*>(buf));
      struct destroy {
        R* p;
        ~destroy() { p->~R(); }
      } guard{v};  // also when R's move constructor throws
      return std::optional<R>(std::move(*v));
    } else {
      if (!detail::take_external(cell_, 0, 0, nullptr)) return {};
      return {};  // (take_external threw: a type without a codec is never served)
    }
  }
  friend struct detail::runtime_access;
  detail::actor_cell* cell_ = nullptr;
  envelope* current_ = nullptr;
  std::uint32_t generation_ = 0;
  // What the handler asked for, done by the runtime when it returns (one branch per message).
  static constexpr std::uint8_t k_request_stop = 1;
  static constexpr std::uint8_t k_request_stash = 2;
  static constexpr std::uint8_t k_request_unstash = 4;
  static constexpr std::uint8_t k_request_fail = 8;
  std::uint8_t requests_ = 0;
};

// CRTP base: `Self` handles each of `Handled...` with `on(M&)`.
template <class Self, message... Handled>
class actor : public actor_base {
 public:
  using handled_messages = type_list<Handled...>;

 protected:
  // This actor's typed ref: sending itself a message it does not handle fails to compile.
  actor_ref<Self> self() const noexcept {
    return actor_ref<Self>::from_cell(cell(), incarnation());
  }

 public:
  bool dispatch(envelope& e) final {
    Self& self = static_cast<Self&>(*this);
    return ((e.type == type_id_of<Handled>() ? (self.on(e.as<Handled>()), true) : false) || ...);
  }
  detail::dispatch_result dispatch_caught(envelope& e,
                                          detail::caught_exception& out) noexcept final {
    return detail::dispatch_catching([&] { return dispatch(e); }, out);
  }
  bool handles(type_id t) const noexcept final { return ((t == type_id_of<Handled>()) || ...); }
  bool save_state_to(state_writer& w) const final {
    if constexpr (requires(const Self& s) { s.save_state(w); }) {
      static_cast<const Self&>(*this).save_state(w);
      return true;
    } else {
      return false;
    }
  }
  bool load_state_from(state_reader& r) final {
    if constexpr (requires(Self & s) { s.load_state(r); }) {
      static_cast<Self&>(*this).load_state(r);
      return true;
    } else {
      return false;
    }
  }
};

// The declared type name of an actor class (a compile error if it has none).
template <class A>
consteval std::string_view actor_type_name() {
  static_assert(
      requires {
        { A::keel_name } -> std::convertible_to<std::string_view>;
      },
      "an actor class declares `static constexpr std::string_view keel_name`");
  constexpr std::string_view name = A::keel_name;
  static_assert(!name.empty() && name.size() <= k_max_hashed_name);
  return name;
}

}  // namespace keel
