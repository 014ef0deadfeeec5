// Request/response: blocking asks from outside threads (through a one-shot waiter actor) and
// asks from inside actors (continuations run inside the asking actor).
#include <condition_variable>
#include <mutex>

#include "core/system_state.h"

#include <keel/core/actor.h>
#include <keel/core/actor_system.h>

namespace keel::detail {

reply_ptr::~reply_ptr() {
  if (e != nullptr) {
    e->ops->destroy(e->payload());
    if (owned) free_envelope(e);
  }
}

namespace {

struct waiter_state {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  bool abandoned = false;
  envelope* reply = nullptr;  // owned copy
};

// A one-shot actor that takes any single reply and hands it to the blocked thread.
class reply_waiter final : public actor_base {
 public:
  static constexpr std::string_view keel_name = "keel.reply_waiter";
  using handled_messages = type_list<>;
  explicit reply_waiter(std::shared_ptr<waiter_state> s) : state_(std::move(s)) {}

  bool dispatch(envelope& e) override {
    system_state* sys = detail_system();
    envelope* copy = copy_envelope(sys, &e);
    if (copy != nullptr) e.ops->move_to(e.payload(), copy->payload());
    {
      std::lock_guard<std::mutex> lock(state_->mu);
      if (!state_->abandoned && !state_->done) {
        state_->reply = copy;
        copy = nullptr;
      }
      state_->done = true;
    }
    state_->cv.notify_one();
    if (copy != nullptr) {  // a late reply: the asker gave up
      sys->dead(copy, nullptr, dead_letter_reason::late_reply, true);
    }
    stop_self();
    return true;
  }
  bool handles(type_id) const noexcept override { return true; }

