// keel::eventlog::event_sourced_actor: an actor whose state is the fold of the events it
// persisted, recovered from the newest valid snapshot plus the events after it.
//
//   struct deposited { static constexpr std::string_view keel_name = "bank.deposited/1";
//                      std::int64_t cents = 0;
//                      static constexpr auto keel_fields = keel::fields(
//                          keel::field("cents", &deposited::cents)); };
//
//   class account : public el::event_sourced_actor<account, deposited, deposit, balance_query> {
//    public:
//     static constexpr std::string_view keel_name = "bank.account";
//     account(el::journal& j, std::uint64_t id) : event_sourced_actor(j, id) {}
//     void on(deposit& m) {
//       persist(deposited{m.cents},
//               [this, to = return_address()](const deposited&) { reply_later(to, ok{}); });
//     }
//     void on(balance_query&) { reply(balance{cents_}); }
//     void apply(const deposited& e) { cents_ += e.cents; }   // the only place state changes
//     void save_state(keel::state_writer& w) const { w.write(cents_); }   // optional: snapshots
//     void load_state(keel::state_reader& r) { r.read(cents_, "cents"); }
//    private:
//     std::int64_t cents_ = 0;
//   };
//
// persist(event, then) appends the event (an EVENT record: actor_id is the persistence id,
// actor_seq the actor's own event number, the correlation and causation of the message being
// handled) and, once it is durable as the log's mode says, calls apply(event) and then `then`.
// In page_cache mode that is at once; in interval and group_commit modes the worker does not
// wait for the sync: the actor stashes the user messages that arrive until the log's thread
// reports the event durable. If the log fails first, the actor fails (its supervisor decides).
//
// Recovery, when the actor starts: load_state from the newest valid snapshot of its persistence
// id (an actor without save_state/load_state replays from the log's beginning; a damaged
// snapshot is skipped for an older one), then apply() for each later event, journal_options::
// recovery_batch events per step, one message to itself per step, so that a long log neither
// holds a worker nor fills memory. User messages wait in the stash meanwhile; on_recovered()
// runs when it is done. Retention keeps what the snapshots still need (journal.h).
//
// The class takes on_start for recovery: an event-sourced actor overrides on_recovered()
// instead. Handlers, apply and on_recovered run on the actor's thread like any handler.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <utility>

#include <keel/core/actor.h>
#include <keel/core/codec.h>
#include <keel/core/state.h>
#include <keel/eventlog/journal.h>

namespace keel::eventlog {

namespace detail_es {
// Internal messages of an event-sourced actor (sent to itself).
struct persisted {
  static constexpr std::string_view keel_name = "keel.eventlog.persisted/1";
  std::uint64_t seq = 0;
  bool ok = true;
  std::string why;
};
struct recover_step {
  static constexpr std::string_view keel_name = "keel.eventlog.recover_step/1";
};
}  // namespace detail_es

template <class Self, codec_message Event, message... Handled>
class event_sourced_actor : public actor_base {
 public:
  using handled_messages = type_list<Handled..., detail_es::persisted, detail_es::recover_step>;
  using event_type = Event;

  event_sourced_actor(journal& j, std::uint64_t persistence_id)
      : journal_(j), pid_(persistence_id) {}

  std::uint64_t persistence_id() const noexcept { return pid_; }
  // The actor's own number of its last event (applied or recovered).
  std::uint64_t last_event_number() const noexcept { return event_no_; }
  // The log's seq of its last applied event (0: none).
  std::uint64_t last_event_seq() const noexcept { return applied_seq_; }
  bool recovering() const noexcept { return recovering_; }

  void on_start() final {
    journal_.snapshots().need(pid_);
    if constexpr (stateful<Self>) {
      auto snap = journal_.snapshots().load(pid_);
      if (snap) {
        state_reader r(snap->state);
        self().load_state(r);
        if (status st = r.finish(); !st) {
          fail("snapshot " + snap->info.file + ": " + std::string(st.message()));
          return;
        }
        next_seq_ = snap->info.covers_seq + 1;
        event_no_ = snap->info.covers_actor_seq;
        applied_seq_ = snap->info.covers_seq;
      } else if (snap.error().code() != errc::not_found) {
        fail(std::string(snap.error().message()));
        return;
      }
    }
    recovering_ = true;
    recover_until_ = journal_.log().next_seq();  // every event of ours was claimed before this
    (void)send_self_step();
  }

  bool dispatch(envelope& e) final {
    if (e.type == type_id_of<detail_es::recover_step>()) {
      recover_step();
      return true;
    }
    if (e.type == type_id_of<detail_es::persisted>()) {
      on_persisted(e.as<detail_es::persisted>());
      return true;
    }
    if (recovering_ || !pending_.empty()) {
      // Handled once recovery ends or the pending events are durable.
      if (handles(e.type)) {
        if (status st = stash(); !st) fail("event_sourced_actor: " + std::string(st.message()));
        return true;
      }
      return false;
    }
    Self& s = self();
    return ((e.type == type_id_of<Handled>() ? (s.on(e.as<Handled>()), true) : false) || ...);
  }
  keel::detail::dispatch_result dispatch_caught(
      envelope& e, keel::detail::caught_exception& out) noexcept final {
    return keel::detail::dispatch_catching([&] { return dispatch(e); }, out);
  }
  bool save_state_to(state_writer& w) const final {
    if constexpr (stateful<Self>) {
      static_cast<const Self&>(*this).save_state(w);
      return true;
    } else {
      return false;
    }
  }
  bool handles(type_id t) const noexcept final {
    return ((t == type_id_of<Handled>()) || ...) || t == type_id_of<detail_es::persisted>() ||
           t == type_id_of<detail_es::recover_step>();
  }

