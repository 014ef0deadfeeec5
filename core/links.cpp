// Links (actor::link): two actors that share their fate. Each keeps the other in its list; when
// one fails, or stops, the other is told on its system lane (link_exit) and the link ends. An
// actor that traps exits (handles keel::exit_signal) receives an exit_signal message; one that
// does not fails in turn when the other failed (failure_kind::linked) and ignores a plain stop.
#include <algorithm>
#include <string>

#include "core/system_state.h"

#include <keel/core/actor.h>

namespace keel::detail {
namespace {

void push_link_msg(system_state* s, actor_cell* target, std::uint32_t generation,
                   link_msg m) noexcept {
  envelope* e = nullptr;
  try {
    e = make_envelope(s, std::move(m));
  } catch (...) {
    e = nullptr;
  }
  if (e == nullptr) {
    count_send_oom(s);
    return;
  }
  push_system_message(target, generation, e);
}

void send_link_msg(system_state* s, actor_handle to, link_msg m) noexcept {
  actor_cell* c = to.valid() ? s->cell_at(to.slot) : nullptr;
  if (c == nullptr) return;
  push_link_msg(s, c, to.generation, std::move(m));
}

}  // namespace

void link_actor(actor_cell* self, actor_cell* target, std::uint32_t generation) {
  system_state* s = self->system;
  const actor_handle me{self->slot, self->own_generation};
  const actor_handle peer =
      target != nullptr ? actor_handle{target->slot, generation} : actor_handle{};
  if (peer == me) return;            // linking to itself links nothing
  cell_extras& x = extras_of(self);  // may throw std::bad_alloc (fails the handler)
  if (std::find(x.links.begin(), x.links.end(), peer) != x.links.end()) return;
  if (target == nullptr || target->generation.load(std::memory_order_acquire) != generation) {
    // Linking to an actor that has gone: as if it had stopped at once (it did not fail).
    link_msg gone{peer, link_msg::kind::exit, false, "noproc: the linked actor had stopped"};
    push_link_msg(s, self, self->own_generation, std::move(gone));
    return;
  }
  x.links.push_back(peer);
  push_link_msg(s, target, generation, link_msg{me, link_msg::kind::add, false, {}});
}

void unlink_actor(actor_cell* self, actor_cell* target, std::uint32_t generation) {
  if (self->extras == nullptr || target == nullptr) return;
  auto& v = self->extras->links;
  const actor_handle peer{target->slot, generation};
  v.erase(std::remove(v.begin(), v.end(), peer), v.end());
  send_link_msg(self->system, peer,
                link_msg{{self->slot, self->own_generation}, link_msg::kind::remove, false, {}});
}

bool system_state::take_link_msg(actor_cell* c, envelope* e, std::string& failure) noexcept {
  link_msg m = std::move(e->as<link_msg>());
  e->ops->destroy(e->payload());
  cell_extras* x = try_extras_of(c);
  if (x == nullptr) return false;
  auto& v = x->links;
  switch (m.what) {
    case link_msg::kind::add:
      try {
        if (std::find(v.begin(), v.end(), m.peer) == v.end()) v.push_back(m.peer);
      } catch (...) {
        // No memory to keep the link: the peer is told the link ended (as if we stopped).
        send_link_msg(this, m.peer,
                      link_msg{{c->slot, c->own_generation},
                               link_msg::kind::exit,
                               false,
                               "no memory to keep the link"});
      }
      return false;
    case link_msg::kind::remove:
      v.erase(std::remove(v.begin(), v.end(), m.peer), v.end());
      return false;
    case link_msg::kind::exit:
      break;
  }
  const bool was_linked =
      std::find(v.begin(), v.end(), m.peer) != v.end() || m.text.rfind("noproc", 0) == 0;
  v.erase(std::remove(v.begin(), v.end(), m.peer), v.end());
  if (!was_linked) return false;  // unlinked meanwhile
  actor_base* b = c->behavior;
  if (b != nullptr && !c->marked(mark_held) && b->handles(type_id_of<exit_signal>())) {
    // Trapped: an ordinary message, after those already queued.
    envelope* sig = nullptr;
    try {
      sig = make_envelope(this,
                          exit_signal{m.peer, m.failed ? exit_reason::failed : exit_reason::stopped,
                                      std::move(m.text)});
    } catch (...) {
      sig = nullptr;
    }
    if (sig == nullptr) {
      count_send_oom(this);
      return false;
    }
    sig->sender = m.peer;
    (void)deliver_to(this, actor_handle{c->slot, c->own_generation}, sig);
    return false;
  }
  if (!m.failed) return false;  // a plain stop does not take a linked actor down
  try {
    failure = "linked actor " + std::to_string(m.peer.slot) + "." +
              std::to_string(m.peer.generation) + " failed: " + m.text;
  } catch (...) {
  }
  return true;
}

void system_state::answer_link_noproc(envelope* e, actor_cell* c) noexcept {
  const link_msg& m = e->as<link_msg>();
  if (m.what == link_msg::kind::add) {
    // The linker learns at once that the actor had stopped, as from a stop.
    send_link_msg(this, m.peer,
                  link_msg{{c->slot, e->target_generation},
                           link_msg::kind::exit,
                           false,
                           "noproc: the linked actor had stopped"});
  }
  e->ops->destroy(e->payload());
}

void system_state::notify_links(actor_cell* c, bool failed, std::string_view why) noexcept {
  if (c->extras == nullptr || c->extras->links.empty()) return;
  std::vector<actor_handle> peers = std::move(c->extras->links);
  c->extras->links.clear();
  const actor_handle me{c->slot, c->own_generation};
  for (const actor_handle& p : peers) {
    std::string text;
    try {
      text = std::string(why);
    } catch (...) {
    }
    send_link_msg(this, p, link_msg{me, link_msg::kind::exit, failed, std::move(text)});
  }
}

}  // namespace keel::detail
