// Death watch (keel/core/monitor.h). The watcher asks the target, on the target's system lane,
// to remember it; the target, as its token holder, keeps the list and sends each watcher a
// `down` when it stops. A request that reaches a target that has already stopped is answered
// with noproc (the stopped path drops its system lane through drop_system).
#include <algorithm>
#include <string>

#include "core/system_state.h"

#include <keel/core/actor.h>

namespace keel::detail {
namespace {

void send_down(system_state* s, actor_handle watcher, std::uint64_t id, actor_handle who,
               down_reason reason, std::string text) noexcept {
  envelope* e = nullptr;
  try {
    e = make_envelope(s, down{id, who, reason, std::move(text)});
  } catch (...) {
    e = nullptr;  // no memory for the text
  }
  if (e == nullptr) {
    count_send_oom(s);
    return;
  }
  e->sender = who;
  e->flags |= envelope_flags::internal;
  deliver_to(s, watcher, e);
}

}  // namespace

std::uint64_t monitor_actor(actor_cell* self, actor_cell* target, std::uint32_t generation) {
  system_state* s = self->system;
  cell_extras& x = extras_of(self);  // may throw std::bad_alloc (fails the handler)
  const std::uint64_t id = ++x.monitor_serial;
  const actor_handle me{self->slot, self->own_generation};
  const actor_handle who =
      target != nullptr ? actor_handle{target->slot, generation} : actor_handle{};
  if (target == nullptr || target->generation.load(std::memory_order_acquire) != generation) {
    send_down(s, me, id, who, down_reason::noproc, {});
    return id;
  }
  envelope* e = make_envelope(s, monitor_msg{me, id, true});
  if (e == nullptr) throw std::bad_alloc();
  push_system_message(target, generation, e);
  return id;
}

void demonitor_actor(actor_cell* self, std::uint64_t id, actor_cell* target,
                     std::uint32_t generation) {
  cell_extras& x = extras_of(self);
  x.demonitored.insert(id);  // a down already on its way is dropped
  if (target == nullptr || target->generation.load(std::memory_order_acquire) != generation) {
    return;
  }
  // Tell the target to forget us (so that its list does not grow with cancelled monitors).
  envelope* e =
      make_envelope(self->system, monitor_msg{{self->slot, self->own_generation}, id, false});
  if (e == nullptr) return;
  push_system_message(target, generation, e);
}

void system_state::take_monitor_msg(actor_cell* c, envelope* e) noexcept {
  const monitor_msg m = e->as<monitor_msg>();
  e->ops->destroy(e->payload());
  cell_extras* x = try_extras_of(c);
  if (x == nullptr) return;
  try {
    if (m.add) {
      x->monitors.push_back(monitor_entry{m.watcher, m.id});
    } else {
      auto& v = x->monitors;
      v.erase(std::remove_if(
                  v.begin(), v.end(),
                  [&](const monitor_entry& w) { return w.id == m.id && w.watcher == m.watcher; }),
              v.end());
    }
  } catch (...) {
    // No memory to remember the watcher: it gets its down now rather than never.
    send_down(this, m.watcher, m.id, actor_handle{c->slot, c->own_generation}, down_reason::noproc,
              "no memory to keep the monitor");
  }
}

void system_state::answer_monitor_noproc(envelope* e, actor_cell* c) noexcept {
  const monitor_msg& m = e->as<monitor_msg>();
  if (m.add) {
    send_down(this, m.watcher, m.id, actor_handle{c->slot, e->target_generation},
              down_reason::noproc, {});
  }
  e->ops->destroy(e->payload());
}

void system_state::notify_monitors(std::vector<monitor_entry> watchers, actor_handle who,
                                   bool failed, std::string_view why) noexcept {
  for (const monitor_entry& w : watchers) {
    send_down(this, w.watcher, w.id, who, failed ? down_reason::failed : down_reason::stopped,
              failed ? std::string(why) : std::string());
  }
}

bool take_down(actor_cell* c, envelope* e) noexcept {
  if (c->extras == nullptr) return false;
  auto& cancelled = c->extras->demonitored;
  auto it = cancelled.find(e->as<down>().monitor);
  if (it == cancelled.end()) return false;  // the actor's handler receives it
  cancelled.erase(it);
  e->ops->destroy(e->payload());
  return true;
}

}  // namespace keel::detail

namespace keel {

std::string_view to_string(down_reason r) noexcept {
  switch (r) {
    case down_reason::stopped:
      return "stopped";
    case down_reason::failed:
      return "failed";
    case down_reason::noproc:
      return "noproc";
  }
  return "unknown";
}

}  // namespace keel