 private:
  system_state* detail_system() const noexcept { return self().cell()->system; }
  std::shared_ptr<waiter_state> state_;
};

}  // namespace

result<reply_ptr> blocking_ask(actor_cell* c, std::uint32_t generation, envelope* request,
                               std::chrono::nanoseconds timeout) noexcept {
  system_state* s = c->system;
  if (s->local() != nullptr) {
    request->ops->destroy(request->payload());
    free_envelope(request);
    return status(errc::wrong_thread,
                  "ask with a blocking wait from a worker thread; use actor::ask inside actors");
  }
  auto state = std::make_shared<waiter_state>();
  auto waiter = s->face->spawn<reply_waiter>(state);
  if (!waiter) {
    request->ops->destroy(request->payload());
    free_envelope(request);
    return waiter.error();
  }
  request->sender = waiter->handle();
  request->flags |= envelope_flags::expects_reply;
  request->flags &= static_cast<std::uint8_t>(~envelope_flags::from_outside);
  deliver(c, generation, request);
  // On the work-stealing scheduler this waits on the condition variable; on the deterministic
  // executor it runs the actors on this thread, the timeout in virtual time.
  s->sched->await(
      timeout,
      [&] {
        std::lock_guard<std::mutex> lock(state->mu);
        return state->done;
      },
      [&](std::chrono::nanoseconds left) {
        std::unique_lock<std::mutex> lock(state->mu);
        state->cv.wait_for(lock, left, [&] { return state->done; });
      });
  std::unique_lock<std::mutex> lock(state->mu);
  if (!state->done) {
    state->abandoned = true;
    lock.unlock();
    (void)waiter->stop();
    return status(errc::timeout, "ask: no reply within the timeout");
  }
  if (state->reply == nullptr) return status(errc::out_of_memory, "ask: no memory for the reply");
  return reply_ptr(std::exchange(state->reply, nullptr));
}

namespace {

// Tells the hooks (recording pairs asks with their replies and timeouts by these events).
void tell_ask_hooks(system_state* s, actor_cell* self, message_id rid, type_id type,
                    message_id correlation) noexcept {
#if !defined(KEEL_NO_HOOKS)
  if (s->any_hooks) [[unlikely]] {
    ask_event ev;
    ev.asker = actor_handle{self->slot, self->own_generation};
    ev.asker_id = self->id;
    ev.asker_type = s->type_name_of(self->type_index);
    ev.asker_name = extras_of(self).name;
    ev.request = rid;
    ev.type = type;
    ev.correlation = correlation;
    for (const auto& h : s->hooks) {
      if (h->enabled()) h->on_ask(ev);
    }
  }
#else
  (void)s;
  (void)self;
  (void)rid;
  (void)type;
  (void)correlation;
#endif
}

// A timeout message to `self` for pending ask `rid`, armed for `timeout`; an empty handle (and
// `t` freed) when there is no memory.
timer_handle arm_timeout(actor_cell* self, envelope* t, std::chrono::nanoseconds timeout) noexcept {
  t->flags |= envelope_flags::internal;
  return start_timer(self, self->own_generation, t, timeout, std::chrono::nanoseconds(0));
}

// A new pending-ask entry for `id`. On std::bad_alloc (the actor's extras, or the table's
// growth) the envelopes not handed on yet (`a`, `b`; nullptr for none) are freed before it
// propagates, so a failing ask leaks nothing.
pending_ask& new_pending(actor_cell* self, message_id id, envelope* a, envelope* b) {
  try {
    return extras_of(self).asks.insert(id);
  } catch (...) {
    for (envelope* e : {a, b}) {
      if (e == nullptr) continue;
      e->ops->destroy(e->payload());
      free_envelope(e);
    }
    throw;
  }
}

void send_request(system_state* s, actor_cell* c, std::uint32_t generation,
                  envelope* request) noexcept {
  if (c == nullptr) {
    s->dead(request, nullptr, dead_letter_reason::actor_stopped, true);
    return;
  }
  deliver(c, generation, request);
}

}  // namespace

void actor_ask(actor_cell* self, actor_cell* c, std::uint32_t generation, envelope* request,
               std::chrono::nanoseconds timeout, continuation_ptr k) {
  system_state* s = self->system;
  request->flags |= envelope_flags::expects_reply;
  const message_id rid = request->id;
  // The timeout is a message to ourselves, so the continuation also runs inside this actor.
  envelope* t = make_envelope(s, ask_timeout_msg{rid});
  if (t == nullptr) {
    request->ops->destroy(request->payload());
    free_envelope(request);
    k->complete(status(errc::out_of_memory, "ask: no memory for the timeout"));
    return;
  }
  // Throws std::bad_alloc inside the asking handler (which then fails like any handler).
  pending_ask& p = new_pending(self, rid, t, request);
  p.k = std::move(k);
  p.timeout = arm_timeout(self, t, timeout);
  tell_ask_hooks(s, self, rid, request->type, request->correlation);
  send_request(s, c, generation, request);
}

void actor_ask_untimed(actor_cell* self, actor_cell* c, std::uint32_t generation, envelope* request,
                       continuation_ptr k) {
  system_state* s = self->system;
  request->flags |= envelope_flags::expects_reply;
  const message_id rid = request->id;
  new_pending(self, rid, request, nullptr).k = std::move(k);  // may throw, as actor_ask
  tell_ask_hooks(s, self, rid, request->type, request->correlation);
  send_request(s, c, generation, request);
}

message_id start_ask_deadline(actor_cell* self, std::chrono::nanoseconds timeout,
                              continuation_ptr k) {
  system_state* s = self->system;
  // The deadline's id is its timeout message's own: fresh, never a request's.
  envelope* t = make_envelope(s, ask_timeout_msg{0});
  if (t == nullptr) {
    k->complete(status(errc::out_of_memory, "ask: no memory for the deadline"));
    return 0;
  }
  const message_id id = t->id;
  t->as<ask_timeout_msg>().request = id;
  pending_ask& p = new_pending(self, id, t, nullptr);  // may throw, as actor_ask
  p.k = std::move(k);
  const message_id correlation = t->correlation;  // (the timer owns `t` once armed)
  p.timeout = arm_timeout(self, t, timeout);
  tell_ask_hooks(s, self, id, 0, correlation);
  return id;
}

bool cancel_ask(actor_cell* self, message_id id) noexcept {
  if (self->extras == nullptr) return false;
  pending_ask* p = self->extras->asks.find(id);
  if (p == nullptr) return false;
  p->timeout.cancel();
  self->extras->asks.erase(p);
  return true;
}

bool completes_pending_ask(const actor_cell* c, const envelope* e, message_id& ask_id,
                           bool& timeout) noexcept {
  if (c->extras == nullptr) return false;
  if (e->flags & envelope_flags::internal) {
    if (e->type != type_id_of<ask_timeout_msg>()) return false;
    ask_id = e->as<ask_timeout_msg>().request;
    timeout = true;
  } else if (e->flags & envelope_flags::is_reply) {
    ask_id = e->causation;
    timeout = false;
  } else {
    return false;
  }
  return c->extras->asks.find(ask_id) != nullptr;
}

bool route_reply_or_timeout(actor_cell* c, envelope* e) {
  if (e->flags & envelope_flags::internal) {
    if (e->type == type_id_of<capacity_msg>()) return run_capacity_continuation(c, e);
    if (e->type == type_id_of<down>()) return take_down(c, e);
    if (e->type != type_id_of<ask_timeout_msg>()) return false;
    const message_id rid = e->as<ask_timeout_msg>().request;
    e->ops->destroy(e->payload());
    if (c->extras == nullptr) return true;
    pending_ask* p = c->extras->asks.find(rid);
    if (p == nullptr) return true;  // answered already
    continuation_ptr k = std::move(p->k);
    c->extras->asks.erase(p);
    // A continuation that throws fails the actor, like a handler (the caller catches).
    k->complete(status(errc::timeout, "ask: no reply within the timeout"));
    return true;
  }
  if (!(e->flags & envelope_flags::is_reply)) return false;
  if (c->extras == nullptr) return false;
  pending_ask* p = c->extras->asks.find(e->causation);
  if (p == nullptr) {
    c->system->dead(e, c, dead_letter_reason::late_reply, false);
    return true;
  }
  continuation_ptr k = std::move(p->k);
  p->timeout.cancel();
  c->extras->asks.erase(p);
  // The continuation reads the reply where it lies (no copy); the payload is destroyed when it
  // is done with it, and the envelope freed by the lane like any handled message's.
  k->complete(reply_ptr(e, false));
  return true;
}

void system_state::answer_ask(envelope* request, errc code, std::string_view text) noexcept {
  if (!(request->flags & envelope_flags::expects_reply) || !request->sender.valid()) return;
  envelope* e = make_envelope(this, ask_error{code, std::string(text)});
  if (e == nullptr) return;
  e->flags |= envelope_flags::is_reply;
  e->causation = request->id;
  e->correlation = request->correlation;
  deliver_to(this, request->sender, e);
}

}  // namespace keel::detail
