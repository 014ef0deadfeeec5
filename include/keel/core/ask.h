// The pieces of request/response (ask) that actor_ref and actor share.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>

#include <keel/base/result.h>
#include <keel/core/envelope.h>
#include <keel/core/message.h>
#include <keel/core/send.h>

namespace keel {

// The reply an asker receives instead of R when the request could not be answered: the target
// was stopped, did not handle the type, or failed while handling it.
struct ask_error {
  static constexpr std::string_view keel_name = "keel.ask_error/1";
  errc code = errc::failed;
  std::string text;
};

namespace detail {

// A reply envelope (payload alive) until the asker takes the value out; then it destroys the
// payload. An owned envelope (a blocking ask's copy) is also freed; a borrowed one (an actor's
// continuation reads the reply where its mailbox holds it) is left to the mailbox.
struct reply_ptr {
  envelope* e = nullptr;
  bool owned = true;
  reply_ptr() = default;
  explicit reply_ptr(envelope* p, bool own = true) noexcept : e(p), owned(own) {}
  reply_ptr(reply_ptr&& o) noexcept : e(std::exchange(o.e, nullptr)), owned(o.owned) {}
  reply_ptr& operator=(reply_ptr&& o) noexcept {
    std::swap(e, o.e);
    std::swap(owned, o.owned);
    return *this;
  }
  ~reply_ptr();
};

// Converts a reply envelope into result<R>: R itself, the ask_error it carries, or
// type_mismatch.
template <class R>
result<R> take_reply(result<reply_ptr> r) {
  if (!r) return r.error();
  envelope* e = r->e;
  if (e->type == type_id_of<R>()) return R(std::move(e->as<R>()));
  if (e->type == type_id_of<ask_error>()) {
    const ask_error& err = e->as<ask_error>();
    return status(err.code, err.text);
  }
  return status(errc::type_mismatch, std::string("asked for ") + std::string(name_of<R>()) +
                                         ", the reply was " + std::string(e->ops->name));
}

// Sends `request` to (c, generation) and blocks the calling thread until a reply or the
// timeout. errc::wrong_thread on a worker thread (a worker must never block).
result<reply_ptr> blocking_ask(actor_cell* c, std::uint32_t generation, envelope* request,
                               std::chrono::nanoseconds timeout) noexcept;

// A continuation of an ask made inside an actor; runs inside the asking actor.
struct ask_continuation {
  virtual ~ask_continuation() = default;
  virtual void complete(result<reply_ptr> r) = 0;
  // Called once the runtime is done with it (completed, cancelled or dropped), instead of
  // delete. The default deletes it; a continuation that lives inside a larger object (the
  // replicas of one quorum round share one allocation) gives back its share of that object.
  virtual void release() noexcept { delete this; }
};

// Owns a continuation: release() on destruction. Converts from std::unique_ptr<K> (whose
// default_delete it replaces by release(), which deletes it the same way).
struct continuation_release {
  continuation_release() noexcept = default;
  template <class K>
  continuation_release(std::default_delete<K>) noexcept {}  // NOLINT: implicit on purpose
  void operator()(ask_continuation* k) const noexcept { k->release(); }
};
using continuation_ptr = std::unique_ptr<ask_continuation, continuation_release>;

template <class R, class F>
struct typed_continuation final : ask_continuation {
  explicit typed_continuation(F f) : fn(std::move(f)) {}
  void complete(result<reply_ptr> r) override { fn(take_reply<R>(std::move(r))); }
  F fn;
};

// Sends `request` from the running actor `self`; `k` runs inside `self` with the reply, an
// error, or errc::timeout. REQUIRES: called from a handler of `self`. May throw
// std::bad_alloc, which fails the asking actor like any exception from its handler.
void actor_ask(actor_cell* self, actor_cell* c, std::uint32_t generation, envelope* request,
               std::chrono::nanoseconds timeout, continuation_ptr k);

// Asks that share one deadline (keel/resilience/quorum.h): each costs no timer of its own.
// actor_ask without a timeout: `k` runs with the reply or the runtime's error, or never if
// cancel_ask drops it first. REQUIRES: as actor_ask.
void actor_ask_untimed(actor_cell* self, actor_cell* c, std::uint32_t generation, envelope* request,
                       continuation_ptr k);
// A deadline with no request: `k` runs with errc::timeout after `timeout` unless cancel_ask drops
// it first. Returns its id (0 when there was no memory: `k` then ran with errc::out_of_memory).
// Recorded like an ask (the hooks' on_ask, with type 0), so replay pairs its timeout.
message_id start_ask_deadline(actor_cell* self, std::chrono::nanoseconds timeout,
                              continuation_ptr k);
// Drops a pending ask or deadline of `self` without running it (its timer cancelled); a reply
// that comes later is a late reply. false if there is none. REQUIRES: called inside `self`.
bool cancel_ask(actor_cell* self, message_id id) noexcept;

}  // namespace detail
}  // namespace keel
