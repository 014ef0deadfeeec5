// keel::testing: test helpers for actors under the deterministic executor, in the spirit of
// CAF's test::fixture::deterministic. A fixture owns an actor_system whose executor is the
// deterministic one (one delivery per activation), and checks deliveries one at a time:
//
//   keel::testing::fixture fx;
//   auto adder = fx.sys().spawn<calc>().value();
//   auto client = fx.sys().spawn<client>(adder).value();
//   ASSERT_EQ(fx.inject(keel::testing::outside, client, start{}), keel::errc::ok);
//   ASSERT_EQ(fx.expect<add>().from(client).to(adder).with(add{1, 2}), keel::errc::ok);
//   ASSERT_EQ(fx.expect<sum>().from(adder).to(client).with([](const sum& s) {
//               return s.value == 3; }), keel::errc::ok);
//
// - expect<M>(): the next delivery must be an M (from/to when given, content when given); it
//   is then delivered (the handler runs). Otherwise nothing runs and the status is
//   errc::expectation_failed, naming the delivery that came instead.
// - allow<M>(): the same check; delivers and returns true if it holds, else returns false and
//   runs nothing.
// - inject(from, to, m): sends m as if `from` had sent it (testing::outside: the test thread)
//   and delivers it at once, whatever the policy would pick.
// "The next delivery" is the next user message of the actor the policy runs next. Activations
// with only system work (an actor's start, a stop) are run on the way: they deliver nothing.
// See docs/testing.md.
//
// Thread safety: a fixture is used from one thread, the test's.
#pragma once

#include <chrono>
#include <concepts>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <keel/core/actor_system.h>
#include <keel/core/send.h>

namespace keel::testing {

// The sender of messages from outside the system (the test thread, any non-actor thread).
inline constexpr actor_handle outside{};

struct fixture_options {
  // The system seed (each actor's rng()) and the seed of the random order.
  std::uint64_t seed = 1;
  // Deliver in seeded-random order (sched::seeded_random_policy) instead of oldest first.
  bool random_order = false;
  // A policy of your own (e.g. a scripted one); overrides random_order.
  std::shared_ptr<sched::delivery_policy> policy;
  // Everything else. The fixture sets scheduler.executor, scheduler.policy, seed and
  // message_budget (1: every delivery is one activation, so the order is the policy's).
  system_config config;
};

// The next delivery, as a test sees it.
struct next_delivery {
  actor_handle to;  // {0, 0}: nothing is runnable
  actor_id to_id = k_no_actor;
  std::string_view to_type;
  actor_handle from;  // testing::outside for a message from outside
  type_id type = 0;
  std::string_view type_name;
  const void* payload = nullptr;  // the message, of the type named by `type`
  bool empty() const noexcept { return !to.valid(); }
  // "test.ping/1 from actor 3 to actor 5 (test.ponger)", or "nothing runnable".
  std::string describe() const;
};

class fixture;

namespace detail_testing {
template <class R>
actor_handle handle_of(const R& r) {
  if constexpr (std::same_as<R, actor_handle>) {
    return r;
  } else {
    return r.handle();
  }
}
}  // namespace detail_testing

// What a delivery check found. expect<M>(): compare with errc::ok (a failure prints what was
// delivered instead); allow<M>(): use as a bool (delivered or not).
struct check_result {
  status st;
  bool delivered = false;
  explicit operator bool() const noexcept { return delivered; }
  friend bool operator==(const check_result& r, errc c) noexcept { return r.st == c; }
  friend std::ostream& operator<<(std::ostream& os, const check_result& r) { return os << r.st; }
};

// The check behind expect<M>() and allow<M>(); from() and to() narrow it, a terminal runs it.
template <message M>
class delivery_check {
 public:
  delivery_check(fixture* fx, bool required) noexcept : fx_(fx), required_(required) {}
  // Only from this sender (an actor_ref, an actor_handle, or testing::outside).
  template <class R>
  delivery_check& from(const R& sender) {
    from_ = detail_testing::handle_of(sender);
    return *this;
  }
  // Only to this receiver.
  template <class R>
  delivery_check& to(const R& receiver) {
    to_ = detail_testing::handle_of(receiver);
    return *this;
  }
  // Terminals: the content must satisfy `pred`, equal `value`, or be anything.
  template <class Pred>
  requires std::predicate<Pred&, const M&> check_result with(Pred&& pred) {
    return finish([&](const M& m) { return static_cast<bool>(pred(m)); }, "does not match");
  }
  check_result with(const M& value) requires std::equality_comparable<M> {
    return finish([&](const M& m) { return m == value; }, "differs from the expected value");
  }
  check_result any() {
    return finish([](const M&) { return true; }, "");
  }

