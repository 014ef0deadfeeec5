// What replay needs from the core: send_encoded (a message given as its codec's bytes, decoded
// into an envelope and sent from outside), skip_ids_to (spawning under the recorded ids),
// restore_for_replay (starting an actor from a checkpoint), and hold_failures_for_replay with
// restart_for_replay (restarting an actor in place where the recorded run's supervisor did).
#include <string>

#include "core/system_state.h"

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>
#include <keel/core/factory.h>
#include <keel/core/state.h>

namespace keel {

result<send_status> actor_system::send_encoded(actor_handle to, const encoded_message& m) {
  detail::system_state* s = state_.get();
  if (m.kind == input_kind::ask_timeout) {
    envelope* t = detail::make_envelope(s, detail::ask_timeout_msg{m.causation});
    if (t == nullptr) return status(errc::out_of_memory, "send_encoded: no memory for the timeout");
    t->flags |= envelope_flags::internal;
    if (m.id != 0) t->id = m.id;
    if (m.correlation != 0) t->correlation = m.correlation;
    return detail::deliver_to(s, to, t);
  }
  if (m.ops == nullptr || m.codec == nullptr) {
    return status(errc::invalid_argument, "send_encoded: the message type has no codec");
  }
  envelope* e = detail::new_envelope(s, m.ops->size);
  if (e == nullptr) return status(errc::out_of_memory, "send_encoded: no memory for the message");
  if (status st = m.codec->decode(m.bytes, e->payload()); !st) {
    detail::free_envelope(e);
    return status(errc::invalid_argument,
                  std::string(m.ops->name) + ": " + std::string(st.message()));
  }
  e->ops = m.ops;
  e->type = m.ops->id;
  if (m.id != 0) e->id = m.id;
  e->correlation = m.correlation != 0 ? m.correlation : e->id;
  e->causation = m.causation;
  if (m.sender.valid()) e->sender = m.sender;
  if (m.kind == input_kind::reply) e->flags |= envelope_flags::is_reply;
  return detail::deliver_to(s, to, e);
}

namespace {

// The cell of live actor `a` for a replay call named `what`, or the error.
result<detail::actor_cell*> replay_cell(detail::system_state* s, actor_handle a, const char* what) {
  if (s->sched->deterministic() == nullptr || s->local() != nullptr) {
    return status(errc::wrong_thread,
                  std::string(what) + ": only on the deterministic executor, between activations");
  }
  detail::actor_cell* c = a.valid() ? s->cell_at(a.slot) : nullptr;
  if (c == nullptr || c->generation.load(std::memory_order_acquire) != a.generation ||
      c->behavior == nullptr) {
    return status(errc::actor_stopped, std::string(what) + ": no live actor");
  }
  return c;
}

}  // namespace

status actor_system::hold_failures_for_replay(actor_handle a) {
  auto c = replay_cell(state_.get(), a, "hold_failures_for_replay");
  if (!c) return c.error();
  detail::cell_extras* x = detail::try_extras_of(*c);
  if (x == nullptr) return status(errc::out_of_memory, "hold_failures_for_replay: no memory");
  x->replay_hold = true;
  return status();
}

status actor_system::restart_for_replay(actor_handle a) {
  detail::system_state* s = state_.get();
  // A failed actor keeps its object until the restart replaces it: it must be there.
  auto c = replay_cell(s, a, "restart_for_replay");
  if (!c) return c.error();
  const std::string type(s->type_name_of((*c)->type_index));
  if (!factories().contains(type)) {
    return status(errc::invalid_argument, "restart_for_replay: no actor factory for " + type);
  }
  spawn_options o;
  o.replace = a;
  s->replay_replacing = a;
  struct reset {
    detail::system_state* s;
    ~reset() { s->replay_replacing = actor_handle{}; }  // also when the factory throws
  } guard{s};
  auto r = factories().spawn(type, json_value(), o);
  if (!r) return r.error();
  return status();
}

status actor_system::restore_for_replay(actor_handle a, const actor_restore& r) {
  detail::system_state* s = state_.get();
  auto cell = replay_cell(s, a, "restore_for_replay");
  if (!cell) return cell.error();
  detail::actor_cell* c = *cell;
  state_reader reader(r.state);
  if (!c->behavior->load_state_from(reader)) {
    return status(errc::invalid_argument,
                  "restore_for_replay: " + std::string(s->type_name_of(c->type_index)) +
                      " has no load_state");
  }
  if (status st = reader.finish(); !st) {
    return status(errc::invalid_argument, "restore_for_replay: " + std::string(st.message()));
  }
  detail::cell_extras& x = detail::extras_of(c);
  if (r.rng) {
    x.rng.restore(*r.rng);
    x.rng_ready = true;
  }
  x.hook_inputs = r.input_no;
  return status();
}

status actor_system::skip_ids_to(actor_id next) {
  detail::system_state* s = state_.get();
  const auto bad = [&](const char* why) {
    return status(errc::invalid_argument, "skip_ids_to " + std::to_string(next) + ": " + why);
  };
  if (node_of(next) != s->cfg.node) return bad("not on this system's node");
  const std::uint64_t serial = next & ((actor_id{1} << k_node_shift) - 1);
  std::uint64_t have = s->next_serial.load(std::memory_order_relaxed);
  do {
    if (serial < have) return bad("ids up to it were given already (ids are never reused)");
  } while (!s->next_serial.compare_exchange_weak(have, serial, std::memory_order_relaxed));
  return status();
}

}  // namespace keel
