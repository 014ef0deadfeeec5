// protected_call: an ask made through a circuit breaker, from inside an actor. When the breaker
// is open the fallback answers at once and the target is not asked; otherwise the target is
// asked, the outcome is reported to the breaker (a timeout as a timeout, an error classified by
// the breaker's configuration, the time taken for slow calls), and a failed call is answered by
// the fallback too. `then` runs once, inside the calling actor, with the value and where it came
// from -- unless the fallback throws (which fails the actor like any handler exception) or the
// actor stops before the answer:
//
//   void on(get_price& m) {
//     auto back = return_address();  // `then` may run in a later activation
//     keel::resilience::protected_call<price>(self(), *breaker_, pricing_, quote{m.sku}, 50ms,
//         [this, back](keel::resilience::protected_reply<price> r) { reply_later(back, r.value); },
//         [] { return price{0, /*stale=*/true}; });
//   }
//
// The fallback must return R (checked at compile time). Cost over a plain ask: one breaker check
// and one outcome report (docs/benchmarks.md).
//
// REQUIRES: called from a handler (or continuation) of `self`; the breaker outlives the actor's
// pending asks (the continuation holds the permit). Thread safety: as actor::ask.
#pragma once

#include <chrono>
#include <concepts>
#include <memory>
#include <string>
#include <type_traits>
#include <utility>

#include <keel/core/actor.h>
#include <keel/core/actor_ref.h>
#include <keel/core/ask.h>
#include <keel/resilience/circuit_breaker.h>

namespace keel::resilience {

enum class served_by : std::uint8_t {
  target,          // the target answered
  fallback_open,   // the breaker was open: the target was not asked
  fallback_error,  // the target failed, timed out or could not be asked
};

template <class R>
struct protected_reply {
  R value;  // the target's reply or the fallback's value
  served_by source = served_by::target;
  status error;  // why the fallback answered (OK when the target did)
};

template <message R, class Self, class T, class M, class Then, class Fallback>
requires keel::detail::accepts<T, M> && std::is_invocable_v<Then&, protected_reply<R>>
void protected_call(const actor_ref<Self>& self, circuit_breaker& breaker, const actor_ref<T>& to,
                    M&& m, std::chrono::nanoseconds timeout, Then&& then, Fallback&& fallback) {
  static_assert(std::is_invocable_v<Fallback&>, "protected_call: the fallback takes no arguments");
  static_assert(std::is_same_v<std::remove_cvref_t<std::invoke_result_t<Fallback&>>, R>,
                "protected_call: the fallback must return the reply type R");
  keel::detail::actor_cell* cell = self.cell();
  const std::uint64_t start = keel::detail::cached_now(cell);
  permit p = breaker.try_acquire(start);
  if (!p) {
    then(protected_reply<R>{
        fallback(), served_by::fallback_open,
        status(errc::circuit_open, "circuit breaker " + breaker.name() + " is " +
                                       std::string(to_string(breaker.state())))});
    return;
  }
  envelope* e = keel::detail::make_envelope(cell->system, std::forward<M>(m));
  if (e == nullptr) {
    p.report(call_outcome::ignored, start, {});  // our memory, not the target's fault
    then(protected_reply<R>{
        fallback(), served_by::fallback_error,
        status(errc::out_of_memory, "protected_call: no memory for the request")});
    return;
  }
  auto done = [cell, start, p = std::move(p), then = std::forward<Then>(then),
               fallback = std::forward<Fallback>(fallback)](result<R> r) mutable {
    const std::uint64_t end = keel::detail::cached_now(cell);
    const auto took = std::chrono::nanoseconds(end - start);
    if (r) {
      p.success(end, took);
      then(protected_reply<R>{std::move(r).value(), served_by::target, status::ok()});
      return;
    }
    p.report(r.code(), end, took);
    then(protected_reply<R>{fallback(), served_by::fallback_error, r.error()});
  };
  auto k = std::make_unique<keel::detail::typed_continuation<R, decltype(done)>>(std::move(done));
  keel::detail::actor_ask(cell, to.cell(), to.generation(), e, timeout, std::move(k));
}

}  // namespace keel::resilience