 private:
  template <class Match>
  check_result finish(Match&& match, std::string_view content_why);

  fixture* fx_;
  bool required_;
  std::optional<actor_handle> from_;
  std::optional<actor_handle> to_;
};

// Owns a deterministic actor_system and checks its deliveries. The destructor shuts the system
// down (on_stop runs on the test thread).
class fixture {
 public:
  explicit fixture(fixture_options options = {});
  ~fixture();
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  actor_system& sys() noexcept { return *sys_; }
  sched::deterministic_executor& executor() noexcept { return *sys_->deterministic(); }

  template <message M>
  delivery_check<M> expect() noexcept {
    return delivery_check<M>(this, true);
  }
  template <message M>
  delivery_check<M> allow() noexcept {
    return delivery_check<M>(this, false);
  }

  // Sends `m` to `to` as if `from` had sent it and delivers it now. errc::expectation_failed
  // (nothing sent) if `to` already has user messages queued, which would be delivered first;
  // errc::actor_stopped if `to` is gone; errc::out_of_memory.
  template <class From, class T, class M>
  requires keel::detail::accepts<T, M> status inject(const From& from, const actor_ref<T>& to,
                                                     M&& m) {
    if (status s = can_inject(to.cell(), to.generation()); !s) return s;
    envelope* e = keel::detail::make_envelope(to.cell()->system, std::forward<M>(m));
    if (e == nullptr) return status(errc::out_of_memory, "inject: no memory for the message");
    return inject_envelope(detail_testing::handle_of(from), to.cell(), to.generation(), e);
  }

  // Runs until nothing is runnable; returns the activations run.
  std::size_t run() { return executor().run_until_idle(); }
  // Moves virtual time forward (deterministic_executor::advance).
  std::size_t advance(std::chrono::nanoseconds d) { return executor().advance(d); }

  // The next delivery, after running any system-only activations that come first.
  next_delivery peek();
  // Delivers the delivery peek() returned (runs that activation). False if nothing is runnable.
  bool deliver_next();

 private:
  status can_inject(keel::detail::actor_cell* to, std::uint32_t gen);
  status inject_envelope(actor_handle from, keel::detail::actor_cell* to, std::uint32_t gen,
                         envelope* e);

  std::unique_ptr<actor_system> sys_;
  keel::detail::actor_cell* next_cell_ = nullptr;  // what peek() found
  std::string type_name_;                          // its actor type (next_delivery::to_type)
};

template <message M>
template <class Match>
check_result delivery_check<M>::finish(Match&& match, std::string_view content_why) {
  const next_delivery d = fx_->peek();
  std::string why;
  if (d.empty()) {
    why = "nothing is runnable";
  } else if (d.type != type_id_of<M>()) {
    why = "the next delivery is " + d.describe();
  } else if (from_ && d.from != *from_) {
    why = "the next delivery is " + d.describe() + ": another sender";
  } else if (to_ && d.to != *to_) {
    why = "the next delivery is " + d.describe() + ": another receiver";
  } else if (!match(*static_cast<const M*>(d.payload))) {
    why = "the next delivery, " + d.describe() + ", " + std::string(content_why);
  }
  if (why.empty()) {
    fx_->deliver_next();
    return check_result{status::ok(), true};
  }
  if (!required_) return check_result{status::ok(), false};
  return check_result{
      status(errc::expectation_failed, "expected " + std::string(name_of<M>()) + ": " + why),
      false};
}

}  // namespace keel::testing
