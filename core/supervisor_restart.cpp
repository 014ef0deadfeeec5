// keel::supervisor: what happens when a child fails or exits -- the decider, the restart guard,
// restart intensity, backoff, one-for-one and group restarts, escalation -- and the sequences
// that stop or halt children one at a time, newest first.
#include <algorithm>
#include <cmath>
#include <string>

#include "core/supervisor_state.h"
#include "core/system_state.h"

#include <keel/core/supervisor.h>

namespace keel::detail {
namespace {

// Starts the child (supervisor_state::start). With hooks attached, the spawn it makes tells
// on_restart in the child's order (core_local::restart_path); told here instead, after the
// start, if the starter made no spawn that took the path. Returns start's result.
result<actor_ref<>> start_told(supervisor_state& sup, child_record& c, bool in_place) {
#if !defined(KEEL_NO_HOOKS)
  system_state* sys = sup.sys;
  core_local* l = sys->any_hooks ? sys->local() : nullptr;
  if (l == nullptr) return sup.start(c, in_place);
  std::string path = sup.path + '/' + c.spec.name;
  l->restart_path = &path;
  struct reset {
    core_local* l;
    ~reset() { l->restart_path = nullptr; }  // also when start fails or throws
  } guard{l};
  auto r = sup.start(c, in_place);
  if (r && l->restart_path != nullptr) {
    tell_restart(sys, c.ref.cell(), c.ref.handle().generation, path, !in_place);
  }
  return r;
#else
  return sup.start(c, in_place);
#endif
}

// Drops the times older than `period` before `now`, adds `now`; false if more than max remain.
// O(1) amortized: the window is in time order and never longer than max + 1.
bool record_restart(restart_window& window, const restart_intensity& limit, std::uint64_t now) {
  const auto period = static_cast<std::uint64_t>(limit.period.count());
  while (!window.empty() && now - window.front() >= period) window.pop_front();
  window.push_back(now);
  const bool ok = window.size() <= limit.max_restarts;
  while (window.size() > static_cast<std::size_t>(limit.max_restarts) + 1) window.pop_front();
  return ok;
}

}  // namespace

void supervisor_state::keep_report(failure_report r) {
  auto shared = std::make_shared<const failure_report>(std::move(r));
  const failure_report& k = *shared;
  diagnostic d;
  d.kind = diagnostic_kind::child_failure;
  d.actor = k.id;
  d.actor_name = k.actor_name;
  d.actor_type = k.actor_type;
  d.message_type = k.message_type;
  d.correlation = k.correlation;
  d.text = k.text;  // (the summary and the trace are formatted only if the sink prints them)
  d.report = shared;
  sys->report(std::move(d));
  recent.push_back(std::move(shared));
  while (recent.size() > cfg.report_history) recent.pop_front();
}

bool supervisor_state::count_restart(child_record& c) {
  const std::uint64_t t = now();
  bool ok = record_restart(window, cfg.intensity, t);
  if (c.spec.intensity) {
    if (c.window == nullptr) c.window = std::make_unique<restart_window>();
    ok = record_restart(*c.window, *c.spec.intensity, t) && ok;
  }
  return ok;
}

std::uint64_t supervisor_state::backoff_delay(child_record& c) {
  const backoff_policy& b = cfg.backoff;
  if (b.min_delay.count() == 0) return 0;
  if (now() - c.last_restart >= static_cast<std::uint64_t>(b.reset_after.count())) c.streak = 0;
  double d = static_cast<double>(b.min_delay.count()) * std::pow(b.factor, c.streak);
  d = std::min(d, static_cast<double>(b.max_delay.count()));
  d *= 1.0 + b.random_factor * self.rng().uniform();
  ++c.streak;
  return static_cast<std::uint64_t>(d);
}

void supervisor_state::arm(timer_action a, std::chrono::nanoseconds delay,
                           std::uint64_t* serial_out) {
  const std::uint64_t serial = ++timer_serial;
  timers.emplace(serial, a);
  // A runtime timer: armed without telling on_timer (that hook is for the application's).
  const auto me = self.self();
  (void)start_timer(me.cell(), me.generation(), make_envelope(sys, supervisor_timer{serial}), delay,
                    std::chrono::nanoseconds(0));
  if (serial_out != nullptr) *serial_out = serial;
}

void supervisor_state::on_failure(failure_report r) {
  ++failures_total;
  child_record* c = find(r.actor);
  if (c == nullptr) {
    // Not (or no longer) one of ours: it must not stay held.
    (void)send_directive(sys, r.actor, directive_kind::stop);
    r.decision = directive::stop;
    keep_report(std::move(r));
    return;
  }
  r.path = path + "/" + c->spec.name;
  r.restart_count = c->restarts;
  if (goal != sequence_goal::none) {
    const bool in_group =
        goal == sequence_goal::group && std::find(group.begin(), group.end(), c) != group.end();
    if (in_group) {  // it restarts with its group
      r.decision = directive::restart;
      keep_report(std::move(r));
      return;
    }
    if (goal == sequence_goal::escalate || goal == sequence_goal::shutdown || c == current) {
      // Being stopped anyway. The current one has had its shutdown already: stop it now.
      if (c == current) (void)send_directive(sys, r.actor, directive_kind::stop);
      r.decision = directive::stop;
      keep_report(std::move(r));
      return;
    }
    deferred.push_back(std::move(r));  // after the sequence
    return;
  }
  directive d = directive::restart;
  try {
    d = cfg.decider(r);
  } catch (...) {
    d = directive::escalate;  // a decider that throws cannot be trusted with the child
  }
  if (d == directive::restart && c->spec.restart == restart_type::temporary) d = directive::stop;
  if (d == directive::restart && c->spec.guard != nullptr && !c->spec.guard->allow(r, now())) {
    d = directive::stop;
    r.text += " [cut off by its restart guard]";
  }
  if (d == directive::restart && !count_restart(*c)) d = directive::escalate;
  r.decision = d;
  switch (d) {
    case directive::resume:
      (void)send_directive(sys, c->ref.handle(), directive_kind::resume);
      keep_report(std::move(r));
      return;
    case directive::stop:
      c->state = child_state::stopping;
      c->remove_on_exit = true;
      (void)send_directive(sys, c->ref.handle(), directive_kind::stop);
      keep_report(std::move(r));
      return;
    case directive::escalate: {
      std::string why = "child \"" + c->spec.name + "\" failed (" + r.text + ")";
      if (c->spec.restart != restart_type::temporary) why += "; restart intensity exceeded";
      keep_report(std::move(r));
      escalate(std::move(why));
      return;
    }
    case directive::restart: {
      c->state = child_state::held;
      const std::uint64_t delay = backoff_delay(*c);
      if (delay == 0) {
        restart_now(*c);
      } else {
        arm({timer_action::kind::restart, c->ref.handle()}, std::chrono::nanoseconds(delay));
      }
      keep_report(std::move(r));  // after the restart went out: it is not delayed by this
      return;
    }
  }
}

void supervisor_state::on_exit(child_record& c, bool failed) {
  if (goal != sequence_goal::none && current == &c) {
    if (goal == sequence_goal::group) {
      c.killed = true;  // gone: the group's restart spawns it anew
    } else {
      c.state = child_state::stopped;
    }
    child_done();
    return;
  }
  if (goal == sequence_goal::group && std::find(group.begin(), group.end(), &c) != group.end()) {
    c.killed = true;  // exited while waiting for its halt: spawned anew with the group
    return;
  }
  c.state = child_state::stopped;
  // (While the system shuts down, nothing is restarted.)
  const bool again = !c.remove_on_exit && goal == sequence_goal::none &&
                     !sys->shutting_down.load(std::memory_order_acquire) &&
                     (c.spec.restart == restart_type::permanent ||
                      (c.spec.restart == restart_type::transient && failed));
  if (!again) {
    const bool significant = c.spec.significant;
    if (goal == sequence_goal::none || c.remove_on_exit) forget(&c);
    check_auto_shutdown(significant);
    return;
  }
  if (!count_restart(c)) {
    escalate("child \"" + c.spec.name + "\" exited; restart intensity exceeded");
    return;
  }
  const std::uint64_t delay = backoff_delay(c);
  if (delay == 0) {
    restart_now(c);
  } else {
    arm({timer_action::kind::restart, c.ref.handle()}, std::chrono::nanoseconds(delay));
  }
}

void supervisor_state::restart_now(child_record& failed) {
  if (cfg.strategy == restart_strategy::one_for_one) {
    restart_one(failed);
    return;
  }
  std::vector<child_record*> members;
  bool from_here = cfg.strategy == restart_strategy::one_for_all;
  for (auto& c : children) {
    if (c.get() == &failed) from_here = true;
    if (from_here && !c->remove_on_exit) members.push_back(c.get());
  }
  begin_sequence(sequence_goal::group, std::move(members));
}

void supervisor_state::restart_one(child_record& c) {
  c.state = child_state::restarting;
  // In place while the incarnation lives (held, or halted by a group restart); a new actor
  // once it has gone (killed, or it exited on its own).
  const bool in_place = c.ref.alive() && !c.killed;
  auto r = start_told(*this, c, in_place);
  if (!r) {
    failure_report f;
    f.actor = c.ref.handle();
    f.id = c.ref.id();
    f.path = path + "/" + c.spec.name;
    f.kind = failure_kind::start;
    f.text = "restart failed: " + std::string(r.error().message());
    f.at = now();
    f.restart_count = c.restarts;
    if (r.code() == errc::shutting_down) {
      // The system is going down: nothing to restart into.
      f.decision = directive::stop;
      (void)send_directive(sys, c.ref.handle(), directive_kind::stop);
      keep_report(std::move(f));
      forget(&c);
      return;
    }
    // Counted like a failure; retried after the backoff delay (at least a timer tick, so that
    // a restart that keeps failing cannot spin the supervisor).
    c.state = child_state::held;
    if (!count_restart(c)) {
      f.decision = directive::escalate;
      const std::string why = "child \"" + c.spec.name + "\": " + f.text;
      keep_report(std::move(f));
      escalate(why);
      return;
    }
    f.decision = directive::restart;
    const auto delay = std::max<std::uint64_t>(backoff_delay(c), 1'000'000);
    arm({timer_action::kind::restart, c.ref.handle()}, std::chrono::nanoseconds(delay));
    keep_report(std::move(f));
    return;
  }
  ++c.restarts;
  ++restarts_total;
}

void supervisor_state::escalate(std::string why) {
  if (goal == sequence_goal::escalate || goal == sequence_goal::shutdown) return;
  diagnostic d;
  d.kind = diagnostic_kind::escalation;
  d.actor = self.id();
  d.actor_type = supervisor::keel_name;
  d.text = path + ": " + why;
  d.value = restarts_total;
  sys->report(std::move(d));
#if !defined(KEEL_NO_HOOKS)
  if (sys->any_hooks) {
    lifecycle_event ev{me(), self.id(), supervisor::keel_name, why};
    for (const auto& h : sys->hooks) {
      if (h->enabled()) h->on_escalate(ev);
    }
  }
#endif
  escalate_reason = std::move(why);
  std::vector<child_record*> all;
  for (auto& c : children) all.push_back(c.get());
  begin_sequence(sequence_goal::escalate, std::move(all));
}

void supervisor_state::on_timer(std::uint64_t serial) {
  auto it = timers.find(serial);
  if (it == timers.end()) return;  // cancelled
  const timer_action a = it->second;
  timers.erase(it);
  child_record* c = find(a.child);
  if (c == nullptr) return;
  switch (a.what) {
    case timer_action::kind::restart:
      if (goal == sequence_goal::none) {
        restart_now(*c);
      } else if (goal == sequence_goal::group || goal == sequence_goal::terminate) {
        deferred_restarts.push_back(a.child);
      }
      return;
    case timer_action::kind::stop_timeout:
      if (c != current) return;
      current_timer = 0;
      c->killed = true;
      killed_names.push_back(c->spec.name);
      {
        diagnostic d;
        d.kind = diagnostic_kind::shutdown_kill;
        d.actor = c->ref.id();
        d.text = path + "/" + c->spec.name + " did not stop within its shutdown timeout: killed";
        sys->report(std::move(d));
      }
      (void)send_directive(sys, c->ref.handle(), directive_kind::kill);
      return;
  }
}

void supervisor_state::begin_sequence(sequence_goal g, std::vector<child_record*> members) {
  if (current_timer != 0) timers.erase(current_timer);
  current_timer = 0;
  current = nullptr;
  goal = g;
  group = g == sequence_goal::group ? members : std::vector<child_record*>();
  queue = std::move(members);  // the newest is at the back: stopped first
  step_sequence();
}

void supervisor_state::step_sequence() {
  while (!queue.empty()) {
    child_record* c = queue.back();
    queue.pop_back();
    if (!c->ref.alive()) {
      c->killed = true;  // gone already
      if (goal != sequence_goal::group) c->state = child_state::stopped;
      continue;
    }
    current = c;
    const bool halt = goal == sequence_goal::group;
    c->state = halt ? child_state::restarting : child_state::stopping;
    if (c->spec.shutdown.count() == 0) {
      c->killed = true;  // brutal kill
      (void)send_directive(sys, c->ref.handle(), directive_kind::kill);
      return;
    }
    (void)send_directive(sys, c->ref.handle(),
                         halt ? directive_kind::halt : directive_kind::shutdown);
    arm({timer_action::kind::stop_timeout, c->ref.handle()}, c->spec.shutdown, &current_timer);
    return;
  }
  current = nullptr;
  finish_sequence();
}

void supervisor_state::child_done() {
  if (current_timer != 0) timers.erase(current_timer);
  current_timer = 0;
  current = nullptr;
  step_sequence();
}

void supervisor_state::finish_sequence() {
  const sequence_goal g = goal;
  goal = sequence_goal::none;
  switch (g) {
    case sequence_goal::none:
      return;
    case sequence_goal::group: {
      std::vector<child_record*> members = std::move(group);
      group.clear();
      for (child_record* c : members) restart_one(*c);  // start order
      after_sequence();
      return;
    }
    case sequence_goal::terminate: {
      std::vector<child_record*> gone;
      for (auto& c : children) {
        if (c->remove_on_exit && c->state == child_state::stopped) gone.push_back(c.get());
      }
      bool significant = false;
      for (child_record* c : gone) {
        significant = significant || c->spec.significant;
        forget(c);
      }
      (void)self.reply_later(asker, supervisor_reply{status(), {}});
      asker = {};
      check_auto_shutdown(significant);
      after_sequence();
      return;
    }
    case sequence_goal::shutdown:
      goal = sequence_goal::shutdown;  // stays: nothing more starts
      if (answer_with_status) (void)self.reply_later(asker, status_now());
      asker = {};
      children.clear();
      by_handle.clear();
      self.stop_self();
      return;
    case sequence_goal::escalate:
      goal = sequence_goal::escalate;
      children.clear();
      by_handle.clear();
      if (sys->parent_of(self.cell()).valid()) {
        self.fail("escalated: " + escalate_reason);
        return;
      }
      // A root: its policy.
      if (cfg.root == root_policy::stop_system) {
        sys->face->request_stop(path + ": escalated at the root: " + escalate_reason);
      }
      self.stop_self();
      return;
  }
}

void supervisor_state::after_sequence() {
  while (goal == sequence_goal::none && !deferred.empty()) {
    failure_report r = std::move(deferred.front());
    deferred.pop_front();
    --failures_total;  // counted when it came
    on_failure(std::move(r));
  }
  while (goal == sequence_goal::none && !deferred_restarts.empty()) {
    const actor_handle h = deferred_restarts.front();
    deferred_restarts.pop_front();
    if (child_record* c = find(h)) restart_now(*c);
  }
}

void supervisor_state::check_auto_shutdown(bool significant) {
  if (!significant || cfg.shutdown_on == auto_shutdown::never) return;
  if (goal == sequence_goal::shutdown || goal == sequence_goal::escalate) return;
  if (cfg.shutdown_on == auto_shutdown::all_significant) {
    for (auto& c : children) {
      if (c->spec.significant && c->state != child_state::stopped) return;
    }
  }
  asker = {};
  answer_with_status = false;
  std::vector<child_record*> all;
  for (auto& c : children) all.push_back(c.get());
  begin_sequence(sequence_goal::shutdown, std::move(all));
}

}  // namespace keel::detail
