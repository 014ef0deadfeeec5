// block_in_place's results under recording and replay: an EXTERNAL_INPUT is what the outside
// world gave a handler. The hooks see each result encoded in its type's codec (the recorder
// writes it); a replay system serves the recorded results instead of running the blocking call.
// None of this runs unless a hook is attached or a replay serves results (externals_watched).
#include <stdexcept>
#include <string>
#include <vector>

#include "core/system_state.h"

#include <keel/core/actor_system.h>
#include <keel/core/codec.h>

namespace keel {
namespace detail {
namespace {

// The number of the input being handled (0 before the first, as in on_start).
std::uint64_t input_no_of(actor_cell* c) noexcept {
  return c->extras != nullptr ? c->extras->hook_inputs : 0;
}

}  // namespace

bool externals_watched(actor_cell* c) noexcept {
  system_state* s = c->system;
  return s->any_hooks || s->serving_externals;
}

bool replaying_externals(actor_cell* c) noexcept { return c->system->serving_externals; }

void note_external(actor_cell* c, const envelope* current, type_id t, const void* value) noexcept {
#if !defined(KEEL_NO_HOOKS)
  system_state* s = c->system;
  if (!s->any_hooks) return;
  external_event ev;
  ev.actor = actor_handle{c->slot, c->own_generation};
  ev.id = c->id;
  ev.actor_type = s->type_name_of(c->type_index);
  if (c->extras != nullptr) ev.actor_name = c->extras->name;
  ev.input_no = input_no_of(c);
  ev.message = current != nullptr ? current->id : 0;
  ev.correlation = current != nullptr ? current->correlation : 0;
  ev.now = cached_now(c);
  ev.type = t;
  thread_local std::vector<std::byte> bytes;
  try {
    bytes.clear();
    if (t != 0 && value != nullptr) {
      if (const auto entry = s->types.find(t); entry && entry->codec != nullptr) {
        entry->codec->encode(value, bytes);
        ev.has_codec = true;
      }
    }
  } catch (...) {
    ev.has_codec = false;  // out of memory: recorded without payload (replay refuses it)
    bytes.clear();
  }
  ev.bytes = bytes;
  for (const auto& h : s->hooks) {
    if (h->enabled()) h->on_external_input(ev);
  }
#else
  (void)c;
  (void)current;
  (void)t;
  (void)value;
#endif
}

bool take_external(actor_cell* c, type_id t, std::size_t size, void* dst) {
  system_state* s = c->system;
  if (!s->serving_externals) return false;
  if (t == 0) {
    throw std::runtime_error(
        "replay: block_in_place returned a type that is not a message type, which the log "
        "cannot hold");
  }
  const auto entry = s->types.find(t);
  if (!entry || entry->codec == nullptr || entry->ops->size != size) {
    throw std::runtime_error("replay: block_in_place's result type " + std::to_string(t) +
                             " has no codec in the registry");
  }
  result<std::vector<std::byte>> bytes = s->external_source(c->id, input_no_of(c), t);
  if (!bytes) throw std::runtime_error(std::string(bytes.error().message()));
  if (status st = entry->codec->decode(*bytes, dst); !st) {
    throw std::runtime_error("replay: the recorded result of block_in_place (" + entry->name +
                             ") does not decode: " + std::string(st.message()));
  }
  return true;
}

}  // namespace detail

status actor_system::serve_externals_for_replay(external_source source) {
  detail::system_state* s = state_.get();
  if (s->sched->deterministic() == nullptr || s->local() != nullptr) {
    return status(errc::wrong_thread,
                  "serve_externals_for_replay: only on the deterministic executor, between "
                  "activations");
  }
  if (!source) return status(errc::invalid_argument, "serve_externals_for_replay: no source");
  s->external_source = std::move(source);
  s->serving_externals = true;
  return status();
}

}  // namespace keel