 protected:
  // Called once recovery is complete, before any user message.
  virtual void on_recovered() {}

  // Appends `ev` and, once durable, applies it and calls then(ev). Call it from a handler.
  // errc::log_failed, errc::invalid_argument (the event is too large): nothing was persisted.
  template <class F>
  status persist(Event ev, F&& then) {
    std::vector<std::byte> bytes = keel::encode(ev);
    record_in r;
    r.type = record_type::event;
    r.ts_ns = static_cast<std::int64_t>(now());
    r.actor_id = pid_;
    r.actor_seq = event_no_ + pending_.size() + 1;
    r.message_id = 0;
    r.correlation = correlation();
    r.causation = current_message();
    r.payload_type = type_id_of<Event>();
    r.payload = bytes;
    auto seq = journal_.log().append(r);
    if (!seq) return seq.error();
    pending_.push_back(
        pending{*seq, std::move(ev), std::function<void(const Event&)>(std::forward<F>(then))});
    auto ref = actor_ref<Self>::from_cell(cell(), incarnation());
    journal_.when_durable(*seq, [ref, s = *seq](const status& st) {
      (void)ref.send(detail_es::persisted{s, st.is_ok(), std::string(st.message())});
    });
    return status();
  }
  status persist(Event ev) {
    return persist(std::move(ev), [](const Event&) {});
  }

  // Saves the state as a snapshot covering every applied event. errc::invalid_argument without
  // save_state, or when nothing was applied since the last snapshot.
  status save_snapshot() {
    if constexpr (stateful<Self>) {
      if (applied_seq_ == 0 || applied_seq_ <= snapshot_seq_) {
        return status(errc::invalid_argument, "save_snapshot: no event since the last snapshot");
      }
      const std::vector<std::byte> state = save_state_of(self());
      auto info = journal_.snapshots().save(pid_, applied_seq_, event_no_, state);
      if (!info) return info.error();
      snapshot_seq_ = applied_seq_;
      return status();
    } else {
      return status(errc::invalid_argument,
                    "save_snapshot: this actor has no save_state/load_state");
    }
  }

 private:
  struct pending {
    std::uint64_t seq;
    Event event;
    std::function<void(const Event&)> then;
  };

  Self& self() noexcept { return static_cast<Self&>(*this); }

  send_status send_self_step() {
    return actor_ref<Self>::from_cell(cell(), incarnation()).send(detail_es::recover_step{});
  }

  void recover_step() {
    if (!recovering_) return;
    std::string error;
    auto next = journal_.read_events(
        pid_, next_seq_, recover_until_, journal_.options().recovery_batch,
        [&](const frame_header& h, std::span<const std::byte> payload) {
          if (!error.empty()) return;
          if (h.payload_type != type_id_of<Event>()) {
            error = "event seq " + std::to_string(h.seq) + " has payload type " +
                    std::to_string(h.payload_type) + ", not " + std::string(name_of<Event>());
            return;
          }
          auto ev = keel::decode<Event>(payload);
          if (!ev) {
            error = "event seq " + std::to_string(h.seq) + ": " + std::string(ev.error().message());
            return;
          }
          self().apply(*ev);
          applied_seq_ = h.seq;
          event_no_ = h.actor_seq;
          next_seq_ = h.seq + 1;
        });
    if (!next) {
      fail("recovery: " + std::string(next.error().message()));
      return;
    }
    if (!error.empty()) {
      fail("recovery: " + error);
      return;
    }
    if (*next != 0) {
      next_seq_ = *next;
      (void)send_self_step();
      return;
    }
    recovering_ = false;
    on_recovered();
    unstash_all();
  }

  void on_persisted(const detail_es::persisted& p) {
    if (!p.ok) {
      fail("persist: " + p.why);
      return;
    }
    while (!pending_.empty() && pending_.front().seq <= p.seq) {
      pending e = std::move(pending_.front());
      pending_.pop_front();
      self().apply(e.event);
      applied_seq_ = e.seq;
      ++event_no_;
      if (e.then) e.then(e.event);
      const std::uint64_t every = journal_.options().snapshot_every;
      if constexpr (stateful<Self>) {
        if (every != 0 && event_no_ % every == 0) (void)save_snapshot();
      }
    }
    if (pending_.empty()) unstash_all();
  }

  journal& journal_;
  std::uint64_t pid_;
  std::uint64_t next_seq_ = 1;       // recovery: where the next step reads from
  std::uint64_t recover_until_ = 0;  // recovery: the log's next seq when it began
  std::uint64_t event_no_ = 0;       // the actor's own event count
  std::uint64_t applied_seq_ = 0;    // the log seq of the last applied event
  std::uint64_t snapshot_seq_ = 0;
  bool recovering_ = false;
  std::deque<pending> pending_;
};

}  // namespace keel::eventlog
