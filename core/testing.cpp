// keel::testing::fixture (include/keel/core/testing.h): looks at the next delivery of the
// deterministic executor through the actor cell of the task its policy picked.
#include <stdexcept>

#include "core/peek.h"

#include <keel/core/testing.h>

namespace keel::testing {

using keel::detail::actor_cell;
using keel::detail::next_user_message;

namespace {

std::string describe_handle(actor_handle h) {
  if (!h.valid()) return "outside";
  return "slot " + std::to_string(h.slot) + "/" + std::to_string(h.generation);
}

}  // namespace

std::string next_delivery::describe() const {
  if (empty()) return "nothing runnable";
  std::string s(type_name);
  s += " from ";
  s += describe_handle(from);
  s += " to actor ";
  s += std::to_string(to_id);
  s += " (";
  s += to_type;
  s += ")";
  return s;
}

fixture::fixture(fixture_options options) {
  system_config cfg = std::move(options.config);
  cfg.scheduler.executor = sched::executor_kind::deterministic;
  if (options.policy != nullptr) {
    cfg.scheduler.policy = std::move(options.policy);
  } else if (options.random_order) {
    cfg.scheduler.policy = std::make_shared<sched::seeded_random_policy>(options.seed);
  } else {
    cfg.scheduler.policy = std::make_shared<sched::fifo_policy>();
  }
  cfg.seed = options.seed;
  cfg.message_budget = 1;
  auto s = actor_system::create(std::move(cfg));
  if (!s) throw std::invalid_argument("keel::testing::fixture: " + s.error().to_string());
  sys_ = std::move(s).value();
}

fixture::~fixture() {
  if (sys_ != nullptr) (void)sys_->shutdown();
}

next_delivery fixture::peek() {
  sched::deterministic_executor& ex = executor();
  next_cell_ = nullptr;
  // Activations that deliver no user message (an actor's start, a stop, a suspended actor
  // stashing) run on the way. The bound only stops an actor that stays runnable forever
  // without delivering anything.
  for (int i = 0; i < 1'000'000; ++i) {
    sched::task* t = ex.next();
    if (t == nullptr) return {};
    auto* c = static_cast<actor_cell*>(t);
    if (!keel::detail::delivers_next(c)) {
      ex.run(t);
      continue;
    }
    envelope* e = next_user_message(c);
    next_cell_ = c;
    next_delivery d;
    d.to = c->handle();
    d.to_id = c->id;
    type_name_ = c->system->type_name_of(c->type_index);
    d.to_type = type_name_;
    d.from = e->sender;
    d.type = e->type;
    d.type_name = e->ops->name;
    d.payload = e->payload();
    return d;
  }
  return {};
}

bool fixture::deliver_next() {
  if (next_cell_ == nullptr) return false;
  actor_cell* c = std::exchange(next_cell_, nullptr);
  return executor().run(c);
}

status fixture::can_inject(actor_cell* to, std::uint32_t gen) {
  if (to == nullptr || to->generation.load(std::memory_order_acquire) != gen) {
    return status(errc::actor_stopped, "inject: the receiver is gone (or the ref is empty)");
  }
  if (next_user_message(to) != nullptr) {
    return status(errc::expectation_failed,
                  "inject: actor " + std::to_string(to->id) +
                      " has user messages queued, which it would handle first");
  }
  return status::ok();
}

status fixture::inject_envelope(actor_handle from, actor_cell* to, std::uint32_t gen, envelope* e) {
  e->sender = from;
  if (from.valid()) e->flags &= static_cast<std::uint8_t>(~envelope_flags::from_outside);
  switch (keel::detail::deliver(to, gen, e)) {
    case send_status::ok:
      break;
    case send_status::dead_letter:
      return status(errc::actor_stopped, "inject: the receiver is gone");
    case send_status::out_of_memory:
      return status(errc::out_of_memory, "inject: no memory");
    case send_status::dropped:
      return status(errc::dropped, "inject: a hook dropped the message");
    case send_status::full:
      return status(errc::full, "inject: the receiver's bounded mailbox is full");
  }
  next_cell_ = nullptr;
  if (!executor().run(to)) {
    return status(errc::expectation_failed, "inject: the receiver did not become runnable");
  }
  return status::ok();
}

}  // namespace keel::testing
